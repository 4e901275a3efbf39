"""History: one JSON Lines snapshot per aggregation and date, and a week-over-week regression check."""

# START daily_snapshots
import pendulum
from airflow.sdk import DAG, Asset

from airflow_provider_scorecards.operators.scores import (
    DatadogScorecardScoresOperator,
    DatadogScoreCheckOperator,
)

ROOT = "file:///tmp/airflow-scorecards"  # s3://... or gs://... when tasks run on several machines
# The run's date: its logical date, or when a manual run without one (CLI, REST API) was queued for.
DATE = "{{ (dag_run.logical_date or dag_run.run_after) | ds }}"
WEEK_BEFORE = "{{ macros.ds_add((dag_run.logical_date or dag_run.run_after) | ds, -7) }}"

with DAG(
    "scorecards_daily_snapshots",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
):
    for aggregation in ("by-team", "by-entity", "by-rule"):
        name = aggregation.replace("-", "_")
        DatadogScorecardScoresOperator(
            task_id=f"fetch_{name}",
            aggregation=aggregation,
            output_path=f"{ROOT}/{DATE}/{aggregation}.jsonl",
            outlets=[
                Asset(f"scorecards_snapshot_{name}", uri=f"datadog-scorecards://snapshots/{aggregation}")
            ],
        )

    # "No team's score may drop by more than 5 points since last week."
    DatadogScoreCheckOperator(
        task_id="no_regression_since_last_week",
        aggregation="by-team",
        baseline=f"{ROOT}/{WEEK_BEFORE}/by-team.jsonl",
        max_drop=0.05,
        on_missing_baseline="pass",  # the first week has nothing to compare with
    )
# END daily_snapshots
