"""A baseline holding one id twice is refused, naming the id and both places: either copy could hide a drop."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_scorecards.operators.snapshots import InvalidSnapshotError, load_baseline


def _line(score_id: str, score: float) -> str:
    return json.dumps({"id": score_id, "aggregation": "by-team", "score": score})


def test_a_duplicate_id_in_a_snapshot_file_names_the_id_and_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "scores.jsonl"
    path.write_text("\n".join([_line("team-a", 0.9), _line("team-b", 0.7), "", _line("team-a", 0.5)]) + "\n")
    with pytest.raises(InvalidSnapshotError) as info:
        load_baseline(str(path), aggregation="by-team")
    message = str(info.value)
    assert "'team-a' appears twice" in message
    assert "line 1" in message
    assert "line 4" in message
    assert info.value.source == str(path)


def test_a_duplicate_id_in_a_list_names_both_records() -> None:
    records = [{"id": "team-a", "score": 0.9}, {"id": "team-a", "score": 0.5}]
    with pytest.raises(InvalidSnapshotError, match="'team-a' appears twice, at record 1 and at record 2"):
        load_baseline(records)
    with pytest.raises(InvalidSnapshotError, match="at record 1 and at record 2"):
        load_baseline(json.dumps(records))


def test_distinct_ids_still_load(tmp_path: Path) -> None:
    path = tmp_path / "scores.jsonl"
    path.write_text(_line("team-a", 0.9) + "\n" + _line("team-b", 0.5) + "\n")
    baseline = load_baseline(str(path))
    assert [r["id"] for r in baseline.records or []] == ["team-a", "team-b"]
