"""The gate's report: one check's verdict in words, for the task log, the verdict XCom and a person.

The condition decides (:mod:`airflow_provider_scorecards.gate.condition`); this module only words it, so a
change of wording cannot touch a decision. Every id in it is rendered by ``client.errors.render_id``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_scorecards.client.errors import render_id

if TYPE_CHECKING:
    from airflow_provider_scorecards.gate.condition import GateCheck, GateResult

REPORT_MAX_LINES = 50
"""The most failing and missing ids a report lists one per line; the rest are counted."""


def render_report(result: GateResult) -> str:
    """Every failing and missing id with its value and the bound (or its drop), one per line."""
    condition = result.condition
    verdict = "met" if result.met else ("failed" if result.fatal else "not met")
    head = (
        f"Score gate {verdict} ({condition.rule}, match={condition.match}, "
        f"on_missing={condition.on_missing}): {len(result.passing)} passing, {len(result.failing)} failing, "
        f"{len(result.missing)} missing of {len(result.checks)} watched"
    )
    if result.baseline_size is not None:
        new = sum(1 for c in result.checks if c.baseline is None and c.passed is not None)
        head += (
            f"; compared with a baseline of {result.baseline_size} scores: {len(result.regressed)} "
            f"dropped more than {format_number(condition.max_drop)}, {new} new"
        )
    if result.baseline_missing:
        head += (
            "; no baseline to compare with and on_missing_baseline=fail"
            if condition.on_missing_baseline == "fail"
            else "; no baseline to compare with, drops not checked (on_missing_baseline=pass)"
        )
    if not result.checks:
        return head + "; the query returned no scores"
    lines = [f"  {render_id(c.id)}: {failure_reason(result, c)}" for c in result.failing]
    lines += [f"  {render_id(c.id)}: {c.missing_text}" for c in result.missing]
    if len(lines) > REPORT_MAX_LINES:
        lines = [*lines[:REPORT_MAX_LINES], f"  ... and {len(lines) - REPORT_MAX_LINES} more"]
    return "\n".join([head, *lines])


def failure_reason(result: GateResult, check: GateCheck) -> str:
    """Explain why one judged id failed, for the report.

    ``score=0.5, needs score >= 0.8`` and/or ``score 0.62 -> 0.50 (-0.12), allowed drop 0.05``.
    """
    field = result.condition.field
    reasons = []
    if check.out_of_bounds:
        reasons.append(f"{field}={format_number(check.value)}, needs {check.bound}")
    if check.regressed and check.baseline is not None and check.value is not None:
        allowed = result.condition.max_drop or 0.0
        change = signed_change(check.value - check.baseline, allowed, field)
        before, after = format_compared(check.baseline, field), format_compared(check.value, field)
        reasons.append(f"{field} {before} -> {after} ({change}), allowed drop {format_number(allowed)}")
    return "; ".join(reasons)


def absent_warning(result: GateResult) -> str | None:
    """Return a loud one-line warning about absent ids with their closest existing ids, or None."""
    absent = result.absent
    if not absent:
        return None
    items = "; ".join(
        f"'{render_id(c.id)}' (closest: {', '.join(map(render_id, c.closest))})"
        if c.closest
        else f"'{render_id(c.id)}'"
        for c in absent
    )
    return (
        f"{len(absent)} watched id(s) absent from the result: {items}. A typo waits until the timeout "
        f"(on_missing={result.condition.on_missing!r}); check score_ids against the query's ids"
    )


def signed_change(change: float, allowed: float, field: str) -> str:
    """Format the signed change of a regression line.

    With as many decimals as it takes to show that it exceeds the allowance: ``-0.12``, but ``-0.052``
    rather than a ``-0.05`` that would look allowed.
    """
    sign = "-" if change < 0 else "+"
    size = abs(change)
    if field != "score" and float(size).is_integer():
        return f"{sign}{size:.0f}"
    decimals = next((d for d in (2, 3, 4) if round(size, d) > allowed), 6)
    return f"{sign}{size:.{decimals}f}"


def format_number(value: float | None) -> str:
    """Format a bound or an allowance as people write it: ``0.8``, ``3``, ``None``."""
    return "None" if value is None else f"{value:g}"


def format_compared(value: float, field: str) -> str:
    """Format a value of a before/after line.

    Two decimals for scores (``0.50``), whole numbers for counted fields when they are
    (``total_pass 12 -> 9``).
    """
    if field != "score" and float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.2f}"
