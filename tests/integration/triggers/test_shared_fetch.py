"""Shared fetches of the score gate's trigger: one fetch per query per interval for every waiting trigger.

Real triggers against real simulators over HTTP; the simulator's request log is the witness of how many
fetches happened. Every test ends with the process's registry empty (the autouse fixture checks it).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.client.settings import ClientSettings
from airflow_provider_scorecards.gate.condition import GateCondition
from airflow_provider_scorecards.hooks import DEFAULT_CONN_ID
from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook
from airflow_provider_scorecards.simulator import FaultPlan, ScorecardsSimulator
from airflow_provider_scorecards.triggers.scores import DatadogScoreThresholdTrigger
from airflow_provider_scorecards.triggers.shared_fetch import (
    MAX_FETCHES_PER_GROUP,
    SHARED_SCORES,
    ScoresKey,
    ScoresSource,
)
from tests.conftest import CONN_ENV
from tests.integration.sensors.test_sensor import crossing_entity, first_event
from tests.polling import until

QUERY = ScoresQuery.build("by-entity")


@pytest.fixture(autouse=True)
def _registry_empty_afterwards() -> Iterator[None]:
    assert SHARED_SCORES.idle
    yield
    assert SHARED_SCORES.idle, "a shared fetch outlived its last subscriber"


def _connect(
    monkeypatch: pytest.MonkeyPatch, sim: ScorecardsSimulator, conn_id: str = DEFAULT_CONN_ID
) -> None:
    conn = sim.connection_dict()
    conn["extra"].update(backoff_base=0.01, max_retries=0)  # one request per fetch: counts stay exact
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


@pytest.fixture
def drifting(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScorecardsSimulator]:
    """Outcomes improve one step per answered request: the step a check sees counts the fetches before it."""
    with ScorecardsSimulator(seed=4, entities=40, improve_every_requests=1) as sim:
        _connect(monkeypatch, sim)
        yield sim


@pytest.fixture
def slow_sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScorecardsSimulator]:
    """100 ms per request: every trigger started together subscribes while the first fetch is in flight."""
    with ScorecardsSimulator(seed=11, entities=40, faults=FaultPlan(latency=0.1)) as sim:
        _connect(monkeypatch, sim)
        yield sim


@pytest.fixture
def slower_sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScorecardsSimulator]:
    """500 ms per request: a loaded machine still subscribes every trigger before the first answer."""
    with ScorecardsSimulator(seed=11, entities=40, faults=FaultPlan(latency=0.5)) as sim:
        _connect(monkeypatch, sim)
        yield sim


def gate(
    ids: list[str],
    bound: float,
    *,
    interval: float = 0.3,
    deadline: float | None = None,
    conn_id: str = DEFAULT_CONN_ID,
    max_failures: int = 3,
) -> DatadogScoreThresholdTrigger:
    return DatadogScoreThresholdTrigger(
        datadog_conn_id=conn_id,
        query=QUERY.describe(),
        condition=GateCondition.build(min_score=bound, score_ids=ids).describe(),
        poke_interval=interval,
        deadline=deadline,
        max_consecutive_failures=max_failures,
    )


async def events_of(
    triggers: list[DatadogScoreThresholdTrigger], timeout: float = 30
) -> list[dict[str, Any]]:
    return list(await asyncio.wait_for(asyncio.gather(*(first_event(t) for t in triggers)), timeout))


def below(sim: ScorecardsSimulator, bound: float) -> str:
    """An id whose score stays below ``bound`` (the simulator does not drift here)."""
    return str(next(i["id"] for i in sim.org.scores("by-entity") if i["attributes"]["score"] < bound))


# -- one fetch for everyone --------------------------------------------------------------------------


async def test_triggers_on_one_query_share_each_fetch(drifting: ScorecardsSimulator) -> None:
    """20 gates on one query (two different ids): the bound is crossed after exactly as many fetches as
    one trigger alone needs, so every check of every trigger used the same fetches."""
    entity, step = crossing_entity(drifting, 0.8)
    passing = max(drifting.org.scores("by-entity"), key=lambda i: i["attributes"]["score"])["id"]
    triggers = [gate([entity], 0.8) for _ in range(15)] + [gate([passing], 0.0) for _ in range(5)]
    events = await events_of(triggers)
    assert [e["status"] for e in events] == ["met"] * 20
    assert len(drifting.score_requests()) == step + 1  # unshared: about 15 * (step + 1) + 5
    assert {e["records"][0]["id"] for e in events[:15]} == {entity}
    # each event carries its own copy of the shared records
    assert events[0]["records"][0] is not events[1]["records"][0]


async def test_about_one_request_per_interval_with_bounded_threads(slow_sim: ScorecardsSimulator) -> None:
    """50 gates started over one interval poll one query for ~1.5 s: about one request per interval (not
    50), on the loop's bounded executor."""
    interval, duration = 0.3, 1.5
    watched = below(slow_sim, 0.99)
    threads_before = threading.active_count()
    peak = threads_before
    deadline = time.time() + duration

    async def staggered(index: int) -> dict[str, Any]:
        await asyncio.sleep(index * interval / 50)
        return await first_event(gate([watched], 0.99, interval=interval, deadline=deadline))

    async def sample_threads() -> None:
        nonlocal peak
        while True:
            peak = max(peak, threading.active_count())
            await asyncio.sleep(0.01)

    sampler = asyncio.create_task(sample_threads())
    events = await asyncio.wait_for(asyncio.gather(*(staggered(i) for i in range(50))), 30)
    sampler.cancel()
    assert {e["status"] for e in events} == {"timeout"}
    fetch_period = interval + 0.1  # a check is due one interval after the fetch it judged returned
    assert len(slow_sim.score_requests()) <= duration / fetch_period + 2  # unshared: about 200
    # the loop's default executor (min(32, cores + 4) workers) and the in-process simulator's connection
    # threads (one per client session: one per shared fetch, and a closed one's thread may outlive it for
    # a moment on a loaded machine), never one per trigger (50)
    assert peak <= threads_before + min(32, (os.cpu_count() or 1) + 4) + 4


