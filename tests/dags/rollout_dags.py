"""DAGs for the gate-rollout integration tests: dry run, waivers, explanations and the approval gate."""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG

from airflow_provider_scorecards.operators.approval import HITL_UNAVAILABLE, DatadogScoreApprovalOperator
from airflow_provider_scorecards.operators.check import DatadogScoreCheckOperator
from airflow_provider_scorecards.sensors.scores import DatadogScoreThresholdSensor

START = pendulum.datetime(2024, 1, 1, tz="UTC")
PARAMS: dict[str, Any] = {
    "score_ids": None,
    "min_score": 0.8,
    "dry_run": False,
    "waivers": None,
    "explain": True,
    "explain_limit": 5,
}
TEMPLATED: dict[str, Any] = {name: "{{ params.%s }}" % name for name in PARAMS}  # noqa: UP031

with DAG("rollout_check", schedule=None, start_date=START, params=PARAMS) as rollout_check:
    DatadogScoreCheckOperator(task_id="check", aggregation="by-entity", retries=2, **TEMPLATED)

for _mode, _deferrable in (("poke", False), ("deferrable", True)):
    with DAG(f"rollout_sensor_{_mode}", schedule=None, start_date=START, params=PARAMS) as _dag:
        DatadogScoreThresholdSensor(
            task_id="gate",
            aggregation="by-entity",
            poke_interval=0.2,
            timeout=3 if _deferrable else 1,  # the trigger's first check must end in time: room for load
            mode="poke",
            deferrable=_deferrable,
            **TEMPLATED,
        )
    globals()[f"rollout_sensor_{_mode}"] = _dag

# Deferred with a deadline that has passed before the trigger runs: it times out before a check of its own.
with DAG(
    "rollout_sensor_late_trigger", schedule=None, start_date=START, params=PARAMS
) as rollout_sensor_late:
    DatadogScoreThresholdSensor(
        task_id="gate", aggregation="by-entity", timeout=0.001, mode="poke", deferrable=True, **TEMPLATED
    )

if HITL_UNAVAILABLE is None:
    with DAG("rollout_approval", schedule=None, start_date=START, params=PARAMS) as rollout_approval:
        DatadogScoreApprovalOperator(task_id="approve", aggregation="by-entity", **TEMPLATED)
