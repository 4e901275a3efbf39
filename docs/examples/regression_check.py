"""No team may drop more than 5 points since the snapshot of last week."""

# START regression_check
from airflow_provider_scorecards.operators.scores import DatadogScoreCheckOperator

DatadogScoreCheckOperator(
    task_id="no_regression_since_last_week",
    aggregation="by-team",
    # a snapshot of the same query, seven days earlier:
    baseline="file:///tmp/airflow-scorecards/{{ macros.ds_add(ds, -7) }}/by-team.jsonl",
    max_drop=0.05,  # largest allowed decrease of `field` (default score) per watched id
    on_missing_baseline="pass",  # first run: nothing to compare with (a warning); "fail" to refuse
)
# END regression_check
