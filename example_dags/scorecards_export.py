"""Scheduled export: daily Scorecards snapshots as Assets, a no-regression check and a trend report.

The report lists the lowest teams and rules and draws how the lowest teams moved.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, task

from airflow_provider_scorecards.operators.scores import (
    DatadogScorecardScoresOperator,
    DatadogScoreCheckOperator,
)

CONN_ID = "datadog_scorecards_default"
AGGREGATIONS = ("by-team", "by-entity", "by-rule")
# One Asset per aggregation: each run's snapshot is an asset event whose extra carries the summary (count,
# mean/min/max score, fetched_at, query, path), so downstream DAGs start when a fresh snapshot exists and
# read it without opening the file (see scorecards_snapshot_consumer.py).
SNAPSHOT_ASSETS = {
    aggregation: Asset(
        name=f"scorecards_snapshot_{aggregation.replace('-', '_')}",
        uri=f"datadog-scorecards://snapshots/{aggregation}",
    )
    for aggregation in AGGREGATIONS
}
# The run's date: its logical date, or, for a manual run without one (`airflow dags trigger`, the REST API
# with "logical_date": null), the time it was queued for. `{{ ds }}` does not exist in such a run.
SNAPSHOT_DATE = "{{ (dag_run.logical_date or dag_run.run_after) | ds }}"
WEEK_BEFORE = "{{ macros.ds_add((dag_run.logical_date or dag_run.run_after) | ds, -7) }}"
# Executors that run every task on this machine; under any other (Celery, Kubernetes, ...) tasks run on
# several machines, each with its own file:// tree.
SINGLE_MACHINE_EXECUTORS = {"LocalExecutor", "SequentialExecutor", "DebugExecutor"}


def local_root_warning(root: str) -> str | None:
    """Warn when ``root`` is a local path but the configured executor spreads tasks over machines.

    The report and next week's no-regression check read back snapshots that other tasks wrote: on
    workers spread over machines that only works on shared storage (``s3://``, ``gs://``, ...).
    """
    if not root.startswith(("file://", "/")):
        return None
    try:
        from airflow.sdk.configuration import conf
    except ImportError:  # Airflow 3.0 and 3.1
        from airflow.configuration import conf
    configured = str(conf.get("core", "executor", fallback="LocalExecutor"))
    # "CeleryExecutor", a class path, several executors ("LocalExecutor,CeleryExecutor"), or aliased
    # ("my_alias:path.to.Executor").
    names = {part.split(":")[-1].rsplit(".", 1)[-1].strip() for part in configured.split(",")}
    distributed = sorted(names - SINGLE_MACHINE_EXECUTORS - {""})
    if not distributed:
        return None
    return (
        f"output_root {root!r} is a local path, but {', '.join(distributed)} may run this DAG's tasks "
        "on different machines: each task then sees its own files and the report and the no-regression "
        "check miss the snapshots. Use shared storage (s3://, gs://, ...) for output_root."
    )


with DAG(
    dag_id="scorecards_export",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    is_paused_upon_creation=True,  # also in the examples bundle of load_examples: nothing runs unless asked
    catchup=False,
    default_args={"datadog_conn_id": CONN_ID, "retries": 2, "retry_delay": timedelta(minutes=5)},
    # file:// suits one machine (LocalExecutor). Workers spread over machines (Celery, Kubernetes) need
    # shared storage here, s3://... or gs://...: the report reads what the fetch tasks wrote (it warns).
    params={"output_root": "file:///tmp/airflow-scorecards", "lowest": 5, "trend_snapshots": 60},
    tags=["datadog", "scorecards"],
    doc_md="""
### Daily Scorecards export

Fetches every score by team, by entity and by rule, writes one JSON Lines snapshot per aggregation and
run date under `params.output_root` (`<root>/<date>/<aggregation>.jsonl`, any `ObjectStoragePath`; the
date is the logical date, or the time a manual run without one was queued for). Each snapshot is an
Asset event (`datadog-scorecards://snapshots/<aggregation>`) whose extra holds the run's summary, so a DAG
scheduled on it starts when a fresh snapshot exists.

`no_regression_since_last_week` fails when any team's score dropped by more than 0.05 since the
snapshot of seven days earlier, naming each team with both scores (the first week has nothing to compare
with and passes with a warning).

`report` lists the lowest-scoring teams and rules, with the week-over-week change, and draws
`<root>/<date>/trend.png`: the lowest teams' scores over the last `params.trend_snapshots` snapshots
(needs the `plot` extra, `pip install 'airflow-provider-scorecards[plot]'`; without it the report says so
and goes on). The records themselves stay out of the metadata database: the operators push
`{"path", "count"}` and a `summary` via XCom.
""",
) as dag:
    snapshots = {
        aggregation: DatadogScorecardScoresOperator(
            task_id=f"fetch_{aggregation.replace('-', '_')}",
            aggregation=aggregation,
            output_path="{{ params.output_root }}/" + SNAPSHOT_DATE + "/" + aggregation + ".jsonl",
            outlets=[SNAPSHOT_ASSETS[aggregation]],
        )
        for aggregation in AGGREGATIONS
    }

    # "No team's score may drop by more than 5 points since last week." The baseline is last week's
    # by-team snapshot of this same export (the same query), read before any request.
    DatadogScoreCheckOperator(
        task_id="no_regression_since_last_week",
        aggregation="by-team",
        baseline="{{ params.output_root }}/" + WEEK_BEFORE + "/by-team.jsonl",
        max_drop=0.05,
        on_missing_baseline="pass",  # the first week has nothing to compare with
        on_missing="fail",  # a team in last week's snapshot that is gone now is worth a look
    )

    @task
    def report(
        by_team: dict[str, Any], by_entity: dict[str, Any], by_rule: dict[str, Any], **context: Any
    ) -> dict[str, Any]:
        """Report the lowest teams and rules, each team's move since a week earlier, and the trend picture."""
        from airflow_provider_scorecards.operators.snapshots import read_snapshot

        params, run = context["params"], context["dag_run"]
        root = params["output_root"]
        if warning := local_root_warning(root):
            import logging

            logging.getLogger(__name__).warning(warning)
        ds = (run.logical_date or run.run_after).strftime("%Y-%m-%d")
        teams = read_snapshot(by_team["path"]) or []
        rules = read_snapshot(by_rule["path"]) or []
        week_ago = pendulum.Date.fromisoformat(ds).subtract(days=7).isoformat()
        previous = read_snapshot(f"{root}/{week_ago}/by-team.jsonl") or []
        before = {r["id"]: r["score"] for r in previous}
        lowest = int(params["lowest"])
        # Every attribute and relationship is optional in the API: a score may be null, a by-rule record
        # may come without its scorecard, a level may be null. Unknown sorts last and prints as "n/a".
        team_rows = [
            {
                "team": r["id"],
                "score": r["score"],
                "change": None
                if r["score"] is None or before.get(r["id"]) is None
                else round(r["score"] - before[r["id"]], 4),
            }
            for r in sorted(teams, key=_lowest_first)[:lowest]
        ]
        rule_rows = [
            {
                "rule": r.get("rule_id") or r["id"],  # a by-rule score's id is its rule's id
                "scorecard": r.get("scorecard_id") or "n/a",
                "level": "?" if r.get("level") is None else r["level"],
                "score": r["score"],
            }
            for r in sorted(rules, key=_lowest_first)[:lowest]
        ]
        trend, trend_note = _trend_picture(root, ds, lowest, int(params["trend_snapshots"]))
        lines = [f"Scorecards report for {ds} ({by_entity['count']} entities)", "Lowest teams:"]
        lines += [
            f"  {row['team']:<16} {_score_text(row['score'])}"
            + ("" if row["change"] is None else f"  ({row['change']:+.2f} vs {week_ago})")
            for row in team_rows
        ]
        lines += ["Lowest rules:"]
        lines += [
            f"  {row['rule']}  {row['scorecard']:<30} L{row['level']}  {_score_text(row['score'])}"
            for row in rule_rows
        ]
        lines += [trend_note]
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
            "trend": trend,
            "text": text,
        }

    def _lowest_first(record: dict[str, Any]) -> tuple[bool, float]:
        """Sort key: lowest score first, records without a score last."""
        return (record["score"] is None, record["score"] or 0.0)

    def _score_text(score: float | None) -> str:
        return "n/a" if score is None else f"{score:.2f}"

    def _trend_picture(root: str, ds: str, lowest: int, last: int) -> tuple[str | None, str]:
        """Draw the lowest teams over the last snapshots into <root>/<ds>/trend.png; (path, a line)."""
        from airflow_provider_scorecards.operators.snapshots import (
            InvalidSnapshotError,
            read_snapshot,
            snapshot_history,
            write_bytes,
        )
        from airflow_provider_scorecards.operators.trend import (
            PlotExtraMissing,
            lowest_team_trend,
            render_trend_png,
        )

        history = []
        for day, path in snapshot_history(root, "by-team.jsonl", until=ds, last=last):
            try:
                history.append((day, read_snapshot(path) or []))
            except InvalidSnapshotError as exc:  # one damaged day must not cost the whole picture
                print(f"Trend: skipping {path}: {exc}")
        try:
            png = render_trend_png(lowest_team_trend(history, lowest))
        except PlotExtraMissing as exc:
            return None, f"Trend picture skipped: {exc}"
        path = write_bytes(f"{root}/{ds}/trend.png", png)
        return path, f"Trend of the {lowest} lowest teams over {len(history)} snapshots: {path}"

    report(snapshots["by-team"].output, snapshots["by-entity"].output, snapshots["by-rule"].output)
