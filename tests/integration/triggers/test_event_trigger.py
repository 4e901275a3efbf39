"""DatadogScoreEventTrigger: edges, stored state, shared polling and back-off, over real HTTP.

The simulator's scores only improve as it drifts; to see a score fall below a bound again the tests run
its drift backwards (``sim.advance(-n)``: the organisation's outcomes as they were ``n`` steps earlier).
``service:checkout-api`` on the production-readiness scorecard (seed 7) scores 0.25, 0.5, 0.75, 0.75 and
1.0 at drift steps 0 to 4.

The asset state store Airflow 3.3 injects into event triggers is replaced by an in-memory object with the
same async ``aget``/``aset``/``adelete``: that stands in for Airflow's side, not for any of our code.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from airflow_provider_scorecards.client.errors import InvalidParameterError
from airflow_provider_scorecards.simulator import ScorecardsSimulator
from airflow_provider_scorecards.triggers.events import BACKOFF_CAP, backoff
from airflow_provider_scorecards.triggers.scores import DatadogScoreEventTrigger
from tests.conftest import CONN_ENV
from tests.import_probe import loaded_by
from tests.polling import until

CHECKOUT = "service:checkout-api"
PAYMENTS = "service:payments-gateway"  # 1.0 on production-readiness at every step
SEARCH = "service:search-indexer"  # 0.6, 0.6, 1.0, 1.0, 1.0
CLASSPATH = "airflow_provider_scorecards.triggers.scores.DatadogScoreEventTrigger"
POLL = 0.05


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScorecardsSimulator]:
    """A small simulator without drift (the tests drive it), with fast retries in the connection."""
    with ScorecardsSimulator(seed=7, entities=40) as simulator:
        conn = simulator.connection_dict()
        conn["extra"].update(backoff_base=0.01, max_retries=1, timeout=2)
        monkeypatch.setenv(CONN_ENV, json.dumps(conn))
        yield simulator


def watcher(**kwargs: Any) -> DatadogScoreEventTrigger:
    args: dict[str, Any] = {
        "aggregation": "by-entity",
        "scorecard_ids": "production-readiness",
        "score_ids": [CHECKOUT],
        "min_score": 0.7,
        "poll_interval": POLL,
    }
    args.update(kwargs)
    return DatadogScoreEventTrigger(**args)


class FakeAssetStateStore:
    """Airflow 3.3's ``AssetStateStoreAccessors`` for one asset: async get/set/delete of JSON values."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.writes = 0

    async def aget(self, key: str, default: Any = None) -> Any:
        return json.loads(json.dumps(self.data[key])) if key in self.data else default

    async def aset(self, key: str, value: Any) -> None:
        self.writes += 1
        self.data[key] = json.loads(json.dumps(value))  # JSON only, as the real store

    async def adelete(self, key: str) -> None:
        self.data.pop(key, None)


class Running:
    """A trigger's ``run()`` in a task, as the triggerer drives it, collecting the event payloads."""

    def __init__(self, trigger: DatadogScoreEventTrigger, store: FakeAssetStateStore | None = None) -> None:
        if store is not None:
            trigger.asset_state_store = store
        self.trigger = trigger
        self.events: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    async def _collect(self) -> None:
        async for event in self.trigger.run():
            payload = event.payload
            assert json.loads(json.dumps(payload)) == payload  # JSON only
            self.events.append(payload)

    async def __aenter__(self) -> Running:
        self._task = asyncio.create_task(self._collect())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        if self._task.done():
            self._task.result()  # a trigger that ended (or raised) is a failure: watchers live forever
            raise AssertionError("the trigger's run() ended")
        self._task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self._task


async def polls(sim: ScorecardsSimulator, count: int = 3, timeout: float = 20) -> None:
    """Wait until ``count`` more score requests were answered.

    A request's body may have been computed just before a ``sim.advance()``; the observation of the second
    request after it has certainly been processed once the third is logged, hence the default of 3.
    """
    target = len(sim.score_requests()) + count
    deadline = time.monotonic() + timeout
    while len(sim.score_requests()) < target:
        assert time.monotonic() < deadline, "the watcher stopped polling"
        await asyncio.sleep(0.005)


async def at_step(sim: ScorecardsSimulator, step: int) -> None:
    sim.advance(step - sim.step)
    assert sim.step == step
    await polls(sim)


