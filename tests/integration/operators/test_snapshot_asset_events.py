"""Snapshots as Asset events: the summary in the extra, read by a consumer DAG (real runs)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import airflow
import pendulum
import pytest

from airflow_provider_scorecards.simulator import ScorecardsSimulator
from tests.airflow_support import get_dag, run_dag
from tests.history_support import teams

AIRFLOW_VERSION = tuple(int(part) for part in airflow.__version__.split(".")[:2])


# -- snapshots as Asset events -------------------------------------------------------------------------


def asset_events(dag_id: str) -> list[tuple[str, Any]]:
    """(asset uri, event) of the latest run of ``dag_id``, read back from Airflow's database."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run_id = session.scalars(
            select(DagRun.run_id).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).limit(1)
        ).one()
        rows = session.execute(
            select(AssetModel.uri, AssetEvent)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetEvent.source_dag_id == dag_id, AssetEvent.source_run_id == run_id)
            .order_by(AssetModel.uri)
        ).all()
        session.expunge_all()
        return [(uri, event) for uri, event in rows]


def test_asset_events_carry_the_snapshot_summary(history_sim: ScorecardsSimulator, tmp_path: Path) -> None:
    target = f"file://{tmp_path}/teams.jsonl"
    result = run_dag("history_snapshot", {"output_path": target})
    assert result.state == "success", result.task_states
    events = dict(asset_events("history_snapshot"))
    assert set(events) == {
        "datadog-scorecards://history-test/by-kind",
        "datadog-scorecards://history-test/by-team",
    }
    for uri, task_id, path in (
        ("datadog-scorecards://history-test/by-team", "snapshot_teams", target),
        ("datadog-scorecards://history-test/by-kind", "fetch_kinds", None),
    ):
        event = events[uri]
        summary = result.xcom(task_id, "summary")
        assert event.source_task_id == task_id
        expected = {
            k: summary[k] for k in ("count", "mean_score", "min_score", "max_score", "fetched_at", "query")
        }
        if path:
            expected["path"] = path
            expected["sha256"] = hashlib.sha256(Path(path.removeprefix("file://")).read_bytes()).hexdigest()
        assert event.extra == expected  # exactly: nothing else, "path" and "sha256" only with output_path
        assert json.loads(json.dumps(event.extra)) == event.extra
    teams_extra = events["datadog-scorecards://history-test/by-team"].extra
    assert teams_extra["count"] == len(teams(history_sim))
    assert teams_extra["min_score"] == teams(history_sim)[0]["score"]
    assert teams_extra["query"]["aggregation"] == "by-team"


def unpause(dag_id: str) -> None:
    """Unpause ``dag_id`` in Airflow's database (it must have been parsed into it already)."""
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import update

    with create_session() as session:
        assert session.execute(
            update(DagModel).where(DagModel.dag_id == dag_id).values(is_paused=False)
        ).rowcount


def queued_for(dag_id: str, *, delete: bool = False) -> int:
    """How many asset changes wait to start a run of ``dag_id`` (AssetDagRunQueue rows); ``delete`` drops them."""
    from airflow.models.asset import AssetDagRunQueue

    from tests.airflow_support import init_db

    init_db()
    from airflow.utils.session import create_session
    from sqlalchemy import delete as sql_delete
    from sqlalchemy import func, select

    with create_session() as session:
        count = session.scalar(
            select(func.count()).select_from(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == dag_id)
        )
        if delete:
            session.execute(sql_delete(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == dag_id))
        return int(count or 0)


