"""`python scripts/demo_event_driven.py`: an asset watcher starting a DAG once when a score crosses a bound.

The example `scorecards_event_driven` watches `service:checkout-api` reaching 0.8 on the production-
readiness scorecard. This script runs it in a real deployment (api-server, scheduler, dag-processor,
triggerer; started and stopped by `scripts/deployment.py`), against a Scorecards simulator it runs itself
so that it can move the score: 0.25 (the watcher's baseline), 0.75 (still below), 1.0 (the crossing:
one asset event, one DAG run), then 1.0 for several more polls (nothing more). It prints a verdict table
and exits non-zero when anything differs from what is expected.

The story (``EventDrivenStory``) is also what `tests/deployment/test_event_driven.py` plays against the
deployment of `make test-deployment`, with more chapters (restarts of the watcher, a second crossing).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DAG_ID = "scorecards_event_driven"
ASSET_NAME = "scorecards_checkout_api_production_ready"
SERVICE_ID = "service:checkout-api"
SCORECARD_ID = "production-readiness"
CONN_ID = "datadog_scorecards_default"
POLL_ENV = "SCORECARDS_EVENT_POLL_INTERVAL"
POLL_INTERVAL = 0.5
"""The watcher's poll interval in the deployment (seconds): `SCORECARDS_EVENT_POLL_INTERVAL`."""
STEADY_POLLS = 4
"""After each chapter, the watcher must poll this many times more with nothing new happening."""
TIMEOUT = 60.0


def q(value: str) -> str:
    return quote(value, safe="")


class Rest:
    """Airflow's REST API (``/api/v2``) as a user's script calls it; SQLite lock errors are retried."""

    def __init__(self, base_url: str) -> None:
        import requests

        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def call(
        self, method: str, path: str, expect: tuple[int, ...] = (200,), retry_500: bool = False, **kwargs: Any
    ) -> Any:
        """One call; ``retry_500`` also retries every HTTP 500 (see ``EventDrivenStory.events``)."""
        for _ in range(40):
            response = self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=30, **kwargs)
            if response.status_code != 500 or not (retry_500 or "Database error" in response.text):
                break
            time.sleep(0.5)
        if response.status_code not in expect:
            raise AssertionError(f"{method} {path}: HTTP {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None


@dataclass
class Chapter:
    """One step of the story and what it showed."""

    name: str
    score: float | None
    events: int
    runs: int
    expected_events: int
    expected_runs: int
    seconds: float
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.events, self.runs) == (self.expected_events, self.expected_runs) and not self.problems