def scores(events: list[dict[str, Any]]) -> list[float]:
    return [record["score"] for event in events for record in event["records"]]


# -- construction, validation, identity --------------------------------------------------------------


def test_equivalent_arguments_give_one_identity() -> None:
    """Airflow recognises a watcher by hash(classpath, kwargs) at every parse: it must not vary."""
    from airflow.triggers.base import BaseEventTrigger

    first = DatadogScoreEventTrigger(
        aggregation="by-entity",
        scorecard_ids="production-readiness",
        rule_levels="2,1",
        score_ids=f"{CHECKOUT},{PAYMENTS}",
        min_score="0.8",
        poll_interval=300,
    )
    second = DatadogScoreEventTrigger(
        aggregation=" By-Entity",
        scorecard_ids=["production-readiness", "production-readiness"],
        rule_levels=[1, 2],
        score_ids=[PAYMENTS, CHECKOUT],
        min_value=0.8,
        fire_on="MET",
        poll_interval="300.0",
        datadog_conn_id="datadog_scorecards_default",
        page_limit=1000,
    )
    assert first.serialize() == second.serialize()
    assert BaseEventTrigger.hash(*first.serialize()) == BaseEventTrigger.hash(*second.serialize())
    assert first.state_key == second.state_key
    assert first.shared_stream_key() == second.shared_stream_key()
    classpath, kwargs = first.serialize()
    assert classpath == CLASSPATH
    module, name = classpath.rsplit(".", 1)  # the triggerer's import_string, in two lines
    assert getattr(importlib.import_module(module), name) is DatadogScoreEventTrigger
    assert kwargs == {
        "aggregation": "by-entity",
        "rule_levels": [1, 2],
        "scorecard_ids": ["production-readiness"],
        "score_ids": [CHECKOUT, PAYMENTS],
        "min_value": 0.8,
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"fire_on": "change", "min_score": None, "field": "total_fail", "match": "any"},
        {"max_score": 0.9, "on_missing": "ignore", "fire_on_start": True, "datadog_conn_id": "dd_prod"},
        {"rule_ids": "b,a", "rule_name": "Has runbook", "is_custom": "false", "is_enabled": True},
        {"sort": "-score", "page_limit": 50, "poll_interval": 0.5, "score_ids": None},
    ],
)
def test_serialize_round_trip(kwargs: dict[str, Any]) -> None:
    """serialize() rebuilds an identical trigger, also after Airflow's own (de)serialisation of kwargs."""
    from airflow.serialization.serialized_objects import BaseSerialization
    from airflow.triggers.base import BaseEventTrigger

    trigger = watcher(**kwargs)
    classpath, serialized = trigger.serialize()
    assert json.loads(json.dumps(serialized)) == serialized
    rebuilt = DatadogScoreEventTrigger(**serialized)
    assert rebuilt.serialize() == (classpath, serialized)
    assert rebuilt.state_key == trigger.state_key
    stored = BaseSerialization.deserialize(BaseSerialization.serialize(serialized))  # the Trigger row
    assert stored == serialized
    assert BaseEventTrigger.hash(classpath, stored) == BaseEventTrigger.hash(classpath, serialized)


