"""Scheduled export: daily snapshots of Datadog Scorecards scores and a readable report."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, ObjectStoragePath, task

from airflow_provider_scorecards.operators.scores import DatadogScorecardScoresOperator

CONN_ID = "datadog_scorecards_default"
AGGREGATIONS = ("by-team", "by-entity", "by-rule")
# The run's date: its logical date, or, for a manual run without one (`airflow dags trigger`, the REST API
# with "logical_date": null), the time it was queued for. `{{ ds }}` does not exist in such a run.
SNAPSHOT_DATE = "{{ (dag_run.logical_date or dag_run.run_after) | ds }}"

with DAG(
    dag_id="scorecards_export",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"datadog_conn_id": CONN_ID, "retries": 2, "retry_delay": timedelta(minutes=5)},
    params={"output_root": "file:///tmp/airflow-scorecards", "lowest": 5},
    tags=["datadog", "scorecards"],
    doc_md="""
### Daily Scorecards export

Fetches every score by team, by entity and by rule, writes one JSON Lines snapshot per aggregation and
run date under `params.output_root` (`<root>/<date>/<aggregation>.jsonl`, any `ObjectStoragePath`; the
date is the logical date, or the time a manual run without one was queued for), and
builds a report of the lowest-scoring teams and rules, with the week-over-week change when the snapshot of
seven days earlier exists. The operators push `{"path", "count"}` and a `summary` via XCom; the records
themselves stay out of the metadata database.
""",
) as dag:
    snapshots = {
        aggregation: DatadogScorecardScoresOperator(
            task_id=f"fetch_{aggregation.replace('-', '_')}",
            aggregation=aggregation,
            output_path="{{ params.output_root }}/" + SNAPSHOT_DATE + "/" + aggregation + ".jsonl",
        )
        for aggregation in AGGREGATIONS
    }

    @task
    def report(
        by_team: dict[str, Any], by_entity: dict[str, Any], by_rule: dict[str, Any], **context: Any
    ) -> dict[str, Any]:
        """The lowest teams and rules, and how each team moved since the snapshot a week earlier."""
        params, run = context["params"], context["dag_run"]
        ds = (run.logical_date or run.run_after).strftime("%Y-%m-%d")
        teams = _read(by_team["path"])
        rules = _read(by_rule["path"])
        week_ago = pendulum.Date.fromisoformat(ds).subtract(days=7).isoformat()
        previous = ObjectStoragePath(f"{params['output_root']}/{week_ago}/by-team.jsonl")
        before = {r["id"]: r["score"] for r in _read(str(previous))} if previous.exists() else {}
        lowest = int(params["lowest"])
        team_rows = [
            {
                "team": r["id"],
                "score": r["score"],
                "change": None if r["id"] not in before else round(r["score"] - before[r["id"]], 4),
            }
            for r in sorted(teams, key=lambda r: r["score"])[:lowest]
        ]
        rule_rows = [
            {"rule": r["rule_id"], "scorecard": r["scorecard_id"], "level": r["level"], "score": r["score"]}
            for r in sorted(rules, key=lambda r: r["score"])[:lowest]
        ]
        lines = [f"Scorecards report for {ds} ({by_entity['count']} entities)", "Lowest teams:"]
        lines += [
            f"  {row['team']:<16} {row['score']:.2f}"
            + ("" if row["change"] is None else f"  ({row['change']:+.2f} vs {week_ago})")
            for row in team_rows
        ]
        lines += ["Lowest rules:"]
        lines += [
            f"  {row['rule']}  {row['scorecard']:<30} L{row['level']}  {row['score']:.2f}"
            for row in rule_rows
        ]
        text = "\n".join(lines)
        print(text)
        return {
            "date": ds,
            "lowest_teams": team_rows,
            "lowest_rules": rule_rows,
            "compared_with": week_ago if before else None,
            "snapshots": {
                a: s["path"] for a, s in zip(AGGREGATIONS, (by_team, by_entity, by_rule), strict=True)
            },
            "text": text,
        }

    def _read(path: str) -> list[dict[str, Any]]:
        with ObjectStoragePath(path).open("r", encoding="utf-8") as handle:  # type: ignore[no-untyped-call]
            text = handle.read()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    report(snapshots["by-team"].output, snapshots["by-entity"].output, snapshots["by-rule"].output)
