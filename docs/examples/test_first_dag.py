"""A test of the first DAG with the provider's test kit (its fixtures come with ``pip install``)."""

# START test_first_dag
from pathlib import Path

DAG_FILE = Path(__file__).with_name("first_dag.py")


def test_first_dag(scorecards_simulator, airflow_test_env):
    result = airflow_test_env.run_dag(DAG_FILE)

    assert result.task_states == {"team_scores": "success", "checkout_ready": "success"}
    expected = scorecards_simulator.expected_records(
        "by-team", scorecard_ids=["production-readiness"], sort="-score"
    )
    assert result.xcom("team_scores") == expected
    assert result.xcom("team_scores", "summary")["count"] == len(expected)


def test_the_gate_fails_below_the_bar(scorecards_simulator, airflow_test_env):
    scorecards_simulator.set_score("service:checkout-api", 0.2)

    result = airflow_test_env.run_dag(DAG_FILE)

    assert result.task_states["checkout_ready"] == "failed"
    # END test_first_dag
