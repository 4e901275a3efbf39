"""What a user does with the example DAGs in a real deployment, played once; the tests inspect the outcome.

Every example DAG is triggered through the REST API once with a logical date and once without one
(``{"logical_date": null}``, what ``airflow dags trigger`` sends by default), and the gate also with
``conf``:

- the dated runs of the scheduled examples use the logical date the scheduler would pick next, and are
  created while the DAGs are still paused: unpausing then adds no scheduled run of its own (which would
  write to the export's default ``/tmp`` output root and cost more runs on two cores);
- ``gate-waits`` gates ``service:checkout-api`` (0.25 in the simulator, 0.4 once the close-the-loop
  example has posted its pass on a custom rule of the same scorecard) on 0.8: its sensor defers;
- ``gate-fail-fast`` gates ``service:search-indexer`` with ``min_score`` 0.0, so the sensor passes at once
  and the fail-fast path meets its observability score of 0.25 below 0.5: the check fails, no retry;
- the asset-scheduled examples also run by themselves: the snapshot consumer on the export's snapshot
  event, the event-driven DAG when its watcher in the triggerer sees checkout-api cross 0.8. Those runs
  are found through the API ("automatic" runs);
- once every other run is finished (their results must not mix drift steps) and the sensor was seen
  ``deferred``, the manual runs of the snapshot consumer are triggered (so they find the export's
  snapshot event) and the simulator's outcomes are advanced until checkout-api's score crosses 0.8, as
  weeks of work would: the waiting gate must open and deploy, and the watcher must fire once.

A run that meets a retry is failed through the API at once, with its error kept, rather than waited for:
the export retries after five minutes, longer than this whole tier may take.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from tests.deployment.rest import AirflowAPI, q

CONN_ID = "datadog_scorecards_default"
EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
# Each example file is named after its DAG (tests/integration/test_example_dags.py holds them to that).
DAG_IDS = tuple(sorted(path.stem for path in EXAMPLE_DAGS.glob("[!_]*.py")))
SHORT_NAMES = {
    "scorecards_export": "export",
    "scorecards_team_fanout": "fanout",
    "scorecards_deploy_gate": "gate",
    "scorecards_event_driven": "event",
    "scorecards_snapshot_consumer": "consumer",
}
# Asset-scheduled examples: each must also have run by itself once the scenario is over.
AUTOMATIC = ("scorecards_event_driven", "scorecards_snapshot_consumer")
# Manual runs triggered only after the first phase (they read what the first phase produced).
SECOND_PHASE = ("scorecards_snapshot_consumer",)
GATE_SERVICE = "service:checkout-api"
WATCHED_ASSET = "scorecards_checkout_api_production_ready"  # the event-driven example's
GATE_SCORECARD = "production-readiness"
GATE_MIN_SCORE = 0.8  # the gate DAG's default params, and the event-driven DAG's bar
FAIL_FAST_SERVICE = "service:search-indexer"
FANOUT_TEAMS = 3
FINISHED = ("success", "failed")
PHASE_ONE_TIMEOUT = 240.0
PHASE_TWO_TIMEOUT = 120.0
POLL = 1.0

# Named the same in scripts/deployment.py, which sets them.
AIRFLOW_URL_ENV = "SCORECARDS_DEPLOYMENT_AIRFLOW_URL"
SIMULATOR_URL_ENV = "SCORECARDS_DEPLOYMENT_SIMULATOR_URL"
DIR_ENV = "SCORECARDS_DEPLOYMENT_DIR"
LEG_ENV = "SCORECARDS_DEPLOYMENT_LEG"
LEG_FILE = "leg.json"


def short_name(dag_id: str) -> str:
    return SHORT_NAMES.get(dag_id, dag_id.removeprefix("scorecards_"))


def run_keys(dag_id: str) -> tuple[str, str]:
    """The keys of a DAG's two manual runs: (the dated one, the undated one)."""
    if dag_id == "scorecards_deploy_gate":
        return "gate-fail-fast", "gate-waits"
    return f"{short_name(dag_id)}-dated", f"{short_name(dag_id)}-undated"


