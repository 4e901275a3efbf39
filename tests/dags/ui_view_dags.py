"""The Scorecards view's tests: a mapped gate (each map index its own verdict), a foreign ``verdict``."""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_scorecards.operators.check import DatadogScoreCheckOperator

with DAG(
    "ui_view_mapped", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")
) as ui_view_mapped:
    DatadogScoreCheckOperator.partial(task_id="gate", aggregation="by-entity", min_score=0.8).expand(
        score_ids=[["service:checkout-api"], ["service:payments-gateway"]]
    )


with DAG(
    "ui_view_foreign", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")
) as ui_view_foreign:

    @task
    def not_a_gate(ti: Any = None) -> None:
        """A task of the user's own that pushes a ``verdict`` of another shape."""
        ti.xcom_push(key="verdict", value={"failing": 5, "missing": 3})

    @task
    def ids_not_text(ti: Any = None) -> None:
        """A ``verdict`` of a gate's shape whose ids are not strings."""
        ti.xcom_push(key="verdict", value={"met": False, "failing": [], "waived": [{"id": "service:a"}]})

    not_a_gate()
    ids_not_text()
