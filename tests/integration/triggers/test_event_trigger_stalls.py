"""DatadogScoreEventTrigger against a server that accepts requests and never answers, over real HTTP.

Watchers on a stalled connection must not hold the event loop's default executor (another connection's
watchers and gates would wait for it), and a watcher cancelled mid-fetch must cut its request at once
instead of retrying against the server. The stalled server answers nothing for 10 s; the connection
gives up an attempt after 1 s (``timeout``) and makes 3 attempts.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.gate.condition import GateCondition
from airflow_provider_scorecards.simulator import ScorecardsSimulator
from airflow_provider_scorecards.triggers.scores import DatadogScoreEventTrigger, DatadogScoreThresholdTrigger
from airflow_provider_scorecards.triggers.shared_fetch import MAX_FETCHES_PER_GROUP, SHARED_SCORES
from tests.integration.sensors.test_sensor import first_event
from tests.integration.triggers.test_event_trigger import sim
from tests.polling import until
from tests.reliability.hostile_servers import HostileServer

__all__ = ["sim"]  # the fixture: the healthy connection (the default one), as in the event trigger's tests

CHECKOUT = "service:checkout-api"  # 0.25 on production-readiness (seed 7, no drift)
DEFAULT_EXECUTOR_THREADS = min(32, (os.cpu_count() or 1) + 4)
"""Workers of asyncio's default executor (``ThreadPoolExecutor()``'s default) on this machine."""


class Stalled:
    """A server that reads each request, answers nothing, and notes when the client hangs up."""

    def __init__(self) -> None:
        self.open = 0
        self.most_open = 0
        self.hung_up: list[float] = []
        self._lock = threading.Lock()
        self.server = HostileServer(self._behave)

    def _behave(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.open += 1
            self.most_open = max(self.most_open, self.open)
        try:
            handler.connection.settimeout(10)
            handler.rfile.read(1)  # b"" once the client closes its socket; never an answer
        finally:
            with self._lock:
                self.open -= 1
                self.hung_up.append(time.monotonic())


@pytest.fixture
def stalled(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stalled]:
    stall = Stalled()
    with stall.server:
        connection = stall.server.connection(timeout=1, max_retries=2, backoff_base=0.01)
        monkeypatch.setenv("AIRFLOW_CONN_STALLED", connection)
        yield stall
    assert SHARED_SCORES.idle, "a shared fetch outlived its last watcher"


def watcher(**kwargs: Any) -> DatadogScoreEventTrigger:
    args: dict[str, Any] = {
        "aggregation": "by-entity",
        "score_ids": [CHECKOUT],
        "min_score": 0.1,
        "fire_on_start": True,  # met at once: the first successful fetch fires
        "poll_interval": 60,
    }
    return DatadogScoreEventTrigger(**{**args, **kwargs})


async def first_payload(trigger: DatadogScoreEventTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("a watcher's run() ended")


async def test_watchers_on_a_stalled_connection_never_delay_another_connection(
    stalled: Stalled, sim: ScorecardsSimulator
) -> None:
    """As many stalled watchers (distinct queries) as the default executor has threads: a watcher and a
    threshold gate of the healthy connection still answer at once, and the stalled connection has at most
    two requests open (unbounded: one per watcher, and the healthy ones wait about 3 s)."""
    stuck = [
        asyncio.create_task(first_payload(watcher(scorecard_ids=f"card-{i}", datadog_conn_id="stalled")))
        for i in range(DEFAULT_EXECUTOR_THREADS)
    ]
    try:
        await until(lambda: len(stalled.server.seen) >= MAX_FETCHES_PER_GROUP, "the stalled fetches started")
        await asyncio.sleep(0.1)  # the others, were they not bounded, are in too
        started = time.monotonic()
        gate = DatadogScoreThresholdTrigger(
            datadog_conn_id="datadog_scorecards_default",
            query=ScoresQuery.build("by-entity", scorecard_ids="production-readiness").describe(),
            condition=GateCondition.build(score_ids=[CHECKOUT], min_value=0.1).describe(),
            poke_interval=60,
        )
        healthy = watcher(scorecard_ids="production-readiness")
        event, verdict = await asyncio.wait_for(asyncio.gather(first_payload(healthy), first_event(gate)), 20)
        waited = time.monotonic() - started
        assert (event["status"], verdict["status"]) == ("met", "met")
        assert waited < 1.5, f"the healthy connection waited {waited:.2f} s for the stalled one's threads"
        assert stalled.most_open <= MAX_FETCHES_PER_GROUP
        assert not any(task.done() for task in stuck)
    finally:
        for task in stuck:
            task.cancel()
        await asyncio.gather(*stuck, return_exceptions=True)


async def test_a_watcher_cancelled_mid_fetch_cuts_its_request_and_retries_nothing(stalled: Stalled) -> None:
    task = asyncio.create_task(first_payload(watcher(datadog_conn_id="stalled")))
    await until(lambda: bool(stalled.server.seen), "the watcher's request came")
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    cancelled = time.monotonic()
    # Unabandoned, the request runs to its 1 s timeout, then two more attempts open new connections.
    await until(lambda: bool(stalled.hung_up), "the request was cut", timeout=5)
    assert stalled.hung_up[0] - cancelled < 0.5
    await until(
        lambda: not any(t.name.startswith("shared-fetch") for t in threading.enumerate()),
        "the fetch thread ended",
        timeout=0.5,
    )
    await asyncio.sleep(1.3)  # past the next attempt's time, had there been one
    assert len(stalled.server.seen) == 1
