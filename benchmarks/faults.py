"""The fault matrix: every simulator fault and hostile server, against the fetch path and the gate's trigger.

Each cell runs against a fresh simulator (120 entities, pages of 10: 12 pages) and records the outcome
(``complete``: the exact, duplicate-free result, or the name of the typed error), the requests the
simulator saw and the wall time; the hostile cells (``HOSTILE_CELLS``) are servers the simulator cannot
be (dripping, endless, echoing the keys, deeply nested), each also checked for a key in the message.
``tests/reliability`` asserts the bounds of every cell; this script
prints the table that the README's reliability section shows.

    python benchmarks/faults.py
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ENTITIES = 120
PAGE_LIMIT = 10
PAGES = ENTITIES // PAGE_LIMIT
CONN_ENV = "AIRFLOW_CONN_DATADOG_SCORECARDS_DEFAULT"


@dataclass(frozen=True)
class Cell:
    """One fault scenario: how to inject it, what may come out, and the bounds that must hold."""

    name: str
    inject: Callable[[Any], None]
    outcomes: frozenset[str]
    max_requests: int
    max_seconds: float
    slow: bool = False
    plan: dict[str, Any] = field(default_factory=dict)


def _inject(kind: str, count: int = 1, **kwargs: Any) -> Callable[[Any], None]:
    return lambda sim: sim.faults.inject(kind, count, **kwargs)


def _always(kind: str) -> Callable[[Any], None]:
    return lambda sim: sim.faults.set_always(kind)


def _nothing(sim: Any) -> None:
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
    Cell(
        "5xx at 10%",
        _nothing,
        frozenset({"complete", "ScorecardsServerError"}),
        PAGES * 6,
        10,
        plan={"error_rate": 0.1},
    ),
    Cell(
        "5xx at 50%",
        _nothing,
        frozenset({"complete", "ScorecardsServerError"}),
        PAGES * 6,
        10,
        plan={"error_rate": 0.5},
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

TRIGGER_CELLS: tuple[Cell, ...] = (
    Cell("trigger: no fault", _nothing, frozenset({"met"}), 1, 5),
    Cell("trigger: 429 storm", _inject("rate_limit", 4, reset_seconds=0.05), frozenset({"met"}), 5, 5),
    Cell("trigger: 5xx at 50%", _nothing, frozenset({"met", "error"}), 20, 10, plan={"error_rate": 0.5}),
    Cell("trigger: dropped connections", _inject("drop", 2), frozenset({"met"}), 3, 5),
    Cell("trigger: 403", _inject("status", 1, status=403), frozenset({"error"}), 1, 5),
    Cell("trigger: wrong shape", _inject("bad_shape", 1), frozenset({"error"}), 1, 5),
)


def _drip_body(handler: Any) -> None:
    body = b" " * 400 + b'{"data": [], "meta": {"count": 0, "total": 0}, "links": {}}'
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    for byte in body:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        time.sleep(0.05)


def _drip_headers(handler: Any) -> None:
    handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    while True:
        handler.wfile.write(b"a")
        handler.wfile.flush()
        time.sleep(0.05)


def _endless_chunked(handler: Any) -> None:
    handler.send_response(200)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    chunk = b" " * (1024 * 1024)
    while True:
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))


def _answer(status: int, body: bytes, headers: dict[str, str] | None = None) -> Callable[[Any], None]:
    def behave(handler: Any) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return behave


def _echo_keys(handler: Any) -> None:
    echoed = "; ".join(f"{k}: {v}" for k, v in handler.headers.items()) + "x" * 5_000_000
    body = json.dumps({"errors": [{"title": "Forbidden", "detail": echoed}]}).encode()
    _answer(403, body, {"X-Request-Id": echoed[:2000]})(handler)


EMPTY_PAGE = b'{"data": [], "meta": {"count": 0, "total": 0}, "links": {}}'
HOSTILE_CELLS: tuple[tuple[str, Callable[[Any], None], frozenset[str], int, float], ...] = (
    ("body dripping 1 byte / 50 ms", _drip_body, frozenset({"ScorecardsTransportError"}), 3, 5),
    ("headers dripping forever", _drip_headers, frozenset({"ScorecardsTransportError"}), 3, 5),
    ("endless chunked body", _endless_chunked, frozenset({"ScorecardsResponseError"}), 1, 10),
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
    (
        "X-RateLimit-Remaining: inf",
        _answer(200, EMPTY_PAGE, {"X-RateLimit-Remaining": "inf"}),
        COMPLETE,
        1,
        5,
    ),
)
"""Hostile servers (not the simulator): connection with ``timeout=2``, ``request_deadline=0.5``,
``max_page_bytes=1 MiB``, two retries. Each: name, behaviour, allowed outcomes, requests, seconds."""
HOSTILE_KEYS = ("FAULTS-API-KEY-1f2e3d", "FAULTS-APP-KEY-4c5b6a")


def run_hostile_cell(name: str, behave: Callable[[Any], None]) -> tuple[str, int, float, bool]:
    """Fetch one page from a hostile server: (outcome, requests it saw, seconds, a key in the message)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from airflow_provider_scorecards.client.client import ScorecardsClient
    from airflow_provider_scorecards.client.errors import ScorecardsError
    from airflow_provider_scorecards.client.query import ScoresQuery
    from airflow_provider_scorecards.client.settings import settings_from_connection

    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            seen.append(self.path)
            try:
                behave(self)
            except OSError:
                return

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    extra = {
        "app_key_secret": HOSTILE_KEYS[1],
        "api_url": f"http://127.0.0.1:{server.server_address[1]}",
        "timeout": 2,
        "request_deadline": 0.5,
        "max_page_bytes": 1024 * 1024,
        "max_retries": 2,
        "backoff_base": 0.01,
    }
    settings = settings_from_connection("hostile", "datadog_scorecards", HOSTILE_KEYS[0], extra)
    started = time.monotonic()
    message = ""
    try:
        with ScorecardsClient(settings, concurrency=1) as client:
            client.get_page(ScoresQuery.build("by-kind"))
        outcome = "complete"
    except ScorecardsError as exc:
        outcome, message = type(exc).__name__, str(exc)
    seconds = time.monotonic() - started
    server.shutdown()
    server.server_close()
    leaked = any(key.lower() in message.lower() for key in HOSTILE_KEYS) or len(message) > 10_000
    return outcome, len(seen), seconds, leaked


