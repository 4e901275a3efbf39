"""Two triggerers, one killed while gates wait: its gates move to the other and each fires exactly once.

Production leg only (the standalone leg runs one triggerer). Several runs of the example gate wait on the
same query (``service:checkout-api`` >= 0.8) against a simulator run by this test at 0.25, so nothing
else moves the score: the default connection points at it while the test runs and is put back after (the
connection handling of ``scripts/demo_event_driven.py``, shared with ``test_event_driven.py``).

Then:

- while both triggerers run, the gates cost at most one fetch per triggerer per poke interval (the
  shared fetch is per triggerer process);
- which triggerer job is which process is told apart by stopping one (SIGSTOP) for a few heartbeats,
  well under ``[triggerer] triggerer_health_check_threshold``, and resuming it;
- the triggerer holding more gates is killed (SIGKILL, its whole process group): once the threshold
  (30 s, Airflow's default, which the tier leaves alone) has passed, the survivor adopts every gate;
- the score crosses the bound: every gate opens once (one "Trigger fired event" per gate across both
  triggerers' trigger logs, one try), and its run deploys.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.deployment.rest import AirflowAPI, q
from tests.deployment.scenario import GATE_MIN_SCORE, GATE_SCORECARD, Deployment
from tests.deployment.test_event_driven import demo

LEGS = ("production",)
DAG_ID = "scorecards_deploy_gate"
SENSOR = "wait_for_readiness"
GATES = 6
POKE_INTERVAL = 1.0  # SCORECARDS_GATE_POKE_INTERVAL in scripts/deployment.py
HEALTH_CHECK_THRESHOLD = 30.0  # Airflow's default [triggerer] triggerer_health_check_threshold
JOB_HEARTBEAT = 5.0  # Airflow's default [triggerer] job_heartbeat_sec
DEFER_TIMEOUT = 240.0
HANDOVER_TIMEOUT = HEALTH_CHECK_THRESHOLD + 120.0
FINISH_TIMEOUT = 180.0
WINDOW = 10.0


@dataclass
class Failover:
    """What the test saw."""

    run_ids: list[str]
    holders_before: dict[str, int] = field(default_factory=dict)
    """Gates per triggerer component (``triggerer-1``/``triggerer-2``) before the kill."""
    fetches_in_window: int = 0
    window: float = WINDOW
    killed: str = ""
    survivor_job: int | None = None
    handover_seconds: float | None = None
    """From the kill to every gate held by the survivor."""
    since_heartbeat: float | None = None
    """From the killed triggerer's last heartbeat to every gate held by the survivor."""
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    sensors: dict[str, dict[str, Any]] = field(default_factory=dict)
    fired: dict[str, int] = field(default_factory=dict)
    trigger_logs: dict[str, list[str]] = field(default_factory=dict)
    timeline: list[str] = field(default_factory=list)

    def explain(self) -> str:
        return "\n".join(self.timeline)


def until(check: Callable[[], bool], timeout: float, what: str, failover: Failover) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting {timeout:.0f} s for {what}\n{failover.explain()}")
        time.sleep(1.0)


def sensors(api: AirflowAPI, run_ids: list[str]) -> dict[str, dict[str, Any]]:
    return {run_id: api.get(api.ti_path(DAG_ID, run_id, SENSOR)) for run_id in run_ids}


def holder(ti: dict[str, Any]) -> int | None:
    """The triggerer job running this task's trigger, if any."""
    return (ti.get("trigger") or {}).get("triggerer_id")


def triggerer_jobs(api: AirflowAPI) -> dict[int, datetime]:
    """Alive triggerer jobs and their latest heartbeats."""
    jobs = api.get("/jobs", job_type="TriggererJob", is_alive="true", limit=100)["jobs"]
    return {int(job["id"]): datetime.fromisoformat(job["latest_heartbeat"]) for job in jobs}


