"""Hostile and malformed input: a clear error naming the parameter, before any request; no key leaks."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from airflow_provider_scorecards.client.errors import InvalidParameterError, ScorecardsAPIError
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook
from airflow_provider_scorecards.operators.scores import (
    DatadogScorecardScoresOperator,
    DatadogScoreCheckOperator,
)
from airflow_provider_scorecards.sensors.scores import DatadogScoreThresholdSensor
from airflow_provider_scorecards.simulator import ScorecardsSimulator
from tests.conftest import CONN_ENV

HOSTILE: list[tuple[str, Any]] = [
    ("aggregation", 7),
    ("aggregation", ""),
    ("aggregation", ["by-team"]),
    ("rule_ids", {"a": 1}),
    ("rule_ids", [None]),
    ("rule_ids", [f"r{i}" for i in range(10_000)]),
    ("rule_ids", "[unclosed"),
    ("rule_levels", "0"),
    ("rule_levels", [4]),
    ("rule_levels", "<function <lambda> at 0x7f>"),
    ("scorecard_ids", 3.14),
    ("is_custom", "maybe"),
    ("is_enabled", 2),
    ("is_enabled", [True]),
    ("sort", 5),
    ("sort", "score;drop"),
    ("sort", "-"),
    ("page_limit", -1),
    ("page_limit", 10**9),
    ("page_limit", "1e3"),
    ("page_limit", 3.5),
    ("rule_name", {"x": 1}),
]


@pytest.mark.parametrize(("name", "value"), HOSTILE)
@pytest.mark.parametrize(
    "factory",
    [
        lambda **kw: DatadogScorecardScoresOperator(task_id="t", **kw),
        lambda **kw: DatadogScoreThresholdSensor(task_id="t", min_score=0.5, **kw),
        lambda **kw: DatadogScoreCheckOperator(task_id="t", min_score=0.5, **kw),
    ],
    ids=["operator", "sensor", "check"],
)
def test_hostile_query_arguments(factory: Any, name: str, value: Any) -> None:
    kwargs = {"aggregation": "by-team", name: value}
    with pytest.raises(InvalidParameterError) as info:
        factory(**kwargs)
    assert info.value.parameter == name
    assert len(str(info.value)) < 400  # a huge value is summarised, not dumped


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("min_score", "NaN"),
        ("min_score", "inf"),
        ("min_score", -0.01),
        ("max_score", "1.0000001"),
        ("field", "score; DROP"),
        ("min_value", "lots"),
        ("match", ""),
        ("on_missing", 0),
        ("score_ids", {"id": 1}),
    ],
)
def test_hostile_gate_arguments(name: str, value: Any) -> None:
    kwargs: dict[str, Any] = {"aggregation": "by-entity", "min_score": 0.5, name: value}
    if name in ("field", "min_value"):
        kwargs.pop("min_score")
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("field", "level")
    with pytest.raises(InvalidParameterError) as info:
        DatadogScoreThresholdSensor(task_id="t", **kwargs)
    assert info.value.parameter == name


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"api_url": "ftp://127.0.0.1:21"}, "http(s) URL"),
        ({"api_url": "https://user:hunter2@api.datadoghq.com"}, "credentials"),
        ({"api_url": "http://api.datadoghq.com"}, "loopback"),
        ({"api_url": "http://192.168.1.10:8080"}, "loopback"),
        ({"site": "evil.example.com"}, "expected one of datadoghq.com"),
        ({"site": "datadoghq.com.evil.example"}, "expected one of"),
        ({"timeout": 0}, "timeout"),
        ({"max_retries": 1000}, "max_retries"),
        ({"proxies": ["x"]}, "proxies"),
    ],
)
def test_hostile_connections_are_refused(
    monkeypatch: pytest.MonkeyPatch, extra: dict[str, Any], fragment: str
) -> None:
    monkeypatch.setenv(
        CONN_ENV,
        json.dumps(
            {
                "conn_type": "datadogscorecards",
                "password": "KEY-hostile-1",
                "extra": {"app_key_secret": "APP-hostile-2", **extra},
            }
        ),
    )
    with pytest.raises(InvalidParameterError) as info:
        _ = DatadogScorecardsHook().settings
    assert fragment in str(info.value)
    assert "KEY-hostile-1" not in str(info.value)
    assert "APP-hostile-2" not in str(info.value)
    assert "hunter2" not in str(info.value)


class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:
        _Recorder.seen.append(dict(self.headers))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        return None


def test_redirects_to_another_host_do_not_carry_the_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    other = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=other.serve_forever, daemon=True)
    thread.start()
    try:
        with ScorecardsSimulator(seed=1, entities=10) as sim:
            monkeypatch.setenv(CONN_ENV, sim.connection_uri())
            sim.faults.inject("redirect", 1, redirect_to=f"http://127.0.0.1:{other.server_address[1]}")
            with DatadogScorecardsHook() as hook, pytest.raises(ScorecardsAPIError) as info:
                hook.get_conn().get_page(ScoresQuery.build("by-kind"))
            assert info.value.status == 302
            assert "not followed" in str(info.value)
    finally:
        other.shutdown()
    assert _Recorder.seen == []
