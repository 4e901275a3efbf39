"""`make test-deployment` and `python scripts/deployment.py up`: the provider in a real Airflow deployment.

`dag.test()` and pytest run a DAG in one process, so they never show what a user meets: the scheduler
handing tasks to LocalExecutor workers through the Execution API, the triggerer running the deferred gate,
a connection created through the REST API and shown by the UI, and Airflow's redaction of secrets in task
logs, in the API and in the audit log. This script starts the components a user runs (api-server,
scheduler, dag-processor, triggerer; LocalExecutor; SQLite; loopback addresses only) with a throwaway
AIRFLOW_HOME under `.deployment/` and the example DAGs, plus the bundled Scorecards simulator, then:

- ``up``: prints the URLs and keeps running until Ctrl-C, with the connection ``datadog_scorecards_default``
  already pointing at the simulator, for trying the examples in the UI;
- ``test``: runs ``tests/deployment/`` against it (pytest arguments go after ``--``) and exits with pytest's
  status. ``--update-docs-images`` copies the browser's screenshots to ``docs/images/`` after a passing
  run (by default they stay in ``.deployment/screenshots/``, so a test run leaves the checkout unchanged).

Either way it stops everything it started on exit (also on failure, Ctrl-C or SIGTERM): every component is
its own process group, and a final sweep checks that no process carrying this deployment's marker is left.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEPLOYMENT = ROOT / ".deployment"
HOME = DEPLOYMENT / "airflow-home"
LOGS = DEPLOYMENT / "logs"
SNAPSHOTS = DEPLOYMENT / "snapshots"
SCREENSHOTS = DEPLOYMENT / "screenshots"
DOCS_IMAGES = ROOT / "docs" / "images"
OWNER = DEPLOYMENT / "owner.pid"

# What the tests read (tests/deployment/conftest.py names the same variables): without them they skip.
AIRFLOW_URL_ENV = "SCORECARDS_DEPLOYMENT_AIRFLOW_URL"
SIMULATOR_URL_ENV = "SCORECARDS_DEPLOYMENT_SIMULATOR_URL"
DIR_ENV = "SCORECARDS_DEPLOYMENT_DIR"
# Every process of the deployment inherits this variable; the final sweep looks for it in /proc.
MARKER_ENV = "SCORECARDS_DEPLOYMENT_MARKER"

CONN_ID = "datadog_scorecards_default"
COMPONENTS = {
    # --skip-serve-logs: the log servers bind every interface (0.0.0.0/::); everything here is on one
    # machine, so the API server reads the task and trigger logs from AIRFLOW_HOME/logs directly.
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
}
START_TIMEOUT = 180.0
STOP_GRACE = 30.0


class Interrupted(Exception):
    """SIGTERM, turned into an exception so that the ``finally`` blocks stop what was started."""


@dataclass
class Deployment:
    """The running processes and where to reach them."""

    marker: str = field(default_factory=lambda: secrets.token_hex(8))
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    airflow_url: str = ""
    simulator_url: str = ""

    def test_env(self) -> dict[str, str]:
        return {
            AIRFLOW_URL_ENV: self.airflow_url,
            SIMULATOR_URL_ENV: self.simulator_url,
            DIR_ENV: str(DEPLOYMENT),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start the deployment, print its URLs, run until Ctrl-C")
    test = sub.add_parser("test", help="start the deployment, run tests/deployment/ against it, stop it")
    test.add_argument(
        "--update-docs-images", action="store_true", help="copy a passing run's screenshots to docs/images/"
    )
    test.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    # Ctrl-C and SIGTERM both unwind through the `finally` that stops the deployment, even when this
    # process was started with SIGINT ignored (a background job of a non-interactive shell).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupted)
    started = time.monotonic()
    with deployment() as running:
        print(f"Deployment healthy in {time.monotonic() - started:.0f} s")
        if args.command == "up":
            return serve(running)
        status = run_tests(running, args.pytest_args)
        if args.update_docs_images and status == 0:  # only pictures of a passing run
            copy_screenshots()
    print(
        f"Deployment tier finished in {time.monotonic() - started:.0f} s; logs, screenshots and the "
        f"scenario's timeline are in {DEPLOYMENT.relative_to(ROOT)}/"
    )
    return status


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(f"signal {signum}")


@contextmanager
def deployment() -> Iterator[Deployment]:
    """Start the simulator and Airflow, wait until healthy, and stop everything on the way out."""
    claim_directory()
    running = Deployment()
    failed = False
    try:
        running.simulator_url = start_simulator(running)
        start_airflow(running)
        yield running
    except BaseException:
        failed = True
        raise
    finally:
        leftovers = stop(running)
        OWNER.unlink(missing_ok=True)
        if leftovers:
            message = f"processes of the deployment were still running and were killed: {leftovers}"
            if failed:
                print(f"ERROR: {message}", file=sys.stderr)
            else:
                raise SystemExit(f"ERROR: {message}")


def claim_directory() -> None:
    """Start from an empty `.deployment/`, unless another deployment of this checkout is running there."""
    if OWNER.exists():
        try:
            pid = int(OWNER.read_text())
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError):
            pass
        except PermissionError:
            raise SystemExit(f"Another deployment (pid {OWNER.read_text()}) uses {DEPLOYMENT}") from None
        else:
            if pid != os.getpid():
                raise SystemExit(f"Another deployment (pid {pid}) uses {DEPLOYMENT}; stop it first (Ctrl-C)")
    shutil.rmtree(DEPLOYMENT, ignore_errors=True)
    for folder in (HOME, LOGS, SNAPSHOTS, SCREENSHOTS):
        folder.mkdir(parents=True)
    OWNER.write_text(str(os.getpid()))


def free_port() -> int:
    """A port free on 127.0.0.1 now (the API server binds it a moment later; a clash fails the start)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def base_env(marker: str) -> dict[str, str]:
    """The caller's environment without anything that could point a component at real Datadog."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW", "DD_", "SCORECARDS_")) and k not in ("PYTHONPATH",)
    }
    env[MARKER_ENV] = marker
    env["PYTHONUNBUFFERED"] = "1"
    return env


def spawn(running: Deployment, name: str, command: list[str], env: dict[str, str]) -> None:
    """Start one component in its own process group (so stopping it reaches its workers too)."""
    with (LOGS / f"{name}.log").open("wb") as log:
        running.processes[name] = subprocess.Popen(
            command,
            env=env,
            cwd=DEPLOYMENT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def start_simulator(running: Deployment) -> str:
    """The simulator on a free loopback port, without drift: the tests advance it when they need to."""
    port_file = DEPLOYMENT / "simulator.port"
    command = [sys.executable, "-m", "airflow_provider_scorecards.simulator.cli", "--seed", "7"]
    command += ["--entities", "300", "--port-file", str(port_file), "--verbose"]
    spawn(running, "simulator", command, base_env(running.marker))
    deadline = time.monotonic() + 30
    while not (port_file.exists() and port_file.read_text()):
        check_alive(running)
        if time.monotonic() > deadline:
            raise SystemExit(f"The simulator did not start in 30 s; see {LOGS / 'simulator.log'}")
        time.sleep(0.05)
    return f"http://127.0.0.1:{port_file.read_text().strip()}"


def airflow_env(marker: str, port: int) -> dict[str, str]:
    """Configuration of every Airflow component: what a small single-machine deployment would set."""
    from cryptography.fernet import Fernet

    url = f"http://127.0.0.1:{port}"
    return {
        **base_env(marker),
        "AIRFLOW_HOME": str(HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "8",  # two cores: more concurrent task processes only thrash
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{HOME / 'airflow.db'}",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
        # Shared secrets, set once here so that no component generates its own.
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        # The example gate and watcher look again every second instead of every five minutes.
        "SCORECARDS_GATE_POKE_INTERVAL": "1",
        "SCORECARDS_EVENT_POLL_INTERVAL": "1",
    }


def start_airflow(running: Deployment) -> None:
    port = free_port()
    env = airflow_env(running.marker, port)
    airflow = [sys.executable, "-m", "airflow"]
    with (LOGS / "db-migrate.log").open("wb") as log:
        migrate = subprocess.run(
            [*airflow, "db", "migrate"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=300,
            check=False,
        )
    if migrate.returncode != 0:
        raise SystemExit(f"airflow db migrate failed; see {LOGS / 'db-migrate.log'}")
    api = ["api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    spawn(running, "api-server", [*airflow, *api], env)
    for name, arguments in COMPONENTS.items():
        spawn(running, name, [*airflow, *arguments], env)
    running.airflow_url = f"http://127.0.0.1:{port}"
    wait_healthy(running)


def wait_healthy(running: Deployment) -> None:
    """Until `/api/v2/monitor/health` reports the database, scheduler, triggerer and dag-processor healthy."""
    import requests

    deadline = time.monotonic() + START_TIMEOUT
    last: Any = None
    while time.monotonic() < deadline:
        check_alive(running)
        try:
            last = requests.get(f"{running.airflow_url}/api/v2/monitor/health", timeout=5).json()
        except (requests.RequestException, ValueError) as error:
            last = repr(error)
        else:
            parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
            if all((last.get(part) or {}).get("status") == "healthy" for part in parts):
                return
        time.sleep(0.5)
    raise SystemExit(f"Airflow was not healthy after {START_TIMEOUT:.0f} s: {last}; logs in {LOGS}")


def check_alive(running: Deployment) -> None:
    """Fail at once, with the end of its log, when a component exits during the start."""
    for name, process in running.processes.items():
        if process.poll() is not None:
            tail = (LOGS / f"{name}.log").read_text(errors="replace")[-3000:]
            raise SystemExit(f"{name} exited with status {process.returncode} during the start:\n{tail}")


def stop(running: Deployment) -> list[str]:
    """SIGTERM every process group, SIGKILL what is left after a grace period, then sweep for stragglers.

    Returns a description of every process the sweep had to kill (empty when the stop was clean): one
    that left its component's process group (a new session) and outlived the component.
    """
    started = time.monotonic()
    for process in reversed(running.processes.values()):
        _signal_group(process.pid, signal.SIGTERM)
    deadline = started + STOP_GRACE
    for process in running.processes.values():
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
    while time.monotonic() < deadline and _members(running):
        time.sleep(0.2)
    killed = sorted({name for name, process in running.processes.items() for _ in _members(running, process)})
    for process in running.processes.values():
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()
    settle = time.monotonic() + 5
    while time.monotonic() < settle and _members(running):  # SIGKILL is not instantaneous
        time.sleep(0.1)
    leftovers = []
    for pid, command in marked_processes(running.marker):
        leftovers.append(f"{pid} {command}")
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if running.processes:
        forced = f"; SIGKILL after {STOP_GRACE:.0f} s for {', '.join(killed)}" if killed else ""
        swept = "stragglers killed" if leftovers else "no process left"
        print(f"Deployment stopped in {time.monotonic() - started:.0f} s{forced}; {swept}.")
    return leftovers


def _signal_group(pgid: int, signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def _members(running: Deployment, only: subprocess.Popen[bytes] | None = None) -> list[int]:
    """Live (not zombie) processes in the components' process groups (or in ``only``'s)."""
    groups = {process.pid for process in running.processes.values() if only is None or process is only}
    return [pid for pid, stat in _proc_stats() if stat[1] != "Z" and int(stat[3]) in groups]


def _proc_stats() -> Iterator[tuple[int, list[str]]]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                raw = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name is in parentheses and may contain spaces: split after it.
            yield int(entry.name), [raw[: raw.rindex(")") + 1], *raw[raw.rindex(")") + 2 :].split()]


def marked_processes(marker: str) -> list[tuple[int, str]]:
    """Every live process whose environment carries this deployment's marker (i.e. that it started)."""
    needle = f"{MARKER_ENV}={marker}".encode()
    found = []
    for pid, stat in _proc_stats():
        if stat[1] == "Z" or pid == os.getpid():
            continue
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append((pid, command.strip()[:200]))
    return found


