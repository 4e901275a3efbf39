"""The fault matrix: every simulator fault and hostile server, with the bounds the provider must keep.

A cell names one fault, how to inject it into a fresh simulator (120 entities, pages of 10: 12 pages),
the outcomes allowed (``complete``: the exact, duplicate-free result, or the name of a typed error) and
the most requests and seconds it may take. The runners drive the provider as a DAG does (the hook's
client for the fetch path, the deferrable sensor's trigger for the gate) and report what happened;
the hostile cells are servers the simulator cannot be (dripping, endless, echoing the keys, deeply
nested), each also checked for a key in the message.

Two callers hold the provider to these cells: ``test_fault_matrix.py`` asserts every bound in
``make test``, and ``benchmarks/faults.py`` prints the table the reliability page shows. They share this
one definition so the table always shows what the tests prove. It imports only the standard library at
module level; the provider's client, hook, trigger and the simulator load inside the runners.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.reliability.hostile_servers import (
    API_KEY,
    APP_KEY,
    EMPTY_PAGE,
    SECRETS,
    Behaviour,
    HostileServer,
    answer,
    drip_body,
    drip_headers,
    endless_chunked,
)

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler

    from airflow_provider_scorecards.simulator import ScorecardsSimulator

ENTITIES = 120
PAGE_LIMIT = 10
PAGES = ENTITIES // PAGE_LIMIT
CONN_ENV = "AIRFLOW_CONN_DATADOG_SCORECARDS_DEFAULT"

Inject = Callable[["ScorecardsSimulator"], None]


@dataclass(frozen=True)
class Cell:
    """One fault scenario: how to inject it, what may come out, and the bounds that must hold."""

    name: str
    inject: Inject
    outcomes: frozenset[str]
    max_requests: int
    max_seconds: float
    slow: bool = False
    plan: dict[str, Any] = field(default_factory=dict)


@dataclass
class CellResult:
    """What one run of a cell did: its outcome, the requests the simulator saw and the wall time."""

    cell: str
    concurrency: int | None
    outcome: str
    requests: int
    seconds: float

    def within_bounds(self, cell: Cell) -> bool:
        """Whether the outcome is one the cell allows, within its requests and seconds."""
        return (
            self.outcome in cell.outcomes
            and self.requests <= cell.max_requests
            and self.seconds <= cell.max_seconds
        )


def _inject(kind: str, count: int = 1, **kwargs: Any) -> Inject:
    return lambda sim: sim.faults.inject(kind, count, **kwargs)


def _always(kind: str) -> Inject:
    return lambda sim: sim.faults.set_always(kind)


def _nothing(sim: ScorecardsSimulator) -> None:
    return None


COMPLETE = frozenset({"complete"})
FETCH_CELLS: tuple[Cell, ...] = (
    Cell("no fault", _nothing, COMPLETE, PAGES, 5),
    Cell(
        "429 storm, X-RateLimit-Reset", _inject("rate_limit", 5, reset_seconds=0.05), COMPLETE, PAGES + 5, 5
    ),
    Cell(
        "429 storm, Retry-After only",
        _inject("rate_limit", 5, rate_limit_headers="retry-after", reset_seconds=0.05),
        COMPLETE,
        PAGES + 5,
        5,
    ),
    Cell("429 storm, no header", _inject("rate_limit", 5, rate_limit_headers="none"), COMPLETE, PAGES + 5, 5),
    *(
        Cell(
            f"5xx at {percent}%",
            _nothing,
            frozenset({"complete", "ScorecardsServerError"}),
            PAGES * 6,
            10,
            plan={"error_rate": percent / 100},
        )
        for percent in (10, 50)
    ),
    Cell("502/503/504 burst", _inject("status", 4, status=503), COMPLETE, PAGES + 4, 5),
    Cell("dropped connections", _inject("drop", 3, after=2), COMPLETE, PAGES + 3, 5),
    Cell("slower than the timeout", _inject("slow", 2, after=1), COMPLETE, PAGES + 2, 10, slow=True),
    Cell("truncated JSON", _inject("truncate", 2, after=3), COMPLETE, PAGES + 2, 5),
    Cell(
        "valid JSON, wrong shape",
        _inject("bad_shape", 1, after=3),
        frozenset({"ScorecardsResponseError"}),
        PAGES,
        5,
    ),
    Cell("403 on the first page", _inject("status", 1, status=403), frozenset({"ScorecardsAuthError"}), 1, 5),
    Cell(
        "403 mid-pagination",
        _inject("status", 1, status=403, after=4),
        frozenset({"ScorecardsAuthError"}),
        PAGES,
        5,
    ),
    Cell("links.next loops back", _always("loop_next"), COMPLETE, PAGES, 5),
    Cell(
        "meta.total grows while paging",
        _always("grow_total"),
        frozenset({"ResultMovedError"}),
        3 * (2 + 8),  # 3 reads: the first page, then at most 8 in flight and 1 more submitted
        5,
    ),
    Cell(
        "a page repeats the previous one",
        _inject("repeat_page", 1, after=2),
        frozenset({"ScorecardsResponseError"}),
        PAGES,
        5,
    ),
)
"""The fetch path's cells, each run at concurrency 1 and 8."""

