"""The summary of one fetch (count, mean/min/max score, totals) and the asset event built from it.

The export operator pushes the summary as XCom ``summary`` and puts part of it in the ``extra`` of each
asset event it emits. It is accumulated record by record while pages arrive, so describing a result never
needs the whole result in memory (the operator may be streaming records to a snapshot file).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_scorecards.client.pages import Page, Record, nothing_evaluated

if TYPE_CHECKING:
    from airflow_provider_scorecards.operators.snapshots import SnapshotFile

EVENT_FIELDS = ("count", "mean_score", "min_score", "max_score", "fetched_at", "query")
"""The summary fields every snapshot's asset event carries."""


@dataclass
class ScoreSummary:
    """A running summary of a fetch, pushed as XCom ``summary``."""

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
        if score is not None and not nothing_evaluated(attributes):  # a 0.0 of nothing is not a score
            self.scored += 1
            self.score_sum += score
            self.min_score = score if self.min_score is None else min(self.min_score, score)
            self.max_score = score if self.max_score is None else max(self.max_score, score)
        for name in self.totals:
            self.totals[name] += attributes.get(name) or 0

    def counted(self, pages: Iterable[Page], *, raw: bool) -> Iterator[list[Record]]:
        """Yield the records of each page, counting them on the way (``raw``: JSON:API objects)."""
        for page in pages:
            for item in page.items:
                self.add(item.get("attributes") or {} if raw else item)
            yield page.items

    def as_dict(self) -> dict[str, Any]:
        """Return the summary as plain JSON: count, mean/min/max score and the rule-outcome totals."""
        return {
            "count": self.count,
            "mean_score": round(self.score_sum / self.scored, 6) if self.scored else None,
            "min_score": self.min_score,
            "max_score": self.max_score,
            **self.totals,
        }


def asset_event_extra(summary: dict[str, Any], snapshot: SnapshotFile | None) -> dict[str, Any]:
    """Build the ``extra`` of a snapshot's asset event: what a consumer needs without opening the snapshot.

    Plain JSON (numbers, strings, the query's description), a few hundred bytes whatever the result size,
    so it sits comfortably in the metadata database next to every event. With a snapshot file, ``path``
    and ``sha256`` say which file, and which content, the event is about.
    """
    extra = {name: summary.get(name) for name in EVENT_FIELDS}
    if snapshot is not None:
        extra.update(path=snapshot.path, sha256=snapshot.sha256)
    return extra
