"""Print the fault matrix: every simulator fault and hostile server, against the fetch path and the trigger.

The cells, their bounds and the runners are ``tests/reliability/fault_matrix.py``'s, whose tests assert
the bounds of every cell; this script runs them all and prints the table that the reliability page shows.

    python benchmarks/faults.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for tests/
from tests.reliability.fault_matrix import (
    ENTITIES,
    FETCH_CELLS,
    HOSTILE_CELLS,
    PAGE_LIMIT,
    PAGES,
    TRIGGER_CELLS,
    run_fetch_cell,
    run_hostile_cell,
    run_trigger_cell,
)


def main() -> int:
    rows = [run_fetch_cell(cell, c) for cell in FETCH_CELLS for c in (1, 8)]
    rows += [run_trigger_cell(cell) for cell in TRIGGER_CELLS]
    cells = {cell.name: cell for cell in (*FETCH_CELLS, *TRIGGER_CELLS)}
    print(
        f"Fault matrix: {ENTITIES} scores in pages of {PAGE_LIMIT} ({PAGES} requests without faults); "
        "retries: 5, backoff base 10 ms, timeout 2 s"
    )
    print()
    print("| cell | concurrency | outcome | requests (bound) | wall s (bound) | holds |")
    print("| --- | --- | --- | --- | --- | --- |")
    failures = 0
    for row in rows:
        cell = cells[row.cell]
        holds = row.within_bounds(cell)
        failures += not holds
        concurrency = "trigger" if row.concurrency is None else str(row.concurrency)
        print(
            f"| {row.cell} | {concurrency} | {row.outcome} | {row.requests} ({cell.max_requests}) | "
            f"{row.seconds:.2f} ({cell.max_seconds:g}) | {'yes' if holds else 'NO'} |"
        )
    for name, behave, outcomes, max_requests, max_seconds in HOSTILE_CELLS:
        outcome, requests, seconds, leaked = run_hostile_cell(name, behave)
        holds = outcome in outcomes and requests <= max_requests and seconds <= max_seconds and not leaked
        failures += not holds
        print(
            f"| hostile: {name} | 1 | {outcome}{' (KEY LEAKED)' if leaked else ''} | {requests} "
            f"({max_requests}) | {seconds:.2f} ({max_seconds:g}) | {'yes' if holds else 'NO'} |"
        )
    return 1 if failures else 0


if __name__ == "__main__":
    os.environ.setdefault(
        "AIRFLOW_HOME", os.path.join(os.path.dirname(__file__), "..", ".demo", "faults-home")
    )
    sys.exit(main())