TRIGGER_CELLS: tuple[Cell, ...] = (
    Cell("trigger: no fault", _nothing, frozenset({"met"}), 1, 5),
    Cell("trigger: 429 storm", _inject("rate_limit", 4, reset_seconds=0.05), frozenset({"met"}), 5, 5),
    Cell("trigger: 5xx at 50%", _nothing, frozenset({"met", "error"}), 20, 10, plan={"error_rate": 0.5}),
    Cell("trigger: dropped connections", _inject("drop", 2), frozenset({"met"}), 3, 5),
    Cell("trigger: 403", _inject("status", 1, status=403), frozenset({"error"}), 1, 5),
    Cell("trigger: wrong shape", _inject("bad_shape", 1), frozenset({"error"}), 1, 5),
)
"""The gate trigger's cells: the outcome is the status of its first event."""


@contextmanager
def _connection_to(sim: ScorecardsSimulator) -> Iterator[None]:
    """Point the default connection at ``sim`` (quick retries, a short timeout), restored afterwards."""
    conn = sim.connection_dict()
    conn["extra"].update(backoff_base=0.01, timeout=2, max_retries=5)  # room for a loaded machine
    before = os.environ.get(CONN_ENV)
    os.environ[CONN_ENV] = json.dumps(conn)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(CONN_ENV, None)
        else:
            os.environ[CONN_ENV] = before


def _simulator(cell: Cell) -> ScorecardsSimulator:
    from airflow_provider_scorecards.simulator import FaultPlan, ScorecardsSimulator

    plan = FaultPlan(seed=3, slow_seconds=3.0, **cell.plan)  # slower than the timeout (2 s)
    return ScorecardsSimulator(seed=11, entities=ENTITIES, faults=plan).start()


def run_fetch_cell(cell: Cell, concurrency: int) -> CellResult:
    """Fetch every score through the hook (the operator's path) under the cell's fault."""
    from airflow_provider_scorecards.client.errors import ScorecardsError
    from airflow_provider_scorecards.client.pages import flatten
    from airflow_provider_scorecards.client.query import ScoresQuery
    from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook

    sim = _simulator(cell)
    try:
        expected = [flatten(item) for item in sim.expected_scores("by-entity")]
        cell.inject(sim)
        started = time.monotonic()
        try:
            with _connection_to(sim), DatadogScorecardsHook(concurrency=concurrency) as hook:
                records = (
                    hook.get_conn()
                    .fetch(ScoresQuery.build("by-entity", page_limit=PAGE_LIMIT), concurrency=concurrency)
                    .records
                )
            unique = len({r["id"] for r in records}) == len(records)
            outcome = "complete" if records == expected and unique else "INCOMPLETE"
        except ScorecardsError as exc:
            outcome = type(exc).__name__
        seconds = time.monotonic() - started
        return CellResult(cell.name, concurrency, outcome, len(sim.score_requests()), seconds)
    finally:
        sim.stop()


