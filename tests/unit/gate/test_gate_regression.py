"""The regression gate: max_drop against a baseline, without Airflow."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_scorecards.client.errors import InvalidParameterError
from airflow_provider_scorecards.gate.condition import GateCondition
from tests.history_support import rec

# -- the gate: max_drop against a baseline (no Airflow) ------------------------------------------------


def test_regression_names_both_values_the_drop_and_the_allowance() -> None:
    now = [rec("team-payments", 0.50), rec("team-search", 0.448), rec("team-web", 0.90)]
    then = [rec("team-payments", 0.62), rec("team-search", 0.50), rec("team-web", 0.91)]
    result = GateCondition.build(max_drop=0.05).evaluate(now, then)
    assert not result.met
    assert [c.id for c in result.regressed] == ["team-payments", "team-search"]
    report = result.report()
    assert report.startswith(
        "Score gate not met (score drop <= 0.05 since the baseline, match=all, on_missing=wait): "
        "1 passing, 2 failing, 0 missing of 3 watched; compared with a baseline of 3 scores: "
        "2 dropped more than 0.05, 0 new"
    )
    assert "  team-payments: score 0.62 -> 0.50 (-0.12), allowed drop 0.05" in report
    # two decimals would show -0.05 and look allowed: as many as it takes to show it is not
    assert "  team-search: score 0.50 -> 0.45 (-0.052), allowed drop 0.05" in report
    assert "team-web" not in report.splitlines()[1:]


def test_a_drop_of_exactly_max_drop_passes_and_rises_always_pass() -> None:
    now = [rec("a", 0.57), rec("b", 0.99)]
    then = [rec("a", 0.62), rec("b", 0.10)]  # 0.62 - 0.57 is 0.05000000000000004 in floats
    result = GateCondition.build(max_drop=0.05).evaluate(now, then)
    assert result.met, result.report()
    assert not GateCondition.build(max_drop=0.049).evaluate(now, then).met


def test_other_fields_compare_in_their_own_units() -> None:
    result = GateCondition.build(field="total_pass", max_drop=2).evaluate(
        [rec("x", 0.5, total_pass=5), rec("y", 0.5, total_pass=8)],
        [rec("x", 0.5, total_pass=9), rec("y", 0.5, total_pass=10)],
    )
    assert [c.id for c in result.failing] == ["x"]
    assert "  x: total_pass 9 -> 5 (-4), allowed drop 2" in result.report()


@pytest.mark.parametrize(("on_missing", "met"), [("fail", False), ("ignore", True), ("wait", False)])
def test_new_ids_pass_and_vanished_ids_follow_on_missing(on_missing: str, met: bool) -> None:
    now = [rec("team-a", 0.80), rec("team-new", 0.10)]
    then = [rec("team-a", 0.80), rec("team-gone", 0.70)]
    result = GateCondition.build(max_drop=0.05, on_missing=on_missing).evaluate(now, then)
    assert result.met is met
    assert {c.id for c in result.passing} == {"team-a", "team-new"}  # new since the baseline: passes
    (gone,) = result.missing
    assert gone.id == "team-gone"
    assert "  team-gone: gone since the baseline (score was 0.70)" in result.report()
    assert "1 new" in result.report()
    assert result.absent == []  # not a typo: no "closest ids" warning for a team that went away


def test_watched_ids_compare_only_themselves() -> None:
    now = [rec("a", 0.10), rec("b", 0.80)]
    then = [rec("a", 0.90), rec("b", 0.80), rec("c", 0.50)]
    result = GateCondition.build(max_drop=0.05, score_ids=["b"], on_missing="fail").evaluate(now, then)
    assert result.met  # a dropped and c vanished, but only b is watched
    typo = GateCondition.build(max_drop=0.05, score_ids=["bb"], on_missing="fail").evaluate(now, then)
    assert typo.fatal
    assert "bb: absent from the result; closest ids that exist: b" in typo.report()


def test_bounds_and_max_drop_must_both_hold() -> None:
    condition = GateCondition.build(min_score=0.6, max_drop=0.05)
    now = [rec("steady-but-low", 0.50), rec("high-but-fell", 0.80), rec("fine", 0.70)]
    then = [rec("steady-but-low", 0.50), rec("high-but-fell", 0.95), rec("fine", 0.70)]
    result = condition.evaluate(now, then)
    assert [c.id for c in result.failing] == ["steady-but-low", "high-but-fell"]
    report = result.report()
    assert "(score >= 0.6, score drop <= 0.05 since the baseline," in report
    assert "  steady-but-low: score=0.5, needs score >= 0.6" in report
    assert "  high-but-fell: score 0.95 -> 0.80 (-0.15), allowed drop 0.05" in report
    both = condition.evaluate([rec("x", 0.40)], [rec("x", 0.70)]).report()
    assert "  x: score=0.4, needs score >= 0.6; score 0.70 -> 0.40 (-0.30), allowed drop 0.05" in both


def test_without_a_baseline_on_missing_baseline_decides() -> None:
    now = [rec("a", 0.50)]
    passing = GateCondition.build(max_drop=0.05).evaluate(now, None)
    assert passing.met
    assert passing.baseline_missing
    assert "no baseline to compare with, drops not checked (on_missing_baseline=pass)" in passing.report()
    failing = GateCondition.build(max_drop=0.05, on_missing_baseline="fail").evaluate(now, None)
    assert not failing.met
    assert failing.fatal
    assert "no baseline to compare with and on_missing_baseline=fail" in failing.report()
    # the bounds still apply when there is nothing to compare with
    assert not GateCondition.build(max_drop=0.05, min_score=0.6).evaluate(now, None).met
    # an empty result never opens a gate, baseline or not
    assert not GateCondition.build(max_drop=0.05).evaluate([], None).met
    assert not GateCondition.build(max_drop=0.05, on_missing="ignore").evaluate([], [rec("a", 0.5)]).met


def test_an_empty_baseline_is_a_baseline_where_everything_is_new() -> None:
    result = GateCondition.build(max_drop=0.05, on_missing_baseline="fail").evaluate([rec("a", 0.5)], [])
    assert result.met
    assert "compared with a baseline of 0 scores: 0 dropped more than 0.05, 1 new" in result.report()


@pytest.mark.parametrize(
    ("kwargs", "parameter", "fragment"),
    [
        ({}, "min_score", "or max_drop with a baseline"),
        ({"max_drop": 1.5}, "max_drop", "from 0.0 to 1.0"),
        ({"max_drop": -0.1}, "max_drop", "from 0.0 to 1.0"),
        ({"max_drop": "lots"}, "max_drop", "a number"),
        ({"field": "total_fail", "max_drop": -1}, "max_drop", "at least 0"),
        ({"max_drop": 0.05, "on_missing_baseline": "maybe"}, "on_missing_baseline", "'pass' or 'fail'"),
    ],
)
def test_invalid_comparisons(kwargs: dict[str, Any], parameter: str, fragment: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        GateCondition.build(**kwargs)
    assert info.value.parameter == parameter
    assert fragment in str(info.value)


def test_max_drop_alone_is_a_valid_condition_and_travels() -> None:
    condition = GateCondition.build(max_drop="0.05", on_missing_baseline="FAIL", on_missing="ignore")
    assert (condition.max_drop, condition.on_missing_baseline) == (0.05, "fail")
    assert GateCondition.build(**json.loads(json.dumps(condition.describe()))) == condition
    # a gate without a comparison describes itself as before (trigger kwargs and their hash unchanged)
    assert set(GateCondition.build(min_score=0.5).describe()) == {
        "field",
        "min_value",
        "max_value",
        "match",
        "on_missing",
        "score_ids",
    }
