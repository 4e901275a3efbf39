"""The gate against an oracle: whatever a server sends, no gate is met that a small model says is not.

Hypothesis draws result sets (duplicated ids, equal and differing; sparse and null fields; values outside
their domain; look-alike and invisible-character ids), serves them from a loopback server split into pages
of any size, in any order, and asks the check operator (pages fetched four at a time) and the deferrable
sensor's trigger (one at a time). Each verdict is compared with :func:`model_met`, written here from the
documented rules (docs/fail-closed.rst) and importing nothing of the gate: the gate may be stricter (a
typed error where the model says "not met"), never looser.

``ORACLE_EXAMPLES`` sets the number of examples (``make test-oracle`` runs thousands with a random seed);
``make test`` runs a fixed seed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from airflow_provider_scorecards._compat import AirflowFailException
from airflow_provider_scorecards.client.errors import ScorecardsError
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.gate.condition import GateCondition
from airflow_provider_scorecards.operators.check import DatadogScoreCheckOperator
from airflow_provider_scorecards.triggers.scores import DatadogScoreThresholdTrigger
from tests.conftest import CONN_ENV

EXAMPLES = int(os.environ.get("ORACLE_EXAMPLES", "40"))
INT64_MAX = 2**63 - 1
FIELDS = ("score", "numerator", "denominator", "level", "total_pass", "total_fail")
IDS = (
    "service:a",
    "service:b",
    "service:\u0430",
    "service:a\u200b",
    "service:b\n",
    "Service:a",
    "svc:\u202ec",
)

# -- the model: the documented rules, from scratch ------------------------------------------------------


def valid(attributes: dict[str, Any]) -> bool:
    """Whether a score's attributes lie in their documented domains."""
    for name, value in attributes.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value in (math.inf, -math.inf):
            return False
        if name == "score" and not 0 <= value <= 1:
            return False
        if name != "score" and (
            value != int(value) or not 0 <= value <= (3 if name == "level" else INT64_MAX)
        ):
            return False
    denominator = attributes.get("denominator")
    parts = [attributes.get(p) for p in ("numerator", "total_pass", "total_fail")]
    return denominator is None or all(p is None or p <= denominator for p in parts)


def model_met(items: list[dict[str, Any]], gate: Gate) -> bool:
    """The verdict the documented rules give on what the server sent, read whole."""
    seen: dict[str, dict[str, Any]] = {}
    for item in items:
        attributes = {k: v for k, v in item["attributes"].items() if v is not None}
        if not valid(attributes) or seen.setdefault(item["id"], attributes) != attributes:
            return False  # an impossible value, or one id with two different answers: nothing to judge
    passing = failing = missing = 0
    watched = [i.strip() for i in gate.score_ids] if gate.score_ids is not None else list(seen)  # trimmed
    for score_id in dict.fromkeys(watched):
        attributes = seen.get(score_id)
        value = None if attributes is None else attributes.get(gate.field)
        if attributes is None or attributes.get("denominator") == 0 or value is None:
            missing += 1
        elif (gate.low is None or value >= gate.low) and (gate.high is None or value <= gate.high):
            passing += 1
        else:
            failing += 1
    if gate.match == "any":
        return passing > 0
    return passing + failing > 0 and failing == 0 and (missing == 0 or gate.on_missing == "ignore")


# -- what Hypothesis draws --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gate:
    field: str
    low: float | None
    high: float | None
    match: str
    on_missing: str
    score_ids: tuple[str, ...] | None

    def arguments(self) -> dict[str, Any]:
        bounds = {"min_value": self.low, "max_value": self.high}
        return {
            "field": self.field,
            **{k: v for k, v in bounds.items() if v is not None},
            "match": self.match,
            "on_missing": self.on_missing,
            "score_ids": None if self.score_ids is None else list(self.score_ids),
        }


