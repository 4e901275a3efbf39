"""`make test-deployment` and `python scripts/deployment.py up`: the provider in real Airflow deployments.

`dag.test()` and pytest run a DAG in one process, so they never show what a user meets: the scheduler
handing tasks to workers through the Execution API, the triggerer running the deferred gate, a connection
created through the REST API and shown by the UI, and Airflow's redaction of secrets in task logs, in the
API and in the audit log. This script starts the components a user runs, on loopback addresses only, with
a throwaway AIRFLOW_HOME under `.deployment/<leg>/` and the example DAGs, plus the bundled Scorecards
simulator. Two legs (``--legs``):

- ``standalone``: api-server, scheduler, dag-processor, one triggerer; LocalExecutor; SQLite;
- ``production``: the same plus a second triggerer and one Celery worker; CeleryExecutor; a throwaway
  PostgreSQL cluster (``initdb`` into a temporary directory) and a throwaway Redis broker, both from
  Debian's packages (``apt-get install postgresql redis-server``) and started here on free loopback
  ports, never as a system service.

Then:

- ``up``: prints the URLs and keeps running until Ctrl-C, with the connection ``datadog_scorecards_default``
  already pointing at the simulator, for trying the examples in the UI;
- ``test``: runs ``tests/deployment/`` against each leg in turn (pytest arguments go after ``--``) and
  exits with the first failing status. ``--update-docs-images`` copies the browser's screenshots to
  ``docs/images/`` after a passing standalone run (by default they stay in
  ``.deployment/standalone/screenshots/``, so a test run leaves the checkout unchanged).

Either way it stops everything it started on exit (also on failure, Ctrl-C, SIGTERM or SIGHUP): every
component is its own process group, a final sweep checks that no process carrying this deployment's marker
is left, and the temporary directory of the database and the broker is removed.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEPLOYMENT = ROOT / ".deployment"
DOCS_IMAGES = ROOT / "docs" / "images"
OWNER = DEPLOYMENT / "owner.pid"
LEGS = ("standalone", "production")

# What the tests read (tests/deployment/scenario.py names the same variables): without them they skip.
AIRFLOW_URL_ENV = "SCORECARDS_DEPLOYMENT_AIRFLOW_URL"
SIMULATOR_URL_ENV = "SCORECARDS_DEPLOYMENT_SIMULATOR_URL"
DIR_ENV = "SCORECARDS_DEPLOYMENT_DIR"
LEG_ENV = "SCORECARDS_DEPLOYMENT_LEG"
# The second api-server, with real logins (tests/deployment/ui_view_auth.py), and its generated passwords.
RESTRICTED_URL_ENV = "SCORECARDS_DEPLOYMENT_RESTRICTED_URL"
RESTRICTED_PASSWORDS = "restricted-passwords.json"
# Beside the logs: what the production leg's tests need besides URLs (database, broker, component pids).
LEG_FILE = "leg.json"
# Every process of the deployment inherits this variable; the final sweep looks for it in /proc.
MARKER_ENV = "SCORECARDS_DEPLOYMENT_MARKER"

CONN_ID = "datadog_scorecards_default"
# --skip-serve-logs: the log servers bind every interface (0.0.0.0/::); everything here is on one
# machine, so the API server reads the task and trigger logs from AIRFLOW_HOME/logs directly.
COMPONENTS = {
    "standalone": {
        "scheduler": ["scheduler", "--skip-serve-logs"],
        "dag-processor": ["dag-processor"],
        "triggerer": ["triggerer", "--skip-serve-logs"],
    },
    "production": {
        "scheduler": ["scheduler", "--skip-serve-logs"],
        "dag-processor": ["dag-processor"],
        "triggerer-1": ["triggerer", "--skip-serve-logs"],
        "triggerer-2": ["triggerer", "--skip-serve-logs"],
        "worker": ["celery", "worker", "--skip-serve-logs", "--concurrency", "6", "--without-mingle"],
    },
}
# Stopped after everything else (Airflow's components disconnect first), each with its fast shutdown.
SERVICES = {"postgres": signal.SIGINT, "redis": signal.SIGTERM, "redis-monitor": signal.SIGTERM}
START_TIMEOUT = 240.0
STOP_GRACE = 30.0
SERVICE_START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Leg:
    """One shape of deployment and where its files go (``.deployment/<name>/``)."""

    name: str

    @property
    def production(self) -> bool:
        return self.name == "production"

    @property
    def directory(self) -> Path:
        return DEPLOYMENT / self.name

    @property
    def home(self) -> Path:
        return self.directory / "airflow-home"

    @property
    def logs(self) -> Path:
        return self.directory / "logs"

    @property
    def snapshots(self) -> Path:
        return self.directory / "snapshots"

    @property
    def screenshots(self) -> Path:
        return self.directory / "screenshots"


STANDALONE = Leg("standalone")
# The standalone leg's paths under their historical names (scripts/demo_event_driven.py uses that leg).
HOME = STANDALONE.home
LOGS = STANDALONE.logs


class Interrupted(Exception):
    """SIGTERM, turned into an exception so that the ``finally`` blocks stop what was started."""


@dataclass
class Deployment:
    """The running processes and where to reach them."""

    leg: Leg = STANDALONE
    marker: str = field(default_factory=lambda: secrets.token_hex(8))
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    airflow_url: str = ""
    simulator_url: str = ""
    database_url: str = ""
    broker_url: str = ""
    services_dir: Path | None = None
    """The production leg's temporary directory (the PostgreSQL cluster, Redis), removed on exit."""
    pg_bin: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    """Added to every Airflow component's environment."""
    for_tests: bool = False
    """The tests' own DAGs too (tests/deployment/dags/, own bundle), and the restricted api-server."""
    restricted_url: str = ""

    def test_env(self) -> dict[str, str]:
        return {
            AIRFLOW_URL_ENV: self.airflow_url,
            SIMULATOR_URL_ENV: self.simulator_url,
            DIR_ENV: str(self.leg.directory),
            LEG_ENV: self.leg.name,
            RESTRICTED_URL_ENV: self.restricted_url,
        }

    def write_leg_file(self) -> None:
        """What the tests need besides the URLs: database, broker, each component's pid, the leg's paths."""
        described = {
            "leg": self.leg.name,
            "database_url": self.database_url,
            "broker_url": self.broker_url,
            "pg_dump": str(self.pg_bin / "pg_dump") if self.pg_bin else "",
            "pids": {name: process.pid for name, process in self.processes.items()},
            "paths": {
                "airflow_home": str(self.leg.home),
                "logs": str(self.leg.logs),
                "snapshots": str(self.leg.snapshots),
                "screenshots": str(self.leg.screenshots),
            },
        }
        (self.leg.directory / LEG_FILE).write_text(json.dumps(described, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the deployment, print its URLs, run until Ctrl-C")
    test = sub.add_parser("test", help="start the deployment, run tests/deployment/ against it, stop it")
    up.add_argument("--leg", choices=LEGS, default="standalone", help="which deployment (default standalone)")
    test.add_argument(
        "--update-docs-images", action="store_true", help="copy a passing run's screenshots to docs/images/"
    )
    test.add_argument("--legs", nargs="+", choices=LEGS, default=list(LEGS), help="legs to run, in order")
    test.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    # Ctrl-C, SIGTERM and SIGHUP all unwind through the `finally` that stops the deployment, even when this
    # process was started with SIGINT ignored (a background job of a non-interactive shell).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupted)
    signal.signal(signal.SIGHUP, _raise_interrupted)
    if args.command == "up":
        with deployment(Leg(args.leg)) as running:
            return serve(running)
    started = time.monotonic()
    if not _owned_by_another():  # no leg of an earlier run left behind
        shutil.rmtree(DEPLOYMENT, ignore_errors=True)
    status, timings = 0, []
    for name in args.legs:
        leg_started = time.monotonic()
        with deployment(Leg(name), for_tests=True) as running:
            healthy = time.monotonic() - leg_started
            print(f"[{name}] deployment healthy in {healthy:.0f} s", flush=True)
            leg_status = run_tests(running, args.pytest_args)
            if args.update_docs_images and leg_status == 0 and name == "standalone":
                copy_screenshots(running.leg)  # only pictures of a passing run
        timings.append(f"{name} {time.monotonic() - leg_started:.0f} s (healthy after {healthy:.0f} s)")
        status = status or leg_status
    print(
        f"Deployment tier finished in {time.monotonic() - started:.0f} s ({'; '.join(timings)}); logs, "
        f"screenshots and the scenarios' timelines are in {DEPLOYMENT.relative_to(ROOT)}/<leg>/"
    )
    return status


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(f"signal {signum}")


@contextmanager
def deployment(
    leg: Leg = STANDALONE, extra_env: dict[str, str] | None = None, for_tests: bool = False
) -> Iterator[Deployment]:
    """Start the simulator, the leg's services and Airflow, wait until healthy, stop everything on exit.

    ``extra_env`` is added to every Airflow component's environment (the event-driven demo's poll interval).
    """
    claim_directory(leg)
    running = Deployment(leg, extra_env=dict(extra_env or {}), for_tests=for_tests)
    atexit.register(_last_resort, running)  # an exit that skips the `finally` below (it is idempotent)
    failed = False
    try:
        running.simulator_url = start_simulator(running)
        if leg.production:
            start_services(running)
        start_airflow(running)
        running.write_leg_file()
        yield running
    except BaseException:
        failed = True
        raise
    finally:
        leftovers = stop(running)
        remove_services_dir(running)
        atexit.unregister(_last_resort)
        OWNER.unlink(missing_ok=True)
        if leftovers:
            message = f"processes of the deployment were still running and were killed: {leftovers}"
            if failed:
                print(f"ERROR: {message}", file=sys.stderr)
            else:
                raise SystemExit(f"ERROR: {message}")


def _owned_by_another() -> bool:
    """Whether another live process of this checkout runs a deployment in `.deployment/`."""
    try:
        pid = int(OWNER.read_text())
        os.kill(pid, 0)
    except PermissionError:  # alive, another user's
        return True
    except (OSError, ValueError):  # no owner file, or its process is gone
        return False
    return pid != os.getpid()


def claim_directory(leg: Leg) -> None:
    """Start from an empty `.deployment/<leg>/`, unless another deployment of this checkout is running."""
    if _owned_by_another():
        raise SystemExit(f"Another deployment (pid {OWNER.read_text()}) uses {DEPLOYMENT}; stop it first")
    shutil.rmtree(leg.directory, ignore_errors=True)
    for folder in (leg.home, leg.logs, leg.snapshots, leg.screenshots):
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


def spawn(
    running: Deployment, name: str, command: list[str], env: dict[str, str], user: str | None = None
) -> None:
    """Start one component in its own process group (so stopping it reaches its workers too)."""
    with (running.leg.logs / f"{name}.log").open("wb") as log:
        running.processes[name] = subprocess.Popen(
            command,
            env=env,
            cwd=running.services_dir or running.leg.directory,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=user,
        )


def start_simulator(running: Deployment) -> str:
    """The simulator on a free loopback port, without drift: the tests advance it when they need to."""
    port_file = running.leg.directory / "simulator.port"
    command = [sys.executable, "-m", "airflow_provider_scorecards.simulator.cli", "--seed", "7"]
    command += ["--entities", "300", "--port-file", str(port_file), "--verbose"]
    spawn(running, "simulator", command, base_env(running.marker))
    deadline = time.monotonic() + 30
    while not (port_file.exists() and port_file.read_text()):
        check_alive(running)
        if time.monotonic() > deadline:
            raise SystemExit(f"The simulator did not start in 30 s; see {running.leg.logs / 'simulator.log'}")
        time.sleep(0.05)
    return f"http://127.0.0.1:{port_file.read_text().strip()}"


def airflow_env(marker: str, port: int, home: Path = HOME) -> dict[str, str]:
    """Configuration of every Airflow component: what a small single-machine deployment would set."""
    from cryptography.fernet import Fernet

    url = f"http://127.0.0.1:{port}"
    return {
        **base_env(marker),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "8",  # two cores: more concurrent task processes only thrash
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
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


def production_env(running: Deployment) -> dict[str, str]:
    """What the production leg changes: PostgreSQL, Celery over Redis, results in the database."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": running.database_url,
        "AIRFLOW__CELERY__BROKER_URL": running.broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + running.database_url,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "6",
        # Say it once, explicitly (the provider warns when it is left unset).
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "21600",
    }


def start_airflow(running: Deployment) -> None:
    port = free_port()
    env = airflow_env(running.marker, port, running.leg.home)
    if running.leg.production:
        env.update(production_env(running))
    env.update(running.extra_env)
    if running.for_tests:
        bundle = "airflow.dag_processing.bundles.local.LocalDagBundle"
        tests_dags = {"path": str(ROOT / "tests" / "deployment" / "dags")}
        bundles = [{"name": "dags-folder", "classpath": bundle, "kwargs": {}}]
        bundles.append({"name": "deployment-tests", "classpath": bundle, "kwargs": tests_dags})
        env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(bundles)
    airflow = [sys.executable, "-m", "airflow"]
    logs = running.leg.logs
    with (logs / "db-migrate.log").open("wb") as log:
        migrate = subprocess.run(
            [*airflow, "db", "migrate"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=300,
            check=False,
        )
    if migrate.returncode != 0:
        raise SystemExit(f"airflow db migrate failed; see {logs / 'db-migrate.log'}")
    api = ["api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    spawn(running, "api-server", [*airflow, *api], env)
    for name, arguments in COMPONENTS[running.leg.name].items():
        spawn(running, name, [*airflow, *arguments], env)
    if running.for_tests:
        restricted = free_port()
        api[api.index(str(port))] = str(restricted)
        spawn(running, "api-server-restricted", [*airflow, *api], restricted_env(env, running, restricted))
        running.restricted_url = f"http://127.0.0.1:{restricted}"
    running.airflow_url = f"http://127.0.0.1:{port}"
    wait_healthy(running)


def restricted_env(env: dict[str, str], running: Deployment, port: int) -> dict[str, str]:
    """A second api-server on the same database and JWT secret, where a login is needed and a user may be
    refused a DAG (tests/deployment/ui_view_auth.py): the first one makes every request an admin's."""
    return {
        **env,
        "PYTHONPATH": str(ROOT),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__AUTH_MANAGER": "tests.deployment.ui_view_auth.RestrictedAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "reader:viewer,outsider:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(running.leg.home / RESTRICTED_PASSWORDS),
    }


def wait_healthy(running: Deployment) -> None:
    """Until `/api/v2/monitor/health` reports the database, scheduler, triggerer and dag-processor healthy,
    and as many triggerers as the leg starts are alive (the health check is happy with one)."""
    import requests

    triggerers = sum(1 for name in COMPONENTS[running.leg.name] if name.startswith("triggerer"))
    deadline = time.monotonic() + START_TIMEOUT
    last: Any = None
    while time.monotonic() < deadline:
        check_alive(running)
        try:
            last = requests.get(f"{running.airflow_url}/api/v2/monitor/health", timeout=5).json()
            parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
            if all((last.get(part) or {}).get("status") == "healthy" for part in parts):
                jobs = requests.get(
                    f"{running.airflow_url}/api/v2/jobs",
                    params={"job_type": "TriggererJob", "is_alive": "true"},
                    timeout=5,
                ).json()
                if int(jobs["total_entries"]) >= triggerers:
                    return
                last = f"{jobs['total_entries']} of {triggerers} triggerers alive"
        except (requests.RequestException, ValueError, KeyError) as error:
            last = repr(error)
        time.sleep(0.5)
    raise SystemExit(
        f"Airflow was not healthy after {START_TIMEOUT:.0f} s: {last}; logs in {running.leg.logs}"
    )


def check_alive(running: Deployment) -> None:
    """Fail at once, with the end of its log, when a component exits during the start."""
    for name, process in running.processes.items():
        if process.poll() is not None:
            tail = (running.leg.logs / f"{name}.log").read_text(errors="replace")[-3000:]
            raise SystemExit(f"{name} exited with status {process.returncode} during the start:\n{tail}")


def postgres_bin() -> Path:
    """The newest PostgreSQL server's binaries from Debian's packages (``/usr/lib/postgresql/<N>/bin``)."""
    found = sorted(
        (path for path in Path("/usr/lib/postgresql").glob("*/bin") if (path / "initdb").exists()),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    if not found:
        raise SystemExit(
            "The production leg needs PostgreSQL's server: `apt-get install postgresql` (no initdb in "
            "/usr/lib/postgresql/*/bin)"
        )
    return found[-1]


def service_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, run the services as the packages' ``postgres`` user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise SystemExit(
            "Running as root needs a `postgres` user (Debian's postgresql package creates it)"
        ) from None
    return "postgres"


def start_services(running: Deployment) -> None:
    """A throwaway PostgreSQL cluster and Redis on free loopback ports, in one temporary directory."""
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        raise SystemExit("The production leg needs Redis: `apt-get install redis-server`")
    pg_bin = running.pg_bin = postgres_bin()
    user = service_user()
    running.services_dir = Path(tempfile.mkdtemp(prefix="scorecards-deployment-"))
    if user is not None:
        os.chown(running.services_dir, pwd.getpwnam(user).pw_uid, -1)
    env = base_env(running.marker)
    data = running.services_dir / "postgres"
    with (running.leg.logs / "initdb.log").open("wb") as log:
        initdb = [str(pg_bin / "initdb"), "-D", str(data), "-U", "airflow", "--auth=trust", "--no-sync"]
        done = subprocess.run(
            [*initdb, "-E", "UTF8", "--locale=C"],
            env=env,
            cwd=running.services_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=SERVICE_START_TIMEOUT,
            check=False,
            user=user,
        )
    if done.returncode != 0:
        raise SystemExit(f"initdb failed; see {running.leg.logs / 'initdb.log'}")
    pg_port = free_port()
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": str(pg_port),
        "unix_socket_directories": str(running.services_dir),
        "max_connections": "200",
        # A throwaway cluster: durability costs time and buys nothing.
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
    }
    options = [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
    spawn(running, "postgres", [str(pg_bin / "postgres"), "-D", str(data), *options], env, user=user)
    redis_port = free_port()
    redis = [redis_server, "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "", "--appendonly"]
    redis += ["no", "--dir", str(running.services_dir), "--daemonize", "no"]
    spawn(running, "redis", redis, env, user=user)
    wait_for_port(running, "postgres", pg_port)
    wait_for_port(running, "redis", redis_port)
    # Every command the broker receives, for the key sweep of what went through it (tests/deployment/).
    monitor = [shutil.which("redis-cli") or "redis-cli", "-h", "127.0.0.1", "-p", str(redis_port), "monitor"]
    spawn(running, "redis-monitor", monitor, env)
    deadline = time.monotonic() + SERVICE_START_TIMEOUT
    while True:  # the port answers before the cluster accepts sessions
        ready = subprocess.run(
            [str(pg_bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(pg_port), "-U", "airflow"],
            capture_output=True,
            check=False,
        )
        if ready.returncode == 0:
            break
        check_alive(running)
        if time.monotonic() > deadline:
            raise SystemExit(f"PostgreSQL did not accept sessions in {SERVICE_START_TIMEOUT:.0f} s")
        time.sleep(0.2)
    create = [str(pg_bin / "createdb"), "-h", "127.0.0.1", "-p", str(pg_port), "-U", "airflow", "airflow"]
    subprocess.run(create, env=env, capture_output=True, check=True, timeout=SERVICE_START_TIMEOUT)
    running.database_url = f"postgresql+psycopg2://airflow@127.0.0.1:{pg_port}/airflow"
    running.broker_url = f"redis://127.0.0.1:{redis_port}/0"


def wait_for_port(running: Deployment, name: str, port: int) -> None:
    deadline = time.monotonic() + SERVICE_START_TIMEOUT
    while True:
        with socket.socket() as probe:
            probe.settimeout(1)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        check_alive(running)
        if time.monotonic() > deadline:
            raise SystemExit(f"{name} did not listen on 127.0.0.1:{port} in {SERVICE_START_TIMEOUT:.0f} s")
        time.sleep(0.1)


def remove_services_dir(running: Deployment) -> None:
    """The cluster and the broker's directory go once their processes are stopped."""
    if running.services_dir is not None:
        shutil.rmtree(running.services_dir, ignore_errors=True)
        running.services_dir = None


def _last_resort(running: Deployment) -> None:
    """At interpreter exit, if the context manager's `finally` did not run: stop and remove everything."""
    stop(running)
    remove_services_dir(running)


def stop(running: Deployment) -> list[str]:
    """SIGTERM every process group, SIGKILL what is left after a grace period, then sweep for stragglers.

    Airflow's components and the simulator go first, the database and the broker after them (so that
    nothing loses its connection while stopping). Returns a description of every process the sweep had to
    kill (empty when the stop was clean): one that left its component's process group (a new session) and
    outlived the component.
    """
    started = time.monotonic()
    applications = {n: p for n, p in running.processes.items() if n not in SERVICES}
    services = {n: p for n, p in running.processes.items() if n in SERVICES}
    killed = _stop_wave(running, applications) + _stop_wave(running, services)
    leftovers = []
    for pid, command in marked_processes(running.marker):
        leftovers.append(f"{pid} {command}")
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if running.processes:
        forced = f"; SIGKILL after {STOP_GRACE:.0f} s for {', '.join(killed)}" if killed else ""
        swept = "stragglers killed" if leftovers else "no process left"
        print(
            f"[{running.leg.name}] deployment stopped in {time.monotonic() - started:.0f} s{forced}; {swept}."
        )
    running.processes.clear()  # stopped: a second call (at exit) has nothing to do
    return leftovers


def _stop_wave(running: Deployment, wave: dict[str, subprocess.Popen[bytes]]) -> list[str]:
    """Stop these process groups (each with its own signal), SIGKILL after the grace; who needed it."""
    deadline = time.monotonic() + STOP_GRACE
    for name, process in reversed(wave.items()):
        _signal_group(process.pid, SERVICES.get(name, signal.SIGTERM))
    for process in wave.values():
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
    groups = {process.pid for process in wave.values()}
    while time.monotonic() < deadline and _members(groups):
        time.sleep(0.2)
    killed = sorted(name for name, process in wave.items() if _members({process.pid}))
    for process in wave.values():
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()
    settle = time.monotonic() + 5
    while time.monotonic() < settle and _members(groups):  # SIGKILL is not instantaneous
        time.sleep(0.1)
    return killed


def _signal_group(pgid: int, signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def _members(groups: set[int]) -> list[int]:
    """Live (not zombie) processes in these process groups."""
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
        f"AIRFLOW_HOME={running.leg.home}  component logs: {running.leg.logs}\n"
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


def copy_screenshots(leg: Leg) -> None:
    DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
    for image in sorted(leg.screenshots.glob("*.png")):
        shutil.copy2(image, DOCS_IMAGES / image.name)
        print(f"Updated {(DOCS_IMAGES / image.name).relative_to(ROOT)}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (KeyboardInterrupt, Interrupted):
        print("Interrupted; everything started was stopped.", file=sys.stderr)
        sys.exit(130)
