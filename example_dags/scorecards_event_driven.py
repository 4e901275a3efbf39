"""Event-driven scheduling: run a DAG when a service reaches the production-readiness bar."""

from __future__ import annotations

import json
import os
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider_scorecards.triggers.scores import DatadogScoreEventTrigger

CONN_ID = "datadog_scorecards_default"
SERVICE_ID = "service:checkout-api"
# How often the watcher looks. Five minutes suits Datadog's scores; the demo and deployment tests shorten it.
POLL_INTERVAL = float(os.environ.get("SCORECARDS_EVENT_POLL_INTERVAL", "300"))

checkout_api_ready = Asset(
    name="scorecards_checkout_api_production_ready",
    uri="datadog-scorecards://production-readiness/service:checkout-api",
    watchers=[
        AssetWatcher(
            name="checkout_api_reaches_production_readiness",
            trigger=DatadogScoreEventTrigger(
                aggregation="by-entity",
                scorecard_ids=["production-readiness"],
                score_ids=[SERVICE_ID],
                min_score=0.8,
                fire_on="met",  # once per crossing: not again while the score stays above the bar
                poll_interval=POLL_INTERVAL,
                datadog_conn_id=CONN_ID,
            ),
        )
    ],
)

with DAG(
    dag_id="scorecards_event_driven",
    schedule=[checkout_api_ready],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    is_paused_upon_creation=True,  # also in the examples bundle of load_examples: nothing runs unless asked
    catchup=False,
    tags=["datadog", "scorecards", "event-driven"],
    doc_md="""
### Run when a service reaches the production-readiness bar

No schedule and no sensor: the asset `scorecards_checkout_api_production_ready` is watched by a
`DatadogScoreEventTrigger` in the triggerer, which looks at `service:checkout-api`'s score on the
Production Readiness scorecard every `SCORECARDS_EVENT_POLL_INTERVAL` seconds (default 300).

When the score goes from below 0.8 to 0.8 or more, the watcher emits one asset event and this DAG runs.
While the score stays above the bar nothing more happens; if it drops below and comes back, it runs again.
The first observation is a baseline: a service already above the bar when the watcher starts does not
start a run (`fire_on_start=True` would). On Airflow 3.3+ the watcher's last verdict is kept in the
asset's state store, so a triggerer restart neither repeats nor misses a crossing.

`report_crossing` prints the event's payload (`status`, the `records` that met the bar, the gate's
`report`) and returns it as XCom, for whatever comes next: a rollout, a notification, a ticket update.
""",
):

    @task
    def report_crossing(**context: Any) -> list[dict[str, Any]]:
        """Print and return the payload of each asset event that started this run (usually one)."""
        payloads = []
        for asset_events in context["triggering_asset_events"].values():
            for asset_event in asset_events:
                payload = asset_event.extra.get("payload", asset_event.extra)
                print(f"Scorecards event from {asset_event.asset.name}: {json.dumps(payload, indent=2)}")
                payloads.append(payload)
        return payloads

    report_crossing()