OUTSIDE = {
    "score": [-0.01, 1.5, 2, 1e300],
    "level": [4, 99, 1.5, -1],
    **{
        name: [-1, 0.5, 2**63, 10**400, 1e300]
        for name in ("numerator", "denominator", "total_pass", "total_fail")
    },
}
"""Values outside each field's domain."""


@st.composite
def attributes(draw: st.DrawFn, judged: str = "score") -> dict[str, Any]:
    """Sparse attributes within their domains, the judged field mostly there, now and then null."""
    denominator = draw(st.integers(0, 6))
    values = {
        "score": st.floats(0, 1) | st.sampled_from([0, 1, 0.8]),
        "numerator": st.integers(0, denominator),
        "denominator": st.just(denominator) | st.just(float(denominator)),
        "level": st.integers(0, 3) | st.just(2.0),
        "total_pass": st.integers(0, denominator),
        "total_fail": st.integers(0, denominator),
    }
    sparse = draw(st.fixed_dictionaries({}, optional={k: st.none() | v | v | v for k, v in values.items()}))
    if judged not in sparse and draw(st.integers(0, 4)):
        sparse[judged] = draw(values[judged])
    return sparse


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[dict[str, Any]], Gate]:
    """A result set (repeats equal and differing, in any order) and a gate on the ids it holds, mostly."""
    field = draw(st.sampled_from(FIELDS))
    score = st.builds(
        lambda i, a: {"id": i, "type": "score", "attributes": a}, st.sampled_from(IDS), attributes(field)
    )
    items = draw(st.lists(score, min_size=1, max_size=6, unique_by=lambda item: item["id"]))
    for copy in draw(st.lists(st.sampled_from(items), max_size=3)):
        differing = draw(st.integers(0, 2)) == 2  # a repeat with other numbers, or the very same one
        items.append({**copy, "attributes": draw(attributes(field))} if differing else copy)
    if draw(st.booleans()):  # often, one value outside its domain
        at = draw(st.integers(0, len(items) - 1))
        spoiled = draw(st.just(field) | st.just(field) | st.sampled_from(FIELDS))  # mostly the judged field
        value = draw(st.sampled_from(OUTSIDE[spoiled]))
        items[at] = {**items[at], "attributes": {**items[at]["attributes"], spoiled: value}}
    # Gates that the data often meets, so that a gate opening wrongly has a chance to show.
    top = 1 if field == "score" else 3 if field == "level" else 6
    bound = st.floats(0, 1) if field == "score" else st.integers(0, top).map(float)
    low = draw(st.just(0.0) | bound)
    high = draw(st.none() | st.none() | bound.map(lambda b: max(b, low)))
    present = sorted({item["id"] for item in items}) or list(IDS)
    watched = st.lists(st.sampled_from(present), min_size=1, max_size=2, unique=True) | st.lists(
        st.sampled_from(IDS), min_size=1, max_size=3, unique=True
    )
    gate = Gate(
        field,
        low,
        high,
        draw(st.sampled_from(["all", "all", "any"])),
        draw(st.sampled_from(["fail", "ignore", "ignore"])),
        draw(watched.map(tuple) | watched.map(tuple) | st.none()),
    )
    return draw(st.permutations(items)), gate


# -- a server that answers with the drawn result set ----------------------------------------------------


class _Pages(BaseHTTPRequestHandler):
    items: list[dict[str, Any]] = []
    announce_total = True

    def do_GET(self) -> None:
        params = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        offset, limit = int(params.get("page[offset]", 0)), int(params.get("page[limit]", 100))
        page = {"data": self.items[offset : offset + limit], "links": {"next": self.path}}
        if self.announce_total:
            page["meta"] = {"total": len(self.items)}
        body = json.dumps(page).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.api+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    conn = {
        "conn_type": "datadogscorecards",
        "password": "oracle-api-key",
        "extra": {
            "app_key_secret": "oracle-app-key",
            "api_url": f"http://127.0.0.1:{httpd.server_port}",
            "max_retries": 0,
        },
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CONN_ENV, json.dumps(conn))
        yield httpd
    httpd.shutdown()


