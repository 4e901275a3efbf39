"""DAGs for the outcome operator's and the notifier's integration tests (dag.test() needs them here)."""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_scorecards.notifications.outcomes import DatadogScorecardOutcomeNotifier
from airflow_provider_scorecards.operators.outcomes import DatadogScorecardOutcomesOperator

START = pendulum.datetime(2024, 1, 1, tz="UTC")
PARAMS: dict[str, Any] = {
    "outcomes": {"service:checkout-api": "pass"},
    "remarks": None,
    "rule_name": "Data quality checks pass",
    "create_rule": True,
}
SCORECARD = "Production Readiness"

with DAG("outcomes_from_params", schedule=None, start_date=START, params=PARAMS):
    DatadogScorecardOutcomesOperator(
        task_id="report",
        rule_name="{{ params.rule_name }}",
        scorecard_name=SCORECARD,
        outcomes="{{ params.outcomes }}",
        remarks="{{ params.remarks }}",
        create_rule="{{ params.create_rule }}",
    )

with DAG("outcomes_from_xcom", schedule=None, start_date=START, params=PARAMS):

    @task
    def checks(**context: Any) -> Any:
        return context["params"]["outcomes"]

    DatadogScorecardOutcomesOperator(
        task_id="report", rule_name="Data quality checks pass", scorecard_name=SCORECARD, outcomes=checks()
    )


def _notifier(scorecard: str = SCORECARD) -> DatadogScorecardOutcomeNotifier:
    return DatadogScorecardOutcomeNotifier(
        rule_name="Nightly load succeeds", scorecard_name=scorecard, entity="{{ params.entity }}"
    )


@task
def load(**context: Any) -> None:
    if context["params"]["fail"]:
        raise RuntimeError("the load failed")


ENTITY = {"entity": "service:payments-gateway", "fail": False}
for dag_id, scorecard in (("notified_task", SCORECARD), ("notified_task_unknown_scorecard", "No Such Card")):
    with DAG(dag_id, schedule=None, start_date=START, params=ENTITY):
        notifier = _notifier(scorecard)
        load.override(on_success_callback=notifier, on_failure_callback=notifier)()

with DAG(
    "notified_dag",
    schedule=None,
    start_date=START,
    params=ENTITY,
    on_success_callback=_notifier(),
    on_failure_callback=_notifier(),
):
    load()
