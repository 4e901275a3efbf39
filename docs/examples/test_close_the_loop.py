"""A test of close_the_loop.py with the provider's test kit: what the DAG posted, asserted."""

# START test_close_the_loop
from pathlib import Path

DAG_FILE = Path(__file__).with_name("close_the_loop.py")


def test_reports_every_service(scorecards_simulator, airflow_test_env):
    result = airflow_test_env.run_dag(DAG_FILE)

    assert result.state == "success"
    assert result.xcom("report")["posted"] == 2
    posted = {(o["entity_reference"], o["state"]) for o in scorecards_simulator.posted_outcomes}
    assert ("service:checkout-api", "pass") in posted
    assert ("service:search-indexer", "fail") in posted
    assert ("service:payments-gateway", "pass") in posted  # the notifier's
    assert {rule["name"] for rule in scorecards_simulator.rules} == {
        "Data quality checks pass",
        "Nightly load succeeds",
    }
    # END test_close_the_loop
