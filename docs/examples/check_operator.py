"""A one-off check that fails at once, without retries, when the gate is not met."""

# START check_operator
from airflow_provider_scorecards.operators.scores import DatadogScoreCheckOperator

check = DatadogScoreCheckOperator(
    task_id="no_failing_level_1_rules",
    aggregation="by-team",
    rule_levels=[1],
    field="total_fail",  # bound another numeric field: level, total_fail, total_no_data, ...
    max_value=0,
)
# END check_operator
