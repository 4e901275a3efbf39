"""The Scorecards view's deployment DAG (the tests' own bundle, never an example): one mapped gate.

Each map index gates one id and has its own verdict; the last id is hostile markup, which the view must
show as text.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_provider_scorecards.operators.check import DatadogScoreCheckOperator

HOSTILE = "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"
SCORE_IDS = [["service:search-indexer"], ["service:payments-gateway"], [HOSTILE]]

with DAG("ui_view_gates", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")) as dag:
    DatadogScoreCheckOperator.partial(task_id="gate", aggregation="by-entity", min_score=0.5).expand(
        score_ids=SCORE_IDS
    )