@dataclass
class CellResult:
    cell: str
    concurrency: int | None
    outcome: str
    requests: int
    seconds: float

    def within_bounds(self, cell: Cell) -> bool:
        return (
            self.outcome in cell.outcomes
            and self.requests <= cell.max_requests
            and self.seconds <= cell.max_seconds
        )


def _simulator(cell: Cell) -> Any:
    from airflow_provider_scorecards.simulator import FaultPlan, ScorecardsSimulator

    plan = FaultPlan(seed=3, slow_seconds=1.0, **cell.plan)
    sim = ScorecardsSimulator(seed=11, entities=ENTITIES, faults=plan).start()
    conn = sim.connection_dict()
    conn["extra"].update(backoff_base=0.01, timeout=0.5, max_retries=5)
    os.environ[CONN_ENV] = json.dumps(conn)
    return sim


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
            with DatadogScorecardsHook(concurrency=concurrency) as hook:
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
    from airflow_provider_scorecards.gate import GateCondition
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
        event = asyncio.run(asyncio.wait_for(first(), 60))
        seconds = time.monotonic() - started
        return CellResult(cell.name, None, str(event["status"]), len(sim.score_requests()), seconds)
    finally:
        sim.stop()


def main() -> int:
    rows = [run_fetch_cell(cell, c) for cell in FETCH_CELLS for c in (1, 8)]
    rows += [run_trigger_cell(cell) for cell in TRIGGER_CELLS]
    cells = {cell.name: cell for cell in (*FETCH_CELLS, *TRIGGER_CELLS)}
    print(
        f"Fault matrix: {ENTITIES} scores in pages of {PAGE_LIMIT} ({PAGES} requests without faults); "
        "retries: 5, backoff base 10 ms, timeout 0.5 s"
    )
    print()
    print("| cell | concurrency | outcome | requests (bound) | wall s (bound) | holds |")
    print("| --- | --- | --- | --- | --- | --- |")
    failures = 0
    for row in rows:
        cell = cells[row.cell]
        holds = row.within_bounds(cell)
        failures += not holds
        concurrency = "trigger" if row.concurrency is None else str(row.concurrency)
        print(
            f"| {row.cell} | {concurrency} | {row.outcome} | {row.requests} ({cell.max_requests}) | "
            f"{row.seconds:.2f} ({cell.max_seconds:g}) | {'yes' if holds else 'NO'} |"
        )
    for name, behave, outcomes, max_requests, max_seconds in HOSTILE_CELLS:
        outcome, requests, seconds, leaked = run_hostile_cell(name, behave)
        holds = outcome in outcomes and requests <= max_requests and seconds <= max_seconds and not leaked
        failures += not holds
        print(
            f"| hostile: {name} | 1 | {outcome}{' (KEY LEAKED)' if leaked else ''} | {requests} "
            f"({max_requests}) | {seconds:.2f} ({max_seconds:g}) | {'yes' if holds else 'NO'} |"
        )
    return 1 if failures else 0


if __name__ == "__main__":
    os.environ.setdefault(
        "AIRFLOW_HOME", os.path.join(os.path.dirname(__file__), "..", ".demo", "faults-home")
    )
    sys.exit(main())
