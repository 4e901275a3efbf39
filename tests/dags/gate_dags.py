"""DAGs for the gate's integration tests: the sensor in each mode and the check operator."""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG

from airflow_provider_scorecards.operators.scores import DatadogScoreCheckOperator
from airflow_provider_scorecards.sensors.scores import DatadogScoreThresholdSensor

START = pendulum.datetime(2024, 1, 1, tz="UTC")
GATE_PARAMS: dict[str, Any] = {
    "aggregation": "by-entity",
    "score_ids": None,
    "min_score": None,
    "max_score": None,
    "field": None,
    "min_value": None,
    "max_value": None,
    "match": "all",
    "on_missing": "wait",
}
TEMPLATED = {name: "{{ params.%s }}" % name for name in GATE_PARAMS}  # noqa: UP031


def sensor_dag(dag_id: str, **sensor_kwargs: Any) -> DAG:
    with DAG(dag_id, schedule=None, start_date=START, params=GATE_PARAMS) as dag:
        DatadogScoreThresholdSensor(task_id="gate", poke_interval=0.2, **{**TEMPLATED, **sensor_kwargs})
    return dag


gate_poke = sensor_dag("gate_poke", mode="poke", timeout=20, deferrable=False)
gate_reschedule = sensor_dag("gate_reschedule", mode="reschedule", timeout=20, deferrable=False)
gate_deferrable = sensor_dag("gate_deferrable", timeout=20, deferrable=True)
gate_poke_timeout = sensor_dag("gate_poke_timeout", mode="poke", timeout=1, deferrable=False)
gate_poke_soft = sensor_dag("gate_poke_soft", mode="poke", timeout=1, soft_fail=True, deferrable=False)
gate_deferrable_timeout = sensor_dag("gate_deferrable_timeout", timeout=1, deferrable=True)
gate_deferrable_soft = sensor_dag("gate_deferrable_soft", timeout=1, soft_fail=True, deferrable=True)

with DAG(
    "gate_check", schedule=None, start_date=START, params={**GATE_PARAMS, "on_missing": "fail"}
) as gate_check:
    DatadogScoreCheckOperator(task_id="check", retries=3, **TEMPLATED)
