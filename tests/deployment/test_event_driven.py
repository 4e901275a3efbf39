"""The example's asset watcher in a real deployment: one DAG run per crossing, never more.

``scorecards_event_driven`` is scheduled on an asset watched by ``DatadogScoreEventTrigger``
(``service:checkout-api`` >= 0.8 on production-readiness). The story of ``scripts/demo_event_driven.py``
is played against the deployment's own scheduler, triggerer and dag-processor, with a simulator run by this
test (the deployment's simulator only drifts forward, and the scenario of the other deployment tests moves
it past the bar): the default connection points at it while the story runs and is put back after.

Chapters: a baseline (0.25), still below (0.75), the crossing (1.0: one event, one run), staying above,
the watcher restarted while above (no repeat: its state is in the asset state store), below again (0.25),
a crossing while the watcher is stopped (fired when it starts again: not missed), staying above.
Restarting the watcher here means pausing and unpausing the DAG: Airflow removes the watcher and later
creates a new trigger, whose ``run()`` starts from nothing but the stored state, as after a triggerer
restart.

The deployment runs the watcher every second (``SCORECARDS_EVENT_POLL_INTERVAL`` in
``scripts/deployment.py``'s ``airflow_env()``), not every five minutes.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.deployment.scenario import Deployment

ROOT = Path(__file__).resolve().parents[2]


def _load_story() -> Any:
    """scripts/ is not a package: load the demo's story from its file, so the demo and this test share it."""
    spec = importlib.util.spec_from_file_location(
        "demo_event_driven", ROOT / "scripts" / "demo_event_driven.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


demo = _load_story()


@dataclass
class Played:
    """What the story showed, collected while the watcher ran."""

    story: Any
    runs: list[dict[str, Any]] = field(default_factory=list)
    reports: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    state: list[dict[str, Any]] = field(default_factory=list)

    def table(self) -> str:
        return "\n" + str(self.story.table())


@pytest.fixture(scope="module")
def played(deployment: Deployment, connection: str) -> Iterator[Played]:
    from airflow_provider_scorecards.simulator import ScorecardsSimulator

    with ScorecardsSimulator(seed=7, entities=300) as sim:
        story = demo.EventDrivenStory(deployment.airflow_url, sim, say=print)
        result = Played(story)
        with demo.watching(story):
            story.chapter("watcher starts, score 0.25: baseline", lambda: story.watch(True), 0, 0)
            story.chapter("score 0.75: still below 0.8", lambda: story.set_step(2), 0, 0)
            story.chapter("score 1.0: crosses 0.8", lambda: story.set_step(4), 1, 1)
            story.chapter("stays at 1.0", lambda: story.polls(demo.STEADY_POLLS), 1, 1)

            def restart() -> None:
                story.watch(False)
                story.watch(True)

            story.chapter("watcher restarted while above", restart, 1, 1)
            story.chapter("score 0.25: below again", lambda: story.set_step(0), 1, 1)

            def cross_while_stopped() -> None:
                story.watch(False)
                story.set_step(4)
                story.watch(True)

            story.chapter("crosses to 1.0 while the watcher is stopped", cross_while_stopped, 2, 2)
            story.chapter("stays at 1.0", lambda: story.polls(demo.STEADY_POLLS), 2, 2)
            result.runs = story.runs()
            result.reports = {run["dag_run_id"]: story.report(run["dag_run_id"]) for run in result.runs}
            result.events = story.events()
            result.state = story.stored_state()
        print(story.table())
        yield result


def test_one_run_per_crossing(played: Played) -> None:
    chapters = played.story.chapters
    assert len(chapters) == 8
    assert all(chapter.ok for chapter in chapters), played.table()
    assert [run["state"] for run in played.runs] == ["success", "success"], played.table()
    assert all(run["run_type"] == "asset_triggered" for run in played.runs)


def test_each_run_reports_the_event_that_started_it(played: Played) -> None:
    assert len(played.events) == 2
    for event in played.events:
        extra = event["extra"]
        assert extra["from_trigger"] is True
        payload = extra["payload"]
        assert payload["status"] == "met"
        (record,) = payload["records"]
        assert (record["id"], record["score"]) == (demo.SERVICE_ID, 1.0)
        assert "Score gate met (score >= 0.8" in payload["report"]
        (created,) = event["created_dagruns"]
        assert played.reports[created["run_id"]] == [payload]


def test_the_watcher_state_is_in_the_asset_state_store(played: Played) -> None:
    """What made the restart chapters right: one entry, written by the watcher, saying "met"."""
    (entry,) = played.state
    assert entry["key"].startswith("datadog_scorecards_event:")
    assert entry["value"]["met"] is True
    assert entry["value"]["fire_on"] == "met"
    assert entry["value"]["values"] == {demo.SERVICE_ID: 1.0}


def test_the_triggerer_log_tells_the_story_without_a_key(played: Played, deployment: Deployment) -> None:
    from airflow_provider_scorecards.simulator import DEFAULT_API_KEY, DEFAULT_APP_KEY

    log = deployment.component_log("triggerer")  # the production leg runs two
    assert "Baseline (fires nothing)" in log
    assert "Resuming from the stored observation" in log
    for secret in (DEFAULT_API_KEY, DEFAULT_APP_KEY):
        assert secret not in log
    assert json.dumps(DEFAULT_APP_KEY) not in log