def run_asset_triggered(dag_id: str) -> Any:
    """Let the scheduler's own code create the asset-triggered run of ``dag_id`` (with the asset events it
    consumes), then run its tasks in process the way dag.test() does. Returns its id and final state."""
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.sdk.definitions.dag import _run_task
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from sqlalchemy import select

    dag = get_dag(dag_id)
    runner = SchedulerJobRunner(job=Job(), num_runs=1)  # type: ignore[no-untyped-call,unused-ignore]
    with create_session() as session:
        model = DagModel.get_dagmodel(dag_id, session=session)
        assert model is not None
        runner._create_dag_runs_asset_triggered(dag_models=[model], session=session)
    with create_session() as session:
        run = session.scalars(
            select(DagRun)
            .where(DagRun.dag_id == dag_id, DagRun.run_type == "asset_triggered")
            .order_by(DagRun.id.desc())
            .limit(1)
        ).one()
        run.dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
        run.state = DagRunState.RUNNING
        session.commit()
        for _ in range(len(dag.tasks) + 2):
            session.expire_all()
            schedulable, _ = run.update_state(session=session)
            if run.state != DagRunState.RUNNING:
                break
            for ti in schedulable:
                ti.try_number += 1
                ti.state = TaskInstanceState.SCHEDULED
            session.commit()
            for ti in schedulable:
                _run_task(ti=ti, task=dag.task_dict[ti.task_id])
        run_id = run.run_id
    with create_session() as session:
        state = session.scalars(select(DagRun.state).where(DagRun.run_id == run_id)).one()
    return SimpleNamespace(dag_id=dag_id, run_id=run_id, state=state)


def xcom_of(run: Any, task_id: str) -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter(
                XComModel.dag_id == run.dag_id,
                XComModel.run_id == run.run_id,
                XComModel.task_id == task_id,
                XComModel.key == "return_value",
            )
            .one()
        )
        return XComModel.deserialize_value(row)


def test_export_snapshots_are_asset_events_that_the_consumer_reads(
    history_sim: ScorecardsSimulator, tmp_path: Path
) -> None:
    root = f"file://{tmp_path}"
    today = pendulum.today("UTC")
    if AIRFLOW_VERSION >= (3, 1):
        # The examples are paused as they are created and a paused DAG queues no run: register them with
        # a first export, then unpause the consumer, as a user does to try it.
        run_dag("scorecards_export", {"output_root": root}, logical_date=today.subtract(days=1))
        unpause("scorecards_snapshot_consumer")
    # A running scheduler would have turned earlier snapshots (other tests' exports) into runs already.
    queued_for("scorecards_snapshot_consumer", delete=True)
    result = run_dag("scorecards_export", {"output_root": root}, logical_date=today)
    assert result.state == "success", result.task_states
    if AIRFLOW_VERSION >= (3, 1):  # 3.0's dag.test() registers only the DAG it runs, not its consumers
        assert queued_for("scorecards_snapshot_consumer") == 1  # the by-team asset queued a consumer run
    events = dict(asset_events("scorecards_export"))
    assert set(events) == {f"datadog-scorecards://snapshots/{a}" for a in ("by-entity", "by-rule", "by-team")}
    for aggregation in ("by-team", "by-entity", "by-rule"):
        extra = events[f"datadog-scorecards://snapshots/{aggregation}"].extra
        assert extra["path"] == f"{root}/{today.to_date_string()}/{aggregation}.jsonl"
        assert extra["count"] == len(history_sim.expected_scores(aggregation))
        assert extra["query"]["aggregation"] == aggregation
    by_team = events["datadog-scorecards://snapshots/by-team"]

    if AIRFLOW_VERSION < (3, 1):
        pytest.skip(
            "3.0's dag.test() runs tasks outside the task SDK: no asset-event accessors in the context"
        )
    # Triggered by hand, the consumer takes the latest event of the asset (from the database).
    manual = run_dag("scorecards_snapshot_consumer")
    assert manual.state == "success", manual.task_states
    digest = manual.xcom("digest")
    assert digest["source"] == "latest event"
    assert digest["snapshot"] == by_team.extra
    assert digest["producer"] == f"scorecards_export/{by_team.source_run_id}"
    assert f"{len(teams(history_sim))} teams" in digest["text"]

    if AIRFLOW_VERSION < (3, 3):
        pytest.skip("the asset-triggered half drives the scheduler's private API as of Airflow 3.3")
    # Scheduled on the asset, the scheduler starts it with the events it consumes.
    triggered = run_asset_triggered("scorecards_snapshot_consumer")
    assert triggered.state == "success"
    digest = xcom_of(triggered, "digest")
    assert digest["source"] == "triggering event"
    assert digest["snapshot"] == by_team.extra  # the latest triggering event: this export's snapshot
    assert digest["producer"] == f"scorecards_export/{by_team.source_run_id}"
