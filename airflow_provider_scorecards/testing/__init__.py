"""A test kit for your own DAGs: the simulator and a throwaway Airflow, as pytest fixtures.

Installed with the provider and registered as a pytest plugin (:mod:`.plugin`), it does nothing until a
test asks for one of its fixtures:

- ``scorecards_simulator``: a :class:`~airflow_provider_scorecards.testing.simulator.SimulatorFixture`, a
  simulator on a free loopback port with the default connection pointed at it for the test;
- ``airflow_test_env``: an :class:`~airflow_provider_scorecards.testing.airflow_env.AirflowTestEnv`, a
  throwaway ``AIRFLOW_HOME`` with a migrated SQLite database and a DAG folder, which runs ``dag.test()`` on a
  DAG file and returns each task's state and XComs.

``scorecards_simulator.watch(asset, then=...)`` runs an ``AssetWatcher``'s trigger against the simulator
until it fires (:func:`~airflow_provider_scorecards.testing.watchers.first_event` does it for any trigger).

This ``__init__`` imports nothing: the plugin loads in every pytest run, and only a fixture in use loads
the simulator or Airflow.
"""
