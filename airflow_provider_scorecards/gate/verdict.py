"""The ``verdict``: one JSON document per gate evaluation, for downstream tasks and dashboards.

``{"met", "dry_run", "failing", "missing", "waived", "waivers", "report", "explanations"}``: ``met`` is
the verdict after waivers whatever ``dry_run`` says; the id lists and the ``waivers`` keys are rendered
like all server text; ``report`` is the text the log shows (docs/gate-rollout.rst has an example).
"""

from __future__ import annotations

from typing import Any

from airflow_provider_scorecards.client.errors import render_id
from airflow_provider_scorecards.gate.explain import Explanations
from airflow_provider_scorecards.gate.waivers import WaivedResult

VERDICT_KEYS: tuple[str, ...] = (
    "met",
    "dry_run",
    "failing",
    "missing",
    "waived",
    "waivers",
    "report",
    "explanations",
)
"""Keys of every verdict, in order."""


def full_report(waived: WaivedResult, explanations: Explanations | None = None) -> str:
    """Write the gate's report with waivers applied, then the explanations (when there are any)."""
    lines = [waived.report()]
    if explanations is not None:
        lines += explanations.report_lines()
    return "\n".join(lines)


def build_verdict(
    waived: WaivedResult, *, dry_run: bool, explanations: Explanations | None = None
) -> dict[str, Any]:
    """Build the ``verdict`` document of one evaluation (JSON-serialisable, keys :data:`VERDICT_KEYS`)."""
    return {
        "met": waived.met,
        "dry_run": dry_run,
        **decision_ids(waived),
        "report": full_report(waived, explanations),
        "explanations": {} if explanations is None else explanations.as_dict(),
    }


def decision_ids(waived: WaivedResult) -> dict[str, Any]:
    """Return the ids of a decision as the verdict shows them (each rendered: they came from a server)."""
    return {
        "failing": [render_id(i) for i in waived.failing_ids],
        "missing": [render_id(i) for i in waived.missing_ids],
        "waived": [render_id(i) for i in waived.waived_ids],
        "waivers": {render_id(item.check.id): item.waiver.describe() for item in waived.waived},
    }


def dry_run_message(verdict: dict[str, Any]) -> str:
    """Write the log line of a dry run: what would have happened, with the report."""
    outcome = "would have passed" if verdict["met"] else "would have failed"
    return f"DRY RUN: the gate {outcome}: {verdict['report']}"
