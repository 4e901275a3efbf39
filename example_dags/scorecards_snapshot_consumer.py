"""Asset-driven hand-off: a DAG that starts when the export has written a fresh by-team snapshot."""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, task

# The asset scorecards_export.py declares as the outlet of its by-team fetch (same name and URI).
BY_TEAM_SNAPSHOT = Asset(name="scorecards_snapshot_by_team", uri="datadog-scorecards://snapshots/by-team")

with DAG(
    dag_id="scorecards_snapshot_consumer",
    schedule=[BY_TEAM_SNAPSHOT],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    is_paused_upon_creation=True,  # also in the examples bundle of load_examples: nothing runs unless asked
    catchup=False,
    params={"alert_below": 0.4},
    tags=["datadog", "scorecards", "assets"],
    doc_md="""
### Downstream of a fresh Scorecards snapshot

Scheduled on the `datadog-scorecards://snapshots/by-team` asset: the scheduler starts a run whenever
`scorecards_export` has written a new by-team snapshot. The asset event's extra carries the snapshot's
summary (`count`, `mean_score`, `min_score`, `max_score`, `fetched_at`, `query`, `path`), so `digest`
reads it from `triggering_asset_events` without opening the file, and flags the snapshot when its lowest
team is below `params.alert_below`. Triggered by hand, it takes the latest event of the asset instead.
""",
) as dag:

    @task(inlets=[BY_TEAM_SNAPSHOT])
    def digest(**context: Any) -> dict[str, Any]:
        """One line about the snapshot that started this run, from its asset event alone."""
        events = list(context["triggering_asset_events"].get(BY_TEAM_SNAPSHOT, []))
        source = "triggering event"
        if not events:  # a manual run: the most recent snapshot event of the asset, if any
            recorded = context["inlet_events"][BY_TEAM_SNAPSHOT]
            events = [recorded[-1]] if len(recorded) else []
            source = "latest event"
        if not events:
            print("No by-team snapshot has been recorded yet: run scorecards_export first.")
            return {"snapshot": None}
        # Several snapshots may have landed since the last run: the newest one counts (the scheduler does
        # not promise any order).
        event = max(events, key=lambda e: e.timestamp)
        extra = dict(event.extra)
        bar = float(context["params"]["alert_below"])
        alert = extra["min_score"] is not None and extra["min_score"] < bar
        scores = ", ".join(
            f"{label} {'-' if extra[key] is None else format(extra[key], '.2f')}"
            for label, key in (("mean", "mean_score"), ("lowest", "min_score"), ("highest", "max_score"))
        )
        text = (
            f"Fresh by-team snapshot ({source}, fetched {extra['fetched_at']}): {extra['count']} teams, "
            f"{scores}; records at {extra.get('path')}" + (f"; ALERT: a team is below {bar}" if alert else "")
        )
        print(text)
        return {
            "snapshot": extra,
            "source": source,
            "events": len(events),
            "producer": f"{event.source_dag_id}/{event.source_run_id}",
            "alert": alert,
            "text": text,
        }

    digest()