def create_connection(running: Deployment) -> None:
    """For ``up``: the default connection, pointing at the simulator, created as a user would (REST)."""
    import requests

    from airflow_provider_scorecards.simulator import DEFAULT_API_KEY, DEFAULT_APP_KEY

    body = {
        "connection_id": CONN_ID,
        "conn_type": "datadogscorecards",
        "password": DEFAULT_API_KEY,
        "extra": json.dumps({"api_url": running.simulator_url, "app_key_secret": DEFAULT_APP_KEY}),
    }
    for _ in range(20):  # SQLite: a write can meet the scheduler's lock (HTTP 500 "Database error")
        response = requests.post(f"{running.airflow_url}/api/v2/connections", json=body, timeout=30)
        if response.status_code != 500:
            break
        time.sleep(0.5)
    response.raise_for_status()


def serve(running: Deployment) -> int:
    from airflow_provider_scorecards.simulator import DEFAULT_API_KEY, DEFAULT_APP_KEY

    create_connection(running)
    print(
        f"\nAirflow (UI and REST API):  {running.airflow_url}   (no login: every user is an admin)\n"
        f"Scorecards simulator:       {running.simulator_url}   "
        f"(API key {DEFAULT_API_KEY}, app key {DEFAULT_APP_KEY})\n"
        f"Connection {CONN_ID} points at the simulator; the example DAGs are paused until you unpause them.\n"
        f"Advance the simulator a week: curl -X POST -H 'DD-API-KEY: {DEFAULT_API_KEY}' "
        f"'{running.simulator_url}/_simulator/advance?steps=1'\n"
        f"AIRFLOW_HOME={HOME}  component logs: {LOGS}\n"
        "Ctrl-C stops everything."
    )
    try:
        while True:
            check_alive(running)
            time.sleep(1)
    except (KeyboardInterrupt, Interrupted):
        print()
    except SystemExit as error:
        print(error, file=sys.stderr)
        return 1
    return 0


def run_tests(running: Deployment, pytest_args: list[str]) -> int:
    """tests/deployment/ in a separate pytest process that finds the deployment through the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DD_"))}
    env.update(running.test_env())
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-v",
        "tests/deployment",
        *pytest_args,
    ]
    print("$ " + " ".join(command[1:]), flush=True)
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def copy_screenshots() -> None:
    DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
    for image in sorted(SCREENSHOTS.glob("*.png")):
        shutil.copy2(image, DOCS_IMAGES / image.name)
        print(f"Updated {(DOCS_IMAGES / image.name).relative_to(ROOT)}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (KeyboardInterrupt, Interrupted):
        print("Interrupted; everything started was stopped.", file=sys.stderr)
        sys.exit(130)