@dataclass(frozen=True)
class Deployment:
    """Where the running deployment is; its files live under ``directory`` (``.deployment/<leg>/``).

    ``leg`` is ``standalone`` (LocalExecutor, SQLite, one triggerer) or ``production`` (CeleryExecutor,
    PostgreSQL, Redis, two triggerers); the same scenario runs on both.
    """

    airflow_url: str
    simulator_url: str
    directory: Path
    leg: str = "standalone"

    @classmethod
    def from_env(cls) -> Deployment | None:
        values = [os.environ.get(name, "") for name in (AIRFLOW_URL_ENV, SIMULATOR_URL_ENV, DIR_ENV)]
        if not all(values):
            return None
        return cls(values[0], values[1], Path(values[2]), os.environ.get(LEG_ENV) or "standalone")

    @property
    def production(self) -> bool:
        return self.leg == "production"

    @property
    def info(self) -> dict[str, Any]:
        """What scripts/deployment.py wrote about the leg: database and broker URLs, component pids."""
        return dict(json.loads((self.directory / LEG_FILE).read_text()))

    def component_log(self, prefix: str) -> str:
        """Every component log whose name starts with ``prefix`` (``triggerer`` covers both of them)."""
        paths = sorted(self.component_logs.glob(f"{prefix}*.log"))
        assert paths, f"no {prefix}*.log in {self.component_logs}"
        return "".join(path.read_text(errors="replace") for path in paths)

    def _path(self, name: str) -> Path:
        """One of the leg's paths, as scripts/deployment.py laid them out (its leg file says where)."""
        return Path(self.info["paths"][name])

    @property
    def airflow_home(self) -> Path:
        return self._path("airflow_home")

    @property
    def component_logs(self) -> Path:
        return self._path("logs")

    @property
    def snapshots(self) -> Path:
        return self._path("snapshots")

    @property
    def screenshots(self) -> Path:
        return self._path("screenshots")


@dataclass
class Run:
    """One DAG run (triggered here, or started by Airflow itself) and everything seen of it while waiting."""

    key: str
    dag_id: str
    run_id: str
    logical_date: str | None
    conf: dict[str, Any]
    phase: int = 1
    automatic: bool = False
    state: str = "not triggered"
    details: dict[str, Any] = field(default_factory=dict)
    task_instances: list[dict[str, Any]] = field(default_factory=list)
    seen: dict[str, set[str]] = field(default_factory=dict)
    """Every state each task instance (``task_id`` or ``task_id[i]``) was seen in while polling."""
    problems: list[str] = field(default_factory=list)
    finished_after: float | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def task_states(self) -> dict[str, str]:
        return {ti_label(ti): str(ti["state"]) for ti in self.task_instances}

    def describe(self) -> str:
        """For assertion messages: the state, each task's state, and any problem met."""
        lines = [f"{self.key} ({self.dag_id} {self.run_id}): {self.state}", f"  tasks: {self.task_states()}"]
        lines += [f"  problem: {problem}" for problem in self.problems]
        return "\n".join(lines)


@dataclass
class Scenario:
    runs: dict[str, Run]
    deployment: Deployment
    dag_ids: tuple[str, ...] = DAG_IDS
    score_when_deferred: float | None = None
    score_after_drift: float | None = None
    drift_steps: int = 0
    timeline: list[str] = field(default_factory=list)

    def note(self, message: str, started: float) -> None:
        self.timeline.append(f"{time.monotonic() - started:6.1f} s  {message}")

    def automatic_runs(self, dag_id: str) -> list[Run]:
        return [run for run in self.runs.values() if run.automatic and run.dag_id == dag_id]

    def explain(self, *runs: Run) -> str:
        return "\n".join([run.describe() for run in runs] + ["timeline:", *self.timeline])


def ti_label(ti: dict[str, Any]) -> str:
    index = ti.get("map_index", -1)
    return str(ti["task_id"]) if index in (-1, None) else f"{ti['task_id']}[{index}]"