def job_of(api: AirflowAPI, pid: int, failover: Failover) -> int:
    """The job id of the triggerer in process group ``pid``: the one whose heartbeat stops while it is
    stopped (SIGSTOP) while the other's goes on; resumed (SIGCONT) long before the health threshold."""
    before = triggerer_jobs(api)
    assert len(before) == 2, before
    os.killpg(pid, signal.SIGSTOP)
    try:
        stalled: list[int] = []

        def told_apart() -> bool:
            now = triggerer_jobs(api)
            moved = [job for job in before if now.get(job, before[job]) > before[job]]
            stalled[:] = [job for job in before if job not in moved]
            # Past one heartbeat the stopped one cannot be mistaken for a slow one.
            return len(moved) == 1 and time.monotonic() - stopped > JOB_HEARTBEAT + 1

        stopped = time.monotonic()
        until(told_apart, 4 * JOB_HEARTBEAT, "one triggerer's heartbeat to stall while stopped", failover)
    finally:
        os.killpg(pid, signal.SIGCONT)
    (job,) = stalled
    # Resumed: wait for its next heartbeat, so that a kill right after counts the threshold from the kill.
    until(
        lambda: triggerer_jobs(api).get(job, before[job]) > before[job],
        4 * JOB_HEARTBEAT,
        "a heartbeat",
        failover,
    )
    return job


@pytest.fixture(scope="module")
def failover(api: AirflowAPI, deployment: Deployment, connection: str) -> Iterator[Failover]:
    from airflow_provider_scorecards.simulator import ScorecardsSimulator

    pids = deployment.info["pids"]
    with ScorecardsSimulator(seed=7, entities=300) as sim:
        pointing = demo.EventDrivenStory(deployment.airflow_url, sim, say=lambda _: None)
        before = pointing.point_connection_at_simulator()
        started = time.monotonic()
        result = Failover([f"failover__{index}" for index in range(GATES)])

        def note(message: str) -> None:
            result.timeline.append(f"{time.monotonic() - started:6.1f} s  {message}")

        try:
            api.patch(f"/dags/{q(DAG_ID)}", {"is_paused": False})
            for run_id in result.run_ids:
                api.trigger(DAG_ID, run_id, None, {})
            note(f"triggered {GATES} gate runs; {demo.SERVICE_ID} at {pointing.score()} in our simulator")

            def all_deferred_and_held() -> bool:
                seen = sensors(api, result.run_ids)
                return all(ti["state"] == "deferred" and holder(ti) for ti in seen.values())

            until(all_deferred_and_held, DEFER_TIMEOUT, f"{GATES} gates deferred in a triggerer", result)
            held = Counter(holder(ti) for ti in sensors(api, result.run_ids).values())
            note(f"every gate deferred; gates per triggerer job: {dict(held)}")

            # Requests while both triggerers run the gates: one fetch per triggerer per interval, at most.
            counted_from = len(sim.score_requests())
            time.sleep(WINDOW)
            window = sim.score_requests()[counted_from:]
            result.fetches_in_window = sum(
                1
                for r in window
                if r.params.get("filter[rule][scorecard_id]") == GATE_SCORECARD
                and r.params.get("page[offset]", "0") == "0"
            )
            note(f"{result.fetches_in_window} fetches of the gates' query in {WINDOW:.0f} s")

            job_one = job_of(api, pids["triggerer-1"], result)
            jobs = {job_one: "triggerer-1"}
            jobs.update({job: "triggerer-2" for job in triggerer_jobs(api) if job != job_one})
            result.holders_before = {jobs[job]: count for job, count in held.items() if job is not None}
            note(f"triggerer-1 is job {job_one}; gates per component: {result.holders_before}")

            result.killed = max(result.holders_before, key=lambda name: result.holders_before[name])
            survivor = "triggerer-2" if result.killed == "triggerer-1" else "triggerer-1"
            result.survivor_job = next(job for job, name in jobs.items() if name == survivor)
            killed_job = next(job for job, name in jobs.items() if name == result.killed)
            os.killpg(pids[result.killed], signal.SIGKILL)
            killed_at = time.monotonic()
            last_heartbeat = triggerer_jobs(api)[killed_job]  # dead: it cannot beat again
            note(f"killed {result.killed} (SIGKILL, process group {pids[result.killed]})")

            def handed_over() -> bool:
                seen = sensors(api, result.run_ids)
                return all(
                    ti["state"] == "deferred" and holder(ti) == result.survivor_job for ti in seen.values()
                )

            until(handed_over, HANDOVER_TIMEOUT, f"every gate held by {survivor}", result)
            result.handover_seconds = time.monotonic() - killed_at
            result.since_heartbeat = (datetime.now(UTC) - last_heartbeat).total_seconds()
            note(
                f"every gate held by {survivor} (job {result.survivor_job}) {result.handover_seconds:.0f} s "
                f"after the kill, {result.since_heartbeat:.0f} s after its last heartbeat"
            )

            sim.advance(4 - sim.step)
            note(f"{demo.SERVICE_ID} now {pointing.score()} (bound {GATE_MIN_SCORE})")

            def finished() -> bool:
                result.runs = {run_id: api.run(DAG_ID, run_id) for run_id in result.run_ids}
                return all(run["state"] in ("success", "failed") for run in result.runs.values())

            until(finished, FINISH_TIMEOUT, "the gate runs to finish", result)
            note(f"runs: {Counter(run['state'] for run in result.runs.values())}")
            result.sensors = sensors(api, result.run_ids)
            for run_id in result.run_ids:
                folder = deployment.airflow_home / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}"
                paths = sorted(folder.glob(f"task_id={SENSOR}/*.trigger.*.log"))
                result.trigger_logs[run_id] = [path.name for path in paths]
                text = "".join(path.read_text(errors="replace") for path in paths)
                result.fired[run_id] = text.count("Trigger fired event")
            yield result
        finally:
            (deployment.directory / "failover-timeline.txt").write_text("\n".join(result.timeline) + "\n")
            pointing.restore_connection(before)