async def test_fetches_of_one_connection_run_at_most_two_at_once(slow_sim: ScorecardsSimulator) -> None:
    """Six gates on six distinct queries of one connection: six fetches, two at a time (each answer takes
    100 ms), so that few threads parse at once and the pool keeps threads for the other connections."""
    filters: list[dict[str, Any]] = [{"rule_levels": [level]} for level in (1, 2, 3)]
    filters += [{"is_custom": True}, {"is_custom": False}, {}]
    triggers = [
        DatadogScoreThresholdTrigger(
            datadog_conn_id=DEFAULT_CONN_ID,
            query=ScoresQuery.build("by-entity", **query_filter).describe(),
            condition=GateCondition.build(min_score=0.99, score_ids=[below(slow_sim, 0.99)]).describe(),
            poke_interval=5.0,
            deadline=time.time() + 3.0,  # one check each (poke_interval 5 s), with room for a loaded machine
        )
        for query_filter in filters
    ]
    await events_of(triggers)
    answered = sorted(request.at for request in slow_sim.score_requests())
    assert len(answered) == 6
    # Each request is answered 100 ms after it arrives, and with two at once a third can only start once
    # one of them has been answered: any three answers span at least 100 ms (six at once would span ~0).
    assert MAX_FETCHES_PER_GROUP == 2
    assert all(b - a >= 0.09 for a, b in zip(answered, answered[2:], strict=False))


# -- never across connections or credentials ---------------------------------------------------------


