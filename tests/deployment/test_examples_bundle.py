"""The example DAGs as a new user meets them: Airflow 3.3+ with ``[core] load_examples`` on loads them from
the installed package, as the bundle ``airflow-provider-scorecards-example-dags``.

This starts an Airflow of its own beside the leg's: the provider installed as pip installs it (built from
this checkout into a folder first on ``PYTHONPATH``, so the examples are in the package folder, which an
editable install does not have), a throwaway home and SQLite database, ``load_examples`` on and
``dags_are_paused_at_creation`` off (a deployment whose new DAGs start unpaused), the default connection
pointed at a simulator, and a dag-processor. Each example must parse there, appear paused, and do nothing:
no run, no watcher registered for the triggerer, not one request to the simulator. No scheduler or
triggerer is started: with ``dags_are_paused_at_creation`` off they would run Airflow's own examples.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_scorecards.simulator import ScorecardsSimulator

LEGS = ("standalone",)  # its own Airflow: once is enough
ROOT = Path(__file__).resolve().parents[2]
BUNDLE = "airflow-provider-scorecards-example-dags"
EXAMPLES = sorted(p.stem for p in (ROOT / "example_dags").glob("scorecards_*.py"))
PARSE_TIMEOUT = 300.0


@pytest.fixture(scope="module")
def examples_bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, ScorecardsSimulator]]:
    """A dag-processor with load_examples on has parsed the examples bundle; yield its database and the
    simulator the default connection points at."""
    from airflow.dag_processing.bundles import manager

    if not hasattr(manager, "_add_provider_example_dags_to_bundle"):
        pytest.skip("this Airflow loads no provider's examples (3.3+ does)")
    work = tmp_path_factory.mktemp("examples-bundle")
    site, home = work / "site", work / "home"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (home / "dags").mkdir(parents=True)
    with ScorecardsSimulator() as sim:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DD_", "SCORECARDS_"))},
            "PYTHONPATH": str(site),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "True",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW_CONN_DATADOG_SCORECARDS_DEFAULT": sim.connection_uri(),
            "SCORECARDS_EVENT_POLL_INTERVAL": "1",
        }
        where = subprocess.run(
            [sys.executable, "-c", "import airflow_provider_scorecards as p; print(p.__file__)"],
            env=env,
            cwd=work,  # `python -m` puts the working directory first on sys.path: not the checkout
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert where.startswith(str(site)), f"not the installed copy: {where}"
        airflow = [sys.executable, "-m", "airflow"]
        with (work / "db-migrate.log").open("wb") as log:
            subprocess.run(
                [*airflow, "db", "migrate"],
                env=env,
                cwd=work,
                stdout=log,
                stderr=log,
                check=True,
                timeout=600,
            )
        with (work / "dag-processor.log").open("wb") as log:
            processor = subprocess.Popen(
                [*airflow, "dag-processor"], env=env, cwd=work, stdout=log, stderr=log, start_new_session=True
            )
        try:
            database = home / "airflow.db"
            deadline = time.monotonic() + PARSE_TIMEOUT
            while len(_rows(database, "SELECT dag_id FROM dag WHERE bundle_name = ?", BUNDLE)) < len(
                EXAMPLES
            ):
                assert processor.poll() is None, (work / "dag-processor.log").read_text()[-3000:]
                if time.monotonic() > deadline:
                    errors = _rows(
                        database,
                        "SELECT filename, stacktrace FROM import_error WHERE bundle_name = ?",
                        BUNDLE,
                    )
                    pytest.fail(f"the examples bundle did not parse in {PARSE_TIMEOUT:g} s: {errors}")
                time.sleep(2)
            time.sleep(5)  # a few more seconds of the dag-processor: a watcher it registered would be polling
            yield database, sim
        finally:
            os.killpg(processor.pid, signal.SIGTERM)
            try:
                processor.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(processor.pid, signal.SIGKILL)
                processor.wait(timeout=30)


def _rows(database: Path, query: str, *args: object) -> list[tuple[object, ...]]:
    if not database.exists():
        return []
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as connection:
        try:
            return list(connection.execute(query, args))
        except sqlite3.OperationalError:  # the schema is not there yet
            return []


def test_every_example_parses_in_the_bundle(examples_bundle: tuple[Path, ScorecardsSimulator]) -> None:
    database, _ = examples_bundle
    found = sorted(
        str(row[0]) for row in _rows(database, "SELECT dag_id FROM dag WHERE bundle_name = ?", BUNDLE)
    )
    assert found == EXAMPLES
    assert (
        _rows(database, "SELECT filename, stacktrace FROM import_error WHERE bundle_name = ?", BUNDLE) == []
    )


def test_each_appears_paused_and_does_nothing(examples_bundle: tuple[Path, ScorecardsSimulator]) -> None:
    database, sim = examples_bundle
    paused = dict(_rows(database, "SELECT dag_id, is_paused FROM dag WHERE bundle_name = ?", BUNDLE))
    assert paused == dict.fromkeys(EXAMPLES, 1)  # whatever dags_are_paused_at_creation says
    assert _rows(database, "SELECT dag_id, run_id FROM dag_run WHERE dag_id LIKE 'scorecards_%'") == []
    ours = _rows(
        database, "SELECT id, classpath FROM trigger WHERE classpath LIKE 'airflow_provider_scorecards.%'"
    )
    assert ours == []  # no watcher for the triggerer to run
    assert sim.requests == []  # nothing asked the API anything
