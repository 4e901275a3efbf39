"""The ``verdict``: one JSON document per gate evaluation, for downstream tasks and dashboards.

``{"met", "dry_run", "failing", "missing", "waived", "waivers", "report", "explanations", "scores",
"query"}``: ``met`` is the verdict after waivers whatever ``dry_run`` says; the id lists and the
``waivers`` and ``scores`` keys are rendered like all server text; ``report`` is the text the log shows
(docs/gate-rollout.rst has an example); ``scores`` holds ``{"value", "bound", "baseline"}`` of the judged
ids, the failing ones (before waivers) first, at most :data:`MAX_SCORES`; ``query`` is the query's
description (the Scorecards view in Airflow's UI shows them). This module words a decision's parts
(:func:`decision_parts`); :func:`~airflow_provider_scorecards.gate.rollout.verdict` assembles the document.
"""

from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING, Any

from airflow_provider_scorecards.client.errors import render_id
from airflow_provider_scorecards.gate.waivers import WaivedResult

if TYPE_CHECKING:
    from airflow_provider_scorecards.gate.condition import GateCheck

VERDICT_KEYS: tuple[str, ...] = (
    "met",
    "dry_run",
    "failing",
    "missing",
    "waived",
    "waivers",
    "report",
    "explanations",
    "scores",
    "query",
)
"""Keys of every verdict, in order."""

MAX_SCORES = 50
"""At most this many ids in a verdict's ``scores``."""


def decision_parts(waived: WaivedResult) -> dict[str, Any]:
    """Return a decision's ``met`` and ids as the verdict shows them (each rendered: they came from a server).

    What a trigger's event carries of a decision, so the task can write its verdict (JSON).
    """
    return {
        "met": waived.met,
        "failing": [render_id(i) for i in waived.failing_ids],
        "missing": [render_id(i) for i in waived.missing_ids],
        "waived": [render_id(i) for i in waived.waived_ids],
        "waivers": {render_id(item.check.id): item.waiver.describe() for item in waived.waived},
        "scores": {
            render_id(c.id): {"value": c.value, "bound": c.bound, "baseline": c.baseline}
            for c in _scored(waived)
        },
    }


def _scored(waived: WaivedResult) -> list[GateCheck]:
    """Return the checks of ``scores``: failing (before waivers) first, then passing ones (bounded work)."""
    failing = waived.original.failing[:MAX_SCORES]
    passing = (c for c in waived.original.checks if c.passed and c.value is not None)
    return [*failing, *islice(passing, MAX_SCORES - len(failing))]


def dry_run_message(verdict: dict[str, Any]) -> str:
    """Write the log line of a dry run: what would have happened, with the report."""
    outcome = "would have passed" if verdict["met"] else "would have failed"
    return f"DRY RUN: the gate {outcome}: {verdict['report']}"
