"""Snapshots on object storage: write one, read one back as a gate's baseline, list the dated history.

A snapshot is JSON Lines of flat records, one per score, as the export's ``output_path`` writes it; the
check's ``max_drop`` and the trend picture read them back, so the format is written, read and validated
here once. A baseline that is not a valid snapshot raises :class:`InvalidSnapshotError` (an
:class:`~airflow_provider_scorecards.client.errors.InvalidParameterError`, so no retries) naming the
source and line, before any request; a missing one is the first run (``on_missing_baseline`` decides).
The task classes import this module when they run, not at DAG parse.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from types import NoneType
from typing import IO, Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_scorecards.client.bounded_json import load_json
from airflow_provider_scorecards.client.coercion import is_unset, parse_list_text
from airflow_provider_scorecards.client.errors import InvalidParameterError, render_id
from airflow_provider_scorecards.client.pages import Record, record_problem

MAX_SNAPSHOT_CHARS = 64 * 1024 * 1024
"""Largest snapshot (or baseline) read back, in characters, refused before it is parsed: 100,000 flat
records take about 30 MB, and a path such as ``/dev/zero`` must not be read until the memory runs out."""

SNAPSHOT_HINT = (
    "a baseline is a snapshot written by output_path (JSON Lines of flat records, each with 'id' and the "
    "compared field) or a JSON list of such records"
)


class InvalidSnapshotError(InvalidParameterError):
    """A baseline (or a snapshot of the history) that is not a valid snapshot; names the source and line."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__("baseline", source, f"{problem}; {SNAPSHOT_HINT}")


@dataclass(frozen=True)
class Baseline:
    """The records to compare with, or ``records=None`` when there is no baseline yet (a first run)."""

    records: list[Record] | None
    source: str
    """Where the records came from, for the task log: a path, or "a list of N records"."""


MAX_PATH_CHARS = 4096
"""The longest text read as a baseline's path (Linux's PATH_MAX); a longer one is refused, not looked up."""


def load_baseline(value: Any, *, field: str = "score", aggregation: str | None = None) -> Baseline:
    """Read and validate a baseline given as a path, a list of records, or the JSON text of such a list.

    A path is anything ``ObjectStoragePath`` accepts; a path that does not exist gives ``records=None``.
    Unset (None, or what Jinja renders of it) also means "no baseline". Every record must have a
    non-empty string ``id`` and the key ``field`` holding a number (or null, which compares as "not in the
    baseline"); with ``aggregation``, a record that says it belongs to another aggregation is refused,
    because comparing team scores with entity scores would pass or fail for no reason.
    """
    if is_unset(value):
        return Baseline(None, "no baseline given")
    if isinstance(value, list | tuple):
        records = _checked(_numbered(value), "<list>", field, aggregation)
        return Baseline(records, f"a list of {len(records)} records")
    if not isinstance(value, str):
        raise InvalidSnapshotError(
            f"<{type(value).__name__}>", "expected a path, a list of records or the JSON text of a list"
        )
    text = value.strip()
    if text.startswith("["):
        records = _records(text, "<JSON text>", field, aggregation)
        return Baseline(records, f"a list of {len(records)} records")
    if len(text) > MAX_PATH_CHARS:  # refused alike on every storage, whose own limits differ
        raise InvalidSnapshotError(
            "<path>",
            f"longer than {MAX_PATH_CHARS} characters: not a path (JSON text of a list starts with '[')",
        )
    return Baseline(read_snapshot(text, field=field, aggregation=aggregation), text)


def read_snapshot(path: str, *, field: str = "score", aggregation: str | None = None) -> list[Record] | None:
    """Read the snapshot at ``path``: its validated records, or None when there is no file there.

    JSON Lines as the operator writes them (blank lines are ignored); a file whose content starts with
    ``[`` is read as one JSON list. Only the finished file counts: a ``.partial`` left by a fetch that
    was interrupted is never read (the operator renames it into place only once complete).
    """
    try:
        target = ObjectStoragePath(path)
        if not target.exists():
            return None
        if target.is_dir():
            raise InvalidSnapshotError(path, "is a folder, not a snapshot file")
        with target.open("r", encoding="utf-8") as handle:  # type: ignore[no-untyped-call,unused-ignore]
            text = handle.read(MAX_SNAPSHOT_CHARS + 1)  # a bounded read: /dev/zero is a path too
    except InvalidSnapshotError:
        raise
    except UnicodeDecodeError as exc:
        raise InvalidSnapshotError(path, f"not UTF-8 text (byte {exc.start})") from None
    except (OSError, ValueError) as exc:  # a name too long, no permission, not a path at all
        raise InvalidSnapshotError(path, f"cannot be read ({type(exc).__name__})") from None
    return _records(text, path, field, aggregation)


def snapshot_history(
    root: str, name: str, *, until: date | str | None = None, last: int | None = None
) -> list[tuple[date, str]]:
    """List the dated snapshots under ``root``, oldest first, as ``(date, path)``.

    Paths are ``<root>/<YYYY-MM-DD>/<name>``, the layout of the export example. Folders whose name is not
    a date, and dates without ``name``, are skipped; ``until`` (a date or ``YYYY-MM-DD``) drops later
    dates (a backfill must not draw the future) and ``last`` keeps the most recent ones. A root that does
    not exist yet has no history.
    """
    base = ObjectStoragePath(root)
    if not base.exists():
        return []
    limit = date.fromisoformat(until) if isinstance(until, str) else until
    found: list[tuple[date, str]] = []
    for folder in base.iterdir():
        if not re.fullmatch("[0-9]{4}-[0-9]{2}-[0-9]{2}", folder.name):  # Python also reads 20240105 so
            continue
        try:
            day = date.fromisoformat(folder.name)
        except ValueError:  # 2024-02-30
            continue
        if (limit is None or day <= limit) and (folder / name).exists():
            found.append((day, f"{str(root).rstrip('/')}/{folder.name}/{name}"))
    found.sort()
    return found[-last:] if last else found


