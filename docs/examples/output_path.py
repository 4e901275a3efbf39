"""A large export written as JSON Lines as the pages arrive."""

# START output_path
from airflow_provider_scorecards.operators.scores import DatadogScorecardScoresOperator

DatadogScorecardScoresOperator(
    task_id="snapshot",
    aggregation="by-entity",
    # anything ObjectStoragePath accepts: file://, s3://, gs://, ...
    output_path="file:///tmp/airflow-scorecards/{{ ds }}/by-entity.jsonl",
)
# END output_path
