"""Waivers: named, dated exemptions from a gate, so a known straggler does not block everyone else.

``{id: "YYYY-MM-DD"}`` or ``{id: {"until": ..., "reason": ...}}``, a dict or its JSON / Python-literal
text; a date from 2000-01-01 to 2999-12-31, each id once in every form, or ``InvalidParameterError``. A
waiver holds to the end of its UTC day and lets a failing id count as acceptable; it never covers missing
data, so it cannot open a gate on data nobody has. Expired or unmatched waivers are warnings.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from airflow_provider_scorecards.client.coercion import MAX_LIST_ITEMS, mapping_from_text
from airflow_provider_scorecards.client.errors import InvalidParameterError, render_id, render_server_text
from airflow_provider_scorecards.gate.condition import ABSENT, GateCheck, GateResult, closest_ids
from airflow_provider_scorecards.gate.report import failure_reason

PARAMETER = "waivers"
MAX_REASON = 300
"""Longest reason kept (the report and the XCom carry it)."""
MAX_TEXT = 64 * 1024
"""Longest waivers text read (a rendered template)."""
FIRST_DATE = date(2000, 1, 1)
LAST_DATE = date(2999, 12, 31)
"""The range of a waiver's ``until``: every date in it can be compared with any clock without overflow."""
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_FORMS = 'expected {id: "YYYY-MM-DD"} or {id: {"until": "YYYY-MM-DD", "reason": "..."}}'


@dataclass(frozen=True, slots=True)
class Waiver:
    """One id exempted from the gate until the end of ``until`` (UTC), for ``reason``."""

    id: str
    until: date
    reason: str | None = None

    def holds_at(self, now: datetime) -> bool:
        """Whether the waiver holds at ``now`` (an aware datetime): until midnight UTC after ``until``."""
        return now < datetime.combine(self.until + timedelta(days=1), time(), tzinfo=UTC)

    def describe(self) -> dict[str, Any]:
        """Return a JSON-serialisable form (``{"until", "reason"}``) that :func:`parse_waivers` reads."""
        return {"until": self.until.isoformat(), "reason": self.reason}

    def text(self) -> str:
        """``until 2026-12-31 (migrating to the new stack)``."""
        return f"until {self.until.isoformat()}" + (
            f" ({render_server_text(self.reason)})" if self.reason else ""
        )


