"""Running test DAGs through real Airflow (dag.test() on SQLite) and reading what they pushed."""

from __future__ import annotations

import copy
import os
from functools import cache
from typing import Any

from airflow_provider_scorecards.testing.airflow_env import WITHOUT_LOGICAL_DATE, DagRunResult, _run_loaded

DagResult = DagRunResult
NO_LOGICAL_DATE = WITHOUT_LOGICAL_DATE
"""``run_dag(..., logical_date=NO_LOGICAL_DATE)``: a run without a logical date, like a manual trigger."""


@cache
def init_db() -> None:
    """Create the schema, then run a trivial DAG once so Airflow configures its logging up front
    (otherwise the first dag.test() of the session does it, and that test's output capture misses it)."""
    from airflow.utils.db import resetdb

    resetdb()
    _run_loaded(_bag().get_dag("warmup"), {})


def dagbag() -> Any:
    """The DagBag of the test DAGs folder (the schema exists first: DagBag lookups query it)."""
    init_db()
    return _bag()


@cache
def _bag() -> Any:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.0
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]
    return DagBag(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])


_DEFAULT_PARAMS: dict[str, dict[str, Any]] = {}


def get_dag(dag_id: str) -> Any:
    dag = dagbag().get_dag(dag_id)
    assert dag is not None, f"{dag_id} not in {sorted(dagbag().dag_ids)}: {dagbag().import_errors}"
    # dag.test(run_conf=...) writes the conf into dag.params; keep the defaults to start each run from.
    _DEFAULT_PARAMS.setdefault(dag_id, copy.deepcopy(dict(dag.params.dump())))
    return dag


def run_dag(
    dag_id: str, conf: dict[str, Any] | None = None, dag: Any = None, logical_date: Any = None
) -> DagResult:
    """Run a DAG with dag.test() and collect its task states and XComs.

    ``logical_date`` matters for DAGs that template ``{{ ds }}``: without it, Airflow 3.0 creates a run
    with no logical date (as a manual trigger without one does), where ``ds`` is undefined.
    """
    init_db()
    dag = dag or get_dag(dag_id)
    conf = {**copy.deepcopy(_DEFAULT_PARAMS.get(dag_id, {})), **(conf or {})}
    return _run_loaded(dag, conf, logical_date)
