"""DAGs whose filters all come from params: a blanked param must fail the task before any request."""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG

from airflow_provider_scorecards.operators.scores import (
    DatadogScorecardScoresOperator,
    DatadogScoreCheckOperator,
)
from airflow_provider_scorecards.sensors.scores import DatadogScoreThresholdSensor

START = pendulum.datetime(2024, 1, 1, tz="UTC")
QUERY_FILTERS = ("scorecard_ids", "rule_ids", "rule_levels", "rule_name")
FILTER_PARAMS: dict[str, Any] = {name: None for name in (*QUERY_FILTERS, "score_ids")}
QUERY_TEMPLATES = {name: "{{ params.%s }}" % name for name in QUERY_FILTERS}  # noqa: UP031
GATE_TEMPLATES = {**QUERY_TEMPLATES, "score_ids": "{{ params.score_ids }}"}


def _dag(dag_id: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=START, params=FILTER_PARAMS)


with _dag("blank_filters_operator") as blank_filters_operator:
    DatadogScorecardScoresOperator(task_id="task", aggregation="by-rule", **QUERY_TEMPLATES)

with _dag("blank_filters_check") as blank_filters_check:
    DatadogScoreCheckOperator(task_id="task", aggregation="by-entity", min_score=0.0, **GATE_TEMPLATES)

with _dag("blank_filters_sensor") as blank_filters_sensor:
    DatadogScoreThresholdSensor(
        task_id="task",
        aggregation="by-entity",
        min_score=0.0,
        mode="poke",
        poke_interval=0.2,
        timeout=10,
        deferrable=False,
        **GATE_TEMPLATES,
    )

with _dag("blank_filters_deferrable") as blank_filters_deferrable:
    DatadogScoreThresholdSensor(
        task_id="task",
        aggregation="by-entity",
        min_score=0.0,
        poke_interval=0.2,
        timeout=10,
        deferrable=True,
        **GATE_TEMPLATES,
    )
