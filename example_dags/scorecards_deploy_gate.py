"""Deployment gate: deploy a service only when its Scorecards score is good enough."""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_scorecards.operators.scores import (
    DatadogScorecardScoresOperator,
    DatadogScoreCheckOperator,
)
from airflow_provider_scorecards.sensors.scores import DatadogScoreThresholdSensor

CONN_ID = "datadog_scorecards_default"
# How often the gate looks again. Five minutes suits a real rollout; the demo shortens it.
POKE_INTERVAL = float(os.environ.get("SCORECARDS_GATE_POKE_INTERVAL", "300"))

with DAG(
    dag_id="scorecards_deploy_gate",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    is_paused_upon_creation=True,  # also in the examples bundle of load_examples: nothing runs unless asked
    default_args={"datadog_conn_id": CONN_ID},
    params={
        "service_id": "service:checkout-api",
        "scorecard_id": "production-readiness",
        "min_score": 0.8,
        "min_observability_score": 0.5,
    },
    tags=["datadog", "scorecards", "gate"],
    doc_md="""
### Deployment gate on a Scorecards score

Trigger with another `service_id`, `scorecard_id` or `min_score` from the UI.

1. `fetch_scores` records the service's current scores on the scorecard (XCom, for the audit trail).
2. `wait_for_readiness` waits, deferred (no worker slot held), until the service's score on the scorecard
   is at least `min_score`; on `timeout` it fails listing the score and the bound.
3. `deploy` runs only when the gate passed.

A second path is fail-fast: `observability_check` checks once that the service's Observability Best
Practices score is at least `min_observability_score` and fails without retries otherwise (nothing to
wait for: a canary without monitors is not worth waiting on); `deploy_canary` runs only then.
""",
) as dag:
    fetch = DatadogScorecardScoresOperator(
        task_id="fetch_scores",
        aggregation="by-entity",
        scorecard_ids="{{ params.scorecard_id }}",
        sort="score",
    )

    gate = DatadogScoreThresholdSensor(
        task_id="wait_for_readiness",
        aggregation="by-entity",
        scorecard_ids="{{ params.scorecard_id }}",
        score_ids="{{ params.service_id }}",
        min_score="{{ params.min_score }}",
        deferrable=True,
        poke_interval=POKE_INTERVAL,
        timeout=6 * 60 * 60,
    )

    check = DatadogScoreCheckOperator(
        task_id="observability_check",
        aggregation="by-entity",
        scorecard_ids="observability-best-practices",
        score_ids="{{ params.service_id }}",
        min_score="{{ params.min_observability_score }}",
    )

    @task
    def deploy(gate_records: list[dict[str, Any]], **context: Any) -> str:
        """Deploy the service: runs only once the readiness gate has passed, with the score it passed on."""
        (record,) = gate_records
        message = f"Deploying {context['params']['service_id']} (score {record['score']:.2f})"
        print(message)
        return message

    @task
    def deploy_canary(check_records: list[dict[str, Any]], **context: Any) -> str:
        """Start the canary: runs only once the observability check has passed, with that score."""
        (record,) = check_records
        message = f"Canary for {context['params']['service_id']} (observability {record['score']:.2f})"
        print(message)
        return message

    fetch >> gate
    deploy(gate.output)
    deploy_canary(check.output)
