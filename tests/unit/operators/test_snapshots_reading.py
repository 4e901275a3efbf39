"""Reading snapshots back: baselines in every form, corrupt ones refused, the dated history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_scorecards.client.errors import InvalidParameterError
from airflow_provider_scorecards.operators.snapshots import (
    InvalidSnapshotError,
    load_baseline,
    snapshot_history,
)
from tests.history_support import rec, write_jsonl

# -- reading baselines ---------------------------------------------------------------------------------


def test_baseline_forms(tmp_path: Path) -> None:
    records = [rec("team-a", 0.5, aggregation="by-team"), rec("team-b", None, aggregation="by-team")]
    as_list = load_baseline(records, aggregation="by-team")
    assert as_list.records == records
    assert load_baseline(json.dumps(records)).records == records
    assert load_baseline(str(records)).records == records  # what Jinja renders of a list without native mode
    path = write_jsonl(tmp_path / "2026-01-01" / "by-team.jsonl", records)
    loaded = load_baseline(f"file://{path}", aggregation="by-team")
    assert (loaded.records, loaded.source) == (records, f"file://{path}")
    (tmp_path / "list.json").write_text(json.dumps(records, indent=2))
    assert load_baseline(str(tmp_path / "list.json")).records == records
    assert load_baseline(f"file://{tmp_path}/nothing-here.jsonl").records is None
    for unset in (None, "", "None"):
        assert load_baseline(unset).records is None


@pytest.mark.parametrize(
    ("lines", "fragment"),
    [
        (
            ['{"id": "a", "score": 0.5}', '{"id": "b", "score": 0.5', ""],
            "line 2 is not valid JSON (Expecting",
        ),
        (['{"id": "a", "score": 0.5}', "", '["b", 0.5]'], "line 3 is a list, expected a record object"),
        (['{"id": "a", "score": 0.5}', '{"score": 0.5}'], "line 2 has no 'id'"),
        (['{"id": "a", "score": 0.5}', '{"id": "b", "level": 2}'], "line 2 (b) has no 'score'"),
        (['{"id": "a", "score": "0.5"}'], "line 1 (a): 'score' is '0.5', expected a number"),
        (['{"id": "a", "score": true}'], "line 1 (a): 'score' is True, expected a number"),
        (
            ['{"id": "a", "score": 0.5, "aggregation": "by-entity"}'],
            "line 1 (a) is a by-entity score but the query is by-team",
        ),
    ],
)
def test_a_corrupt_baseline_names_the_path_and_the_line(
    tmp_path: Path, lines: list[str], fragment: str
) -> None:
    path = tmp_path / "by-team.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InvalidSnapshotError) as info:
        load_baseline(f"file://{path}", aggregation="by-team")
    message = str(info.value)
    assert f"file://{path}" in message
    assert fragment in message
    assert "a baseline is a snapshot written by output_path" in message
    assert isinstance(info.value, InvalidParameterError)
    assert not info.value.retryable  # the task fails at once, retries cannot fix a file


def test_a_corrupt_baseline_text_or_value_is_refused() -> None:
    with pytest.raises(InvalidSnapshotError, match="not valid JSON"):
        load_baseline('[{"id": "a", "score": 0.5},')
    with pytest.raises(InvalidSnapshotError, match="record 2 has no 'id'"):
        load_baseline([{"id": "a", "score": 0.5}, {"score": 0.4}])
    with pytest.raises(InvalidSnapshotError, match="expected a path, a list of records"):
        load_baseline({"path": "x"})


def test_a_folder_is_not_a_baseline(tmp_path: Path) -> None:
    with pytest.raises(InvalidSnapshotError, match="is a folder, not a snapshot file"):
        load_baseline(f"file://{tmp_path}")


def test_snapshot_history_lists_dated_snapshots_oldest_first(tmp_path: Path) -> None:
    for day in ("2026-01-15", "2026-01-01", "2026-01-08", "2026-01-22"):
        write_jsonl(tmp_path / day / "by-team.jsonl", [rec("a", 0.5)])
    (tmp_path / "2026-01-05").mkdir()  # a date without the snapshot
    (tmp_path / "not-a-date").mkdir()
    root = f"file://{tmp_path}"
    found = snapshot_history(root, "by-team.jsonl", until="2026-01-15")
    assert [str(day) for day, _ in found] == ["2026-01-01", "2026-01-08", "2026-01-15"]
    assert found[0][1] == f"{root}/2026-01-01/by-team.jsonl"
    assert [str(d) for d, _ in snapshot_history(root, "by-team.jsonl", last=2)] == [
        "2026-01-15",
        "2026-01-22",
    ]
    assert snapshot_history(f"file://{tmp_path}/missing", "by-team.jsonl") == []
