"""A throwaway Airflow for a test session: its own home, SQLite database and DAG folder.

Airflow reads its configuration when first imported, and a test module that does
``from airflow.sdk import DAG`` imports it at collection, before any fixture runs. So the environment
variables are set, and when Airflow was already imported its settings and database engine are pointed
at the new home too; both are put back at the end of the session. For the same reason Airflow's modules
are imported inside the methods, once the environment is set.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class DagRunResult:
    """What one ``dag.test()`` run did: the run's state, each task's state, and every XCom it pushed.

    ``xcoms`` is keyed by ``(task_id, key)``; a mapped task's values are a list in map-index order. A
    mapped task's state is the worst of its instances' (failed, then any but success, then success).
    """

    dag_id: str
    run_id: str
    state: str
    task_states: dict[str, str | None]
    xcoms: dict[tuple[str, str], Any]

    def xcom(self, task_id: str, key: str = "return_value") -> Any:
        """One task's XCom (its return value unless ``key`` says otherwise)."""
        return self.xcoms[(task_id, key)]


class AirflowTestEnv:
    """A throwaway ``AIRFLOW_HOME`` with a migrated SQLite database and a DAG folder.

    Use it through the ``airflow_test_env`` fixture, or as a context manager.

    :param home: the directory to use as ``AIRFLOW_HOME`` (default: a new temporary directory).
    """

    def __init__(self, home: Path | None = None) -> None:
        self.home = home or Path(tempfile.mkdtemp(prefix="scorecards-airflow-"))
        self.dags_folder = self.home / "dags"
        self._saved: dict[str, str | None] = {}

    @property
    def environ(self) -> dict[str, str]:
        """The variables that point Airflow at this home (for a subprocess, such as ``airflow dags test``)."""
        return {
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
        }

    def __enter__(self) -> AirflowTestEnv:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Point Airflow at this home and migrate its database."""
        self.dags_folder.mkdir(parents=True, exist_ok=True)
        self._saved = {name: os.environ.get(name) for name in self.environ}
        os.environ.update(self.environ)
        _reconfigure_if_imported()
        from airflow.utils.db import resetdb

        resetdb()

    def stop(self) -> None:
        """Put the environment back and remove the home."""
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved.clear()
        _reconfigure_if_imported()
        shutil.rmtree(self.home, ignore_errors=True)

    def run_dag(
        self,
        dag_file: str | os.PathLike[str],
        dag_id: str | None = None,
        *,
        conf: dict[str, Any] | None = None,
        logical_date: Any = None,
    ) -> DagRunResult:
        """Run a DAG of ``dag_file`` with ``dag.test()``; return the run's task states and XComs.

        ``dag_id`` may be left out when the file defines one DAG. The file is copied into the DAG folder
        first unless it is already there. Import errors are raised with Airflow's message.
        """
        source = Path(dag_file).resolve()
        if source.parent != self.dags_folder.resolve():  # dag.test() runs DAGs from the DAG folder
            source = Path(shutil.copyfile(source, self.dags_folder / source.name))
        return _run_loaded(self._load(source, dag_id), conf or {}, logical_date)

    def _load(self, path: Path, dag_id: str | None) -> Any:
        try:
            from airflow.dag_processing.dagbag import DagBag
        except ImportError:  # Airflow 3.0
            from airflow.models.dagbag import DagBag  # type: ignore[no-redef]
        bag = DagBag(str(path))
        if bag.import_errors:
            raise RuntimeError(f"{path.name} does not import: {bag.import_errors}")
        ids = sorted(bag.dag_ids)
        if dag_id is None:
            if len(ids) != 1:
                raise ValueError(f"{path.name} defines {len(ids)} DAGs ({', '.join(ids)}): pass dag_id")
            dag_id = ids[0]
        dag = bag.get_dag(dag_id)
        if dag is None:
            raise ValueError(f"no DAG {dag_id!r} in {path.name}; it defines {', '.join(ids) or 'none'}")
        return dag


def _reconfigure_if_imported() -> None:
    """Re-read the home, DAG folder and database URL when Airflow was imported before they were set."""
    settings = sys.modules.get("airflow.settings")
    if settings is None:
        return
    settings.dispose_orm()
    settings.configure_vars()
    settings.configure_orm()


WITHOUT_LOGICAL_DATE = object()
"""``logical_date=WITHOUT_LOGICAL_DATE``: a run with no logical date, as a manual trigger without one."""


def _run_loaded(dag: Any, conf: dict[str, Any], logical_date: Any = None) -> DagRunResult:
    """Run a DAG already loaded from a DagBag with ``dag.test()`` and collect what it did."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    if not hasattr(dag, "test"):  # Airflow 3.0: test() lives on the core DAG
        from airflow.dag_processing.bundles.manager import DagBundlesManager
        from airflow.models.dag import DAG as CoreDAG

        dag = CoreDAG.from_sdk_dag(dag)
        # 3.0's dag.test() does not register the DAG's assets, as its dag-processor does: do it here.
        DagBundlesManager().sync_bundles_to_db()  # type: ignore[no-untyped-call]
        CoreDAG.bulk_write_to_db("dags-folder", None, [dag])
    if logical_date is WITHOUT_LOGICAL_DATE:
        run = dag.test(run_conf=conf, logical_date=None)
    elif logical_date is not None:
        run = dag.test(run_conf=conf, logical_date=logical_date)
    else:
        run = dag.test(run_conf=conf)  # dag.test()'s own default date
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
        states: dict[str, str | None] = {}
        for ti in run.get_task_instances(session=session):  # a mapped task: the worst of its instances
            state = None if ti.state is None else str(ti.state)
            if ti.task_id not in states or _rank(state) > _rank(states[ti.task_id]):
                states[ti.task_id] = state
    return DagRunResult(dag.dag_id, run.run_id, str(run.state), states, xcoms)


def _rank(state: str | None) -> int:
    """How bad a task instance's state is: success, then anything else, then failed."""
    return 0 if state == "success" else 2 if state in ("failed", "upstream_failed") else 1
