"""Helpers of the tests of scores over time: records and snapshot files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from airflow_provider_scorecards.client.pages import flatten
from airflow_provider_scorecards.simulator import ScorecardsSimulator


def rec(score_id: str, score: float | None, denominator: int = 4, **extra: Any) -> dict[str, Any]:
    return {"id": score_id, "score": score, "denominator": denominator, **extra}


def teams(sim: ScorecardsSimulator) -> list[dict[str, Any]]:
    """The by-team records the API answers now, lowest score first."""
    return sorted((flatten(i) for i in sim.expected_scores("by-team")), key=lambda r: r["score"])


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path
