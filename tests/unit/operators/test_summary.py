"""The fetch summary: what it counts, and what it leaves out of the score statistics."""

from __future__ import annotations

import pytest

from airflow_provider_scorecards.operators.summary import ScoreSummary


def test_a_score_of_nothing_evaluated_is_counted_but_is_no_score() -> None:
    summary = ScoreSummary()
    for attributes in ({"score": 0.5, "denominator": 2}, {"score": 0.0, "denominator": 0}, {"score": 0.7}):
        summary.add(attributes)
    shown = summary.as_dict()
    assert shown["count"] == 3
    assert (shown["mean_score"], shown["min_score"], shown["max_score"]) == (pytest.approx(0.6), 0.5, 0.7)
