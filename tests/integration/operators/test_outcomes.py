"""DatadogScorecardOutcomesOperator through real Airflow (dag.test()) against the simulator."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_scorecards.client.errors import InvalidParameterError
from airflow_provider_scorecards.operators.outcomes import DatadogScorecardOutcomesOperator
from airflow_provider_scorecards.testing.simulator import SimulatorFixture
from tests.airflow_support import run_dag

RULE = "Data quality checks pass"


def posted(kit: SimulatorFixture) -> list[tuple[str, str, str | None]]:
    return [(o["entity_reference"], o["state"], o["remarks"]) for o in kit.posted_outcomes]


def test_posts_the_outcomes_and_pushes_rule_and_count(kit: SimulatorFixture) -> None:
    outcomes = {
        "service:checkout-api": "PASS ",
        "service:search-indexer": {"state": "fail", "remarks": "3 orders without a customer id"},
        "service:web-frontend": "skip",
    }
    result = run_dag("outcomes_from_params", {"outcomes": outcomes, "remarks": "checked by Airflow"})
    assert result.state == "success", result.task_states
    (rule,) = kit.rules
    assert result.xcom("report") == {"rule_id": rule["id"], "posted": 3}
    assert {o["rule_id"] for o in kit.posted_outcomes} == {rule["id"]}
    assert posted(kit) == [
        ("service:checkout-api", "pass", "checked by Airflow"),
        ("service:search-indexer", "fail", "3 orders without a customer id"),
        ("service:web-frontend", "skip", "checked by Airflow"),
    ]


def test_outcomes_from_an_xcomarg(kit: SimulatorFixture) -> None:
    result = run_dag("outcomes_from_xcom", {"outcomes": {"service:checkout-api": "fail"}})
    assert result.state == "success", result.task_states
    assert result.xcom("report")["posted"] == 1
    assert posted(kit) == [("service:checkout-api", "fail", None)]


def test_the_rule_is_created_once_across_runs(kit: SimulatorFixture) -> None:
    first = run_dag("outcomes_from_params", {"outcomes": {"service:checkout-api": "fail"}})
    second = run_dag("outcomes_from_params", {"outcomes": {"service:checkout-api": "pass"}})
    (rule,) = kit.rules
    assert first.xcom("report")["rule_id"] == second.xcom("report")["rule_id"] == rule["id"]
    assert rule["name"] == RULE
    assert posted(kit) == [("service:checkout-api", "fail", None), ("service:checkout-api", "pass", None)]


def test_a_missing_rule_is_not_created_when_told_not_to(kit: SimulatorFixture) -> None:
    result = run_dag("outcomes_from_params", {"create_rule": False})
    assert result.task_states["report"] == "failed"
    assert kit.rules == []
    assert kit.posted_outcomes == []


@pytest.mark.parametrize(
    ("conf", "named"),
    [
        ({"outcomes": {"service:checkout-api": "maybe"}}, "outcomes"),
        ({"outcomes": {"service:checkout-api": " "}}, "outcomes"),
        ({"outcomes": {" ": "pass"}}, "outcomes"),
        ({"outcomes": {}}, "outcomes"),
        ({"outcomes": ""}, "outcomes"),
        ({"rule_name": " "}, "rule_name"),
        ({"create_rule": "perhaps"}, "create_rule"),
    ],
)
def test_bad_input_fails_before_any_request(
    kit: SimulatorFixture, conf: dict[str, Any], named: str, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run_dag("outcomes_from_params", conf)
    assert result.task_states["report"] == "failed"
    assert f"Invalid {named}" in capfd.readouterr().out
    assert kit.simulator.requests == []  # the simulator's log of every request: nothing was sent


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"outcomes": {"service:checkout-api": "passed"}}, "outcomes"),
        ({"outcomes": {}}, "outcomes"),
        ({"outcomes": {"{{ params.service }}": "pass"}}, "outcomes"),
        ({"rule_name": ""}, "rule_name"),
        ({"scorecard_name": None}, "scorecard_name"),
        ({"rule_level": 4}, "rule_level"),
        ({"datadog_conn_id": " "}, "datadog_conn_id"),
    ],
)
def test_plain_bad_arguments_fail_at_parse(arguments: dict[str, Any], named: str) -> None:
    given = {"rule_name": RULE, "scorecard_name": "Production Readiness", "outcomes": {"service:a": "pass"}}
    with pytest.raises(InvalidParameterError) as raised:
        DatadogScorecardOutcomesOperator(task_id="report", **{**given, **arguments})
    assert raised.value.parameter.startswith(named)  # outcomes names the entity too


def test_templated_and_xcom_values_wait_for_run_time() -> None:
    DatadogScorecardOutcomesOperator(
        task_id="report",
        rule_name="{{ params.rule }}",
        scorecard_name="Production Readiness",
        outcomes={"service:a": "{{ params.state }}"},
        rule_level="{{ params.level }}",
    )
