"""A verdict's ``scores``: what the Scorecards view shows of each judged id, failing first, bounded."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow_provider_scorecards.gate.condition import GateCondition
from airflow_provider_scorecards.gate.verdict import MAX_SCORES, decision_parts
from airflow_provider_scorecards.gate.waivers import apply_waivers


def test_failing_ids_come_first_and_the_scores_are_bounded() -> None:
    records = [{"id": "nothing", "score": 0.0, "denominator": 0}]  # missing data: listed as missing
    records += [{"id": f"pass-{i}", "score": 0.9, "denominator": 4} for i in range(40)]
    records += [{"id": f"fail-{i}", "score": 0.1, "denominator": 4} for i in range(30)]
    waived = apply_waivers(GateCondition.build(min_score=0.5).evaluate(records), (), datetime.now(UTC))
    scores = decision_parts(waived)["scores"]
    assert len(scores) == MAX_SCORES
    assert list(scores)[:30] == [f"fail-{i}" for i in range(30)]
    assert scores["fail-0"] == {"value": 0.1, "bound": "score >= 0.5", "baseline": None}
    assert "nothing" not in scores