def run_trigger_cell(cell: Cell) -> CellResult:
    """Run the deferrable sensor's trigger on a gate that is met as soon as a check succeeds."""
    from airflow_provider_scorecards.client.query import ScoresQuery
    from airflow_provider_scorecards.gate.condition import GateCondition
    from airflow_provider_scorecards.triggers.scores import DatadogScoreThresholdTrigger

    sim = _simulator(cell)
    try:
        trigger = DatadogScoreThresholdTrigger(
            datadog_conn_id="datadog_scorecards_default",
            query=ScoresQuery.build("by-kind").describe(),
            condition=GateCondition.build(min_score=0.0).describe(),
            poke_interval=0.01,
            deadline=time.time() + 30,
            max_consecutive_failures=3,
        )
        cell.inject(sim)

        async def first() -> dict[str, Any]:
            async for event in trigger.run():
                return dict(event.payload)
            return {"status": "no event"}

        started = time.monotonic()
        with _connection_to(sim):
            event = asyncio.run(asyncio.wait_for(first(), 60))
        seconds = time.monotonic() - started
        return CellResult(cell.name, None, str(event["status"]), len(sim.score_requests()), seconds)
    finally:
        sim.stop()


def _answer(status: int, body: bytes, headers: dict[str, str] | None = None) -> Behaviour:
    return lambda handler: answer(handler, status, body, headers)


def _echo_keys_as(status: int) -> Behaviour:
    def echo(handler: BaseHTTPRequestHandler) -> None:
        echoed = "; ".join(f"{k}: {v}" for k, v in handler.headers.items()) + "x" * 5_000_000
        body = json.dumps({"errors": [{"title": "Refused", "detail": echoed}]}).encode()
        _answer(status, body, {"X-Request-Id": echoed[:2000]})(handler)

    return echo


_echo_keys = _echo_keys_as(403)


