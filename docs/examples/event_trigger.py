"""Event-driven scheduling: a DAG that runs when a score crosses a bound."""

# START event_trigger
from typing import Any

from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider_scorecards.triggers.scores import DatadogScoreEventTrigger

ready = Asset(
    "checkout_api_ready",
    watchers=[
        AssetWatcher(
            name="checkout_api_ready",
            trigger=DatadogScoreEventTrigger(
                aggregation="by-entity",
                scorecard_ids=["production-readiness"],
                score_ids=["service:checkout-api"],
                min_score=0.8,
                poll_interval=300,
            ),
        )
    ],
)

with DAG("on_ready", schedule=[ready]):

    @task
    def react(**context: Any) -> None:
        for events in context["triggering_asset_events"].values():
            for event in events:
                print(event.extra["payload"])  # {"status": "met", "records": [...], "report": "..."}

    react()
# END event_trigger
