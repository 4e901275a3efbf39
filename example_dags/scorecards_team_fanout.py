"""Fan-out per team: one task per team, each listing the rules its entities fail."""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_scorecards.operators.scores import DatadogScorecardScoresOperator

CONN_ID = "datadog_scorecards_default"

with DAG(
    dag_id="scorecards_team_fanout",
    schedule="@weekly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    is_paused_upon_creation=True,  # also in the examples bundle of load_examples: nothing runs unless asked
    catchup=False,
    default_args={"datadog_conn_id": CONN_ID},
    params={"max_teams": 5, "min_level": 1},
    tags=["datadog", "scorecards"],
    doc_md="""
### Failing rules, one task per team

The Scorecards API filters by rule, not by team, so the per-team view is built from the by-team score of
each enabled rule (one mapped fetch per rule, `filter[rule][id]`), then mapped once more over the
`max_teams` lowest-scoring teams of a by-team fetch: each team's task lists the rules its entities fail.
A final task pulls every team's result via XCom into one summary.
""",
) as dag:
    teams = DatadogScorecardScoresOperator(task_id="fetch_teams", aggregation="by-team", sort="score")
    rules = DatadogScorecardScoresOperator(
        task_id="fetch_rules", aggregation="by-rule", is_enabled=True, sort="score"
    )

    @task
    def lowest_teams(team_scores: list[dict[str, Any]], **context: Any) -> list[str]:
        """Return the ids of the ``max_teams`` lowest-scoring teams (the fetch sorts them lowest first)."""
        return [r["id"] for r in team_scores[: int(context["params"]["max_teams"])]]

    @task
    def rule_ids(rule_scores: list[dict[str, Any]]) -> list[str]:
        """Return every enabled rule's id: the by-team fetch is mapped over them, one task per rule."""
        return [r["id"] for r in rule_scores]

    per_rule = DatadogScorecardScoresOperator.partial(
        task_id="fetch_rule_by_team", aggregation="by-team"
    ).expand(rule_ids=rule_ids(rules.output))

    @task
    def failing_rules(
        team_id: str, rule_scores: list[dict[str, Any]], per_rule_scores: Any
    ) -> dict[str, Any]:
        """List the rules that fail for at least one of the team's entities, worst first."""
        failing = []
        for rule, by_team in zip(rule_scores, per_rule_scores, strict=True):
            mine = next((r for r in by_team if r["id"] == team_id), None)
            if mine and mine.get("total_fail"):  # absent or null (the API may omit it): nothing to list
                failing.append(
                    {
                        "rule_id": rule["id"],
                        "level": rule.get("level"),
                        "failing_entities": mine["total_fail"],
                    }
                )
        # A rule whose level is unknown (null in a sparse record) sorts after the levelled ones.
        failing.sort(key=lambda f: (-f["failing_entities"], f["level"] is None, f["level"] or 0))
        return {"team": team_id, "failing_rules": failing}

    @task
    def summary(per_team: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Print and return each team's failing rule ids, lowest team first: the whole fan-out in one XCom.

        A list, not a dict keyed by team: a metadata database on PostgreSQL keeps XComs as JSONB, which
        does not keep the key order of an object, and the order (lowest first) is the point.
        """
        result = [
            {"team": row["team"], "failing_rules": [f["rule_id"] for f in row["failing_rules"]]}
            for row in per_team
        ]
        for row in result:
            print(f"{row['team']:<16} {len(row['failing_rules'])} failing rules")
        return result

    reports = failing_rules.partial(rule_scores=rules.output, per_rule_scores=per_rule.output).expand(
        team_id=lowest_teams(teams.output)
    )
    summary(reports)
