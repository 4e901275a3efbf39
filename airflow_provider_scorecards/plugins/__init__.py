"""The Scorecards view in Airflow's UI (3.1+): a plugin, registered by the ``airflow.plugins`` entry point.

Nothing in the provider imports this package; Airflow loads :mod:`.plugin` (docs/ui-view.rst).
"""