class EventDrivenStory:
    """Drive the example's watcher through score changes and count asset events and DAG runs after each.

    :param api_url: the deployment's Airflow URL.
    :param sim: a running ``ScorecardsSimulator`` in this process (its drift and request log are ours).
    :param say: where progress lines go.
    """

    def __init__(self, api_url: str, sim: Any, say: Callable[[str], None] = print) -> None:
        self.api = Rest(api_url)
        self.sim = sim
        self.say = say
        self.chapters: list[Chapter] = []
        self.started = time.monotonic()
        self.asset_id: int | None = None
        # What Airflow held before the story (earlier runs of the DAG, events of the asset): not counted.
        self.earlier_runs: set[str] = set()
        self.earlier_events: set[int] = set()

    # -- what Airflow shows ---------------------------------------------------------------------------

    def asset(self) -> dict[str, Any] | None:
        found = self.api.call("GET", "/assets", params={"name_pattern": ASSET_NAME, "limit": 10})["assets"]
        matching = [a for a in found if a["name"] == ASSET_NAME]
        return matching[0] if matching else None

    def events(self, *, all_: bool = False) -> list[dict[str, Any]]:
        """The asset's events since the story began (the latest 100), oldest first.

        Airflow 3.3.2 answers HTTP 500 here while a run created by one of the events is still queued (its
        ``start_date`` is None where the response model wants a datetime): that answer is retried.
        """
        if self.asset_id is None:
            return []
        params = {"asset_id": self.asset_id, "limit": 100, "order_by": "-timestamp"}
        found = self.api.call("GET", "/assets/events", params=params, retry_500=True)["asset_events"]
        return [e for e in reversed(found) if all_ or e["id"] not in self.earlier_events]

    def runs(self, *, all_: bool = False) -> list[dict[str, Any]]:
        """The DAG's runs since the story began (the latest 100), oldest first."""
        params = {"limit": 100, "order_by": "-run_after"}
        found = self.api.call("GET", f"/dags/{q(DAG_ID)}/dagRuns", params=params)["dag_runs"]
        return [r for r in reversed(found) if all_ or r["dag_run_id"] not in self.earlier_runs]

    def begin(self) -> None:
        """From here on, events and runs count: whatever ran before (another test's scenario) does not."""
        self.asset_id = int((self.asset() or {})["id"])
        self.earlier_events = {e["id"] for e in self.events(all_=True)}
        self.earlier_runs = {r["dag_run_id"] for r in self.runs(all_=True)}

    def stored_state(self) -> list[dict[str, Any]]:
        """The watcher's entries in the asset's state store (Airflow 3.3+)."""
        if self.asset_id is None:
            return []
        answer = self.api.call("GET", f"/assets/{self.asset_id}/state-store", expect=(200, 404))
        return list((answer or {}).get("asset_state_store", []))

    def report(self, run_id: str) -> Any:
        path = f"/dags/{q(DAG_ID)}/dagRuns/{q(run_id)}/taskInstances/report_crossing/xcomEntries/return_value"
        return self.api.call("GET", path, params={"deserialize": "true"})["value"]

    # -- acting ---------------------------------------------------------------------------------------

    def point_connection_at_simulator(self) -> dict[str, Any] | None:
        """Point the default connection at our simulator (creating it if needed); returns the one before.

        Only ``api_url`` changes: the REST API shows the keys masked, and a PATCH that sends a mask back
        keeps the stored key (the simulators of the demo and of the deployment accept the same keys).
        """
        from airflow_provider_scorecards.simulator import DEFAULT_API_KEY, DEFAULT_APP_KEY

        before = self.api.call("GET", f"/connections/{q(CONN_ID)}", expect=(200, 404))
        if before is None or before.get("connection_id") != CONN_ID:
            body = {
                "connection_id": CONN_ID,
                "conn_type": "datadogscorecards",
                "password": DEFAULT_API_KEY,
                "extra": json.dumps({"api_url": self.sim.url, "app_key_secret": DEFAULT_APP_KEY}),
            }
            self.api.call("POST", "/connections", expect=(201,), json=body)
            return None
        extra = {**json.loads(before.get("extra") or "{}"), "api_url": self.sim.url}
        self._patch_extra(before["conn_type"], json.dumps(extra))
        return dict(before)

    def restore_connection(self, before: dict[str, Any] | None) -> None:
        if before is None:
            self.api.call("DELETE", f"/connections/{q(CONN_ID)}", expect=(204, 404))
        else:
            self._patch_extra(before["conn_type"], before["extra"])

    def _patch_extra(self, conn_type: str, extra: str) -> None:
        body = {"connection_id": CONN_ID, "conn_type": conn_type, "extra": extra}
        self.api.call("PATCH", f"/connections/{q(CONN_ID)}", params={"update_mask": "extra"}, json=body)

    def wait_for_dag(self) -> dict[str, Any]:
        """The DAG as the REST API shows it, once the dag-processor has parsed its file."""
        found: list[dict[str, Any]] = []

        def parsed() -> bool:
            found[:] = [self.api.call("GET", f"/dags/{q(DAG_ID)}", expect=(200, 404))]
            return found[0] is not None

        self._until(parsed, f"the dag-processor to parse {DAG_ID}")
        return found[0]

    def watch(self, on: bool) -> None:
        """Unpause (pause) the DAG and have its file parsed now: the watcher is registered (removed).

        Airflow only keeps the watchers of assets that an unpaused DAG is scheduled on, and it looks at the
        next parse of the file; asking for that parse saves waiting for the dag-processor's interval.
        """
        started = time.monotonic()
        dag = self.api.call("PATCH", f"/dags/{q(DAG_ID)}", json={"is_paused": not on})
        self.api.call("PUT", f"/parseDagFile/{dag['file_token']}", expect=(201, 409))
        self._until(
            lambda: bool((self.asset() or {}).get("watchers")) == on, "watcher " + ("on" if on else "off")
        )
        self.asset_id = int((self.asset() or {})["id"])
        parsed = time.monotonic() - started
        if on:
            self.polls(1)  # the triggerer runs it: its first observation (a baseline, or a stored state)
        else:
            self._quiet()  # the triggerer has cancelled it: no request for a few intervals
        self.say(
            f"    DAG {'unpaused' if on else 'paused'}: watcher {'registered' if on else 'removed'} after "
            f"{parsed:.1f} s, {'polling' if on else 'stopped'} after {time.monotonic() - started:.1f} s"
        )

    def set_step(self, step: int) -> float | None:
        self.sim.advance(step - self.sim.step)
        return self.score()

    def score(self) -> float | None:
        for item in self.sim.expected_scores("by-entity", {"filter[rule][scorecard_id]": SCORECARD_ID}):
            if item["id"] == SERVICE_ID:
                return float(item["attributes"]["score"])
        return None

    def polls(self, count: int) -> None:
        """Wait until the watcher has fetched ``count`` more times (and the last fetch was judged)."""
        target = len(self.sim.score_requests()) + count + 1
        self._until(lambda: len(self.sim.score_requests()) >= target, f"{count} polls of the watcher")

    def chapter(
        self, name: str, action: Callable[[], object], expected_events: int, expected_runs: int
    ) -> Chapter:
        """Act, wait for the expected events and runs (and the runs to finish), then for quiet polls."""
        started = time.monotonic()
        action()
        self.polls(1)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            runs = self.runs()
            done = all(r["state"] in ("success", "failed") for r in runs)
            if len(self.events()) >= expected_events and len(runs) >= expected_runs and done:
                break
            time.sleep(0.5)
        self.polls(STEADY_POLLS)  # and nothing more happens
        runs = self.runs()
        result = Chapter(
            name,
            self.score(),
            len(self.events()),
            len(runs),
            expected_events,
            expected_runs,
            time.monotonic() - started,
        )
        result.problems += [f"run {r['dag_run_id']} {r['state']}" for r in runs if r["state"] != "success"]
        self.chapters.append(result)
        mark = "ok" if result.ok else "UNEXPECTED"
        self.say(f"  {name}: {result.events} event(s), {result.runs} run(s) [{mark}]")
        return result

    def table(self) -> str:
        head = ("chapter", "score", "events fired", "runs created", "expected", "took", "")
        rows = [
            (
                c.name,
                "-" if c.score is None else f"{c.score:g}",
                str(c.events),
                str(c.runs),
                f"{c.expected_events} / {c.expected_runs}",
                f"{c.seconds:.0f} s",
                "ok" if c.ok else "UNEXPECTED " + "; ".join(c.problems),
            )
            for c in self.chapters
        ]
        widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            for row in [head, *rows]
        ]
        lines.insert(1, "  ".join("-" * width for width in widths))
        return "\n".join(line.rstrip() for line in lines)

    def _quiet(self) -> None:
        def quiet() -> bool:
            before = len(self.sim.score_requests())
            time.sleep(max(2.5, 3 * POLL_INTERVAL))
            return len(self.sim.score_requests()) == before

        self._until(quiet, "the watcher to stop polling")

    def _until(self, check: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"gave up waiting for {what} after {TIMEOUT:.0f} s (is {POLL_ENV}={POLL_INTERVAL:g} set "
                    "in the deployment? see the triggerer's log)"
                )
            time.sleep(0.2)