def run_scenario(api: AirflowAPI, deployment: Deployment) -> Scenario:
    started = time.monotonic()
    wait_for_dags(api)
    scenario = Scenario({run.key: run for run in plan(api, deployment)}, deployment)
    runs = scenario.runs
    for run in [run for run in runs.values() if run.phase == 1]:  # created while paused: see above
        run.state = str(api.trigger(run.dag_id, run.run_id, run.logical_date, run.conf)["state"])
    for dag_id in DAG_IDS:
        api.patch(f"/dags/{q(dag_id)}", {"is_paused": False})
    scenario.note(f"triggered the first runs and unpaused {len(DAG_IDS)} DAGs", started)

    waiting = runs["gate-waits"]

    def phase_one_done() -> bool:
        others = [run for run in runs.values() if run.phase == 1 and run is not waiting and not run.automatic]
        return (
            all(run.finished for run in others)
            and (waiting.finished or "deferred" in waiting.seen.get("wait_for_readiness", set()))
            and watcher_observed(api)
        )

    wait(api, scenario, phase_one_done, PHASE_ONE_TIMEOUT, started)
    scenario.note(
        f"first phase over; the gate's sensor was seen in {sorted(waiting.seen.get('wait_for_readiness', []))}",
        started,
    )
    for run in [run for run in runs.values() if run.phase == 2]:
        run.state = str(api.trigger(run.dag_id, run.run_id, run.logical_date, run.conf)["state"])
    scenario.score_when_deferred = score = simulator_score(deployment)
    while score is not None and score < GATE_MIN_SCORE and scenario.drift_steps < 10:
        advance_simulator(deployment)
        scenario.drift_steps += 1
        score = simulator_score(deployment)
    scenario.score_after_drift = score
    scenario.note(
        f"{GATE_SERVICE}: {scenario.score_when_deferred} in the simulator; advanced {scenario.drift_steps} steps to {score}",
        started,
    )

    def all_done() -> bool:
        automatic_done = all(
            any(run.finished for run in scenario.automatic_runs(dag_id))
            for dag_id in AUTOMATIC
            if dag_id in DAG_IDS
        )
        return automatic_done and all(run.finished for run in runs.values())

    wait(api, scenario, all_done, PHASE_TWO_TIMEOUT, started)
    scenario.note("all runs finished" if all_done() else "gave up waiting", started)
    for run in runs.values():
        if not run.finished:
            run.problems.append(
                f"still {run.state} when the scenario gave up waiting; failed through the API"
            )
            fail_run(api, run)
    return scenario


def watcher_observed(api: AirflowAPI) -> bool:
    """Whether the event-driven example's watcher has stored its first observation (its baseline).

    The drift must come after it: a watcher that first looks once the score is already above the bar
    takes that as its baseline and rightly fires nothing. On a busy machine the watcher can start well
    after the other first-phase runs have finished.
    """
    if "scorecards_event_driven" not in DAG_IDS:
        return True
    found = api.get("/assets", name_pattern=WATCHED_ASSET, limit=10)["assets"]
    asset = next((a for a in found if a["name"] == WATCHED_ASSET), None)
    if asset is None or not asset.get("watchers"):
        return False
    response = api.request("GET", f"/assets/{asset['id']}/state-store", expect=(200, 404))
    return response.status_code == 200 and bool(response.json().get("asset_state_store"))


def wait_for_dags(api: AirflowAPI, timeout: float = 120.0) -> None:
    """Until the dag-processor has parsed every example DAG (a fresh deployment starts with none)."""
    deadline = time.monotonic() + timeout
    while True:
        found = {d["dag_id"] for d in api.get("/dags", dag_id_pattern="scorecards_%", limit=100)["dags"]}
        if set(DAG_IDS) <= found:
            return
        if time.monotonic() > deadline:
            errors = api.get("/importErrors")["import_errors"]
            raise AssertionError(f"example DAGs not parsed after {timeout:.0f} s: {found}; errors {errors}")
        time.sleep(POLL)


def plan(api: AirflowAPI, deployment: Deployment) -> list[Run]:
    """Two manual runs per example DAG; the logical dates and ``conf`` as the module docstring says."""
    runs = []
    for index, dag_id in enumerate(DAG_IDS):
        dated_key, undated_key = run_keys(dag_id)
        scheduled = api.get(f"/dags/{q(dag_id)}")["next_dagrun_logical_date"]
        # Manual runs of one DAG need distinct logical dates: a microsecond apart is enough.
        dated = scheduled or datetime.now(UTC).replace(microsecond=index).isoformat()
        phase = 2 if dag_id in SECOND_PHASE else 1
        for key, logical_date in ((dated_key, dated), (undated_key, None)):
            conf = run_conf(deployment, dag_id, key)
            run_id = "deployment__" + key.replace("-", "_")
            runs.append(Run(key, dag_id, run_id, logical_date, conf, phase=phase))
    return runs


def run_conf(deployment: Deployment, dag_id: str, key: str) -> dict[str, Any]:
    if dag_id == "scorecards_export":
        # One root per run: both runs date their snapshots today and must not write the same files.
        return {"output_root": f"file://{deployment.snapshots / key}"}
    if dag_id == "scorecards_team_fanout":
        return {"max_teams": FANOUT_TEAMS}
    if key == "gate-fail-fast":
        return {"service_id": FAIL_FAST_SERVICE, "min_score": 0.0}
    return {}


