"""Every cell of the fault matrix holds: a complete, duplicate-free result or a typed error, within bounds."""

from __future__ import annotations

from typing import Any

import pytest

from tests.import_probe import loaded_by
from tests.reliability.fault_matrix import (
    FETCH_CELLS,
    HOSTILE_CELLS,
    TRIGGER_CELLS,
    WRITE_CELLS,
    Cell,
    WriteCell,
    run_fetch_cell,
    run_hostile_cell,
    run_trigger_cell,
    run_write_cell,
)


def _params(cells: tuple[Cell, ...], concurrencies: tuple[int | None, ...]) -> list[object]:
    return [
        pytest.param(cell, c, id=f"{cell.name}-c{c}", marks=[pytest.mark.slow] if cell.slow else [])
        for cell in cells
        for c in concurrencies
    ]


@pytest.mark.parametrize(("cell", "concurrency"), _params(FETCH_CELLS, (1, 8)))
def test_fetch_cell(cell: Cell, concurrency: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_DATADOG_SCORECARDS_DEFAULT", raising=False)
    result = run_fetch_cell(cell, concurrency)
    assert result.outcome in cell.outcomes, result
    assert result.requests <= cell.max_requests, result
    assert result.seconds <= cell.max_seconds, result


@pytest.mark.parametrize(("cell", "concurrency"), _params(TRIGGER_CELLS, (None,)))
def test_trigger_cell(cell: Cell, concurrency: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_DATADOG_SCORECARDS_DEFAULT", raising=False)
    result = run_trigger_cell(cell)
    assert result.outcome in cell.outcomes, result
    assert result.requests <= cell.max_requests, result
    assert result.seconds <= cell.max_seconds, result


@pytest.mark.parametrize(
    ("name", "behave", "outcomes", "max_requests", "max_seconds"),
    HOSTILE_CELLS,
    ids=[c[0] for c in HOSTILE_CELLS],
)
def test_hostile_cell(
    name: str, behave: Any, outcomes: frozenset[str], max_requests: int, max_seconds: float
) -> None:
    outcome, requests, seconds, leaked = run_hostile_cell(name, behave)
    assert outcome in outcomes, (outcome, requests, seconds)
    assert requests <= max_requests, (outcome, requests, seconds)
    assert seconds <= max_seconds, (outcome, requests, seconds)
    assert not leaked


def test_a_403_makes_exactly_one_request() -> None:
    (cell,) = [c for c in FETCH_CELLS if c.name == "403 on the first page"]
    assert run_fetch_cell(cell, 8).requests == 1


def test_importing_the_matrix_loads_no_airflow_http_stack_or_simulator() -> None:
    """The runners load what they drive; the module itself costs an importer the standard library only."""
    ours = ("simulator", "hooks", "client")
    heavy = ("airflow", "requests", *(f"airflow_provider_scorecards.{name}" for name in ours))
    assert loaded_by(["tests.reliability.fault_matrix"], heavy) == []


@pytest.mark.parametrize("cell", WRITE_CELLS, ids=[cell.name for cell in WRITE_CELLS])
def test_write_cell(cell: WriteCell) -> None:
    outcome, requests, posts, resent_blindly, seconds, leaked = run_write_cell(cell)
    assert outcome in cell.outcomes, (outcome, requests, posts, seconds)
    assert requests <= cell.max_requests, (outcome, requests, posts, seconds)
    assert posts <= cell.max_posts, (outcome, requests, posts, seconds)
    assert seconds <= cell.max_seconds, (outcome, requests, posts, seconds)
    assert not (resent_blindly and cell.write == "create")
    assert not leaked
