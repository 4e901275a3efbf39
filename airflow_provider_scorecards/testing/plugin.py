"""The pytest plugin (entry point ``pytest11``): the kit's fixtures, and nothing else.

It loads in every pytest run where the provider is installed, so it imports only pytest here; the
simulator and Airflow load when a test asks for a fixture, and nothing changes until then.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_provider_scorecards.testing.airflow_env import AirflowTestEnv
    from airflow_provider_scorecards.testing.simulator import SimulatorFixture


@pytest.fixture
def scorecards_simulator_options() -> dict[str, Any]:
    """Arguments of the test's simulator (``seed``, ``entities``, ``improve_every_requests``, ...).

    Override this fixture in a ``conftest.py`` (or a test module) to change them.
    """
    return {"seed": 7, "entities": 200}


@pytest.fixture
def scorecards_simulator(
    scorecards_simulator_options: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[SimulatorFixture]:
    """Yield a simulator on a free loopback port, with the default connection pointed at it for this test.

    ``AIRFLOW_CONN_DATADOG_SCORECARDS_DEFAULT`` is set for the test and restored after it; the simulator
    stops at teardown.
    """
    from airflow_provider_scorecards.simulator import ScorecardsSimulator
    from airflow_provider_scorecards.testing.simulator import SimulatorFixture

    with ScorecardsSimulator(**scorecards_simulator_options) as simulator:
        fixture = SimulatorFixture(simulator)  # on the default connection
        monkeypatch.setenv(f"AIRFLOW_CONN_{fixture.conn_id.upper()}", simulator.connection_uri())
        yield fixture


@pytest.fixture(scope="session")
def airflow_test_env() -> Iterator[AirflowTestEnv]:
    """Yield a throwaway ``AIRFLOW_HOME`` with a migrated SQLite database and a DAG folder, for the session.

    ``airflow_test_env.run_dag(path)`` runs a DAG file with ``dag.test()`` and returns each task's state
    and XComs. The environment is restored and the home removed when the session ends.
    """
    from airflow_provider_scorecards.testing.airflow_env import AirflowTestEnv

    with AirflowTestEnv() as env:
        yield env
