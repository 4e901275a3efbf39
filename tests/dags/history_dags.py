"""DAGs of the tests of scores over time: snapshots with Asset outlets, and the regression check from params."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Asset

from airflow_provider_scorecards.operators.scores import (
    DatadogScorecardScoresOperator,
    DatadogScoreCheckOperator,
)

START = pendulum.datetime(2024, 1, 1, tz="UTC")
TEAMS_ASSET = Asset(name="history_test_teams", uri="datadog-scorecards://history-test/by-team")
KINDS_ASSET = Asset(name="history_test_kinds", uri="datadog-scorecards://history-test/by-kind")

with DAG(
    "history_snapshot", schedule=None, start_date=START, params={"output_path": None}
) as history_snapshot:
    # One task writes a file, the other pushes records: the extra carries "path" only for the first.
    DatadogScorecardScoresOperator(
        task_id="snapshot_teams",
        aggregation="by-team",
        output_path="{{ params.output_path }}",
        outlets=[TEAMS_ASSET],
    )
    DatadogScorecardScoresOperator(task_id="fetch_kinds", aggregation="by-kind", outlets=[KINDS_ASSET])

CHECK_PARAMS = {
    "aggregation": "by-team",
    "score_ids": None,
    "min_score": None,
    "baseline": None,
    "max_drop": 0.05,
    "on_missing": "fail",
    "on_missing_baseline": "pass",
}

with DAG("history_check", schedule=None, start_date=START, params=CHECK_PARAMS) as history_check:
    DatadogScoreCheckOperator(
        task_id="check",
        retries=3,  # a regression, a corrupt or a refused baseline must fail without them
        **{name: "{{ params.%s }}" % name for name in CHECK_PARAMS},  # noqa: UP031
    )
