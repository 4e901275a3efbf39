"""The check operator with a baseline, through real runs (dag.test() on SQLite, the simulator)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_scorecards.client.errors import InvalidParameterError
from airflow_provider_scorecards.simulator import ScorecardsSimulator
from tests.airflow_support import run_dag
from tests.history_support import rec, teams, write_jsonl

# -- the check operator with a baseline, through real runs ---------------------------------------------


def check(conf: dict[str, Any]) -> Any:
    return run_dag("history_check", conf)


def test_check_fails_on_a_regression_without_retries_naming_each_team(
    history_sim: ScorecardsSimulator, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    now = teams(history_sim)
    then = [dict(r) for r in now]
    then[0]["score"] = round(now[0]["score"] + 0.12, 6)  # the lowest team fell by 0.12
    then[1]["score"] = round(now[1]["score"] + 0.03, 6)  # another one by 0.03: allowed
    path = write_jsonl(tmp_path / "week-ago" / "by-team.jsonl", then)
    result = check({"baseline": f"file://{path}"})
    assert result.state == "failed"
    assert result.task_states["check"] == "failed"  # not up_for_retry although retries=3
    assert len(history_sim.score_requests()) == 1
    out = capfd.readouterr().out
    assert "AirflowFailException" in out
    assert (
        f"{now[0]['id']}: score {then[0]['score']:.2f} -> {now[0]['score']:.2f} (-0.12), allowed drop 0.05"
        in out
    )
    assert f"{now[1]['id']}: score" not in out
    assert f"compared with a baseline of {len(now)} scores: 1 dropped more than 0.05, 0 new" in out


def test_check_passes_when_nothing_dropped_and_new_teams_pass(
    history_sim: ScorecardsSimulator, tmp_path: Path
) -> None:
    before = teams(history_sim)
    history_sim.advance(1)  # drift only improves
    path = write_jsonl(tmp_path / "by-team.jsonl", before[1:])  # the lowest team is new since then
    result = check({"baseline": f"file://{path}"})
    assert result.state == "success", result.task_states
    assert {r["id"] for r in result.xcom("check")} == {r["id"] for r in teams(history_sim)}


def test_check_with_records_as_the_baseline(history_sim: ScorecardsSimulator) -> None:
    now = teams(history_sim)
    then = [{"id": r["id"], "score": r["score"]} for r in now]
    then[-1]["score"] = 1.0
    result = check({"baseline": then, "max_drop": 0.01})  # rendered as the text of a Python list
    assert result.state == "failed"
    assert run_dag("history_check", {"baseline": json.dumps(then[:-1]), "max_drop": 0.01}).state == "success"


def test_a_team_gone_since_the_baseline_follows_on_missing(
    history_sim: ScorecardsSimulator, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = write_jsonl(tmp_path / "by-team.jsonl", [*teams(history_sim), rec("team-dissolved", 0.7)])
    failed = check({"baseline": f"file://{path}", "on_missing": "fail"})
    assert failed.state == "failed"
    assert "team-dissolved: gone since the baseline (score was 0.70)" in capfd.readouterr().out
    assert check({"baseline": f"file://{path}", "on_missing": "ignore"}).state == "success"


def test_a_missing_baseline_passes_with_a_warning_or_fails(
    history_sim: ScorecardsSimulator, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    missing = f"file://{tmp_path}/2020-01-01/by-team.jsonl"
    first_run = check({"baseline": missing})
    assert first_run.state == "success", first_run.task_states
    out = capfd.readouterr().out
    assert f"No baseline to compare with ({missing})" in out
    assert "drops not checked (on_missing_baseline=pass)" in out
    refused = check({"baseline": missing, "on_missing_baseline": "fail"})
    assert refused.state == "failed"
    assert refused.task_states["check"] == "failed"
    assert "no baseline to compare with and on_missing_baseline=fail" in capfd.readouterr().out


def test_a_corrupt_baseline_fails_before_any_request(
    history_sim: ScorecardsSimulator, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = write_jsonl(tmp_path / "by-team.jsonl", teams(history_sim)[:2])
    with path.open("a") as handle:
        handle.write('{"id": "team-x", "score": 0.5\n')
    result = check({"baseline": f"file://{path}"})
    assert result.state == "failed"
    assert result.task_states["check"] == "failed"  # no retries
    assert history_sim.score_requests() == []  # refused before asking the API anything
    out = capfd.readouterr().out
    assert f"Invalid baseline='file://{path}': line 3 is not valid JSON" in out


@pytest.mark.parametrize("rendered", [None, ""])
def test_a_baseline_that_renders_to_nothing_is_refused_not_a_first_run(
    history_sim: ScorecardsSimulator, rendered: str | None, capfd: pytest.CaptureFixture[str]
) -> None:
    history_sim.reset_log()
    result = check({"baseline": rendered})
    assert result.task_states["check"] == "failed"  # not up_for_retry although retries=3
    assert not history_sim.score_requests()
    assert "max_drop compares with a baseline: give a snapshot path or records" in capfd.readouterr().out


def test_check_arguments_are_validated_at_parse() -> None:
    from airflow_provider_scorecards.operators.scores import DatadogScoreCheckOperator

    def build(**kwargs: Any) -> Any:
        return DatadogScoreCheckOperator(task_id="c", aggregation="by-team", **kwargs)

    assert build(baseline="file:///s/by-team.jsonl", max_drop=0.05).gate_condition().max_drop == 0.05
    with pytest.raises(InvalidParameterError, match="max_drop compares with a baseline"):
        build(max_drop=0.05)
    with pytest.raises(InvalidParameterError, match="a baseline is only compared with max_drop"):
        build(baseline="file:///s/by-team.jsonl", min_score=0.5)
    with pytest.raises(InvalidParameterError, match="needs a bound"):
        build()
    with pytest.raises(InvalidParameterError, match=r"from 0\.0 to 1\.0"):
        build(baseline="x", max_drop=5)
    with pytest.raises(InvalidParameterError, match="on_missing_baseline"):
        build(baseline="x", max_drop=0.05, on_missing_baseline="skip")
    build(baseline="{{ params.baseline }}", max_drop="{{ params.max_drop }}")  # decided after rendering
