"""The example DAGs in a real deployment: runs with and without a logical date, the deferred gate, the
fail-fast check, and the XComs and the extra link the README promises, all read through the REST API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from tests.deployment.rest import AirflowAPI
from tests.deployment.scenario import (
    DAG_IDS,
    FAIL_FAST_SERVICE,
    FANOUT_TEAMS,
    GATE_MIN_SCORE,
    GATE_SERVICE,
    Scenario,
    run_keys,
)

# What the README promises of each record and of the `summary` XCom.
RECORD_KEYS = {
    "id", "aggregation", "score", "numerator", "denominator", "level", "total_entities", "total_pass",
    "total_fail", "total_skip", "total_no_data", "entity_id", "rule_id", "scorecard_id", "service_id", "team_id",
}  # fmt: skip
SUMMARY_KEYS = {
    "count", "mean_score", "min_score", "max_score", "total_pass", "total_fail", "total_skip", "total_no_data",
    "query", "fetched_at", "pages", "requests", "retries", "duplicates_dropped",
}  # fmt: skip
# Every manual run that must succeed: both runs of each example DAG, but the gate's fail-fast one.
SUCCEEDING = [key for dag_id in DAG_IDS for key in run_keys(dag_id) if key != "gate-fail-fast"]


def test_example_dags_parse_without_import_errors(api: AirflowAPI) -> None:
    assert api.get("/importErrors")["import_errors"] == []
    found = {dag["dag_id"] for dag in api.get("/dags", dag_id_pattern="scorecards_%")["dags"]}
    assert found == set(DAG_IDS)


@pytest.mark.parametrize("key", SUCCEEDING)
def test_run_succeeds(scenario: Scenario, key: str) -> None:
    """Every example DAG succeeds, triggered with a logical date and with ``{"logical_date": null}``."""
    run = scenario.runs[key]
    assert run.state == "success", scenario.explain(run)
    assert (run.details["logical_date"] is None) == (run.logical_date is None)


def test_unpausing_added_no_scheduled_run(scenario: Scenario) -> None:
    """The dated manual runs took the scheduler's next logical date, so it had nothing to add."""
    automatic = [run for run in scenario.runs.values() if run.automatic]
    assert [run.key for run in automatic if run.details.get("run_type") != "asset_triggered"] == []


def test_gate_waited_deferred_until_the_score_crossed_the_bound(scenario: Scenario, api: AirflowAPI) -> None:
    run = scenario.runs["gate-waits"]
    assert "deferred" in run.seen.get("wait_for_readiness", set()), scenario.explain(run)
    assert scenario.score_when_deferred is not None
    assert scenario.score_when_deferred < GATE_MIN_SCORE  # deferred while below the bound
    assert scenario.drift_steps >= 1
    assert scenario.score_after_drift is not None
    assert scenario.score_after_drift >= GATE_MIN_SCORE
    assert run.task_states() == {
        "fetch_scores": "success",
        "wait_for_readiness": "success",
        "observability_check": "success",
        "deploy": "success",
        "deploy_canary": "success",
    }, run.describe()
    fetched = api.xcom(run.dag_id, run.run_id, "fetch_scores")
    before = next(record["score"] for record in fetched if record["id"] == GATE_SERVICE)
    assert before < GATE_MIN_SCORE  # the run started below the bound
    (passed,) = api.xcom(run.dag_id, run.run_id, "wait_for_readiness")
    assert passed["id"] == GATE_SERVICE
    assert passed["score"] >= GATE_MIN_SCORE
    assert (
        api.xcom(run.dag_id, run.run_id, "deploy")
        == f"Deploying {GATE_SERVICE} (score {passed['score']:.2f})"
    )


