"""A test kit for your own DAGs: the simulator and a throwaway Airflow, as pytest fixtures.

Installed with the provider and registered as a pytest plugin, it does nothing until a test asks for one
of its fixtures:

- ``scorecards_simulator``: a :class:`SimulatorFixture`, a simulator on a free loopback port with the
  default connection pointed at it for the test;
- ``airflow_test_env``: an :class:`AirflowTestEnv`, a throwaway ``AIRFLOW_HOME`` with a migrated SQLite
  database and a DAG folder, which runs ``dag.test()`` on a DAG file and returns each task's state and
  XComs.

``scorecards_simulator.watch(asset, then=...)`` runs an ``AssetWatcher``'s trigger against the simulator
until it fires (:func:`~airflow_provider_scorecards.testing.watchers.first_event` does it for any trigger).

The names below load on first use, so the plugin costs nothing in a test run that does not use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_scorecards.testing.airflow_env import AirflowTestEnv, DagRunResult
    from airflow_provider_scorecards.testing.simulator import SimulatorFixture
    from airflow_provider_scorecards.testing.watchers import first_event

__all__ = ["AirflowTestEnv", "DagRunResult", "SimulatorFixture", "first_event"]

_HOMES = {
    "AirflowTestEnv": "airflow_provider_scorecards.testing.airflow_env",
    "DagRunResult": "airflow_provider_scorecards.testing.airflow_env",
    "SimulatorFixture": "airflow_provider_scorecards.testing.simulator",
    "first_event": "airflow_provider_scorecards.testing.watchers",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_HOMES[name]), name)
