"""A large export written as JSON Lines as the pages arrive."""

# START output_path
from airflow_provider_scorecards.operators.scores import DatadogScorecardScoresOperator

DatadogScorecardScoresOperator(
    task_id="snapshot",
    aggregation="by-entity",
    output_path="file:///data/scorecards/{{ ds }}/by-entity.jsonl",  # anything ObjectStoragePath accepts
)
# END output_path
