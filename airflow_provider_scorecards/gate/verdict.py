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


def build_verdict(
    waived: WaivedResult, *, dry_run: bool, explanations: Explanations | None = None
) -> dict[str, Any]:
    """Build the ``verdict`` document of one evaluation (JSON-serialisable, keys :data:`VERDICT_KEYS`)."""
    parts = {"met": waived.met, **decision_ids(waived)}
    return verdict_document(parts, waived.report(), dry_run=dry_run, explanations=explanations)


def verdict_document(
    parts: dict[str, Any], report: str, *, dry_run: bool, explanations: Explanations | None = None
) -> dict[str, Any]:
    """Build the ``verdict`` document from a decision's ``met`` and ids, and its report (waivers applied).

    The report is followed by the explanations' lines, when there are explanations.
    """
    lines = [report, *(explanations.report_lines() if explanations is not None else [])]
    return {
        "met": bool(parts.get("met")),
        "dry_run": dry_run,
        "failing": list(parts.get("failing", [])),
        "missing": list(parts.get("missing", [])),
        "waived": list(parts.get("waived", [])),
        "waivers": dict(parts.get("waivers", {})),
        "report": "\n".join(lines),
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
