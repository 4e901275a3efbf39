"""Dry run, waivers, explanations and the verdict XCom through real Airflow (dag.test()) and real HTTP.

The simulator's seed-7 organisation: checkout-api scores 0.46 overall, search-indexer 0.38,
payments-gateway 0.93.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from airflow_provider_scorecards.simulator import ScorecardsSimulator
from airflow_provider_scorecards.simulator.outcomes import OUTCOMES_PATH, failing_rules
from tests.airflow_support import run_dag

CHECKOUT, SEARCH, PAYMENTS = "service:checkout-api", "service:search-indexer", "service:payments-gateway"


def _outcome_requests(sim: ScorecardsSimulator) -> int:
    return sum(1 for r in sim.requests if r.path == OUTCOMES_PATH)


def _day(offset: int) -> str:
    return (datetime.now(UTC) + timedelta(days=offset)).date().isoformat()


def test_a_dry_run_with_a_failing_gate_succeeds_and_says_what_would_have_happened(
    sim_conn: ScorecardsSimulator, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run_dag("rollout_check", {"score_ids": [CHECKOUT, PAYMENTS], "dry_run": True})
    assert result.state == "success"
    verdict = result.xcom("check", "verdict")
    assert verdict["met"] is False
    assert verdict["dry_run"] is True
    assert verdict["failing"] == [CHECKOUT]
    expected = [r.name for r in failing_rules(sim_conn.org, CHECKOUT, sim_conn.step)]
    assert [rule["rule_name"] for rule in verdict["explanations"][CHECKOUT]] == expected
    assert [r["id"] for r in result.xcom("check")] == [PAYMENTS]
    out = capfd.readouterr().out
    assert "DRY RUN: the gate would have failed: Score gate not met" in out


def test_an_enforced_failing_gate_fails_once_with_the_failing_rules(
    sim_conn: ScorecardsSimulator, capfd: pytest.CaptureFixture[str]
) -> None:
    sim_conn.reset_log()
    result = run_dag("rollout_check", {"score_ids": [CHECKOUT, SEARCH]})
    assert result.task_states["check"] == "failed"
    verdict = result.xcom("check", "verdict")
    assert (verdict["met"], verdict["dry_run"], verdict["failing"]) == (False, False, [CHECKOUT, SEARCH])
    assert set(verdict["explanations"]) == {CHECKOUT, SEARCH}
    assert _outcome_requests(sim_conn) == 2  # one per failing entity, and no retry of the task
    out = capfd.readouterr().out
    assert "Failing rules with Datadog's remarks, for 2 failing id(s):" in out
    assert "No runbook link in the service definition of checkout-api." in out or "Has " in out


def test_a_waived_service_does_not_fail_the_gate_until_its_day_ends(sim_conn: ScorecardsSimulator) -> None:
    waivers = {SEARCH: {"until": _day(0), "reason": "legacy"}}
    result = run_dag("rollout_check", {"score_ids": [SEARCH, PAYMENTS], "waivers": waivers})
    assert result.state == "success"
    verdict = result.xcom("check", "verdict")
    assert verdict["met"] is True
    assert verdict["waived"] == [SEARCH]
    assert verdict["waivers"] == {SEARCH: {"until": _day(0), "reason": "legacy"}}
    assert f"{SEARCH}: WAIVED until {_day(0)} (legacy)" in verdict["report"]


def test_an_expired_waiver_is_ignored_with_a_warning(
    sim_conn: ScorecardsSimulator, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run_dag("rollout_check", {"score_ids": [SEARCH, PAYMENTS], "waivers": {SEARCH: _day(-1)}})
    assert result.task_states["check"] == "failed"
    verdict = result.xcom("check", "verdict")
    assert verdict["waived"] == []
    assert verdict["failing"] == [SEARCH]
    assert f"Waiver of {SEARCH!r} expired at the end of {_day(-1)} (UTC) and is ignored" in verdict["report"]
    assert "expired at the end of" in capfd.readouterr().out


def test_a_malformed_waiver_date_fails_before_any_request(sim_conn: ScorecardsSimulator) -> None:
    sim_conn.reset_log()
    result = run_dag("rollout_check", {"score_ids": [SEARCH], "waivers": {SEARCH: "31/12/2026"}})
    assert result.task_states["check"] == "failed"
    assert sim_conn.requests == []


def test_an_explanation_answering_403_leaves_the_verdict_as_it_was(
    fresh_conn: ScorecardsSimulator, capfd: pytest.CaptureFixture[str]
) -> None:
    failing = [r["id"] for r in fresh_conn.expected_scores("by-entity") if r["attributes"]["score"] < 0.8][:3]
    fresh_conn.faults.inject("status", status=403, after=1)  # the scores request passes, then 403
    result = run_dag("rollout_check", {"score_ids": failing, "dry_run": True})
    assert result.state == "success"
    verdict = result.xcom("check", "verdict")
    assert (verdict["met"], verdict["failing"], verdict["explanations"]) == (False, failing, {})
    assert f"  {failing[0]}: explanations unavailable: ScorecardsAuthError: " in verdict["report"]
    assert _outcome_requests(fresh_conn) == 1  # a 403 is not asked again for the others


def test_at_most_explain_limit_explanation_requests(sim_conn: ScorecardsSimulator) -> None:
    sim_conn.reset_log()
    result = run_dag("rollout_check", {"min_score": 0.99, "dry_run": True})
    verdict = result.xcom("check", "verdict")
    assert len(verdict["failing"]) > 5
    assert _outcome_requests(sim_conn) == 5
    assert len(verdict["explanations"]) == 5
    assert (
        f"{len(verdict['failing']) - 5} more failing id(s) not explained (explain_limit=5)"
        in verdict["report"]
    )


@pytest.mark.parametrize("dag_id", ["rollout_sensor_poke", "rollout_sensor_deferrable"])
def test_a_dry_run_sensor_returns_after_its_first_evaluation(
    sim_conn: ScorecardsSimulator, dag_id: str
) -> None:
    sim_conn.reset_log()
    result = run_dag(dag_id, {"score_ids": [CHECKOUT], "dry_run": True, "explain": False})
    assert result.state == "success"
    assert len(sim_conn.score_requests()) == 1
    verdict = result.xcom("gate", "verdict")
    assert (verdict["met"], verdict["dry_run"], verdict["explanations"]) == (False, True, {})


@pytest.mark.parametrize(
    "dag_id", ["rollout_sensor_poke", "rollout_sensor_deferrable", "rollout_sensor_late_trigger"]
)
def test_a_sensor_timeout_report_explains_the_failing_rules(
    sim_conn: ScorecardsSimulator, capfd: pytest.CaptureFixture[str], dag_id: str
) -> None:
    result = run_dag(dag_id, {"score_ids": [CHECKOUT, SEARCH], "waivers": {SEARCH: _day(30)}})
    assert result.task_states["gate"] == "failed"
    verdict = result.xcom("gate", "verdict")
    assert (verdict["met"], verdict["failing"], verdict["waived"]) == (False, [CHECKOUT], [SEARCH])
    assert list(verdict["explanations"]) == [CHECKOUT]
    out = capfd.readouterr().out
    assert "AirflowSensorTimeout" in out
    assert f"{CHECKOUT}:\n    - " in out


@pytest.mark.parametrize("dag_id", ["rollout_sensor_poke", "rollout_sensor_deferrable"])
def test_a_waiver_opens_a_waiting_sensor(sim_conn: ScorecardsSimulator, dag_id: str) -> None:
    result = run_dag(dag_id, {"score_ids": [SEARCH, PAYMENTS], "waivers": {SEARCH: _day(0)}})
    assert result.state == "success"
    assert result.xcom("gate", "verdict")["waived"] == [SEARCH]


def test_the_approval_gate_met_needs_no_one(sim_conn: ScorecardsSimulator) -> None:
    from airflow_provider_scorecards.operators.approval import HITL_UNAVAILABLE

    if HITL_UNAVAILABLE is not None:
        pytest.skip("human-in-the-loop needs Airflow 3.1+")
    result = run_dag("rollout_approval", {"score_ids": [PAYMENTS], "on_missing": "fail"})
    assert result.state == "success"
    verdict = result.xcom("approve", "verdict")
    assert verdict["met"] is True
    assert result.xcom("approve")["met"] is True


def test_the_rollout_example_shows_each_verdict(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import CONN_ENV

    with ScorecardsSimulator(seed=7, entities=300) as sim:
        monkeypatch.setenv(CONN_ENV, sim.connection_uri())
        result = run_dag("scorecards_gate_rollout")
    assert result.state == "success", result.task_states
    verdicts = result.xcom("deploy")
    shadow, waived, approval = (
        verdicts[t] for t in ("shadow_stricter_bar", "gate_with_waiver", "approve_deploy")
    )
    assert (shadow["met"], shadow["dry_run"]) == (False, True)
    assert set(shadow["failing"]) == {CHECKOUT, "service:identity-service"}
    assert set(shadow["explanations"]) == set(shadow["failing"])
    assert (waived["met"], waived["waived"]) == (True, ["service:web-frontend"])
    assert waived["waivers"]["service:web-frontend"]["reason"] == "legacy frontend, replaced next quarter"
    assert (approval["met"], approval["failing"]) == (True, [])
    assert "DRY RUN: the gate would have failed" in capfd.readouterr().out
