"""A test of the event-driven DAG's watcher with the provider's test kit, next to ``event_trigger.py``."""

# START test_event_trigger
import runpy
from pathlib import Path

DAG_FILE = Path(__file__).with_name("event_trigger.py")


def test_the_watcher_fires_when_checkout_api_reaches_the_bar(scorecards_simulator):
    ready = runpy.run_path(str(DAG_FILE))["ready"]  # the Asset the DAG is scheduled on

    payload = scorecards_simulator.watch(
        ready, then=lambda: scorecards_simulator.set_score("service:checkout-api", 0.8)
    )

    assert payload["status"] == "met"
    assert [record["id"] for record in payload["records"]] == ["service:checkout-api"]
    # END test_event_trigger