def wait(
    api: AirflowAPI, scenario: Scenario, done: Callable[[], bool], timeout: float, started: float
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        discover(api, scenario)
        for run in list(scenario.runs.values()):
            if not run.finished and (run.automatic or run.state != "not triggered"):
                poll(api, run, scenario, started)
        if done() or time.monotonic() > deadline:
            return
        time.sleep(POLL)


def discover(api: AirflowAPI, scenario: Scenario) -> None:
    """Runs Airflow started by itself (asset events, or a schedule), added as "automatic" runs."""
    ours = {(run.dag_id, run.run_id) for run in scenario.runs.values()}
    for dag_id in DAG_IDS:
        for found in api.get(f"/dags/{q(dag_id)}/dagRuns", limit=100)["dag_runs"]:
            if (dag_id, found["dag_run_id"]) not in ours:
                key = f"{short_name(dag_id)}-{found['run_type']}-{len(scenario.automatic_runs(dag_id)) + 1}"
                scenario.runs[key] = Run(
                    key,
                    dag_id,
                    found["dag_run_id"],
                    found["logical_date"],
                    found["conf"] or {},
                    automatic=True,
                )


def poll(api: AirflowAPI, run: Run, scenario: Scenario, started: float) -> None:
    """Refresh one run: its state, its task instances, the states seen; fail it at the first retry."""
    run.details = api.run(run.dag_id, run.run_id)
    run.state = str(run.details["state"])
    run.task_instances = api.task_instances(run.dag_id, run.run_id)
    for ti in run.task_instances:
        run.seen.setdefault(ti_label(ti), set()).add(str(ti["state"]))
    if run.finished:
        run.finished_after = time.monotonic() - started
        scenario.note(f"{run.key} {run.state}", started)
        return
    retrying = [ti for ti in run.task_instances if ti["state"] == "up_for_retry"]
    for ti in retrying:
        errors = log_errors(api.log(run.dag_id, run.run_id, ti["task_id"], ti["try_number"], ti["map_index"]))
        run.problems.append(f"{ti_label(ti)} failed try {ti['try_number']} and waits to retry: {errors}")
    if retrying:
        scenario.note(f"{run.key}: a task waits to retry; failing the run now", started)
        fail_run(api, run)
        poll(api, run, scenario, started)


def fail_run(api: AirflowAPI, run: Run) -> None:
    api.patch(f"/dags/{q(run.dag_id)}/dagRuns/{q(run.run_id)}", {"state": "failed"})


def log_errors(log: str) -> list[str]:
    """The error lines of a task log as the REST API returns it (structured JSON), short."""
    try:
        content = json.loads(log).get("content", [])
    except ValueError:
        return [log[-500:]]
    errors = []
    for line in content:
        if isinstance(line, dict) and line.get("level") in ("error", "critical"):
            details = line.get("error_detail") or [{}]
            errors.append(f"{line.get('event')}: {details[0].get('exc_type')}: {details[0].get('exc_value')}")
    return errors


def _sim_headers() -> dict[str, str]:
    from airflow_provider_scorecards.simulator import DEFAULT_API_KEY, DEFAULT_APP_KEY

    return {"DD-API-KEY": DEFAULT_API_KEY, "DD-APPLICATION-KEY": DEFAULT_APP_KEY}


def simulator_get(deployment: Deployment, path: str, params: dict[str, str] | None = None) -> Any:
    """The simulator's JSON answer to a GET with the default keys, straight from it (not through Airflow)."""
    response = requests.get(
        f"{deployment.simulator_url}{path}", params=params, headers=_sim_headers(), timeout=10
    )
    response.raise_for_status()
    return response.json()


def simulator_score(deployment: Deployment) -> float | None:
    """The gate's score in the simulator now, read straight from its API (not through Airflow)."""
    params = {"filter[rule][scorecard_id]": GATE_SCORECARD, "page[limit]": "1000"}
    for item in simulator_get(deployment, "/api/v2/scorecard/scores/by-entity", params)["data"]:
        if item["id"] == GATE_SERVICE:
            return float(item["attributes"]["score"])
    return None


def advance_simulator(deployment: Deployment) -> None:
    """One drift step: outcomes improve as a week of work would improve them."""
    response = requests.post(
        f"{deployment.simulator_url}/_simulator/advance",
        params={"steps": 1},
        headers=_sim_headers(),
        timeout=10,
    )
    response.raise_for_status()
