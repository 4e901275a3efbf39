"""The Airflow-free client: usable from a plain script, one entry point that says what happened."""

from __future__ import annotations

import pytest

from airflow_provider_scorecards.client import (
    ScorecardsClient,
    ScorecardsResponseError,
    ScoresQuery,
    settings_from_connection,
)
from airflow_provider_scorecards.client.pages import flatten
from airflow_provider_scorecards.simulator import ScorecardsSimulator
from tests.import_probe import loaded_by

GATE_MODULES = [
    "gate.condition",
    "gate.report",
    "gate.rollout",
    "gate.verdict",
    "gate.waivers",
    "gate.explain",
]


def test_client_package_imports_no_airflow() -> None:
    modules = ["client", "client.transport", "client.rate_limit", "client.http_errors", *GATE_MODULES]
    assert loaded_by([f"airflow_provider_scorecards.{name}" for name in modules], ("airflow",)) == []


def _client(sim: ScorecardsSimulator, **kwargs: object) -> ScorecardsClient:
    spec = sim.connection_dict()
    settings = settings_from_connection("script", spec["conn_type"], spec["password"], spec["extra"])
    return ScorecardsClient(settings, **kwargs)  # type: ignore[arg-type]


def test_fetch_returns_records_and_what_happened(fresh_sim: ScorecardsSimulator) -> None:
    fresh_sim.faults.inject("status", count=2, after=3, status=503, reset_seconds=0.01)
    spec = fresh_sim.connection_dict()
    spec["extra"]["backoff_base"] = 0.01
    settings = settings_from_connection("script", spec["conn_type"], spec["password"], spec["extra"])
    with ScorecardsClient(settings, concurrency=4) as client:
        result = client.fetch(ScoresQuery.build("by-entity", page_limit=10))
    assert result.records == [flatten(i) for i in fresh_sim.expected_scores("by-entity")]
    pages = -(-len(result.records) // 10)
    assert result.stats.pages == pages
    assert result.stats.records == len(result.records)
    assert result.stats.retries == 2
    assert result.stats.requests == pages + 2
    assert result.stats.duplicates == 0


def test_stream_fills_its_stats_as_pages_arrive_and_is_iterated_once(sim: ScorecardsSimulator) -> None:
    with _client(sim) as client:
        stream = client.stream(ScoresQuery.build("by-entity", page_limit=100), max_results=250)
        seen = 0
        for page in stream:
            seen += len(page.items)
            assert stream.stats.records == seen
        assert seen == 250
        assert stream.stats.requests == 3
        with pytest.raises(ScorecardsResponseError, match="iterated once"):
            list(stream)
