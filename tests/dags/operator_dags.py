"""DAGs for the operator's integration tests (dag.test() needs them in the DAGs folder)."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_scorecards.operators.scores import DatadogScorecardScoresOperator

START = pendulum.datetime(2024, 1, 1, tz="UTC")
QUERY_PARAMS = {
    "aggregation": "by-entity",
    "rule_ids": None,
    "rule_name": None,
    "rule_levels": None,
    "scorecard_ids": None,
    "is_custom": None,
    "is_enabled": None,
    "sort": None,
    "page_limit": 1000,
    "max_results": None,
    "concurrency": 4,
    "output_path": None,
}

with DAG("scores_from_params", schedule=None, start_date=START, params=QUERY_PARAMS) as scores_from_params:
    DatadogScorecardScoresOperator(
        task_id="fetch",
        aggregation="{{ params.aggregation }}",
        rule_ids="{{ params.rule_ids }}",
        rule_name="{{ params.rule_name }}",
        rule_levels="{{ params.rule_levels }}",
        scorecard_ids="{{ params.scorecard_ids }}",
        is_custom="{{ params.is_custom }}",
        is_enabled="{{ params.is_enabled }}",
        sort="{{ params.sort }}",
        page_limit="{{ params.page_limit }}",
        max_results="{{ params.max_results }}",
        concurrency="{{ params.concurrency }}",
        output_path="{{ params.output_path }}",
    )

with DAG(
    "scores_native", schedule=None, start_date=START, params=QUERY_PARAMS, render_template_as_native_obj=True
) as scores_native:
    DatadogScorecardScoresOperator(
        task_id="fetch",
        aggregation="{{ params.aggregation }}",
        rule_levels="{{ params.rule_levels }}",
        is_enabled="{{ params.is_enabled }}",
        page_limit="{{ params.page_limit }}",
    )

with DAG("scores_raw", schedule=None, start_date=START) as scores_raw:
    DatadogScorecardScoresOperator(task_id="fetch", aggregation="by-scorecard", raw=True)

with DAG("scores_from_xcom", schedule=None, start_date=START, params={"rule_ids": []}) as scores_from_xcom:

    @task
    def pick_rules(**context: object) -> list[str]:
        params = context["params"]
        assert isinstance(params, dict)
        return list(params["rule_ids"])

    picked = pick_rules()
    jinja = DatadogScorecardScoresOperator(
        task_id="fetch_jinja",
        aggregation="by-rule",
        rule_ids="{{ ti.xcom_pull(task_ids='pick_rules') }}",
    )
    picked >> jinja
    DatadogScorecardScoresOperator(task_id="fetch_xcomarg", aggregation="by-rule", rule_ids=picked)

with DAG("warmup", schedule=None, start_date=START) as warmup:
    # Run once per test session: the first dag.test() in a process configures Airflow's logging.

    @task
    def noop() -> None:
        return None

    noop()

with DAG("scores_mapped_bad_argument", schedule=None, start_date=START) as scores_mapped_bad_argument:
    # Airflow builds a mapped task's operator at run time: "by-service" is refused there, not at parse.
    DatadogScorecardScoresOperator.partial(task_id="fetch", retries=2, max_results=3).expand(
        aggregation=["by-team", "by-service", "by-kind"]
    )