def test_fail_fast_check_fails_at_once_and_blocks_the_canary(scenario: Scenario, api: AirflowAPI) -> None:
    run = scenario.runs["gate-fail-fast"]
    assert run.state == "failed", run.describe()
    assert run.task_states() == {
        "fetch_scores": "success",
        "wait_for_readiness": "success",
        "observability_check": "failed",
        "deploy": "success",
        "deploy_canary": "upstream_failed",
    }, run.describe()
    check = next(ti for ti in run.task_instances if ti["task_id"] == "observability_check")
    assert check["try_number"] == 1  # no retry: nothing to wait for
    assert "up_for_retry" not in run.seen["observability_check"]
    log = api.log(run.dag_id, run.run_id, "observability_check", 1)
    assert "AirflowFailException" in log
    assert "Score gate not met" in log
    assert f"{FAIL_FAST_SERVICE}: score=0.25, needs score >= 0.5" in log
    assert run.details["conf"] == {"service_id": FAIL_FAST_SERVICE, "min_score": 0.0}


def test_operator_xcoms_are_what_the_readme_says(scenario: Scenario, api: AirflowAPI) -> None:
    run = scenario.runs["gate-waits"]
    records = api.xcom(run.dag_id, run.run_id, "fetch_scores")
    summary = api.xcom(run.dag_id, run.run_id, "fetch_scores", key="summary")
    assert records, run.describe()
    assert all(set(record) == RECORD_KEYS for record in records)
    assert all(record["aggregation"] == "by-entity" for record in records)
    scores = [record["score"] for record in records]
    assert scores == sorted(scores)  # sort="score"
    assert set(summary) >= SUMMARY_KEYS
    assert summary["count"] == len(records)
    assert summary["min_score"] == min(scores)
    assert summary["max_score"] == max(scores)
    assert summary["query"]["scorecard_ids"] == ["production-readiness"]
    assert datetime.fromisoformat(summary["fetched_at"]).utcoffset() == timedelta(0)  # UTC ISO 8601


@pytest.mark.parametrize("key", ["export-dated", "export-undated"])
def test_export_snapshots_and_report(scenario: Scenario, api: AirflowAPI, key: str) -> None:
    """With ``output_path``: ``{"path", "count"}`` per aggregation, the files, and the report."""
    run = scenario.runs[key]
    assert run.state == "success", run.describe()
    date = str(run.details["logical_date"] or run.details["run_after"])[:10]
    root = run.conf["output_root"]
    report = api.xcom(run.dag_id, run.run_id, "report")
    for aggregation in ("by-team", "by-entity", "by-rule"):
        pushed = api.xcom(run.dag_id, run.run_id, f"fetch_{aggregation.replace('-', '_')}")
        assert pushed["path"] == f"{root}/{date}/{aggregation}.jsonl"
        path = scenario.deployment.snapshots / root.rsplit("/", 1)[1] / date / f"{aggregation}.jsonl"
        assert len(path.read_text().splitlines()) == pushed["count"] > 0
        assert report["snapshots"][aggregation] == pushed["path"]
    assert report["date"] == date
    assert report["text"].startswith(f"Scorecards report for {date} (")
    assert len(report["lowest_teams"]) == 5  # params.lowest
    # No snapshot a week earlier: the no-regression check passes, and the report compares with nothing.
    assert report["compared_with"] is None
    assert run.task_states().get("no_regression_since_last_week", "success") == "success"


@pytest.mark.parametrize("key", ["fanout-dated", "fanout-undated"])
def test_fanout_maps_over_rules_and_teams(scenario: Scenario, api: AirflowAPI, key: str) -> None:
    run = scenario.runs[key]
    assert run.state == "success", run.describe()
    states = run.task_states()
    per_team = [label for label in states if label.startswith("failing_rules[")]
    per_rule = [label for label in states if label.startswith("fetch_rule_by_team[")]
    assert len(per_team) == FANOUT_TEAMS
    enabled_rules = api.xcom(run.dag_id, run.run_id, "rule_ids")
    assert len(per_rule) == len(enabled_rules) > 1
    summary: list[dict[str, Any]] = api.xcom(run.dag_id, run.run_id, "summary")
    teams = api.xcom(run.dag_id, run.run_id, "lowest_teams")
    # A list keeps the lowest-first order on PostgreSQL too (JSONB does not keep an object's key order).
    assert [row["team"] for row in summary] == teams
    for index, team in enumerate(teams):
        row = api.xcom(run.dag_id, run.run_id, "failing_rules", map_index=index)
        assert row["team"] == team
        assert [rule["rule_id"] for rule in row["failing_rules"]] == summary[index]["failing_rules"]
        assert set(summary[index]["failing_rules"]) <= set(enabled_rules)


