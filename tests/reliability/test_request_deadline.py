"""A total deadline per request, and a trigger that reports its timeout on time whatever its fetch does."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_scorecards.client.errors import ScorecardsTransportError
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.gate.condition import GateCondition
from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook
from airflow_provider_scorecards.simulator import ScorecardsSimulator
from airflow_provider_scorecards.triggers.scores import DatadogScoreThresholdTrigger
from tests.conftest import CONN_ENV
from tests.polling import until
from tests.reliability.hostile_servers import answer, drip_body, drip_headers, serving


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
        await until(
            lambda: len(first.seen) + len(second.seen) >= 2, "the stalled connections' first requests"
        )
        started = time.monotonic()
        status, at = await asyncio.wait_for(_first(_gate("healthy", time.time() + 10)), 20)
        assert status == "met"
        assert at - started < 3.0, at - started  # behind the stalled fetches: 60 s
        results = await asyncio.wait_for(asyncio.gather(*stalled), 20)
    assert [status for status, _ in results] == ["timeout"] * 6
    assert max(at for _, at in results) - started < 5.0  # their deadline is 3 s, their fetches 60 s


_LEAVES_A_STUCK_FETCH = """
import asyncio, json, sys, time
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.gate.condition import GateCondition
from tests.reliability.hostile_servers import drip_headers, serving
from airflow_provider_scorecards.triggers.scores import DatadogScoreThresholdTrigger
from tests.polling import until
import os

async def first_event(trigger):
    async for event in trigger.run():
        return event.payload["status"]

with serving(drip_headers(0.2)) as server:
    os.environ["AIRFLOW_CONN_STUCK"] = json.dumps({
        "conn_type": "datadogscorecards", "password": "k", "extra": {
            "app_key_secret": "a", "api_url": f"http://127.0.0.1:{server.port}",
            "request_deadline": 60, "max_retries": 3, "backoff_base": 0.01}})
    trigger = DatadogScoreThresholdTrigger(
        datadog_conn_id="stuck", query=ScoresQuery.build("by-kind").describe(),
        condition=GateCondition.build(min_score=0.0).describe(), poke_interval=0.2,
        deadline=time.time() + 5.0)  # room for a slow start to send its one request
    print(asyncio.run(first_event(trigger)), len(server.seen), flush=True)
    started = time.monotonic()
print(f"left {time.monotonic() - started:.2f}", flush=True)
"""


def test_a_process_whose_last_gate_left_a_stuck_fetch_exits_at_once(tmp_path: Any) -> None:
    """The gate times out while its fetch is stuck (60 s per attempt, 3 retries): the fetch is abandoned,
    so its thread returns at once, nothing is retried, and the process (a triggerer) is free to exit."""
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _LEAVES_A_STUCK_FETCH],
        cwd=Path(__file__).parents[2],  # the repository root, for tests.reliability
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-2000:]
    verdict, left = done.stdout.splitlines()[-2:]
    assert verdict == "timeout 1", done.stdout  # one request, never retried
    assert float(left.split()[1]) < 5, done.stdout  # unabandoned: the 60 s attempt, then its retries
    assert "retry" not in done.stdout + done.stderr  # an abandoned request is neither retried nor logged
    assert elapsed < 30, elapsed


def test_abandoning_a_fetch_ends_its_backoff_wait_and_its_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 503 with a 30 s backoff: abandon() from another thread ends the wait now, and nothing is retried."""

    def unavailable(handler: Any) -> None:
        answer(handler, 503, b'{"errors":[{"status":"503","title":"Service Unavailable"}]}')

    with serving(unavailable) as server:
        monkeypatch.setenv(CONN_ENV, server.connection(backoff_base=30, max_retries=3))
        with DatadogScorecardsHook() as hook:
            client = hook.get_conn()
            worker, failure = _fetching(client, server)
            time.sleep(0.2)  # in its backoff wait (15 to 30 s)
            started = time.monotonic()
            client.abandon()
            worker.join(10)
            waited = time.monotonic() - started
    assert not worker.is_alive()
    assert waited < 2.0, waited
    assert len(server.seen) == 1
    (error,) = failure
    assert isinstance(error, ScorecardsTransportError)
    assert "abandoned" in str(error)


def test_abandoning_a_request_mid_error_body_is_neither_retried_nor_the_status_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 503 dripping its body: abandon() cuts the read; the abandonment ends the fetch, no retry follows."""
    with serving(drip_body(0.05, chunks=400, status=503)) as server:
        monkeypatch.setenv(CONN_ENV, server.connection(backoff_base=0.01, max_retries=3, request_deadline=60))
        with DatadogScorecardsHook() as hook:
            client = hook.get_conn()
            worker, failure = _fetching(client, server)
            time.sleep(0.3)  # reading the dripping body
            client.abandon()
            worker.join(10)
    assert not worker.is_alive()
    assert len(server.seen) == 1
    (error,) = failure
    assert isinstance(error, ScorecardsTransportError)
    assert "abandoned" in str(error)


def _fetching(client: Any, server: Any) -> tuple[threading.Thread, list[BaseException]]:
    """Fetch in a thread of its own until ``server`` has seen the request; the thread and its failure."""
    failure: list[BaseException] = []

    def fetch() -> None:
        try:
            client.fetch(ScoresQuery.build("by-kind"))
        except BaseException as exc:
            failure.append(exc)

    worker = threading.Thread(target=fetch)
    worker.start()
    waited_until = time.monotonic() + 10
    while not server.seen:
        assert worker.is_alive(), failure
        assert time.monotonic() < waited_until, "the request never came"
        time.sleep(0.01)
    return worker, failure
