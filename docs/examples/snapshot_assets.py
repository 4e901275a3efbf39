"""Snapshots as Asset events: a producer DAG and a consumer scheduled on its asset."""

# START snapshot_assets
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, task

from airflow_provider_scorecards.operators.scores import DatadogScorecardScoresOperator

BY_TEAM = Asset(name="scorecards_snapshot_by_team", uri="datadog-scorecards://snapshots/by-team")

with DAG("snapshot_producer", schedule="@daily", start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    DatadogScorecardScoresOperator(
        task_id="fetch_by_team",
        aggregation="by-team",
        output_path="file:///tmp/airflow-scorecards/{{ ds }}/by-team.jsonl",
        outlets=[BY_TEAM],
    )

with DAG("snapshot_consumer", schedule=[BY_TEAM], start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):

    @task
    def load(**context: Any) -> None:
        events = context["triggering_asset_events"][BY_TEAM]  # none in a run triggered by hand
        if events:
            event = max(events, key=lambda e: e.timestamp)  # the newest snapshot
            print(event.extra["count"], event.extra["min_score"], event.extra["path"])

    load()
# END snapshot_assets
