"""DatadogScoreThresholdSensor, its trigger and DatadogScoreCheckOperator, against a drifting simulator."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_scorecards._compat import AirflowSensorTimeout, AirflowSkipException, TaskDeferred
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.gate.condition import GateCondition
from airflow_provider_scorecards.sensors.scores import DatadogScoreThresholdSensor
from airflow_provider_scorecards.simulator import ScorecardsSimulator
from airflow_provider_scorecards.triggers.scores import DatadogScoreThresholdTrigger
from tests.airflow_support import run_dag
from tests.conftest import CONN_ENV


@pytest.fixture
def drifting(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScorecardsSimulator]:
    """Outcomes improve one step with every answered score request (4 steps fix every fail)."""
    with ScorecardsSimulator(seed=4, entities=40, improve_every_requests=1) as sim:
        conn = sim.connection_dict()
        conn["extra"].update(backoff_base=0.01, max_retries=1)
        monkeypatch.setenv(CONN_ENV, json.dumps(conn))
        yield sim


def crossing_entity(sim: ScorecardsSimulator, bound: float) -> tuple[str, int]:
    """An entity below ``bound`` now that reaches it only after some drift steps, and that step."""
    for item in sim.org.scores("by-entity"):
        if item["attributes"]["denominator"] and item["attributes"]["score"] < bound:
            for step in range(1, sim.org.fix_steps + 1):
                later = {i["id"]: i for i in sim.org.scores("by-entity", step=step)}[item["id"]]
                if later["attributes"]["score"] >= bound:
                    if step >= 2:
                        return item["id"], step
                    break
    raise AssertionError("no entity crosses the bound late enough")


@pytest.mark.parametrize("dag_id", ["gate_poke", "gate_reschedule", "gate_deferrable"])
def test_met_after_several_checks(drifting: ScorecardsSimulator, dag_id: str) -> None:
    entity, step = crossing_entity(drifting, 0.8)
    result = run_dag(dag_id, {"score_ids": [entity], "min_score": 0.8})
    assert result.state == "success", result.task_states
    (record,) = result.xcom("gate")
    assert record["id"] == entity
    assert record["score"] >= 0.8
    # one request per check; the bound is first reached by the check that sees drift step ``step``
    assert len(drifting.score_requests()) == step + 1


def test_met_at_first_poke_costs_one_request_and_no_deferral(drifting: ScorecardsSimulator) -> None:
    entity, _ = crossing_entity(drifting, 0.8)
    result = run_dag("gate_deferrable", {"score_ids": [entity], "min_score": 0.0})
    assert result.state == "success"
    assert len(drifting.score_requests()) == 1


@pytest.mark.parametrize("dag_id", ["gate_poke_timeout", "gate_deferrable_timeout"])
def test_timeout_reports_failing_ids(
    sim_conn: ScorecardsSimulator, capfd: pytest.CaptureFixture[str], dag_id: str
) -> None:
    watched = [sim_conn.org.entities[0].id, sim_conn.org.entities[1].id]
    result = run_dag(dag_id, {"score_ids": watched, "min_score": 1.0, "aggregation": "by-entity"})
    assert result.state == "failed"
    assert result.task_states["gate"] == "failed"
    out = capfd.readouterr().out
    assert "AirflowSensorTimeout" in out
    for score_id in watched:
        assert f"{score_id}: score=" in out
        assert "needs score >= 1" in out


@pytest.mark.parametrize("dag_id", ["gate_poke_soft", "gate_deferrable_soft"])
def test_soft_fail_turns_the_timeout_into_a_skip(sim_conn: ScorecardsSimulator, dag_id: str) -> None:
    result = run_dag(dag_id, {"score_ids": [sim_conn.org.entities[0].id], "min_score": 1.0})
    assert result.task_states["gate"] == "skipped"


@pytest.mark.parametrize("dag_id", ["gate_poke_soft", "gate_deferrable_soft"])
def test_soft_fail_never_skips_a_configuration_error(sim_conn: ScorecardsSimulator, dag_id: str) -> None:
    sim_conn.reset_log()
    result = run_dag(dag_id, {"min_score": 1.5})
    assert result.task_states["gate"] == "failed"
    assert sim_conn.requests == []


@pytest.mark.parametrize("dag_id", ["gate_poke_soft", "gate_deferrable_soft"])
def test_soft_fail_never_skips_missing_data_with_on_missing_fail(
    sim_conn: ScorecardsSimulator, dag_id: str
) -> None:
    result = run_dag(
        dag_id, {"score_ids": ["service:does-not-exist"], "min_score": 0.1, "on_missing": "fail"}
    )
    assert result.task_states["gate"] == "failed"


def test_match_any(drifting: ScorecardsSimulator) -> None:
    entity, _ = crossing_entity(drifting, 0.8)
    high = max(drifting.org.scores("by-entity"), key=lambda i: i["attributes"]["score"])["id"]
    result = run_dag("gate_poke", {"score_ids": [entity, high], "min_score": 0.8, "match": "any"})
    assert [r["id"] for r in result.xcom("gate")] == [high]
    assert len(drifting.score_requests()) == 1


def test_on_missing_ignore_and_wait(drifting: ScorecardsSimulator) -> None:
    entity, step = crossing_entity(drifting, 0.8)
    ignored = run_dag(
        "gate_poke", {"score_ids": [entity, "service:gone"], "min_score": 0.8, "on_missing": "ignore"}
    )
    assert [r["id"] for r in ignored.xcom("gate")] == [entity]
    assert len(drifting.score_requests()) == step + 1


def test_on_missing_wait_times_out(sim_conn: ScorecardsSimulator, capfd: pytest.CaptureFixture[str]) -> None:
    result = run_dag(
        "gate_poke_timeout", {"score_ids": ["service:gone"], "min_score": 0.1, "on_missing": "wait"}
    )
    assert result.state == "failed"
    assert "service:gone: absent from the result" in capfd.readouterr().out


def test_absent_id_is_reported_loudly_with_the_closest_ids(
    sim_conn: ScorecardsSimulator, capfd: pytest.CaptureFixture[str]
) -> None:
    """A typo (service:checkout-ap) warns once at the first check and names service:checkout-api."""
    result = run_dag(
        "gate_poke_timeout", {"score_ids": ["service:checkout-ap"], "min_score": 0.1, "on_missing": "wait"}
    )
    assert result.state == "failed"
    out = capfd.readouterr().out
    assert out.count("watched id(s) absent from the result") == 1  # a warning at the first check only
    assert "'service:checkout-ap' (closest: service:checkout-api" in out
    # and the timeout report carries the hint too
    assert "service:checkout-ap: absent from the result; closest ids that exist: service:checkout-api" in out


def test_poke_works_without_execute(sim_conn: ScorecardsSimulator) -> None:
    """Users' unit tests call poke() directly, as Airflow's own provider tests do."""
    best = max(sim_conn.org.scores("by-entity"), key=lambda i: i["attributes"]["score"])
    sensor = DatadogScoreThresholdSensor(
        task_id="poke_alone", aggregation="by-entity", score_ids=[best["id"]], min_score=0.0
    )
    result = sensor.poke({})  # type: ignore[arg-type]
    assert result.is_done  # type: ignore[union-attr]
    assert [r["id"] for r in result.xcom_value] == [best["id"]]  # type: ignore[union-attr]
    low = DatadogScoreThresholdSensor(
        task_id="poke_alone_low", aggregation="by-entity", score_ids=[best["id"]], max_score=0.0
    )
    assert low.poke({}) is False  # type: ignore[arg-type]


def test_field_bounds(sim_conn: ScorecardsSimulator) -> None:
    best = [i for i in sim_conn.org.scores("by-entity") if i["attributes"]["level"] == 3][:2]
    result = run_dag("gate_poke", {"score_ids": [i["id"] for i in best], "field": "level", "min_value": 3})
    assert {r["id"] for r in result.xcom("gate")} == {i["id"] for i in best}
    clean = [i["id"] for i in sim_conn.org.scores("by-entity") if i["attributes"]["total_fail"] == 0][:1]
    if clean:
        result = run_dag("gate_poke", {"score_ids": clean, "field": "total_fail", "max_value": 0})
        assert result.state == "success"


def test_rendered_threshold_out_of_range_fails_before_any_request(
    sim_conn: ScorecardsSimulator, capfd: pytest.CaptureFixture[str]
) -> None:
    sim_conn.reset_log()
    result = run_dag("gate_poke", {"min_score": 1.5})
    assert result.state == "failed"
    assert sim_conn.requests == []
    assert "Invalid min_score='1.5': expected a number from 0.0 to 1.0" in capfd.readouterr().out


def test_403_ends_the_wait_at_once(
    sim: ScorecardsSimulator, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    conn = sim.connection_dict()
    conn["extra"]["app_key_secret"] = "revoked-app-key"
    monkeypatch.setenv(CONN_ENV, json.dumps(conn))
    started = time.monotonic()
    result = run_dag("gate_poke", {"min_score": 0.5})
    assert result.state == "failed"
    assert time.monotonic() - started < 15
    out = capfd.readouterr().out
    assert "ScorecardsAuthError" in out
    assert "invalid or missing API key" in out
    assert "revoked-app-key" not in out


def test_transient_failures_keep_waiting_then_pass(drifting: ScorecardsSimulator) -> None:
    entity, _ = crossing_entity(drifting, 0.8)
    drifting.faults.inject("status", count=2, status=503, after=1)  # the 2nd check fails (1 retry each)
    result = run_dag("gate_poke", {"score_ids": [entity], "min_score": 0.8})
    assert result.state == "success"
    assert drifting.faults.injected == 2


def test_too_many_consecutive_transient_failures_fail(
    fresh_conn: ScorecardsSimulator, capfd: pytest.CaptureFixture[str]
) -> None:
    fresh_conn.faults.inject("status", count=100, status=503)
    result = run_dag("gate_poke", {"min_score": 0.99})
    assert result.state == "failed"
    assert "consecutive transient failures" in capfd.readouterr().out


# -- deferral and the trigger ----------------------------------------------------------------------


def test_defers_with_json_serialisable_kwargs(sim_conn: ScorecardsSimulator) -> None:
    sensor = DatadogScoreThresholdSensor(
        task_id="gate",
        aggregation="by-entity",
        score_ids=[sim_conn.org.entities[0].id],
        min_score=1.0,
        deferrable=True,
        timeout=60,
        poke_interval=5,
    )
    with pytest.raises(TaskDeferred) as info:
        sensor.execute(context={})
    deferred = info.value
    classpath, kwargs = deferred.trigger.serialize()
    assert classpath == "airflow_provider_scorecards.triggers.scores.DatadogScoreThresholdTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert deferred.method_name == "execute_complete"
    assert sim_conn.api_key not in json.dumps(kwargs)
    assert sim_conn.app_key not in json.dumps(kwargs)
    assert set(kwargs["query"]) >= {"aggregation", "rule_ids", "page_limit"}
    # the check before deferring travels, for a timeout that comes before a check of the trigger's own
    assert kwargs["last_check"]["verdict"]["met"] is False
    assert f"{sim_conn.org.entities[0].id}: score=" in kwargs["last_check"]["report"]


def test_the_check_before_deferring_round_trips_and_is_bounded() -> None:
    from airflow.serialization.serialized_objects import BaseSerialization

    def threshold(last_check: dict[str, Any]) -> DatadogScoreThresholdTrigger:
        return DatadogScoreThresholdTrigger(
            datadog_conn_id="datadog_scorecards_default",
            query=ScoresQuery.build("by-entity").describe(),
            condition=GateCondition.build(min_score=0.5).describe(),
            last_check=last_check,
        )

    check = {"report": "1 failing", "verdict": {"met": False, "failing": ["service:a"], "missing": []}}
    classpath, kwargs = threshold(check).serialize()
    assert kwargs["last_check"] == check
    stored = BaseSerialization.deserialize(BaseSerialization.serialize(kwargs))  # the trigger's row
    assert DatadogScoreThresholdTrigger(**stored).serialize() == (classpath, kwargs)
    ids = [f"service:{n}" for n in range(10_000)]  # a gate on every score of a large organisation
    assert threshold({"report": "r", "verdict": {"met": False, "failing": ids}}).last_check == {"report": "r"}


def trigger_for(
    sim: ScorecardsSimulator, ids: list[str], bound: float, deadline: float | None = None
) -> DatadogScoreThresholdTrigger:
    return DatadogScoreThresholdTrigger(
        datadog_conn_id="datadog_scorecards_default",
        query=ScoresQuery.build("by-entity").describe(),
        condition=GateCondition.build(min_score=bound, score_ids=ids).describe(),
        poke_interval=0.05,
        deadline=deadline,
        max_consecutive_failures=3,
    )


async def first_event(trigger: DatadogScoreThresholdTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("no event")


async def test_trigger_yields_met_after_drift(drifting: ScorecardsSimulator) -> None:
    entity, step = crossing_entity(drifting, 0.8)
    event = await asyncio.wait_for(first_event(trigger_for(drifting, [entity], 0.8)), 30)
    assert event["status"] == "met"
    assert [r["id"] for r in event["records"]] == [entity]
    assert len(drifting.score_requests()) == step + 1


async def test_trigger_fails_on_403(sim: ScorecardsSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = sim.connection_dict()
    conn["password"] = "wrong-key-for-trigger"
    monkeypatch.setenv(CONN_ENV, json.dumps(conn))
    event = await asyncio.wait_for(first_event(trigger_for(sim, [sim.org.entities[0].id], 0.5)), 30)
    assert event["status"] == "error"
    assert "403" in event["message"]
    assert "wrong-key-for-trigger" not in event["message"]


async def test_trigger_stays_alive_through_429_and_5xx(drifting: ScorecardsSimulator) -> None:
    entity, _ = crossing_entity(drifting, 0.8)
    drifting.faults.inject("rate_limit", count=2, reset_seconds=0.01)
    drifting.faults.inject("status", count=2, status=502)
    event = await asyncio.wait_for(first_event(trigger_for(drifting, [entity], 0.8)), 30)
    assert event["status"] == "met"
    assert drifting.faults.injected == 4


async def test_trigger_reports_timeout_with_the_last_report(sim_conn: ScorecardsSimulator) -> None:
    watched = sim_conn.org.entities[0].id
    event = await asyncio.wait_for(
        first_event(trigger_for(sim_conn, [watched], 1.0, deadline=time.time() + 3.0)), 30
    )
    assert event["status"] == "timeout"
    assert f"{watched}: score=" in event["report"]


async def test_a_timeout_before_the_first_check_reports_the_sensors_check(
    sim_conn: ScorecardsSimulator,
) -> None:
    trigger = trigger_for(sim_conn, [sim_conn.org.entities[0].id], 1.0, deadline=time.time() - 1)
    trigger.last_check = {"report": "the check before deferring", "verdict": {"met": True, "failing": ["x"]}}
    sim_conn.reset_log()
    event = await asyncio.wait_for(first_event(trigger), 30)
    assert (event["status"], event["report"]) == ("timeout", "the check before deferring")
    assert event["verdict"] == {"met": False, "failing": ["x"]}  # deferred, so not met, whatever it says
    assert not sim_conn.score_requests()


class _TaskInstance:
    """The one call the sensor makes on its task instance: the ``verdict`` XCom."""

    map_index = -1

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, *, key: str, value: Any) -> None:
        self.pushed[key] = value


def _resume_after_deferral_timeout(sensor: DatadogScoreThresholdSensor, ti: _TaskInstance) -> Any:
    """Resume ``sensor`` as the task runner does once the deferral outlived its timeout (no event)."""
    operator = pytest.importorskip("airflow.sdk.bases.operator")
    if not hasattr(operator, "TriggerFailureReason"):
        pytest.skip("this Airflow reports a trigger's timeout another way")
    error = {"error": operator.TriggerFailureReason.TRIGGER_TIMEOUT}
    return sensor.resume_execution(operator.TRIGGER_FAIL_REPR, error, {"ti": ti})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("soft_fail", "raised"), [(False, AirflowSensorTimeout), (True, AirflowSkipException)]
)
def test_a_deferral_timeout_ends_with_a_last_check_and_its_verdict(
    sim_conn: ScorecardsSimulator, soft_fail: bool, raised: type[Exception]
) -> None:
    watched = sim_conn.org.entities[0].id
    sensor = DatadogScoreThresholdSensor(
        task_id="gate", aggregation="by-entity", score_ids=[watched], min_score=1.0, soft_fail=soft_fail
    )
    ti = _TaskInstance()
    with pytest.raises(raised, match="Deferral timed out") as ended:
        _resume_after_deferral_timeout(sensor, ti)
    assert f"{watched}: score=" in str(ended.value)
    assert ti.pushed["verdict"]["met"] is False
    assert ti.pushed["verdict"]["failing"] == [watched]


def test_a_deferral_timeout_whose_last_check_meets_the_gate_succeeds(sim_conn: ScorecardsSimulator) -> None:
    watched = sim_conn.org.entities[0].id
    sensor = DatadogScoreThresholdSensor(
        task_id="gate", aggregation="by-entity", score_ids=[watched], min_score=0.0
    )
    ti = _TaskInstance()
    (record,) = _resume_after_deferral_timeout(sensor, ti)
    assert record["id"] == watched
    assert ti.pushed["verdict"]["met"] is True


def test_a_deferral_timeout_whose_last_check_fails_says_why(fresh_conn: ScorecardsSimulator) -> None:
    fresh_conn.faults.inject("status", count=100, status=503)
    sensor = DatadogScoreThresholdSensor(task_id="gate", aggregation="by-team", min_score=0.5)
    with pytest.raises(AirflowSensorTimeout, match=r"Deferral timed out .*the last check failed: .*503"):
        _resume_after_deferral_timeout(sensor, _TaskInstance())


# -- the check operator ------------------------------------------------------------------------------


def test_check_operator_passes(sim_conn: ScorecardsSimulator) -> None:
    result = run_dag("gate_check", {"aggregation": "by-kind", "min_score": 0.0})
    assert result.state == "success"
    assert {r["id"] for r in result.xcom("check")} == {e.kind for e in sim_conn.org.entities}


def test_check_operator_fails_without_retry(
    sim_conn: ScorecardsSimulator, capfd: pytest.CaptureFixture[str]
) -> None:
    sim_conn.reset_log()
    result = run_dag("gate_check", {"aggregation": "by-kind", "min_score": 0.99})
    assert result.state == "failed"
    assert result.task_states["check"] == "failed"  # not up_for_retry although retries=3
    assert len(sim_conn.score_requests()) == 1
    out = capfd.readouterr().out
    assert "AirflowFailException" in out
    assert "needs score >= 0.99" in out


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        (
            {"waivers": {"service:x": {"until": "9999-12-31", "reason": None}}},
            "from 2000-01-01 to 2999-12-31",
        ),
        (
            {"condition": {"field": "level", "min_value": 4}},
            "Invalid min_value=4: expected a number from 0.0 to 3.0",
        ),
        ({"query": {"aggregation": "by-nothing"}}, "aggregation"),
    ],
    ids=["waiver-date", "condition", "query"],
)
async def test_stored_kwargs_that_no_longer_validate_end_the_wait_with_a_typed_error(
    sim_conn: ScorecardsSimulator, kwargs: dict[str, Any], says: str
) -> None:
    """The triggerer rebuilds a trigger from stored kwargs; whatever they hold, run() reports, never dies."""
    _, stored = trigger_for(sim_conn, [sim_conn.org.entities[0].id], 0.5).serialize()
    event = await asyncio.wait_for(first_event(DatadogScoreThresholdTrigger(**{**stored, **kwargs})), 30)
    assert event["status"] == "error"
    assert says in event["message"]
