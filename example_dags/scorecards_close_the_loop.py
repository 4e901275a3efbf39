"""Close the loop: a data-quality DAG reports pass/fail per service to a custom rule; a gate reads it back."""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_scorecards.notifications.outcomes import DatadogScorecardOutcomeNotifier
from airflow_provider_scorecards.operators.outcomes import DatadogScorecardOutcomesOperator
from airflow_provider_scorecards.operators.scores import DatadogScoreCheckOperator
from airflow_provider_scorecards.sensors.scores import DatadogScoreThresholdSensor

CONN_ID = "datadog_scorecards_default"
RULE = "Data quality checks pass"
SCORECARD = "Production Readiness"
POKE_INTERVAL = float(os.environ.get("SCORECARDS_GATE_POKE_INTERVAL", "30"))
# The DAG run's own outcome, posted by Airflow's DAG callbacks (in the dag-processor of a deployment).
pipeline_outcome = DatadogScorecardOutcomeNotifier(
    rule_name="Data quality pipeline succeeds",
    scorecard_name=SCORECARD,
    entity="{{ params.pipeline_service }}",
)

with DAG(
    dag_id="scorecards_close_the_loop",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    is_paused_upon_creation=True,  # also in the examples bundle of load_examples: nothing runs unless asked
    default_args={"datadog_conn_id": CONN_ID},
    on_success_callback=pipeline_outcome,
    on_failure_callback=pipeline_outcome,
    params={
        "services": ["service:checkout-api", "service:payments-gateway", "service:search-indexer"],
        "failing": ["service:search-indexer"],
        "deploy_service": "service:checkout-api",
        "pipeline_service": "service:identity-service",
    },
    tags=["datadog", "scorecards", "outcomes"],
    doc_md="""
### Close the loop: Airflow's checks on each service's scorecard

1. `data_quality` runs a data-quality check per service (here a stand-in: the services in `failing` fail).
2. `report` posts the results as outcomes of the custom rule "Data quality checks pass" in the
   Production Readiness scorecard, creating the rule on the first run (never twice).
3. `wait_for_outcomes` waits until Datadog counts them (outcomes are processed a moment after the post).
4. `gate` checks once that `deploy_service` passes the rule: the gate reads what Airflow wrote.
5. `deploy` runs only then.

The DAG run's own outcome goes to the rule "Data quality pipeline succeeds" for `pipeline_service`, pass or
fail, through `DatadogScorecardOutcomeNotifier` as the DAG's success and failure callback.
""",
) as dag:

    @task
    def data_quality(**context: Any) -> dict[str, Any]:
        """Check each service's data: ``{service: "pass"}``, or ``{"state": "fail", "remarks": ...}``."""
        params = context["params"]
        return {
            service: {"state": "fail", "remarks": "3 orders without a customer id"}
            if service in params["failing"]
            else "pass"
            for service in params["services"]
        }

    report = DatadogScorecardOutcomesOperator(
        task_id="report",
        rule_name=RULE,
        scorecard_name=SCORECARD,
        outcomes=data_quality(),
        remarks="Checked by Airflow's data-quality DAG",
        rule_description="The service's data passed the nightly data-quality checks (posted by Airflow).",
    )

    wait_for_outcomes = DatadogScoreThresholdSensor(
        task_id="wait_for_outcomes",
        aggregation="by-rule",
        rule_name=RULE,
        is_custom=True,
        field="denominator",
        min_value="{{ ti.xcom_pull(task_ids='report')['posted'] }}",
        poke_interval=POKE_INTERVAL,
        timeout=10 * 60,
    )

    gate = DatadogScoreCheckOperator(
        task_id="gate",
        aggregation="by-entity",
        rule_name=RULE,
        is_custom=True,
        score_ids="{{ params.deploy_service }}",
        min_score=1.0,
    )

    @task
    def deploy(gate_records: list[dict[str, Any]], **context: Any) -> str:
        """Deploy: runs only once the service passed the rule Airflow itself reported."""
        message = (
            f"Deploying {context['params']['deploy_service']} (data quality {gate_records[0]['score']:.0%})"
        )
        print(message)
        return message

    report >> wait_for_outcomes >> gate
    deploy(gate.output)
