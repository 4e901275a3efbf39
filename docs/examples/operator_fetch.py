"""The export operator: every score of a query, paginated, pushed as XCom."""

# START operator_fetch
from airflow_provider_scorecards.operators.scores import DatadogScorecardScoresOperator

fetch = DatadogScorecardScoresOperator(
    task_id="fetch_team_scores",
    aggregation="by-team",  # by-entity, by-rule, by-scorecard, by-team, by-kind
    rule_levels="{{ params.levels }}",  # every filter, sort and limit is a template field
    scorecard_ids=["production-readiness"],
    is_enabled=True,
    sort="-score",
    concurrency=4,  # pages fetched in parallel once the total is known; 1 = sequential
)
# END operator_fetch