def test_event_driven_dag_ran_once_when_the_score_crossed(scenario: Scenario, api: AirflowAPI) -> None:
    """The watcher in the triggerer saw checkout-api cross 0.8 (the drift) and started exactly one run."""
    if "scorecards_event_driven" not in DAG_IDS:
        pytest.skip("no event-driven example")
    runs = scenario.automatic_runs("scorecards_event_driven")
    assert len(runs) == 1, scenario.explain(*runs)
    (run,) = runs
    assert run.details["run_type"] == "asset_triggered"
    assert run.state == "success", scenario.explain(run)
    (payload,) = api.xcom(run.dag_id, run.run_id, "report_crossing")
    assert payload["status"] == "met"
    (record,) = payload["records"]
    assert record["id"] == GATE_SERVICE
    assert record["score"] >= GATE_MIN_SCORE
    for key in run_keys("scorecards_event_driven"):  # by hand, no asset event: nothing to report
        manual = scenario.runs[key]
        assert api.xcom(manual.dag_id, manual.run_id, "report_crossing") == [], scenario.explain(manual)


def test_snapshot_consumer_ran_on_the_exports_snapshot(scenario: Scenario, api: AirflowAPI) -> None:
    if "scorecards_snapshot_consumer" not in DAG_IDS:
        pytest.skip("no snapshot consumer example")
    exports = [scenario.runs[key] for key in run_keys("scorecards_export")]
    by_team = {api.xcom(run.dag_id, run.run_id, "fetch_by_team")["path"] for run in exports}
    runs = scenario.automatic_runs("scorecards_snapshot_consumer")
    assert runs, scenario.explain(*exports)
    for run in runs:
        assert run.details["run_type"] == "asset_triggered"
        assert run.state == "success", scenario.explain(run)
        digest = api.xcom(run.dag_id, run.run_id, "digest")
        assert digest["source"] == "triggering event"
        assert digest["snapshot"]["path"] in by_team
        assert digest["producer"].split("/")[0] == "scorecards_export"
    for key in run_keys("scorecards_snapshot_consumer"):  # by hand: the latest snapshot event
        manual = scenario.runs[key]
        digest = api.xcom(manual.dag_id, manual.run_id, "digest")
        assert digest["source"] == "latest event", scenario.explain(manual)
        assert digest["snapshot"]["path"] in by_team


def test_extra_link_points_at_the_scorecards_page(scenario: Scenario, api: AirflowAPI) -> None:
    """The README: extra link "Datadog Scorecards", the Scorecards page of the site the task used."""
    expected = f"{scenario.deployment.simulator_url}/software/scorecards"
    gate = scenario.runs["gate-waits"]
    export = scenario.runs["export-undated"]
    for run, task_id in ((gate, "fetch_scores"), (gate, "observability_check"), (export, "fetch_by_team")):
        assert api.links(run.dag_id, run.run_id, task_id) == {"Datadog Scorecards": expected}, (
            run.key,
            task_id,
        )
    page = requests.get(expected, timeout=10)
    assert page.status_code == 200
    assert "Datadog Scorecards" in page.text


def test_runs_finish_in_time(scenario: Scenario) -> None:
    """A slow tier is a skipped tier: the whole choreography stays well under the five-minute budget."""
    for run in scenario.runs.values():
        assert run.finished_after is not None, scenario.explain(run)
        assert run.finished_after < 240, scenario.explain(run)


@pytest.mark.parametrize("key", ["export-dated", "export-undated"])
def test_export_warns_about_a_local_root_only_under_celery(
    scenario: Scenario, api: AirflowAPI, key: str
) -> None:
    """The scenario's export writes to ``file://``: fine under LocalExecutor, worth a warning under Celery
    (workers spread over machines would not see each other's snapshots)."""
    run = scenario.runs[key]
    log = api.log(run.dag_id, run.run_id, "report", 1)
    warned = "is a local path, but CeleryExecutor may run this DAG's tasks on different machines" in log
    assert warned == scenario.deployment.production, scenario.explain(run)
