"""A test kit for your own DAGs: the simulator and a throwaway Airflow, as pytest fixtures.

Registered as a pytest plugin (:mod:`.plugin`) with the provider: ``scorecards_simulator`` (a
:class:`~airflow_provider_scorecards.testing.simulator.SimulatorFixture`) and ``airflow_test_env`` (an
:class:`~airflow_provider_scorecards.testing.airflow_env.AirflowTestEnv`); docs/testing.rst shows them.
This ``__init__`` imports nothing, so the plugin costs a test run nothing until a fixture is used.
"""
