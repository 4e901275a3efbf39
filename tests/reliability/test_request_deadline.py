"""A total deadline per request, and a trigger that reports its timeout on time whatever its fetch does."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from airflow_provider_scorecards.client.errors import ScorecardsTransportError
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.gate import GateCondition
from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook
from airflow_provider_scorecards.simulator import ScorecardsSimulator
from airflow_provider_scorecards.triggers.scores import DatadogScoreThresholdTrigger
from tests.conftest import CONN_ENV
from tests.reliability.hostile_servers import drip_body, drip_headers, serving


@pytest.mark.parametrize("behave", [drip_body(0.1, chunks=100), drip_headers(0.1)], ids=["body", "headers"])
def test_a_dripping_server_is_cut_at_the_request_deadline(
    monkeypatch: pytest.MonkeyPatch, behave: Any
) -> None:
    """Every gap is 0.1 s (well under ``timeout``), the whole answer would take 10 s or forever."""
    with serving(behave) as server:
        monkeypatch.setenv(CONN_ENV, server.connection(timeout=2, request_deadline=1.0, max_retries=0))
        started = time.monotonic()
        with DatadogScorecardsHook() as hook, pytest.raises(ScorecardsTransportError) as info:
            hook.get_conn().get_page(ScoresQuery.build("by-kind"))
        elapsed = time.monotonic() - started
    assert elapsed < 3.0, elapsed  # uncut, the answer would take 10 s or forever
    assert "request_deadline=1" in str(info.value)


def _gate(conn_id: str, deadline: float, interval: float = 0.2) -> DatadogScoreThresholdTrigger:
    return DatadogScoreThresholdTrigger(
        datadog_conn_id=conn_id,
        query=ScoresQuery.build("by-kind").describe(),
        condition=GateCondition.build(min_score=0.0).describe(),
        poke_interval=interval,
        deadline=deadline,
    )


async def _first(trigger: DatadogScoreThresholdTrigger) -> tuple[str, float]:
    async for event in trigger.run():
        return str(event.payload["status"]), time.monotonic()
    raise AssertionError("no event")


async def test_a_trigger_reports_its_timeout_on_time_while_its_fetch_is_stuck(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with serving(drip_headers(0.2)) as server:
        monkeypatch.setenv("AIRFLOW_CONN_STUCK", server.connection(request_deadline=60, max_retries=0))
        started = time.monotonic()
        status, at = await asyncio.wait_for(_first(_gate("stuck", time.time() + 1.0)), 20)
    assert status == "timeout"
    assert at - started < 3.0, at - started  # the stuck fetch would hold it for 60 s


async def test_two_stalled_connections_never_delay_a_gate_on_another(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two connections whose servers never finish, several gates each, and one healthy connection."""
    with (
        serving(drip_headers(0.2)) as first,
        serving(drip_headers(0.2)) as second,
        ScorecardsSimulator(seed=3, entities=20) as sim,
    ):
        monkeypatch.setenv("AIRFLOW_CONN_HEALTHY", sim.connection_uri())
        for name, server in (("stalled_a", first), ("stalled_b", second)):
            monkeypatch.setenv(
                f"AIRFLOW_CONN_{name.upper()}", server.connection(request_deadline=60, max_retries=0)
            )
        deadline = time.time() + 3.0
        stalled = [
            asyncio.ensure_future(_first(_gate(conn, deadline)))
            for conn in ("stalled_a", "stalled_b")
            for _ in range(3)
        ]
        while len(first.seen) + len(second.seen) < 2:
            await asyncio.sleep(0.01)
        started = time.monotonic()
        status, at = await asyncio.wait_for(_first(_gate("healthy", time.time() + 10)), 20)
        assert status == "met"
        assert at - started < 3.0, at - started  # behind the stalled fetches: 60 s
        results = await asyncio.wait_for(asyncio.gather(*stalled), 20)
    assert [status for status, _ in results] == ["timeout"] * 6
    assert max(at for _, at in results) - started < 5.0  # their deadline is 3 s, their fetches 60 s