def test_gates_share_one_fetch_per_triggerer_per_interval(failover: Failover) -> None:
    """Six gates on one query in two triggerers: up to two fetches per interval, not six."""
    holders = len([count for count in failover.holders_before.values() if count])
    intervals = failover.window / POKE_INTERVAL
    assert 0 < failover.fetches_in_window <= holders * (intervals + 2), failover.explain()
    assert failover.fetches_in_window < GATES * intervals / 2, failover.explain()


def test_killed_triggerers_gates_move_to_the_survivor(failover: Failover) -> None:
    assert failover.holders_before.get(failover.killed, 0) >= GATES / 2, failover.explain()
    assert failover.handover_seconds is not None
    assert failover.since_heartbeat is not None
    # Not before the health check threshold has passed since the dead triggerer's last heartbeat (it looks
    # alive until then), but soon after; the kill itself may come a while after that heartbeat.
    assert HEALTH_CHECK_THRESHOLD - 1 <= failover.since_heartbeat <= HANDOVER_TIMEOUT, failover.explain()
    assert failover.handover_seconds <= failover.since_heartbeat


def test_every_gate_fires_exactly_once_and_deploys(failover: Failover, api: AirflowAPI) -> None:
    assert {run_id: run["state"] for run_id, run in failover.runs.items()} == dict.fromkeys(
        failover.run_ids, "success"
    ), failover.explain()
    for run_id, ti in failover.sensors.items():
        assert ti["state"] == "success"
        assert ti["try_number"] == 1, (run_id, ti)  # the hand-over cost no retry
    assert failover.fired == dict.fromkeys(failover.run_ids, 1), (failover.fired, failover.trigger_logs)
    moved = [run_id for run_id, names in failover.trigger_logs.items() if len(names) == 2]
    assert len(moved) == failover.holders_before[failover.killed], failover.trigger_logs
    for run_id in failover.run_ids:
        (passed,) = api.xcom(DAG_ID, run_id, SENSOR)
        assert passed["score"] >= GATE_MIN_SCORE
        assert api.xcom(DAG_ID, run_id, "deploy").startswith(f"Deploying {demo.SERVICE_ID}")