def parse_waivers(value: Any) -> tuple[Waiver, ...]:
    """Read validated waivers, in id order, from a dict or its rendered text; None or empty: none.

    Raises :class:`InvalidParameterError` naming the waiver and what is allowed.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        value = _from_text(value)
    if not isinstance(value, Mapping):
        raise InvalidParameterError(PARAMETER, value, _FORMS)
    if len(value) > MAX_LIST_ITEMS:
        raise InvalidParameterError(
            PARAMETER, f"<{len(value)} waivers>", f"expected at most {MAX_LIST_ITEMS} waivers"
        )
    waivers: dict[str, Waiver] = {}
    for key, spec in value.items():
        if not isinstance(key, str) or not key.strip():
            raise InvalidParameterError(PARAMETER, {key: spec}, "every waiver needs a non-blank id")
        waiver_id = key.strip()
        if waiver_id in waivers:
            raise InvalidParameterError(PARAMETER, {key: spec}, f"{waiver_id!r} is waived twice")
        waivers[waiver_id] = _waiver(waiver_id, spec, {key: spec})
    return tuple(waivers[key] for key in sorted(waivers))


def describe_waivers(waivers: tuple[Waiver, ...]) -> dict[str, dict[str, Any]]:
    """Waivers as deterministic JSON (trigger kwargs, XCom); :func:`parse_waivers` reads it back."""
    return {waiver.id: waiver.describe() for waiver in waivers}


def _from_text(text: str) -> Any:
    stripped = text.strip()
    if not stripped or stripped.lower() in ("none", "null", "{}"):
        return {}
    return mapping_from_text(
        PARAMETER, text, stripped, max_chars=MAX_TEXT, forms=_FORMS, twice="is waived twice"
    )


def _waiver(waiver_id: str, spec: Any, shown: Any) -> Waiver:
    reason: Any = None
    if isinstance(spec, Mapping):
        unknown = sorted(str(k) for k in spec if k not in ("until", "reason"))
        if unknown:
            raise InvalidParameterError(
                PARAMETER, shown, f"unknown key {unknown[0]!r} in the waiver of {waiver_id!r}; {_FORMS}"
            )
        if "until" not in spec:
            raise InvalidParameterError(PARAMETER, shown, f"the waiver of {waiver_id!r} needs 'until'")
        until, reason = spec["until"], spec.get("reason")
    else:
        until = spec
    if reason is not None and not isinstance(reason, str):
        raise InvalidParameterError(PARAMETER, shown, f"the reason of {waiver_id!r} must be a string")
    text = reason.strip()[:MAX_REASON] if isinstance(reason, str) else None
    return Waiver(waiver_id, _date(waiver_id, until, shown), text or None)


def _date(waiver_id: str, value: Any, shown: Any) -> date:
    day: date | None = None
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    elif isinstance(value, str) and _DATE.fullmatch(value.strip()):
        with contextlib.suppress(ValueError):  # 2026-02-30: refused below
            day = date.fromisoformat(value.strip())
    if day is not None and FIRST_DATE <= day <= LAST_DATE:
        return day
    raise InvalidParameterError(
        PARAMETER,
        shown,
        f"the waiver of {waiver_id!r} needs a date YYYY-MM-DD from {FIRST_DATE} to {LAST_DATE} "
        "(the last day it holds, UTC)",
    )


@dataclass(frozen=True)
class WaivedCheck:
    """A watched score that failed and was let through by a waiver."""

    check: GateCheck
    waiver: Waiver


@dataclass(frozen=True)
class WaivedResult:
    """A gate result with waivers applied: the verdict, what was waived, and the warnings.

    ``result`` is the verdict after waivers (waived checks count as acceptable); ``original`` is the
    verdict without them.
    """

    original: GateResult
    result: GateResult
    waived: list[WaivedCheck]
    expired: list[Waiver]
    unmatched: list[tuple[Waiver, str, tuple[str, ...]]]
    """Waivers that name an id the gate does not watch, or one absent from the result: (waiver, why,
    closest watched ids)."""

    @property
    def met(self) -> bool:
        """Whether the gate is met once waivers are applied."""
        return self.result.met

    @property
    def fatal(self) -> bool:
        """Whether the gate failed for good (missing data with ``on_missing="fail"``)."""
        return self.result.fatal

    @property
    def failing_ids(self) -> list[str]:
        """The ids that fail and are not waived."""
        return [check.id for check in self.result.failing]

    @property
    def missing_ids(self) -> list[str]:
        """The ids with missing data (never waived)."""
        return [check.id for check in self.result.missing]

    @property
    def waived_ids(self) -> list[str]:
        """The ids that failed and were let through by a waiver."""
        return [item.check.id for item in self.waived]

    def warnings(self) -> list[str]:
        """One line per expired or unmatched waiver, for the log."""
        lines = [
            f"Waiver of '{render_id(w.id)}' expired at the end of {w.until.isoformat()} (UTC) and is ignored"
            for w in self.expired
        ]
        for waiver, why, closest in self.unmatched:
            hint = f" (closest watched ids: {', '.join(map(render_id, closest))})" if closest else ""
            lines.append(f"Waiver of '{render_id(waiver.id)}' names an id {why}{hint}")
        return lines

    def report(self) -> str:
        """Write the gate's report, then the waived ids with their reasons, then the warnings."""
        lines = [self.result.report()]
        for item in self.waived:
            why = failure_reason(self.original, item.check)
            lines.append(
                f"  {render_id(item.check.id)}: WAIVED {item.waiver.text()}: {why} (counted as acceptable)"
            )
        lines += [f"  warning: {line}" for line in self.warnings()]
        return "\n".join(lines)


def apply_waivers(result: GateResult, waivers: tuple[Waiver, ...], now: datetime) -> WaivedResult:
    """Apply waivers to a gate result at ``now`` (an aware datetime: the caller's clock).

    A failing check with a waiver that holds counts as acceptable; nothing else changes: missing data,
    passing checks and the gate's other rules are as the result says.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    holding = {w.id: w for w in waivers if w.holds_at(now)}
    expired = [w for w in waivers if not w.holds_at(now)]
    by_id = {check.id: check for check in result.checks}
    waived = [WaivedCheck(c, holding[c.id]) for c in result.checks if c.passed is False and c.id in holding]
    checks = [replace(c, passed=True) if c.passed is False and c.id in holding else c for c in result.checks]
    unmatched: list[tuple[Waiver, str, tuple[str, ...]]] = []
    for waiver in holding.values():
        watched = by_id.get(waiver.id)
        if watched is None:
            unmatched.append((waiver, "the gate does not watch", closest_ids(waiver.id, by_id)))
        elif watched.missing == ABSENT:
            unmatched.append((waiver, "absent from the result", watched.closest))
        elif watched.passed is None:
            unmatched.append((waiver, f"with missing data ({watched.missing}), which no waiver covers", ()))
    after = GateResult(
        result.condition,
        checks,
        result._by_id,  # the same records: only the verdict on the waived ones changes
        baseline_size=result.baseline_size,
        baseline_missing=result.baseline_missing,
    )
    return WaivedResult(result, after, waived, expired, unmatched)
