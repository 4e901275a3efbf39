"""A mapped gate for the Scorecards view's tests: each map index has its own verdict."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_provider_scorecards.operators.check import DatadogScoreCheckOperator

with DAG(
    "ui_view_mapped", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")
) as ui_view_mapped:
    DatadogScoreCheckOperator.partial(task_id="gate", aggregation="by-entity", min_score=0.8).expand(
        score_ids=[["service:checkout-api"], ["service:payments-gateway"]]
    )
