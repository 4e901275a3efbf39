"""A mapped task's arguments are checked when Airflow builds its operator, at run time: never retried."""

from __future__ import annotations

from airflow.models.taskinstance import TaskInstance
from airflow.utils.session import create_session

from airflow_provider_scorecards.simulator import ScorecardsSimulator
from tests.airflow_support import run_dag


def test_a_bad_mapped_argument_fails_its_instance_at_once(sim_conn: ScorecardsSimulator) -> None:
    result = run_dag("scores_mapped_bad_argument")
    assert result.task_states["fetch"] == "failed"  # the worst of its instances, not the last one read
    with create_session() as session:
        instances = session.query(TaskInstance).filter_by(dag_id=result.dag_id, run_id=result.run_id)
        tries = {ti.map_index: (str(ti.state), ti.try_number) for ti in instances}
    assert tries == {0: ("success", 1), 1: ("failed", 1), 2: ("success", 1)}  # retries=2, none spent