@contextmanager
def published(path: str, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a handle to write ``path`` (any ``ObjectStoragePath``) that appears there only once complete.

    Everything goes to a partial file of this call's own (``<path>.<random>.partial``), renamed to
    ``path`` when the block ends normally and removed when it raises. A reader (a downstream task, next
    week's comparison) never takes a truncated file for a finished one, and two runs writing one path at
    the same time never touch each other's partial file: each publishes a complete file of its own, and
    the last to finish is the one at ``path``. ``mode`` is ``"w"`` (text, UTF-8) or ``"wb"``.
    """
    target = ObjectStoragePath(path)
    partial = ObjectStoragePath(f"{path}.{secrets.token_hex(8)}.partial")
    target.parent.mkdir(parents=True, exist_ok=True)
    encoding = None if "b" in mode else "utf-8"
    try:
        with partial.open(mode, encoding=encoding) as handle:  # type: ignore[no-untyped-call,unused-ignore]
            yield handle
        partial.rename(target)  # a rename within one file system replaces the target atomically
    except BaseException:
        if partial.exists():
            partial.unlink()
        raise


def write_bytes(path: str, data: bytes) -> str:
    """Write ``data`` to ``path`` so that it appears only once complete (see :func:`published`)."""
    with published(path, "wb") as handle:
        handle.write(data)
    return path


@dataclass(frozen=True)
class SnapshotFile:
    """A snapshot as published: where, how many records, and the SHA-256 of exactly the bytes written.

    Another run may later publish to the same path; the digest lets a reader tell whether the file there
    is still the one this run described.
    """

    path: str
    count: int
    sha256: str


def write_snapshot(path: str, batches: Iterable[list[Record]]) -> SnapshotFile:
    """Write record batches to ``path`` as JSON Lines as they arrive; the file appears only when complete.

    Memory stays at one batch (a page); the digest is computed on the way, over the bytes written.
    """
    digest = hashlib.sha256()
    count = 0
    with published(path, "wb") as handle:
        for batch in batches:
            if batch:
                chunk = ("\n".join(json.dumps(r, separators=(",", ":")) for r in batch) + "\n").encode()
                digest.update(chunk)
                handle.write(chunk)
                count += len(batch)
    return SnapshotFile(str(ObjectStoragePath(path)), count, digest.hexdigest())


def _records(text: str, source: str, field: str, aggregation: str | None) -> list[Record]:
    """Validate the records of a snapshot's text: one JSON list, or JSON Lines; bounded before parsing."""
    if len(text) > MAX_SNAPSHOT_CHARS:
        raise InvalidSnapshotError(
            source, f"larger than {MAX_SNAPSHOT_CHARS} characters, refused before parsing"
        )
    if not text.lstrip().startswith("["):
        return _checked(_json_lines(text, source), source, field, aggregation)
    try:  # a JSON list, or the Python literal Jinja renders of a list of dicts (``[{'id': 'a', ...}]``)
        items = parse_list_text(text)
    except json.JSONDecodeError as error:
        raise InvalidSnapshotError(
            source, f"not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None
    except TypeError as error:
        raise InvalidSnapshotError(source, f"expected a list of records, got {error}") from None
    return _checked(_numbered(items), source, field, aggregation)


def _numbered(items: Iterable[Any]) -> Iterator[tuple[str, Any]]:
    return ((f"record {n}", item) for n, item in enumerate(items, 1))


def _json_lines(text: str, source: str) -> Iterator[tuple[str, Any]]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield f"line {number}", load_json(line)
        except RecursionError:
            raise InvalidSnapshotError(source, f"line {number} is nested too deeply") from None
        except ValueError as exc:
            detail = f"{exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise InvalidSnapshotError(source, f"line {number} is not valid JSON ({detail})") from None


def _checked(
    items: Iterable[tuple[str, Any]], source: str, field: str, aggregation: str | None
) -> list[Record]:
    """Every item a record with an id and a numeric (or null) ``field``; the first problem raises.

    An id may appear once: keeping either copy of a duplicate could hide a drop (0.9 on one line, 0.5 on
    another), so the error names the id and both places.
    """
    records: list[Record] = []
    first_seen: dict[str, str] = {}
    for where, item in items:
        if not isinstance(item, dict):
            raise InvalidSnapshotError(source, f"{where} is {_kind(item)}, expected a record object")
        score_id = item.get("id")
        if not isinstance(score_id, str) or not score_id:
            raise InvalidSnapshotError(source, f"{where} has no 'id' (a non-empty string)")
        if score_id in first_seen:
            raise InvalidSnapshotError(
                source,
                f"'{render_id(score_id)}' appears twice, at {first_seen[score_id]} and at {where}: "
                "one record per id",
            )
        first_seen[score_id] = where
        if field not in item:
            raise InvalidSnapshotError(source, f"{where} ({render_id(score_id)}) has no {field!r}")
        if (problem := record_problem(item)) is not None:
            raise InvalidSnapshotError(source, f"{where} ({render_id(score_id)}): {problem}")
        kind = item.get("aggregation")
        if aggregation is not None and kind is not None and kind != aggregation:
            raise InvalidSnapshotError(
                source,
                f"{where} ({render_id(score_id)}) is a {kind} score but the query is {aggregation}: "
                "compare snapshots of the same query",
            )
        records.append(item)
    return records


def _kind(value: Any) -> str:
    kinds = {NoneType: "null", dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return kinds.get(type(value), f"a {type(value).__name__}")
