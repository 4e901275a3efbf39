"""The gate's report: what a person reads of a verdict, every failing and missing id, bounded."""

from __future__ import annotations

from typing import Any

from airflow_provider_scorecards.gate.condition import GateCondition
from airflow_provider_scorecards.gate.report import REPORT_MAX_LINES, signed_change


def rec(score_id: str, score: float | None = 0.5, denominator: int = 4, **extra: Any) -> dict[str, Any]:
    return {"id": score_id, "score": score, "denominator": denominator, "level": 1, "total_fail": 0, **extra}


RECORDS = [rec("a", 0.9), rec("b", 0.7), rec("c", 0.8)]


def test_report_lists_every_failing_id_with_value_and_bound() -> None:
    report = GateCondition.build(min_score=0.95).evaluate(RECORDS).report()
    assert report.startswith(
        "Score gate not met (score >= 0.95, match=all, on_missing=wait): 0 passing, 3 failing"
    )
    for line in (
        "a: score=0.9, needs score >= 0.95",
        "b: score=0.7, needs score >= 0.95",
        "c: score=0.8, needs score >= 0.95",
    ):
        assert line in report


def test_a_long_report_lists_the_first_ids_and_counts_the_rest() -> None:
    records = [rec(f"team-{k:03d}", 0.1) for k in range(REPORT_MAX_LINES + 7)]
    lines = GateCondition.build(min_score=0.5).evaluate(records).report().splitlines()
    assert len(lines) == 1 + REPORT_MAX_LINES + 1
    assert lines[1] == "  team-000: score=0.1, needs score >= 0.5"
    assert lines[-1] == "  ... and 7 more"


def test_a_drop_shows_as_many_decimals_as_it_takes_to_exceed_the_allowance() -> None:
    assert signed_change(-0.12, 0.05, "score") == "-0.12"
    assert signed_change(-0.052, 0.05, "score") == "-0.052"
    assert signed_change(-3.0, 1.0, "total_fail") == "-3"


def test_the_absent_warning_names_each_absent_id_with_its_closest_ids() -> None:
    result = GateCondition.build(min_score=0.5, score_ids=["a", "bb"]).evaluate(RECORDS)
    warning = result.absent_warning()
    assert warning is not None
    assert warning.startswith("1 watched id(s) absent from the result: 'bb' (closest: b)")
    assert GateCondition.build(min_score=0.5).evaluate(RECORDS).absent_warning() is None
