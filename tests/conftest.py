"""Test setup: a throwaway AIRFLOW_HOME with SQLite, and simulators on 127.0.0.1.

The environment is set before anything imports Airflow, so no test touches a real deployment.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

_HOME = Path(tempfile.mkdtemp(prefix="scorecards-airflow-home-"))
_ROOT = Path(__file__).parent.parent
EXAMPLE_DAGS = _ROOT / "example_dags"
# dag.test() runs DAGs from the DAGs folder: the test DAGs and the example DAGs, linked side by side.
_DAGS = _HOME / "dags"
_DAGS.mkdir()
for _source in [*(_ROOT / "tests" / "dags").glob("[!_]*.py"), *EXAMPLE_DAGS.glob("[!_]*.py")]:
    (_DAGS / _source.name).symlink_to(_source)
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_DAGS)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["SCORECARDS_GATE_POKE_INTERVAL"] = "0.2"  # the example gate looks again every 0.2 s in tests
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME / 'airflow.db'}"
for _name in ("DD_API_KEY", "DD_APP_KEY", "DD_SITE", "DD_BEARER_TOKEN", "DD_APPLICATION_KEY"):
    os.environ.pop(_name, None)

import pytest  # noqa: E402

from airflow_provider_scorecards.simulator import ScorecardsSimulator  # noqa: E402
from airflow_provider_scorecards.testing.simulator import SimulatorFixture  # noqa: E402

CONN_ENV = "AIRFLOW_CONN_DATADOG_SCORECARDS_DEFAULT"


@pytest.fixture(scope="session")
def sim() -> Iterator[ScorecardsSimulator]:
    """A shared, fault-free simulator (300 entities). Tests that inject faults use ``fresh_sim``."""
    with ScorecardsSimulator(seed=7, entities=300) as simulator:
        yield simulator


@pytest.fixture
def fresh_sim() -> Iterator[ScorecardsSimulator]:
    with ScorecardsSimulator(seed=11, entities=120) as simulator:
        yield simulator


@pytest.fixture
def sim_conn(monkeypatch: pytest.MonkeyPatch, sim: ScorecardsSimulator) -> ScorecardsSimulator:
    """The default connection points at the shared simulator."""
    monkeypatch.setenv(CONN_ENV, sim.connection_uri())
    return sim


@pytest.fixture
def fresh_conn(monkeypatch: pytest.MonkeyPatch, fresh_sim: ScorecardsSimulator) -> ScorecardsSimulator:
    """The default connection points at a fresh simulator, with fast retries (backoff_base 0.01 s)."""
    conn = fresh_sim.connection_dict()
    conn["extra"]["backoff_base"] = 0.01
    conn["extra"]["timeout"] = 2

    monkeypatch.setenv(CONN_ENV, json.dumps(conn))
    return fresh_sim


@pytest.fixture
def history_sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScorecardsSimulator]:
    """A simulator of the history tests' own: its drift step is that test's business only."""
    with ScorecardsSimulator(seed=7, entities=200) as sim:
        monkeypatch.setenv(CONN_ENV, sim.connection_uri())
        yield sim


@pytest.fixture
def kit(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimulatorFixture]:
    """For tests that write: a simulator of the test's own (outcomes visible at once), the default connection pointing at it."""
    with ScorecardsSimulator(seed=3, entities=40, outcome_delay=0) as sim:
        conn = sim.connection_dict()
        conn["extra"]["backoff_base"] = 0.01
        monkeypatch.setenv(CONN_ENV, json.dumps(conn))
        yield SimulatorFixture(sim)
