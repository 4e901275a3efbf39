"""The gate condition: validation, verdicts, missing data (the report's wording: test_gate_report.py)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_scorecards.client.errors import InvalidParameterError
from airflow_provider_scorecards.gate.condition import GateCondition


def rec(score_id: str, score: float | None = 0.5, denominator: int = 4, **extra: Any) -> dict[str, Any]:
    return {"id": score_id, "score": score, "denominator": denominator, "level": 1, "total_fail": 0, **extra}


RECORDS = [rec("a", 0.9), rec("b", 0.7), rec("c", 0.8)]


def test_all_and_any() -> None:
    assert not GateCondition.build(min_score=0.8).evaluate(RECORDS).met
    assert GateCondition.build(min_score=0.7).evaluate(RECORDS).met
    result = GateCondition.build(min_score=0.85, match="any").evaluate(RECORDS)
    assert result.met
    assert [r["id"] for r in result.passed_records] == ["a"]


def test_bounds_are_inclusive_and_max_works() -> None:
    assert GateCondition.build(min_score=0.8, score_ids=["c"]).evaluate(RECORDS).met
    assert GateCondition.build(max_score=0.8, score_ids="b,c").evaluate(RECORDS).met
    assert not GateCondition.build(min_score=0.75, max_score=0.85).evaluate(RECORDS).met


def test_other_fields() -> None:
    records = [rec("a", level=2, total_fail=0), rec("b", level=3, total_fail=2)]
    assert GateCondition.build(field="level", min_value=2).evaluate(records).met
    result = GateCondition.build(field="total_fail", max_value=0).evaluate(records)
    assert not result.met
    assert "b: total_fail=2, needs total_fail <= 0" in result.report()


@pytest.mark.parametrize(
    ("on_missing", "met", "fatal"), [("wait", False, False), ("fail", False, True), ("ignore", True, False)]
)
def test_on_missing(on_missing: str, met: bool, fatal: bool) -> None:
    records = [rec("a", 0.9), rec("z", 0.0, denominator=0)]
    result = GateCondition.build(min_score=0.8, score_ids=["a", "gone", "z"], on_missing=on_missing).evaluate(
        records
    )
    assert (result.met, result.fatal) == (met, fatal)
    report = result.report()
    assert "gone: absent from the result" in report
    assert "z: no data (denominator is 0)" in report


@pytest.mark.parametrize(
    "gate",
    [
        {"min_score": 0.0},
        {"field": "total_fail", "max_value": 0},
        {"field": "level", "min_value": 0},
        {"field": "total_entities", "min_value": 0},
        {"field": "numerator", "max_value": 10},
    ],
    ids=lambda gate: str(gate.get("field", "score")),
)
@pytest.mark.parametrize("on_missing", ["wait", "fail", "ignore"])
def test_nothing_evaluated_is_missing_data_whatever_the_field(gate: dict[str, Any], on_missing: str) -> None:
    unevaluated = rec("z", 0.0, denominator=0, numerator=0, level=3, total_fail=0, total_entities=1)
    result = GateCondition.build(**gate, score_ids=["z"], on_missing=on_missing).evaluate([unevaluated])
    assert not result.met
    assert result.fatal == (on_missing == "fail")
    assert "z: no data (denominator is 0)" in result.report()


def test_any_is_met_despite_missing_and_fail_mode() -> None:
    result = GateCondition.build(
        min_score=0.8, score_ids=["a", "gone"], match="any", on_missing="fail"
    ).evaluate(RECORDS)
    assert result.met
    assert not result.fatal


def test_empty_result_never_opens_the_gate() -> None:
    assert not GateCondition.build(min_score=0.0).evaluate([]).met
    ignored = GateCondition.build(min_score=0.0, score_ids=["x"], on_missing="ignore").evaluate([])
    assert not ignored.met
    assert "query returned no scores" in GateCondition.build(min_score=0.1).evaluate([]).report()


@pytest.mark.parametrize(
    ("kwargs", "parameter", "fragment"),
    [
        ({"min_score": 1.5}, "min_score", "from 0.0 to 1.0"),
        ({"max_score": -0.1}, "max_score", "from 0.0 to 1.0"),
        ({"min_score": "high"}, "min_score", "a number"),
        ({"min_score": float("nan")}, "min_score", "a number"),
        ({}, "min_score", "needs a bound"),
        ({"field": "popularity", "min_value": 1}, "field", "total_no_data"),
        ({"field": "level", "min_score": 0.5}, "min_score", "use min_value/max_value"),
        ({"min_score": 0.5, "min_value": 0.6}, "min_value", "not both"),
        ({"min_score": 0.9, "max_score": 0.5}, "max_score", "upper bound"),
        ({"field": "total_fail", "max_value": -1}, "max_value", "at least 0"),
        ({"min_score": 0.5, "match": "most"}, "match", "'all' or 'any'"),
        ({"min_score": 0.5, "on_missing": "retry"}, "on_missing", "'wait', 'fail' or 'ignore'"),
        # a blank (a template that rendered nothing) is not an omitted bound: None is
        ({"min_score": "", "max_score": 1.0}, "min_score", "a number"),
        ({"min_score": " ", "max_drop": 0.1}, "min_score", "a number"),
        ({"field": "", "min_score": 0.5}, "field", "expected one of"),
        ({"max_drop": 0.1, "on_missing_baseline": ""}, "on_missing_baseline", "'pass' or 'fail'"),
        ({"min_score": 10**400}, "min_score", "from 0.0 to 1.0"),
        ({"min_score": 10**5000}, "min_score", "from 0.0 to 1.0"),
        ({"field": "total_fail", "max_value": 10**400}, "max_value", "a number"),
    ],
)
def test_invalid_conditions(kwargs: dict[str, Any], parameter: str, fragment: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        GateCondition.build(**kwargs)
    assert info.value.parameter == parameter
    assert fragment in str(info.value)


def test_description_round_trip() -> None:
    condition = GateCondition.build(
        field="level", min_value="2", score_ids="x,y", match="any", on_missing="ignore"
    )
    assert GateCondition.build(**condition.describe()) == condition
