"""Writing snapshots: two writers of one path at the same time never corrupt each other or fail."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_scorecards.operators.snapshots import SnapshotFile, read_snapshot, write_snapshot


class Interrupted(Exception):
    pass


def batches(
    name: str, barrier: threading.Barrier, *, fail: bool = False
) -> Iterator[list[dict[str, object]]]:
    """Two pages of records; both writers are between their two pages at the same moment."""
    yield [{"id": f"{name}-{n}", "score": 0.5} for n in range(100)]
    barrier.wait(timeout=10)  # both partial files exist and hold a page
    barrier.wait(timeout=10)
    if fail:
        raise Interrupted(name)
    yield [{"id": f"{name}-{n}", "score": 0.5} for n in range(100, 150)]


def run_together(target: str, *, fail_b: bool = False) -> dict[str, SnapshotFile | BaseException]:
    barrier = threading.Barrier(2)
    results: dict[str, SnapshotFile | BaseException] = {}

    def writer(name: str, fail: bool) -> None:
        try:
            results[name] = write_snapshot(target, batches(name, barrier, fail=fail))
        except BaseException as exc:
            results[name] = exc

    threads = [threading.Thread(target=writer, args=(n, f)) for n, f in (("a", False), ("b", fail_b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_each_writer_has_its_own_partial_file(tmp_path: Path) -> None:
    barrier = threading.Barrier(2)
    target = tmp_path / "s.jsonl"
    seen: list[list[str]] = []

    def watch() -> None:
        barrier.wait(timeout=10)
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        barrier.wait(timeout=10)

    watcher = threading.Thread(target=watch)
    watcher.start()
    write_snapshot(str(target), batches("a", barrier))
    watcher.join(timeout=10)
    (names,) = seen
    (partial,) = names
    assert partial.startswith("s.jsonl.")
    assert partial.endswith(".partial")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.jsonl"]


def test_two_complete_writers_each_publish_a_whole_file_described_exactly(tmp_path: Path) -> None:
    target = tmp_path / "day" / "by-team.jsonl"
    results = run_together(str(target))
    assert all(isinstance(r, SnapshotFile) for r in results.values()), results
    published = target.read_bytes()
    records = read_snapshot(str(target))
    assert records is not None
    assert len(records) == 150
    (owner,) = {r["id"].split("-")[0] for r in records}  # one writer's records, never a mix
    described = results[owner]
    assert isinstance(described, SnapshotFile)
    assert described.sha256 == hashlib.sha256(published).hexdigest()
    assert described.count == 150
    other = results["b" if owner == "a" else "a"]
    assert isinstance(other, SnapshotFile)
    assert other.sha256 != described.sha256
    assert sorted(p.name for p in target.parent.iterdir()) == ["by-team.jsonl"]


def test_a_failing_writer_never_removes_the_other_writers_file(tmp_path: Path) -> None:
    target = tmp_path / "by-team.jsonl"
    results = run_together(str(target), fail_b=True)
    assert isinstance(results["b"], Interrupted)
    a = results["a"]
    assert isinstance(a, SnapshotFile), a
    assert a.sha256 == hashlib.sha256(target.read_bytes()).hexdigest()
    assert [json.loads(line)["id"] for line in target.read_text().splitlines()] == [
        f"a-{n}" for n in range(150)
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["by-team.jsonl"]


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    def failing() -> Iterator[list[dict[str, object]]]:
        yield [{"id": "x", "score": 1.0}]
        raise Interrupted

    with pytest.raises(Interrupted):
        write_snapshot(str(tmp_path / "s.jsonl"), failing())
    assert list(tmp_path.iterdir()) == []