_queries = itertools.count()


def check_operator_met(gate: Gate, page_limit: int) -> bool | None:
    """The check operator's verdict (None: a typed error, the task failed without a verdict)."""
    task = DatadogScoreCheckOperator(
        task_id="gate",
        aggregation="by-entity",
        rule_ids=[f"query-{next(_queries)}"],  # the server ignores it; each example is a query of its own
        page_limit=page_limit,
        explain=False,
        **gate.arguments(),
    )
    try:
        task.execute(context={})  # type: ignore[arg-type]
    except ScorecardsError:  # retryable (a result that moved): Airflow's retries read it again
        return None
    except AirflowFailException as failed:
        return None if isinstance(failed.__cause__, ScorecardsError) else False
    return True


def trigger_met(gate: Gate, page_limit: int) -> bool | None:
    """The deferred sensor's verdict: met, not met (failed, or no pass before the deadline), or None (error)."""
    arguments = gate.arguments()
    query = ScoresQuery.build("by-entity", rule_ids=[f"query-{next(_queries)}"], page_limit=page_limit)
    trigger = DatadogScoreThresholdTrigger(
        datadog_conn_id="datadog_scorecards_default",
        query=query.describe(),
        condition=GateCondition.build(**arguments).describe(),
        poke_interval=60.0,
        deadline=time.time() + 0.5,
        max_consecutive_failures=1,
    )

    async def first() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("no event")

    event = asyncio.run(first())
    if event["status"] == "timeout" and not event["verdict"]:
        return None  # the deadline came before a first check ended (a loaded machine): no verdict
    return {"met": True, "failed": False, "timeout": False}.get(event["status"])


def judge(
    server: ThreadingHTTPServer, items: list[dict[str, Any]], gate: Gate, page_limit: int, total: bool
) -> None:
    _Pages.items, _Pages.announce_total = items, total
    expected = model_met(items, gate)
    for path, verdict in (("check operator", check_operator_met), ("trigger", trigger_met)):
        met = verdict(gate, page_limit)
        assert not (met and not expected), f"the {path} opened a gate the model keeps closed"
        assert met is None or met == expected, f"the {path} said {met}, the model {expected}"


# Each example below is one that the property found while the validator was broken; kept as regular tests.
BOTH_COPIES = [
    {"id": "service:a", "type": "score", "attributes": {"score": 0.9}},
    {"id": "service:b", "type": "score", "attributes": {"score": 0.5}},
    {"id": "service:a", "type": "score", "attributes": {"score": 0.1}},
]
A_COPY_WITHOUT_SCORE = [
    {"id": "service:a", "type": "score", "attributes": {"score": 0.0}},
    {"id": "service:a", "type": "score", "attributes": {}},
]
NOTHING_EVALUATED = [{"id": "service:a", "type": "score", "attributes": {"denominator": 0, "level": 3}}]
LEVEL_99 = [{"id": "service:a", "type": "score", "attributes": {"level": 99}}]


@settings(
    max_examples=EXAMPLES,
    derandomize="ORACLE_EXAMPLES" not in os.environ,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases(), page_limit=st.integers(1, 4), total=st.booleans())
@example(
    case=(BOTH_COPIES, Gate("score", 0.8, None, "all", "fail", ("service:a",))), page_limit=2, total=True
)
@example(
    case=(A_COPY_WITHOUT_SCORE, Gate("score", 0.0, None, "all", "fail", None)), page_limit=1, total=False
)
@example(case=(NOTHING_EVALUATED, Gate("level", 2.0, None, "all", "ignore", None)), page_limit=1, total=True)
@example(case=(LEVEL_99, Gate("level", 2.0, None, "all", "fail", None)), page_limit=1, total=False)
def test_no_gate_is_looser_than_the_model(
    server: ThreadingHTTPServer, case: tuple[list[dict[str, Any]], Gate], page_limit: int, total: bool
) -> None:
    judge(server, *case, page_limit, total)
