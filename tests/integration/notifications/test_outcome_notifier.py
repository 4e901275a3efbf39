"""DatadogScorecardOutcomeNotifier through real Airflow (dag.test()) callbacks against the simulator."""

from __future__ import annotations

import asyncio

import airflow
import pytest

from airflow_provider_scorecards.client.errors import InvalidParameterError
from airflow_provider_scorecards.notifications.outcomes import DatadogScorecardOutcomeNotifier
from airflow_provider_scorecards.testing.simulator import SimulatorFixture
from tests.airflow_support import run_dag

ENTITY = "service:payments-gateway"


@pytest.mark.parametrize(("fail", "state"), [(False, "pass"), (True, "fail")])
def test_a_task_callback_posts_how_the_task_ended(kit: SimulatorFixture, fail: bool, state: str) -> None:
    result = run_dag("notified_task", {"fail": fail})
    assert result.task_states["load"] == ("failed" if fail else "success")
    (outcome,) = kit.posted_outcomes
    assert (outcome["entity_reference"], outcome["state"]) == (ENTITY, state)
    assert outcome["remarks"].startswith(f"Airflow: DAG notified_task, run {result.run_id}, task load ")
    assert "/dags/notified_task/runs/" in outcome["remarks"]
    assert outcome["remarks"].endswith("/tasks/load")
    assert [rule["name"] for rule in kit.rules] == ["Nightly load succeeds"]


@pytest.mark.parametrize(("fail", "state"), [(False, "pass"), (True, "fail")])
def test_a_dag_callback_posts_how_the_run_ended(kit: SimulatorFixture, fail: bool, state: str) -> None:
    result = run_dag("notified_dag", {"fail": fail})
    assert result.state == ("failed" if fail else "success")
    (outcome,) = kit.posted_outcomes
    assert (outcome["entity_reference"], outcome["state"]) == (ENTITY, state)
    assert outcome["remarks"].startswith(f"Airflow: DAG notified_dag, run {result.run_id} ")  # no task


def test_a_failed_post_is_one_log_line_and_changes_nothing(
    kit: SimulatorFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run_dag("notified_task_unknown_scorecard", {"fail": False})
    assert result.task_states["load"] == "success"
    assert kit.posted_outcomes == []
    output = capfd.readouterr()
    text = output.out + output.err
    lines = [line for line in text.splitlines() if "Could not post the outcome" in line]
    assert len(lines) == 1, text[-3000:]
    assert "No Such Card" in lines[0]
    assert "Traceback" not in text
    conn = kit.simulator.connection_dict()
    for secret in (conn["password"], conn["extra"]["app_key_secret"]):
        assert secret not in text


@pytest.mark.skipif(airflow.__version__.startswith("3.0."), reason="deadline alerts are Airflow 3.1+")
def test_a_deadline_alert_posts_fail_from_the_triggerer(kit: SimulatorFixture) -> None:
    """As the triggerer runs an AsyncCallback: the class built with its kwargs and the context, awaited."""
    context = {"dag_run": {"dag_id": "nightly", "dag_run_id": "scheduled__2026"}, "deadline": {"id": "d1"}}
    kwargs = {
        "rule_name": "Nightly load succeeds",
        "scorecard_name": "Production Readiness",
        "entity": ENTITY,
    }

    async def triggerer() -> None:
        await DatadogScorecardOutcomeNotifier(**kwargs, context=context)  # type: ignore[arg-type]

    asyncio.run(triggerer())
    (outcome,) = kit.posted_outcomes
    assert outcome["state"] == "fail"
    assert outcome["remarks"] == (
        "Airflow: DAG nightly, run scheduled__2026 missed its deadline. "
        "http://localhost:8080/dags/nightly/runs/scheduled__2026"
    )


@pytest.mark.parametrize(
    ("arguments", "named"),
    [({"entity": " "}, "entity"), ({"state": "passed"}, "state"), ({"rule_name": None}, "rule_name")],
)
def test_plain_bad_arguments_fail_at_parse(arguments: dict[str, object], named: str) -> None:
    given = {"rule_name": "r", "scorecard_name": "s", "entity": ENTITY}
    with pytest.raises(InvalidParameterError) as raised:
        DatadogScorecardOutcomeNotifier(**{**given, **arguments})  # type: ignore[arg-type]
    assert raised.value.parameter.startswith(named)  # outcomes names the entity too