def _error_body_cut_short(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(403)
    handler.send_header("Content-Length", "500")
    handler.end_headers()
    handler.wfile.write(b'{"errors": [{"detail": "cut')


def _key_as_a_score_id(handler: BaseHTTPRequestHandler) -> None:
    page = {
        "data": [{"id": f"service:{handler.headers['DD-API-KEY']}", "type": "score"}],
        "meta": {"total": 1},
    }
    _answer(200, json.dumps(page).encode())(handler)


def _content_length_not_ascii(handler: BaseHTTPRequestHandler) -> None:
    handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\nConnection: close\r\n\r\n" + EMPTY_PAGE)


HOSTILE_CELLS: tuple[tuple[str, Behaviour, frozenset[str], int, float], ...] = (
    (
        "body dripping 1 byte / 50 ms",
        drip_body(0.05, chunks=400),
        frozenset({"ScorecardsTransportError"}),
        3,
        8,  # three attempts cut at request_deadline (1 s each), with room for a loaded machine
    ),
    ("headers dripping forever", drip_headers(0.05), frozenset({"ScorecardsTransportError"}), 3, 8),
    ("endless chunked body", endless_chunked, frozenset({"ScorecardsResponseError"}), 1, 10),
    (
        "claimed 1 TB Content-Length",
        _answer(200, b"[", {"Content-Length": str(10**12)}),
        frozenset({"ScorecardsResponseError"}),
        1,
        5,
    ),
    ("403 echoing the keys, 5 MB", _echo_keys, frozenset({"ScorecardsAuthError"}), 1, 5),
    (
        "200 with JSON nested 200k deep",
        _answer(200, b"[" * 200_000),
        frozenset({"ScorecardsResponseError"}),
        1,
        5,
    ),
    (
        "403 with a body nested 200k deep",
        _answer(403, b"[" * 200_000),
        frozenset({"ScorecardsAuthError"}),
        1,
        5,
    ),
    # An error whose body cannot be read is still the error its status says, at once.
    ("403 whose body is cut short", _error_body_cut_short, frozenset({"ScorecardsAuthError"}), 1, 5),
    (
        "401 with a body that is not the gzip it claims",
        _answer(401, b"not gzip", {"Content-Encoding": "gzip"}),
        frozenset({"ScorecardsAuthError"}),
        1,
        5,
    ),
    (
        "401 dripping its body",
        drip_body(0.05, chunks=400, status=401),
        frozenset({"ScorecardsAuthError"}),
        1,
        5,
    ),
    ("200 with the API key as a score id", _key_as_a_score_id, frozenset({"ScorecardsResponseError"}), 1, 5),
    (
        "200 with a 5000-digit meta.total",
        _answer(200, b'{"data": [], "meta": {"total": ' + b"1" * 5000 + b"}}"),
        frozenset({"ScorecardsResponseError"}),
        1,
        5,
    ),
    (
        "200 with Content-Length: \u00b2",
        _content_length_not_ascii,
        frozenset({"ScorecardsTransportError"}),
        3,
        8,
    ),
    (
        "X-RateLimit-Remaining: inf",
        _answer(200, EMPTY_PAGE, {"X-RateLimit-Remaining": "inf"}),
        COMPLETE,
        1,
        5,
    ),
)
"""Hostile servers (not the simulator): connection with ``timeout=2``, ``request_deadline=1``,
``max_page_bytes=1 MiB``, two retries. Each: name, behaviour, allowed outcomes, requests, seconds."""


def run_hostile_cell(name: str, behave: Behaviour) -> tuple[str, int, float, bool]:
    """Fetch one page from a hostile server: (outcome, requests it saw, seconds, a key in the message)."""
    from airflow_provider_scorecards.client.client import ScorecardsClient
    from airflow_provider_scorecards.client.errors import ScorecardsError
    from airflow_provider_scorecards.client.query import ScoresQuery
    from airflow_provider_scorecards.client.settings import settings_from_connection

    with HostileServer(behave) as server:
        extra = {
            "app_key_secret": APP_KEY,
            "api_url": f"http://127.0.0.1:{server.port}",
            "timeout": 2,
            "request_deadline": 1,
            "max_page_bytes": 1024 * 1024,
            "max_retries": 2,
            "backoff_base": 0.01,
        }
        settings = settings_from_connection("hostile", "datadog_scorecards", API_KEY, extra)
        started = time.monotonic()
        message = ""
        try:
            with ScorecardsClient(settings, concurrency=1) as client:
                client.get_page(ScoresQuery.build("by-kind"))
            outcome = "complete"
        except ScorecardsError as exc:
            outcome, message = type(exc).__name__, str(exc)
        seconds = time.monotonic() - started
    leaked = any(key.lower() in message.lower() for key in SECRETS) or len(message) > 10_000
    return outcome, len(server.seen), seconds, leaked


EMPTY_RULES = json.dumps({"data": [], "links": {"next": "/api/v2/scorecard/rules?page[offset]=100"}}).encode()


def _on_write(write: Behaviour) -> Behaviour:
    """Answer reads with an empty rules list (nothing to find) and writes with ``write``."""
    return lambda handler: write(handler) if handler.command == "POST" else _answer(200, EMPTY_RULES)(handler)


@dataclass(frozen=True)
class WriteCell:
    """A hostile server on the write path: a create (through ``find_or_create_rule``) or a post.

    ``max_posts`` bounds the POSTs; a create the server may have acted on is never sent again blindly
    (with no lookup before it), a post may be.
    """

    name: str
    write: str
    behave: Behaviour
    outcomes: frozenset[str]
    max_requests: int
    max_posts: int
    max_seconds: float = 5


WRITE_CELLS: tuple[WriteCell, ...] = (
    WriteCell(
        "create: 201 dripping",
        "create",
        _on_write(drip_body(0.05, 400)),
        frozenset({"ScorecardsTransportError"}),
        7,
        3,
        8,
    ),
    WriteCell(
        "create: 201 endless",
        "create",
        _on_write(endless_chunked),
        frozenset({"ScorecardsResponseError"}),
        2,
        1,
        10,
    ),
    WriteCell(
        "create: 201 claiming 1 TB",
        "create",
        _on_write(_answer(201, b"{", {"Content-Length": str(10**12)})),
        frozenset({"ScorecardsResponseError"}),
        2,
        1,
    ),
    WriteCell(
        "create: 201 nested 200k deep",
        "create",
        _on_write(_answer(201, b"[" * 200_000)),
        frozenset({"ScorecardsResponseError"}),
        2,
        1,
    ),
    WriteCell(
        "create: 409 echoing the keys",
        "create",
        _on_write(_echo_keys_as(409)),
        frozenset({"ScorecardsConflictError"}),
        3,
        1,
    ),
    WriteCell(
        "create: 503 always",
        "create",
        _on_write(_answer(503, b"")),
        frozenset({"ScorecardsServerError"}),
        7,
        3,
    ),
    WriteCell(
        "create: everything 503", "create", _answer(503, b""), frozenset({"ScorecardsServerError"}), 3, 0
    ),
    WriteCell(
        "post: 202 dripping", "post", drip_body(0.05, 400), frozenset({"ScorecardsTransportError"}), 3, 3, 8
    ),
    WriteCell("post: 202 endless", "post", endless_chunked, frozenset({"ScorecardsResponseError"}), 1, 1, 10),
    WriteCell(
        "post: 202 lying total_received",
        "post",
        _answer(202, b'{"meta": {"total_received": 1e99}}'),
        frozenset({"ScorecardsResponseError"}),
        1,
        1,
    ),
    WriteCell("post: 503 always", "post", _answer(503, b""), frozenset({"ScorecardsServerError"}), 3, 3),
)
"""The write path's hostile servers, with the connection of :data:`HOSTILE_CELLS`."""


def run_write_cell(cell: WriteCell) -> tuple[str, int, int, bool, float, bool]:
    """Make the cell's write: (outcome, requests and POSTs the server saw, whether a POST followed a POST
    with no lookup between them, seconds, a key in the message)."""
    from airflow_provider_scorecards.client.client import ScorecardsClient
    from airflow_provider_scorecards.client.errors import ScorecardsError
    from airflow_provider_scorecards.client.rules import OutcomeResult
    from airflow_provider_scorecards.client.settings import settings_from_connection

    with HostileServer(cell.behave) as server:
        extra = {"app_key_secret": APP_KEY, "api_url": f"http://127.0.0.1:{server.port}", "timeout": 2}
        extra.update(request_deadline=1, max_page_bytes=1024 * 1024, max_retries=2, backoff_base=0.01)
        settings = settings_from_connection("hostile", "datadog_scorecards", API_KEY, extra)
        started, message = time.monotonic(), ""
        try:
            with ScorecardsClient(settings, concurrency=1) as client:
                if cell.write == "create":
                    client.find_or_create_rule(name="fresh data", scorecard_name="Ops")
                else:
                    client.post_outcomes("rule", [OutcomeResult(f"service:{k}", "pass") for k in range(3)])
            outcome = "complete"
        except ScorecardsError as exc:
            outcome, message = type(exc).__name__, str(exc)
        seconds = time.monotonic() - started
    leaked = any(key.lower() in message.lower() for key in SECRETS) or len(message) > 10_000
    methods = "".join(seen["method"][0] for seen in server.seen)
    return outcome, len(methods), methods.count("P"), "PP" in methods, seconds, leaked
