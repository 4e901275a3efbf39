"""Report a data-quality check per service to a custom rule, and a task's end through a notifier."""

# START close_the_loop
import pendulum
from airflow.sdk import DAG, task

from airflow_provider_scorecards.notifications.outcomes import DatadogScorecardOutcomeNotifier
from airflow_provider_scorecards.operators.outcomes import DatadogScorecardOutcomesOperator

load_outcome = DatadogScorecardOutcomeNotifier(
    rule_name="Nightly load succeeds",
    scorecard_name="Production Readiness",
    entity="service:payments-gateway",
)

with DAG(
    dag_id="data_quality_outcomes",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
):

    @task
    def check_orders():
        """A data-quality check per service: a state, or a state with remarks."""
        return {
            "service:checkout-api": "pass",
            "service:search-indexer": {"state": "fail", "remarks": "3 orders without a customer id"},
        }

    DatadogScorecardOutcomesOperator(
        task_id="report",
        rule_name="Data quality checks pass",
        scorecard_name="Production Readiness",
        outcomes=check_orders(),
        remarks="Checked by Airflow",  # for results without remarks of their own
    )

    @task(on_success_callback=load_outcome, on_failure_callback=load_outcome)
    def nightly_load():
        """Its end is posted: pass when it succeeds, fail when it fails."""

    nightly_load()
# END close_the_loop
