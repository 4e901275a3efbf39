"""Rolling out a gate: a shadowed stricter bar, a waived legacy service, and a person who can say yes."""

# START gate_rollout
from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_scorecards.operators.approval import HITL_UNAVAILABLE, DatadogScoreApprovalOperator
from airflow_provider_scorecards.operators.scores import DatadogScoreCheckOperator

CONN_ID = "datadog_scorecards_default"
SCORECARD = "production-readiness"

with DAG(
    dag_id="scorecards_gate_rollout",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    is_paused_upon_creation=True,  # also in the examples bundle of load_examples: nothing runs unless asked
    default_args={"datadog_conn_id": CONN_ID},
    params={"service_id": "service:payments-gateway", "min_score": 0.8},
    tags=["datadog", "scorecards", "gate"],
    doc_md="""
### Rolling out a gate: shadow, waive, explain, enforce

1. `shadow_stricter_bar` evaluates a stricter bar (0.9) in a dry run: it never blocks, and its `verdict`
   XCom and log say which services it would have stopped, with their failing rules and Datadog's remarks.
2. `gate_with_waiver` enforces 0.8 on three services, one of them a legacy frontend waived for 30 days
   from the run (a real waiver names a fixed date): the waived service does not fail the gate.
3. `approve_deploy` gates `service_id` on `min_score`; when the gate is not met it asks a person in
   Required Actions (Airflow 3.1+), who may approve with a comment or reject. `deploy` runs only then.
""",
) as dag:
    shadow = DatadogScoreCheckOperator(
        task_id="shadow_stricter_bar",
        aggregation="by-entity",
        scorecard_ids=SCORECARD,
        score_ids=["service:checkout-api", "service:payments-gateway", "service:identity-service"],
        min_score=0.9,
        dry_run=True,
    )

    waived = DatadogScoreCheckOperator(
        task_id="gate_with_waiver",
        aggregation="by-entity",
        scorecard_ids=SCORECARD,
        score_ids=["service:payments-gateway", "service:identity-service", "service:web-frontend"],
        min_score=0.8,
        waivers={
            "service:web-frontend": {
                "until": "{{ (dag_run.run_after + macros.timedelta(days=30)).strftime('%Y-%m-%d') }}",
                "reason": "legacy frontend, replaced next quarter",
            }
        },
    )

    approval_arguments: dict[str, Any] = {
        "task_id": "approve_deploy",
        "aggregation": "by-entity",
        "scorecard_ids": SCORECARD,
        "score_ids": "{{ params.service_id }}",
        "min_score": "{{ params.min_score }}",
    }
    approval: DatadogScoreCheckOperator | DatadogScoreApprovalOperator
    if HITL_UNAVAILABLE is None:
        approval = DatadogScoreApprovalOperator(
            **approval_arguments, response_timeout=pendulum.duration(hours=4)
        )
    else:  # Airflow 3.0 has no human-in-the-loop operators: the gate is enforced without a break-glass
        approval = DatadogScoreCheckOperator(**approval_arguments)

    @task
    def deploy(**context: Any) -> dict[str, Any]:
        """Deploy once every gate let it through, printing and returning each gate's verdict for the audit."""
        ti = context["ti"]
        verdicts = {
            task_id: ti.xcom_pull(task_ids=task_id, key="verdict")
            for task_id in ("shadow_stricter_bar", "gate_with_waiver", "approve_deploy")
        }
        for task_id, verdict in verdicts.items():
            print(
                f"{task_id}: met={verdict['met']} dry_run={verdict['dry_run']} failing={verdict['failing']} "
                f"waived={verdict['waived']} overridden={verdict.get('overridden', False)}"
            )
        return verdicts

    [shadow, waived, approval] >> deploy()
# END gate_rollout
