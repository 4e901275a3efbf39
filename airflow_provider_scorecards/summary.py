"""A running summary of a fetch (count, mean/min/max score, totals), pushed as XCom ``summary``.

Accumulated record by record while pages arrive, so the operator never needs the whole result in memory
to describe it (it may be streaming records to ``output_path``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ScoreSummary:
    count: int = 0
    scored: int = 0
    score_sum: float = 0.0
    min_score: float | None = None
    max_score: float | None = None
    totals: dict[str, int] = field(
        default_factory=lambda: {"total_pass": 0, "total_fail": 0, "total_skip": 0, "total_no_data": 0}
    )

    def add(self, attributes: dict[str, Any]) -> None:
        """Count one score, given its attributes (a flat record or the raw ``attributes`` object)."""
        self.count += 1
        score = attributes.get("score")
        if score is not None:
            self.scored += 1
            self.score_sum += score
            if self.min_score is None or score < self.min_score:
                self.min_score = score
            if self.max_score is None or score > self.max_score:
                self.max_score = score
        totals = self.totals
        for name in totals:
            value = attributes.get(name)
            if value:
                totals[name] += value

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "mean_score": round(self.score_sum / self.scored, 6) if self.scored else None,
            "min_score": self.min_score,
            "max_score": self.max_score,
            **self.totals,
        }