def test_state_key_separates_conditions_but_not_cadence() -> None:
    """Two watchers on one asset never share state; a new poll interval keeps it (no missed edge)."""
    base = watcher()
    assert watcher(min_score=0.8).state_key != base.state_key
    assert watcher(fire_on="change").state_key != base.state_key
    assert watcher(datadog_conn_id="other").state_key != base.state_key
    assert watcher(poll_interval=600).state_key == base.state_key
    assert watcher(fire_on_start=True).state_key == base.state_key
    assert watcher(poll_interval=600).shared_stream_key() != base.shared_stream_key()
    assert watcher(min_score=0.9).shared_stream_key() == base.shared_stream_key()  # same fetch


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"aggregation": "by-service"}, "aggregation"),
        ({"sort": "popularity"}, "sort"),
        ({"page_limit": 5000}, "page_limit"),
        ({"rule_levels": "4"}, "rule_levels"),
        ({"min_score": 1.5}, "min_score"),
        ({"min_score": None}, "min_score"),  # met mode needs a bound
        ({"field": "popularity"}, "field"),
        ({"match": "most"}, "match"),
        ({"on_missing": "later"}, "on_missing"),
        ({"fire_on": "always"}, "fire_on"),
        ({"fire_on_start": "maybe"}, "fire_on_start"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"poll_interval": "soon"}, "poll_interval"),
        ({"datadog_conn_id": ""}, "datadog_conn_id"),
        ({"fire_on": "change", "min_score": None, "field": "popularity"}, "field"),
    ],
)
def test_invalid_arguments_fail_at_construction(kwargs: dict[str, Any], parameter: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        watcher(**kwargs)
    assert info.value.parameter == parameter


def test_accepted_by_asset_watcher_and_cheap_to_import() -> None:
    from airflow.sdk import Asset, AssetWatcher

    asset = Asset("scores", watchers=[AssetWatcher(name="w", trigger=watcher())])
    assert isinstance(asset.watchers[0].trigger, DatadogScoreEventTrigger)
    heavy = (
        "requests",
        "urllib3",
        "airflow_provider_scorecards.hooks.scorecards",
        "airflow_provider_scorecards.client.transport",
    )
    assert loaded_by(["airflow_provider_scorecards.triggers.scores"], heavy) == []


def test_backoff_doubles_from_the_poll_interval_up_to_an_hour() -> None:
    assert [backoff(300, n) for n in (1, 2, 3, 4)] == [300, 600, 1200, 2400]
    assert backoff(300, 5) == BACKOFF_CAP == 3600
    assert backoff(300, 10_000) == 3600
    assert backoff(7200, 3) == 7200  # a poll interval above the cap is never shortened


# -- edges --------------------------------------------------------------------------------------------


async def test_fires_once_per_crossing(sim: ScorecardsSimulator) -> None:
    """below -> above -> stays -> below -> above: two events, each at its crossing."""
    async with Running(watcher()) as running:
        await polls(sim)  # step 0 (0.25): the baseline
        assert running.events == []
        await at_step(sim, 1)  # 0.5: still below
        assert running.events == []
        await at_step(sim, 2)  # 0.75: crosses
        assert len(running.events) == 1
        await at_step(sim, 3)  # 0.75: stays
        await at_step(sim, 4)  # 1.0: stays above, the value changed
        await polls(sim, 10)
        assert len(running.events) == 1
        await at_step(sim, 0)  # 0.25: below again (drift run backwards)
        assert len(running.events) == 1
        await at_step(sim, 2)  # 0.75: crosses again
        await polls(sim, 5)
    assert len(running.events) == 2
    first, second = running.events
    assert first["status"] == second["status"] == "met"
    assert [r["id"] for r in first["records"]] == [CHECKOUT]
    assert scores(running.events) == [0.75, 0.75]
    assert "Score gate met (score >= 0.7" in first["report"]


async def test_leaving_through_max_score_and_coming_back(sim: ScorecardsSimulator) -> None:
    """A window 0.4 <= score <= 0.8: met at 0.5 and 0.75, not met at 1.0 (above), met again at 0.75."""
    async with Running(watcher(min_score=0.4, max_score=0.8)) as running:
        await polls(sim)  # 0.25
        await at_step(sim, 1)  # 0.5: in the window
        await at_step(sim, 2)  # 0.75: still in it
        await at_step(sim, 4)  # 1.0: above the window
        await at_step(sim, 3)  # 0.75: back in it
    assert scores(running.events) == [0.5, 0.75]


async def test_baseline_met_fires_nothing_by_default(sim: ScorecardsSimulator) -> None:
    async with Running(watcher(score_ids=[PAYMENTS])) as running:
        await polls(sim, 6)
    assert running.events == []


async def test_fire_on_start_fires_once_for_a_gate_already_met(sim: ScorecardsSimulator) -> None:
    async with Running(watcher(score_ids=[PAYMENTS], fire_on_start=True)) as running:
        await polls(sim, 6)
        await at_step(sim, 2)
    assert len(running.events) == 1
    assert running.events[0]["records"][0]["id"] == PAYMENTS


async def test_fire_on_start_with_a_gate_not_met_waits_for_the_crossing(sim: ScorecardsSimulator) -> None:
    async with Running(watcher(fire_on_start=True)) as running:
        await polls(sim)
        assert running.events == []
        await at_step(sim, 2)
    assert scores(running.events) == [0.75]


async def test_change_mode_lists_every_change(sim: ScorecardsSimulator) -> None:
    trigger = watcher(fire_on="change", min_score=None, score_ids=[CHECKOUT, PAYMENTS, SEARCH])
    async with Running(trigger) as running:
        await polls(sim)  # baseline: 0.25, 1.0, 0.6
        assert running.events == []
        await at_step(sim, 1)  # checkout 0.5
        await at_step(sim, 2)  # checkout 0.75, search 1.0
        await at_step(sim, 3)  # nothing changes
        await polls(sim, 5)
    assert [event["changes"] for event in running.events] == [
        [{"id": CHECKOUT, "previous": 0.25, "current": 0.5}],
        [
            {"id": CHECKOUT, "previous": 0.5, "current": 0.75},
            {"id": SEARCH, "previous": 0.6, "current": 1.0},
        ],
    ]
    assert all(event["status"] == "changed" for event in running.events)
    assert [r["id"] for r in running.events[1]["records"]] == [CHECKOUT, SEARCH]
    assert "met" not in running.events[0]  # no bound, no verdict


async def test_change_mode_on_another_field_with_a_bound(sim: ScorecardsSimulator) -> None:
    """``field`` picks the watched value; a bound adds the verdict to each event."""
    trigger = watcher(fire_on="change", min_score=None, field="total_fail", max_value=0)
    async with Running(trigger) as running:
        await polls(sim)
        await at_step(sim, 4)  # every fail fixed
    (event,) = running.events
    assert {c["id"] for c in event["changes"]} == {CHECKOUT}
    assert event["changes"][0]["current"] == 0
    assert event["met"] is True
    assert "total_fail <= 0" in event["report"]


async def test_change_mode_fire_on_start_reports_every_value(sim: ScorecardsSimulator) -> None:
    trigger = watcher(fire_on="change", min_score=None, score_ids=[CHECKOUT, PAYMENTS], fire_on_start=True)
    async with Running(trigger) as running:
        await polls(sim, 6)
    (event,) = running.events
    assert event["changes"] == [
        {"id": CHECKOUT, "previous": None, "current": 0.25},
        {"id": PAYMENTS, "previous": None, "current": 1.0},
    ]


# -- state across restarts ----------------------------------------------------------------------------


async def test_restart_after_a_crossing_while_no_triggerer_ran_fires(sim: ScorecardsSimulator) -> None:
    store = FakeAssetStateStore()
    async with Running(watcher(), store) as before:
        await polls(sim)  # not met (0.25) is stored
    assert before.events == []
    assert store.data[watcher().state_key]["met"] is False
    sim.advance(2)  # crosses while no triggerer runs
    async with Running(watcher(), store) as after:
        await polls(sim, 6)
    assert scores(after.events) == [0.75]
    assert store.data[watcher().state_key]["met"] is True


async def test_restart_while_met_repeats_nothing(sim: ScorecardsSimulator) -> None:
    store = FakeAssetStateStore()
    async with Running(watcher(), store) as before:
        await polls(sim)
        await at_step(sim, 2)
    assert len(before.events) == 1
    # Even fire_on_start (not part of the state's identity) does not repeat the event: the state wins.
    async with Running(watcher(fire_on_start=True), store) as after:
        await polls(sim, 6)
        assert after.events == []
        await at_step(sim, 0)
        await at_step(sim, 2)
    assert scores(after.events) == [0.75]


async def test_state_is_written_only_when_it_changes(sim: ScorecardsSimulator) -> None:
    store = FakeAssetStateStore()
    async with Running(watcher(), store):
        await polls(sim, 10)
        assert store.writes == 1  # the baseline
        await at_step(sim, 2)
        await polls(sim, 10)
    assert store.writes == 2


async def test_two_watchers_on_one_asset_keep_separate_state(sim: ScorecardsSimulator) -> None:
    store = FakeAssetStateStore()  # one asset, two watchers (different bounds)
    low, high = watcher(min_score=0.4), watcher(min_score=0.7)
    async with Running(low, store) as low_run, Running(high, store) as high_run:
        await until(lambda: len(store.data) == 2, "both watchers stored a baseline")
        await at_step(sim, 1)  # 0.5: the low bar only
        await until(lambda: [s["met"] for s in store.data.values()].count(True) == 1, "the low bar is met")
    assert len(store.data) == 2
    assert sorted(state["met"] for state in store.data.values()) == [False, True]
    sim.advance(1)  # 0.75: crosses the high bar while stopped
    async with Running(watcher(min_score=0.4), store) as low_again, Running(watcher(), store) as high_again:
        await until(lambda: bool(high_again.events), "the high bar's crossing is an event")
        await polls(sim, 6)
    assert (len(low_run.events), len(high_run.events)) == (1, 0)
    assert (low_again.events, scores(high_again.events)) == ([], [0.75])


async def test_unreadable_stored_state_is_a_baseline(sim: ScorecardsSimulator) -> None:
    store = FakeAssetStateStore()
    trigger = watcher(score_ids=[PAYMENTS])
    store.data[trigger.state_key] = {"version": 999, "anything": True}
    async with Running(trigger, store) as running:
        await polls(sim, 6)
    assert running.events == []
    assert store.data[trigger.state_key]["met"] is True


async def test_a_failing_state_store_skips_then_goes_on_in_memory(
    sim: ScorecardsSimulator, capfd: pytest.CaptureFixture[str]
) -> None:
    class BrokenStore(FakeAssetStateStore):
        async def aget(self, key: str, default: Any = None) -> Any:
            raise RuntimeError("API server unavailable")

    async with Running(watcher(), BrokenStore()) as running:
        await polls(sim, 6)
        await at_step(sim, 2)
    assert scores(running.events) == [0.75]
    assert "going on with state in memory only" in capfd.readouterr().out


# -- errors: never fire, never spin -------------------------------------------------------------------


async def test_403_backs_off_logs_and_recovers_when_the_connection_is_fixed(
    sim: ScorecardsSimulator, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    good = json.loads(os.environ[CONN_ENV])
    revoked = json.loads(json.dumps(good))
    revoked["extra"]["app_key_secret"] = "revoked-app-key-123"
    monkeypatch.setenv(CONN_ENV, json.dumps(revoked))
    async with Running(watcher(score_ids=[CHECKOUT])) as running:
        await asyncio.sleep(2.5)
        refused = len(sim.score_requests())
        # Without back-off: 2.5 s / 0.05 s = 50 requests. Doubling from 0.05 s: 0, .05, .15, .35, .75, 1.55.
        assert 3 <= refused <= 7
        assert all(r.status == 403 for r in sim.score_requests())
        monkeypatch.setenv(CONN_ENV, json.dumps(good))  # the connection is fixed; nothing is redeployed
        await polls(sim, 3, timeout=10)  # the next attempt reads the connection again
        await at_step(sim, 2)
    assert scores(running.events) == [0.75]  # no event for any error; one for the crossing
    out = capfd.readouterr().out
    assert "cannot be read" in out
    assert "ScorecardsAuthError" in out
    assert "invalid or missing API key or application key" in out  # Datadog's own message
    assert "readable again" in out
    for secret in ("revoked-app-key-123", sim.api_key, sim.app_key):
        assert secret not in out


async def test_transient_failures_back_off_and_fire_nothing(sim: ScorecardsSimulator) -> None:
    async with Running(watcher()) as running:
        await polls(sim)
        sim.faults.inject("status", count=4, status=503)
        sim.faults.inject("rate_limit", count=2, reset_seconds=0.01)
        sim.faults.inject("drop", count=2)
        await polls(sim, 12)
        assert running.events == []
        await at_step(sim, 2)
    assert scores(running.events) == [0.75]
    assert sim.faults.injected == 8


# -- one poll per query: Airflow's shared streams -----------------------------------------------------


async def run_watchers(
    triggers: list[DatadogScoreEventTrigger], sim: ScorecardsSimulator, intervals: int, *, shared: bool
) -> tuple[list[list[dict[str, Any]]], float]:
    """Run watchers as the triggerer does and cross their bars once; each one's events, requests/interval.

    ``shared``: as Airflow 3.3's triggerer, through its own SharedStreamManager: subscribe by
    ``shared_stream_key()`` and feed the broadcast to each watcher's ``filter_shared_stream``. Otherwise
    as Airflow 3.0's: each watcher's own stream (what ``run()`` chains). Requests per interval are counted
    after every watcher has its baseline, over ``intervals`` snapshots seen by each watcher.
    """
    manager = None
    if shared:
        manager = pytest.importorskip("airflow.triggers.shared_stream").SharedStreamManager()
    events: list[list[dict[str, Any]]] = [[] for _ in triggers]
    seen = [0] * len(triggers)

    async def counted(index: int, stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for snapshot in stream:
            seen[index] += 1
            yield snapshot

    async def consume(index: int, trigger: DatadogScoreEventTrigger) -> None:
        key = trigger.shared_stream_key()
        if manager is not None:
            stream = manager.subscribe(trigger_id=index, trigger=trigger, key=key)
        else:
            stream = trigger.open_shared_stream(trigger.serialize()[1])
        try:
            async for event in trigger.filter_shared_stream(counted(index, stream)):
                events[index].append(event.payload)
        finally:
            if manager is not None:
                await manager.unsubscribe(index, key)

    tasks = [asyncio.create_task(consume(i, t)) for i, t in enumerate(triggers)]
    try:
        await until(lambda: min(seen) >= 2, "every watcher has its baseline")
        sim.reset_log()
        start = list(seen)
        sim.advance(2)  # 0.75

        def progressed() -> bool:
            assert not any(task.done() for task in tasks)
            return min(now - then for now, then in zip(seen, start, strict=True)) >= intervals

        await until(progressed, f"every watcher has seen {intervals} more intervals", timeout=60)
        requests = len(sim.score_requests())
        observed = sum(now - then for now, then in zip(seen, start, strict=True)) / len(triggers)
        return events, requests / observed
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if manager is not None:
            await manager.stop_all()


@pytest.mark.parametrize("shared", [True, False], ids=["shared-stream", "standalone"])
@pytest.mark.parametrize("watchers", [1, 10, 100])
async def test_requests_per_interval(sim: ScorecardsSimulator, watchers: int, shared: bool) -> None:
    """N watchers of one query, each with its own bar: one request per interval whatever N, and each
    watcher still reaches its own verdict. With shared streams (3.3) one stream polls for all; without
    them (3.0) each watcher's stream polls, and the triggerer's shared fetches make those polls one."""
    bars = [round(0.3 + 0.6 * i / max(1, watchers - 1), 4) for i in range(watchers)]
    triggers = [watcher(min_score=bar, poll_interval=0.1) for bar in bars]
    assert len({t.shared_stream_key() for t in triggers}) == 1
    events, per_interval = await run_watchers(triggers, sim, intervals=4, shared=shared)
    path = "shared stream" if shared else "standalone run()"
    print(f"\n{watchers:>3} watcher(s), {path}: {per_interval:.2f} requests per interval")
    assert 1.0 <= per_interval <= 1.25  # 1, and a fetch in flight at the end (unshared: N)
    for bar, fired in zip(bars, events, strict=True):
        assert scores(fired) == ([0.75] if 0.25 < bar <= 0.75 else []), bar


# -- the example DAG ----------------------------------------------------------------------------------


def test_example_dag_is_scheduled_on_the_watched_asset() -> None:
    from tests.airflow_support import dagbag

    dag = dagbag().get_dag("scorecards_event_driven")
    assert dag is not None
    (asset,) = dag.timetable.asset_condition.objects
    (asset_watcher,) = asset.watchers
    trigger = asset_watcher.trigger
    assert isinstance(trigger, DatadogScoreEventTrigger)
    assert trigger.poll_interval == float(os.environ.get("SCORECARDS_EVENT_POLL_INTERVAL", "300"))
    kwargs = trigger.serialize()[1]
    kwargs.pop("poll_interval", None)
    assert kwargs == {
        "aggregation": "by-entity",
        "scorecard_ids": ["production-readiness"],
        "score_ids": [CHECKOUT],
        "min_value": 0.8,
    }
    assert trigger.datadog_conn_id == "datadog_scorecards_default"


def test_example_dag_run_by_hand_reports_no_event() -> None:
    """Triggered by hand there is no asset event: the task says so with an empty list, not an error."""
    from tests.airflow_support import run_dag

    result = run_dag("scorecards_event_driven")
    assert result.state == "success", result.task_states
    assert result.xcom("report_crossing") == []