def demo_chapters(story: EventDrivenStory) -> None:
    """The demo: a baseline, a move below the bar, the crossing, and the score staying above it."""
    story.chapter("watcher starts, score 0.25: baseline", lambda: story.watch(True), 0, 0)
    story.chapter("score 0.75: still below 0.8", lambda: story.set_step(2), 0, 0)
    story.chapter("score 1.0: crosses 0.8", lambda: story.set_step(4), 1, 1)
    story.chapter(f"stays at 1.0 for {STEADY_POLLS} more polls", lambda: story.polls(STEADY_POLLS), 1, 1)


@contextmanager
def watching(story: EventDrivenStory, *, pause_after: bool = True) -> Iterator[EventDrivenStory]:
    """The connection points at the story's simulator while inside; after, the DAG is paused again (unless
    the whole deployment stops next) and the connection is put back as it was."""
    dag = story.wait_for_dag()
    if not dag["is_paused"] or (story.asset() or {}).get("watchers"):
        # A watcher already running (the DAG unpaused by someone else) keeps the connection it has read:
        # stop it first, so that the story's watcher is a new one that reads the repointed connection.
        story.watch(False)
    before = story.point_connection_at_simulator()
    try:
        story.begin()
        yield story
    finally:
        try:
            if pause_after:
                story.watch(False)
        finally:
            story.restore_connection(before)


def main() -> int:
    sys.path.insert(0, str(ROOT / "scripts"))
    import deployment  # scripts/deployment.py: starts and stops the real components

    from airflow_provider_scorecards.simulator import ScorecardsSimulator

    started = time.monotonic()
    print("Starting Airflow (api-server, scheduler, dag-processor, triggerer) ...", flush=True)
    # The watcher polls every second instead of every five minutes.
    poll_every_second = {POLL_ENV: f"{POLL_INTERVAL:g}"}
    with (
        deployment.deployment(extra_env=poll_every_second) as running,
        ScorecardsSimulator(seed=7, entities=300) as sim,
    ):
        print(
            f"Airflow at {running.airflow_url}, healthy after {time.monotonic() - started:.0f} s", flush=True
        )
        story = EventDrivenStory(running.airflow_url, sim)
        with watching(story, pause_after=False):
            demo_chapters(story)
            runs = story.runs()
            payload = story.report(runs[0]["dag_run_id"]) if runs else None
        print()
        print(story.table())
        if payload:
            (event,) = payload
            record = event["records"][0]
            print(
                f"\nThe run's report_crossing task got: status={event['status']!r}, "
                f"{record['id']} score={record['score']:g}"
            )
        ok = all(c.ok for c in story.chapters)
    print(f"\n{'PASS' if ok else 'FAIL'}: event-driven demo in {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
