"""A first DAG: the scores of every team, and a check that checkout-api is production ready enough."""

# START first_dag
import pendulum
from airflow.sdk import DAG

from airflow_provider_scorecards.operators.scores import (
    DatadogScorecardScoresOperator,
    DatadogScoreCheckOperator,
)

with DAG(
    "my_first_scorecards_dag",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
):
    team_scores = DatadogScorecardScoresOperator(
        task_id="team_scores",
        aggregation="by-team",
        scorecard_ids=["production-readiness"],
        sort="-score",
    )
    checkout_ready = DatadogScoreCheckOperator(
        task_id="checkout_ready",
        aggregation="by-entity",
        scorecard_ids=["production-readiness"],
        score_ids=["service:checkout-api"],
        min_score=0.25,
    )
    team_scores >> checkout_ready
# END first_dag
