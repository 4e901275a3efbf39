"""Running test DAGs through real Airflow (dag.test() on SQLite) and reading what they pushed."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from functools import cache
from typing import Any


@dataclass
class DagResult:
    state: str
    task_states: dict[str, str | None]
    xcoms: dict[tuple[str, str], Any]

    def xcom(self, task_id: str, key: str = "return_value") -> Any:
        return self.xcoms[(task_id, key)]


@cache
def init_db() -> None:
    """Create the schema, then run a trivial DAG once so Airflow configures its logging up front
    (otherwise the first dag.test() of the session does it, and that test's output capture misses it)."""
    from airflow.utils.db import resetdb

    resetdb()
    _test(_bag().get_dag("warmup"), {})


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
NO_LOGICAL_DATE = object()
"""``run_dag(..., logical_date=NO_LOGICAL_DATE)``: a run without a logical date, like a manual trigger."""


def get_dag(dag_id: str) -> Any:
    dag = dagbag().get_dag(dag_id)
    assert dag is not None, f"{dag_id} not in {sorted(dagbag().dag_ids)}: {dagbag().import_errors}"
    # dag.test(run_conf=...) writes the conf into dag.params; keep the defaults to start each run from.
    _DEFAULT_PARAMS.setdefault(dag_id, copy.deepcopy(dict(dag.params.dump())))
    return dag


@cache
def _sync_bundles() -> None:
    """The dag_bundle rows that DAG rows refer to (what the dag-processor writes at its start)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    DagBundlesManager().sync_bundles_to_db()


def _test(dag: Any, conf: dict[str, Any], logical_date: Any = None) -> Any:
    if not hasattr(dag, "test"):  # Airflow 3.0: test() lives on the core DAG
        from airflow.models.dag import DAG as CoreDAG

        dag = CoreDAG.from_sdk_dag(dag)
        # 3.0's dag.test() does not register the DAG's assets (the dag-processor does, in a deployment),
        # and a task with an inactive asset in its outlets fails: register them as the processor would.
        _sync_bundles()
        CoreDAG.bulk_write_to_db("dags-folder", None, [dag])
    if logical_date is NO_LOGICAL_DATE:
        return dag.test(run_conf=conf, logical_date=None)
    if logical_date is not None:
        return dag.test(run_conf=conf, logical_date=logical_date)
    return dag.test(run_conf=conf)


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
    run = _test(dag, conf, logical_date)
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(XComModel)
            .filter(XComModel.dag_id == dag.dag_id, XComModel.run_id == run.run_id)
            .order_by(XComModel.map_index)
            .all()
        )
        xcoms: dict[tuple[str, str], Any] = {}
        for row in rows:
            value = XComModel.deserialize_value(row)
            if row.map_index >= 0:
                xcoms.setdefault((row.task_id, row.key), []).append(value)
            else:
                xcoms[(row.task_id, row.key)] = value
        tis = run.get_task_instances(session=session)
        states = {
            ti.task_id: (
                str(ti.state.value) if ti.state is not None and hasattr(ti.state, "value") else ti.state
            )
            for ti in tis
        }
    state = run.state.value if hasattr(run.state, "value") else str(run.state)
    return DagResult(state=state, task_states=states, xcoms=xcoms)
