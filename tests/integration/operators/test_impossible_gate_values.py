"""Impossible values from the server never pass a gate: real Airflow (dag.test()) against a hostile server.

Each page below would meet its gate if its impossible value were taken for a score; the sensor (poking and
deferrable) and the check operator must fail instead, without retries, naming the value.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.airflow_support import run_dag
from tests.conftest import CONN_ENV

WATCHED = "service:checkout-api"
# (attributes of the watched score, the gate it would open if believed, the words of the refusal)
CASES: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    ({"score": 7.5}, {"min_score": 0.8}, "attribute 'score' is 7.5, outside 0..1"),
    ({"score": 1e308}, {"min_score": 0.8}, "attribute 'score' is 1e+308, outside 0..1"),
    (
        {"score": 0.9, "total_fail": -5},
        {"field": "total_fail", "max_value": 0},
        "'total_fail' is -5, below 0",
    ),
    (
        {"score": 0.9, "numerator": 9, "denominator": 4},
        {"field": "numerator", "min_value": 5},
        "'numerator' is 9, above its 'denominator' 4",
    ),
    (
        {"score": 0.9, "total_pass": 7, "denominator": 4},
        {"field": "total_pass", "min_value": 5},
        "'total_pass' is 7, above its 'denominator' 4",
    ),
    (
        {"score": 0.9, "level": 99},
        {"field": "level", "min_value": 2},
        "'level' is 99, above 3 (the highest level)",
    ),
    (
        {"score": 0.9, "level": 4},
        {"field": "level", "min_value": 2},
        "'level' is 4, above 3 (the highest level)",
    ),
    (
        {"score": 0.9, "total_fail": 10**400, "denominator": None},
        {"field": "total_fail", "min_value": 1},
        "above 9223372036854775807 (the int64 maximum)",
    ),
]


class _HostilePage(BaseHTTPRequestHandler):
    """Answers the n-th request with ``bodies[n]`` (the last one from then on)."""

    bodies: list[bytes] = []
    requests: list[str] = []

    def do_GET(self) -> None:
        handler = type(self)
        handler.requests.append(self.path)
        body = handler.bodies[min(len(handler.requests), len(handler.bodies)) - 1]
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.api+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_HostilePage]]:
    """A loopback server answering with the pages ``serve`` sets; the default connection points at it."""
    handler = type("Handler", (_HostilePage,), {"bodies": [], "requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    conn = {
        "conn_type": "datadog_scorecards",
        "password": "hostile-api-key",
        "extra": {"app_key_secret": "hostile-app-key", "api_url": f"http://127.0.0.1:{server.server_port}"},
    }
    monkeypatch.setenv(CONN_ENV, json.dumps(conn))
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


def serve(handler: type[_HostilePage], *watched_attributes: dict[str, Any]) -> None:
    """One page per request: two scores, the watched one with each of ``watched_attributes`` in turn."""
    fine = {"score": 0.95, "numerator": 19, "denominator": 20, "total_pass": 19, "total_fail": 1}
    handler.bodies = [
        json.dumps(
            {
                "data": [
                    {"id": "service:search-indexer", "type": "score", "attributes": fine},
                    {
                        "id": WATCHED,
                        "type": "score",
                        "attributes": {"aggregation": "by-entity", **attributes},
                    },
                ],
                "meta": {"total": 2},
                "links": {"next": "x"},
            }
        ).encode()
        for attributes in watched_attributes
    ]


@pytest.mark.parametrize(("attributes", "gate", "words"), CASES, ids=[w for _, _, w in CASES])
@pytest.mark.parametrize("dag_id", ["gate_poke", "gate_check"])
def test_an_impossible_value_fails_the_gate_closed(
    hostile: type[_HostilePage],
    capfd: pytest.CaptureFixture[str],
    dag_id: str,
    attributes: dict[str, Any],
    gate: dict[str, Any],
    words: str,
) -> None:
    serve(hostile, attributes)
    result = run_dag(dag_id, {"score_ids": [WATCHED], "aggregation": "by-entity", **gate})
    task = "gate" if dag_id == "gate_poke" else "check"
    assert result.state == "failed"
    assert result.task_states[task] == "failed"  # at once: not up_for_retry (gate_check has retries=3)
    assert len(hostile.requests) == 1  # no retry of a page that no retry can change
    out = capfd.readouterr().out
    assert "ScorecardsResponseError" in out
    assert f"page at offset 0, item 1: impossible value in score '{WATCHED}': " in out
    assert words in out


@pytest.mark.parametrize("first", [{"score": 7.5}, {"score": 0.5}], ids=["in the worker", "in the trigger"])
def test_an_impossible_value_fails_the_deferrable_gate_closed(
    hostile: type[_HostilePage], capfd: pytest.CaptureFixture[str], first: dict[str, Any]
) -> None:
    """Refused in the worker's first check, and in the trigger after a deferral (0.5: not met yet)."""
    serve(hostile, first, {"score": 7.5})
    result = run_dag("gate_deferrable", {"score_ids": [WATCHED], "min_score": 0.8})
    assert result.task_states["gate"] == "failed"
    assert len(hostile.requests) == (1 if first["score"] == 7.5 else 2)
    assert "attribute 'score' is 7.5, outside 0..1" in capfd.readouterr().out


def test_the_same_gate_opens_on_a_possible_value(hostile: type[_HostilePage]) -> None:
    """The control: the server, the DAGs and the gates above do open on a score that can be."""
    serve(hostile, {"score": 0.9, "numerator": 9, "denominator": 10, "total_pass": 9, "total_fail": 0})
    for dag_id, gate in [
        ("gate_check", {"min_score": 0.8}),
        ("gate_poke", {"field": "total_fail", "max_value": 0}),
        ("gate_check", {"field": "numerator", "min_value": 5}),
    ]:
        result = run_dag(dag_id, {"score_ids": [WATCHED], "aggregation": "by-entity", **gate})
        assert result.state == "success", (dag_id, gate)