async def test_different_connections_never_share(
    slower_sim: ScorecardsSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same query and simulator, two connections, one with a revoked key: each fetches for itself, and
    the revoked one gets its 403 although a fresh result of the other is at hand."""
    watched = below(slower_sim, 0.99)
    revoked = slower_sim.connection_dict()
    revoked["extra"].update(app_key_secret="revoked-app-key", max_retries=0)
    monkeypatch.setenv("AIRFLOW_CONN_SCORES_REVOKED", json.dumps(revoked))
    deadline = time.time() + 3.0
    valid = [asyncio.ensure_future(first_event(gate([watched], 0.99, deadline=deadline))) for _ in range(3)]
    await until(lambda: bool(slower_sim.score_requests()), "the valid connection's first fetch is in")
    refused = await events_of([gate([watched], 0.99, conn_id="scores_revoked") for _ in range(3)])
    assert [e["status"] for e in refused] == ["error"] * 3
    assert all("403" in e["message"] and "revoked-app-key" not in e["message"] for e in refused)
    assert [e["status"] for e in await asyncio.gather(*valid)] == ["timeout"] * 3
    assert len([r for r in slower_sim.score_requests() if r.status == 403]) == 1


async def test_rotated_credentials_under_one_connection_id_never_share(
    slow_sim: ScorecardsSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trigger that reads the connection after its key was changed does not reuse the old key's fetch."""
    watched = below(slow_sim, 0.99)
    waiting = asyncio.ensure_future(first_event(gate([watched], 0.99, deadline=time.time() + 3.0)))
    await until(lambda: bool(slow_sim.score_requests()), "the first fetch is in")
    conn = slow_sim.connection_dict()
    conn["extra"].update(app_key_secret="rotated-away", max_retries=0)
    monkeypatch.setenv(CONN_ENV, json.dumps(conn))
    (event,) = await events_of([gate([watched], 0.99)])
    assert event["status"] == "error"
    assert "403" in event["message"]
    assert (await waiting)["status"] == "timeout"  # the first one kept its own, valid, entry


def test_the_key_holds_a_digest_of_the_credentials_never_the_credentials() -> None:
    one = ClientSettings(base_url="https://api.datadoghq.com", api_key="api-key-1", app_key="app-key-1")
    other = ClientSettings(base_url="https://api.datadoghq.com", api_key="api-key-1", app_key="app-key-2")
    assert ScoresKey.of("c", one, QUERY) == ScoresKey.of("c", one, QUERY)
    assert ScoresKey.of("c", one, QUERY) != ScoresKey.of("c", other, QUERY)
    assert ScoresKey.of("c", one, QUERY) != ScoresKey.of("d", one, QUERY)
    assert ScoresKey.of("c", one, QUERY) != ScoresKey.of("c", one, ScoresQuery.build("by-team"))
    text = repr(ScoresKey.of("c", one, QUERY))
    assert "api-key-1" not in text
    assert "app-key-1" not in text


# -- errors ----------------------------------------------------------------------------------------


async def test_a_refused_fetch_reaches_every_waiter(slower_sim: ScorecardsSimulator) -> None:
    slower_sim.faults.inject("status", count=1, status=403)
    events = await events_of([gate([below(slower_sim, 0.99)], 0.99) for _ in range(10)])
    assert [e["status"] for e in events] == ["error"] * 10
    assert all("ScorecardsAuthError" in e["message"] for e in events)
    assert len(slower_sim.score_requests()) == 1


async def test_each_waiter_applies_its_own_limit_to_a_shared_transient_error(
    slower_sim: ScorecardsSimulator,
) -> None:
    """Persistent 503s: the trigger that tolerates one failure ends after the first shared fetch, the one
    that tolerates three goes on alone and ends after its third."""
    slower_sim.faults.inject("status", count=100, status=503)
    watched = below(slower_sim, 0.99)
    impatient, patient = await events_of(
        [gate([watched], 0.99, interval=0.05, max_failures=1), gate([watched], 0.99, interval=0.05)]
    )
    assert impatient["status"] == patient["status"] == "error"
    assert impatient["message"].startswith("1 consecutive transient failures")
    assert patient["message"].startswith("3 consecutive transient failures")
    assert len(slower_sim.score_requests()) == 3


# -- lifetime --------------------------------------------------------------------------------------


@pytest.mark.parametrize("moment", ["fetch in flight", "between checks"])
async def test_registry_empty_once_cancelled_triggers_leave(
    slow_sim: ScorecardsSimulator, moment: str
) -> None:
    watched = below(slow_sim, 0.99)
    tasks = [asyncio.ensure_future(first_event(gate([watched], 0.99, interval=5.0))) for _ in range(5)]
    await until(lambda: len(SHARED_SCORES) > 0, "a trigger has subscribed")
    if moment == "between checks":
        await until(lambda: bool(slow_sim.score_requests()), "the first fetch is in")
        await asyncio.sleep(0.05)  # the answer is parsed; everyone sleeps until the next check
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert SHARED_SCORES.idle


async def test_a_fetch_still_queued_for_a_slot_is_dropped_with_its_last_subscriber(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with ScorecardsSimulator(seed=11, entities=40, faults=FaultPlan(latency=1.0)) as sim:
        _connect(monkeypatch, sim)
        watched = below(sim, 0.99)
        # One check each (poke_interval 5 s), then met or a timeout: the deadline is far enough for a loaded
        # machine to subscribe all three before the first answer (1 s), which would free a slot.
        deadline = time.time() + 2.5

        def on(query_filter: dict[str, Any]) -> asyncio.Future[dict[str, Any]]:
            trigger = DatadogScoreThresholdTrigger(
                datadog_conn_id=DEFAULT_CONN_ID,
                query=ScoresQuery.build("by-entity", **query_filter).describe(),
                condition=GateCondition.build(min_score=0.99, score_ids=[watched]).describe(),
                poke_interval=5.0,
                deadline=deadline,
            )
            return asyncio.ensure_future(first_event(trigger))

        running = [on({"rule_levels": [1]}), on({"rule_levels": [2]})]
        await until(lambda: len(SHARED_SCORES) == 2, "both slots taken")
        queued = on({"rule_levels": [3]})
        await until(lambda: len(SHARED_SCORES) == 3, "the third query subscribed")
        queued.cancel()
        await asyncio.gather(queued, return_exceptions=True)
        assert len(SHARED_SCORES) == 2
        await asyncio.wait_for(asyncio.gather(*running), 30)  # met or timeout: the filters change scores
        # the slots were free from the first answer (1 s) on: a third request would have come by now
        assert len(sim.score_requests()) == 2


async def test_registry_empty_once_every_trigger_has_fired(drifting: ScorecardsSimulator) -> None:
    entity, _ = crossing_entity(drifting, 0.8)
    triggers = [gate([entity], 0.8) for _ in range(3)]
    first = asyncio.ensure_future(first_event(triggers[0]))
    await until(lambda: len(SHARED_SCORES) > 0, "the first trigger has subscribed")
    await events_of(triggers[1:])
    await first
    assert SHARED_SCORES.idle  # at once, not when the generators are collected


# -- freshness -------------------------------------------------------------------------------------


async def test_no_result_older_than_the_shortest_interval_is_used(
    slow_sim: ScorecardsSimulator,
) -> None:
    settings = DatadogScorecardsHook().settings
    key = ScoresKey.of(DEFAULT_CONN_ID, settings, QUERY)
    loop = asyncio.get_running_loop()

    def open_source() -> ScoresSource:
        return ScoresSource(settings, QUERY)

    async with (
        SHARED_SCORES.subscribe(key, max_age=1.0, open_source=open_source) as eager,
        SHARED_SCORES.subscribe(key, max_age=30.0, open_source=open_source) as patient,
    ):
        assert SHARED_SCORES.subscribers(key) == 2
        first = await eager.fetch()
        assert await patient.fetch() is first  # young enough: shared, no request
        assert len(slow_sim.score_requests()) == 1
        await asyncio.sleep(1.0 - (loop.time() - first.started) + 0.01)
        # older than the shortest max_age among the subscribers (1 s): not used, even by the patient one
        second = await patient.fetch()
        assert second is not first
        assert second.started >= first.started + 1.0
        assert len(slow_sim.score_requests()) == 2
        # a subscriber never judges the same fetch twice: asking again means a fetch of its own
        assert await patient.fetch() is not second
        assert len(slow_sim.score_requests()) == 3
        # ... which the other subscriber, which has not judged it, reuses
        third = await eager.fetch()
        assert loop.time() - third.started < 1.0
        assert len(slow_sim.score_requests()) == 3
    assert SHARED_SCORES.subscribers(key) == 0


async def test_a_late_trigger_does_not_reuse_a_result_older_than_its_interval(
    slow_sim: ScorecardsSimulator,
) -> None:
    """A trigger polling every 60 s keeps its result; one that arrives 0.6 s later with a 0.3 s interval
    fetches again instead of using it."""
    watched = below(slow_sim, 0.99)
    waiting = [asyncio.ensure_future(first_event(gate([watched], 0.99, interval=60.0)))]
    await until(lambda: bool(slow_sim.score_requests()), "the slow trigger's fetch is in")
    await asyncio.sleep(0.6)  # the result (100 ms to answer) is then well over 0.3 s old
    assert len(slow_sim.score_requests()) == 1
    waiting.append(asyncio.ensure_future(first_event(gate([watched], 0.99, interval=0.3))))
    # the first trigger's next fetch is 60 s away: a second request this soon is the late trigger's own
    await until(lambda: len(slow_sim.score_requests()) >= 2, "the late trigger fetched", timeout=5)
    assert not any(task.done() for task in waiting)  # neither bound met: both still waiting
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
