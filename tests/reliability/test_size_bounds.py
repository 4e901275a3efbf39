"""Unbounded costs refused early: template values and baselines by size, pacing by an overall bound,
``Retry-After`` as an HTTP date honoured (capped)."""

from __future__ import annotations

import email.utils
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from airflow_provider_scorecards.client.client import ScorecardsClient
from airflow_provider_scorecards.client.errors import InvalidParameterError, ScorecardsRateLimitError
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.client.settings import settings_from_connection
from airflow_provider_scorecards.operators.scores import DatadogScorecardScoresOperator
from airflow_provider_scorecards.operators.snapshots import load_baseline
from tests.reliability.hostile_servers import API_KEY, APP_KEY, answer, serving


def test_a_huge_literal_template_value_is_refused_before_parsing() -> None:
    value = "[" + ", ".join(f"'rule-{i}'" for i in range(400_000)) + "]"  # about 4 MB, as conf may hold
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(InvalidParameterError) as info:
            DatadogScorecardScoresOperator(task_id="t", aggregation="by-rule", rule_ids=value)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.parameter == "rule_ids"
    assert time.monotonic() - started < 3.0  # refused by its size, not parsed
    assert peak < 50 * 1024 * 1024, peak


def test_a_baseline_of_dev_zero_is_refused() -> None:
    started = time.monotonic()
    with pytest.raises(InvalidParameterError):
        load_baseline("/dev/zero")
    assert time.monotonic() - started < 30


def test_an_oversized_baseline_file_is_refused_before_parsing(tmp_path: Path) -> None:
    from airflow_provider_scorecards.operators.snapshots import MAX_SNAPSHOT_CHARS

    path = tmp_path / "big.jsonl"
    with path.open("w") as handle:
        handle.truncate(MAX_SNAPSHOT_CHARS + 10)  # sparse: no disk spent
    with pytest.raises(InvalidParameterError) as info:
        load_baseline(str(path))
    assert "larger than" in str(info.value)


def _client(port: int, sleeps: list[float]) -> ScorecardsClient:
    settings = settings_from_connection(
        "c",
        "datadog_scorecards",
        API_KEY,
        {"app_key_secret": APP_KEY, "api_url": f"http://127.0.0.1:{port}", "backoff_base": 0.01},
    )
    return ScorecardsClient(settings, concurrency=1, sleep=sleeps.append)


def _never_a_request_left(handler: BaseHTTPRequestHandler) -> None:
    offset = int(handler.path.split("page%5Boffset%5D=")[1].split("&")[0]) if "offset" in handler.path else 0
    body = (
        b'{"data": [{"id": "s%d", "type": "score", "attributes": {"score": 1}}], '
        b'"meta": {"count": 1, "total": 200}, "links": {}}' % offset
    )
    answer(handler, body=body, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "60"})


def test_pacing_on_remaining_zero_has_an_overall_bound() -> None:
    sleeps: list[float] = []
    with (
        serving(_never_a_request_left) as server,
        _client(server.port, sleeps) as client,
        pytest.raises(ScorecardsRateLimitError),
    ):
        client.fetch(ScoresQuery.build("by-entity", page_limit=1), concurrency=1)
    assert sum(sleeps) <= 300
    assert len(server.seen) < 10


def _retry_after_a_date(handler: BaseHTTPRequestHandler) -> None:
    if len(handler.server.seen_count) == 0:  # type: ignore[attr-defined]
        handler.server.seen_count.append(1)  # type: ignore[attr-defined]
        when = email.utils.formatdate(time.time() + 20, usegmt=True)
        answer(handler, 429, b'{"errors": ["Too many requests"]}', {"Retry-After": when})
    else:
        answer(handler)


def test_retry_after_as_an_http_date_is_honoured() -> None:
    sleeps: list[float] = []
    with serving(_retry_after_a_date) as server, _client(server.port, sleeps) as client:
        server.server.seen_count = []  # type: ignore[attr-defined]
        client.get_page(ScoresQuery.build("by-kind"))
    assert len(sleeps) == 1
    assert 17 <= sleeps[0] <= 21, sleeps
