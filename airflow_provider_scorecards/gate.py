"""The score gate: which scores must satisfy which bound, and the verdict with a readable report.

One piece of code decides for the sensor, the trigger and the check operator, so "met" means the same
thing wherever a gate is used. Plain Python with no Airflow import: records in, :class:`GateResult` out
(:func:`check_gate` fetches the records of a query with a client first).

Semantics (also in the README):

- The watched scores are ``score_ids``, or every score the query returned when ``score_ids`` is None.
- A watched score passes when ``min_value <= record[field] <= max_value`` (inclusive; either bound may be
  omitted). ``min_score``/``max_score`` are the bounds of ``field="score"`` and must lie in 0..1.
- Missing data: a watched id absent from the result, a score whose ``denominator`` is 0 (nothing was
  evaluated), or a record without ``field``. ``on_missing`` says what it means: ``"wait"`` (not met yet),
  ``"fail"`` (the gate fails now), ``"ignore"`` (left out of the decision).
- ``match="all"``: met when every watched score passes and none is missing (unless ignored).
  ``match="any"``: met when at least one passes.
- A gate with nothing left to judge (no scores at all, or every one ignored) is never met: an empty
  result must not open a deployment gate.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_scorecards.client.coercion import coerce_optional_float, coerce_str_list, is_unset
from airflow_provider_scorecards.client.errors import InvalidParameterError
from airflow_provider_scorecards.client.pages import NUMERIC_FIELDS, Record

if TYPE_CHECKING:
    from airflow_provider_scorecards.client.client import ScorecardsClient
    from airflow_provider_scorecards.client.query import ScoresQuery

MATCH_MODES = ("all", "any")
ON_MISSING = ("wait", "fail", "ignore")
REPORT_MAX_LINES = 50
CLOSEST_IDS = 3
"""How many existing ids are suggested for a watched id that is absent (a likely typo)."""


@dataclass(frozen=True)
class GateCondition:
    """What must hold, validated. Build it with :meth:`build`."""

    field: str = "score"
    min_value: float | None = None
    max_value: float | None = None
    match: str = "all"
    on_missing: str = "wait"
    score_ids: tuple[str, ...] | None = None

    @classmethod
    def build(
        cls,
        *,
        min_score: Any = None,
        max_score: Any = None,
        field: Any = None,
        min_value: Any = None,
        max_value: Any = None,
        match: Any = "all",
        on_missing: Any = "wait",
        score_ids: Any = None,
    ) -> GateCondition:
        name = "score" if is_unset(field) else str(field).strip()
        if name not in NUMERIC_FIELDS:
            raise InvalidParameterError("field", field, f"expected one of {', '.join(NUMERIC_FIELDS)}")
        low_score = coerce_optional_float("min_score", min_score, minimum=0.0, maximum=1.0)
        high_score = coerce_optional_float("max_score", max_score, minimum=0.0, maximum=1.0)
        if (low_score is not None or high_score is not None) and name != "score":
            raise InvalidParameterError(
                "min_score" if low_score is not None else "max_score",
                min_score if low_score is not None else max_score,
                f"min_score/max_score bound the score; with field={name!r} use min_value/max_value",
            )
        score_range = {"minimum": 0.0, "maximum": 1.0} if name == "score" else {"minimum": 0.0}
        low = coerce_optional_float("min_value", min_value, **score_range)
        high = coerce_optional_float("max_value", max_value, **score_range)
        if low is not None and low_score is not None:
            raise InvalidParameterError("min_value", min_value, "give min_score or min_value, not both")
        if high is not None and high_score is not None:
            raise InvalidParameterError("max_value", max_value, "give max_score or max_value, not both")
        low = low if low is not None else low_score
        high = high if high is not None else high_score
        if low is None and high is None:
            raise InvalidParameterError(
                "min_score",
                None,
                "a gate needs a bound: min_score/max_score, or min_value/max_value with field",
            )
        if low is not None and high is not None and low > high:
            raise InvalidParameterError(
                "max_value", high, f"the upper bound must be >= the lower bound {low}"
            )
        match_mode = str(match).strip().lower() if isinstance(match, str) else match
        if match_mode not in MATCH_MODES:
            raise InvalidParameterError("match", match, "expected 'all' or 'any'")
        missing = str(on_missing).strip().lower() if isinstance(on_missing, str) else on_missing
        if missing not in ON_MISSING:
            raise InvalidParameterError("on_missing", on_missing, "expected 'wait', 'fail' or 'ignore'")
        return cls(
            field=name,
            min_value=low,
            max_value=high,
            match=match_mode,
            on_missing=missing,
            score_ids=coerce_str_list("score_ids", score_ids),
        )

    @property
    def bound(self) -> str:
        """The bound as people read it: ``score >= 0.8``, ``0.2 <= score <= 0.9``, ``total_fail <= 0``."""
        low, high = _fmt(self.min_value), _fmt(self.max_value)
        if self.min_value is not None and self.max_value is not None:
            return f"{low} <= {self.field} <= {high}"
        if self.min_value is not None:
            return f"{self.field} >= {low}"
        return f"{self.field} <= {high}"

    def describe(self) -> dict[str, Any]:
        data = asdict(self)
        if data["score_ids"] is not None:
            data["score_ids"] = list(data["score_ids"])
        return data

    @classmethod
    def from_description(cls, data: dict[str, Any]) -> GateCondition:
        return cls.build(
            field=data.get("field"),
            min_value=data.get("min_value"),
            max_value=data.get("max_value"),
            match=data.get("match", "all"),
            on_missing=data.get("on_missing", "wait"),
            score_ids=data.get("score_ids"),
        )

    def evaluate(self, records: list[Record]) -> GateResult:
        """Judge the fetched records; never raises for any well-formed record list."""
        by_id = {record["id"]: record for record in records}
        watched = list(self.score_ids) if self.score_ids is not None else list(by_id)
        checks: list[GateCheck] = []
        for score_id in watched:
            record = by_id.get(score_id)
            value = None if record is None else record.get(self.field)
            if record is None:
                closest = tuple(difflib.get_close_matches(score_id, by_id, n=CLOSEST_IDS, cutoff=0.6))
                checks.append(GateCheck(score_id, None, self.bound, None, "absent from the result", closest))
            elif record.get("denominator") == 0 and self.field in ("score", "numerator", "denominator"):
                checks.append(GateCheck(score_id, value, self.bound, None, "no data (denominator is 0)"))
            elif value is None:
                checks.append(GateCheck(score_id, None, self.bound, None, f"{self.field} not reported"))
            else:
                ok = (self.min_value is None or value >= self.min_value) and (
                    self.max_value is None or value <= self.max_value
                )
                checks.append(GateCheck(score_id, value, self.bound, ok, None))
        return GateResult(self, checks, by_id)


@dataclass(frozen=True)
class GateCheck:
    """One watched score: its value, the bound, and whether it passed (None = missing data)."""

    id: str
    value: float | None
    bound: str
    passed: bool | None
    missing: str | None
    closest: tuple[str, ...] = ()
    """For an id absent from the result: the most similar ids that do exist (a typo is the usual cause)."""

    @property
    def missing_text(self) -> str:
        if self.closest:
            return f"{self.missing}; closest ids that exist: {', '.join(self.closest)}"
        return str(self.missing)


class GateResult:
    """The verdict on one fetch: met, not met yet, or failed for good (missing data with on_missing=fail)."""

    def __init__(self, condition: GateCondition, checks: list[GateCheck], by_id: dict[str, Record]) -> None:
        self.condition = condition
        self.checks = checks
        self._by_id = by_id
        judged = [c for c in checks if c.passed is not None]
        self.missing = [c for c in checks if c.passed is None]
        self.failing = [c for c in judged if not c.passed]
        self.passing = [c for c in judged if c.passed]
        considered_missing = self.missing if condition.on_missing != "ignore" else []
        if condition.match == "any":
            self.met = bool(self.passing)
        else:
            self.met = bool(judged) and not self.failing and not considered_missing
        self.fatal = not self.met and bool(self.missing) and condition.on_missing == "fail"

    @property
    def passed_records(self) -> list[Record]:
        """The score records that met the condition (what the gate pushes on success)."""
        return [self._by_id[c.id] for c in self.passing]

    def report(self) -> str:
        """Every failing and missing id with its value and the bound, one per line."""
        condition = self.condition
        verdict = "met" if self.met else ("failed" if self.fatal else "not met")
        head = (
            f"Score gate {verdict} ({condition.bound}, match={condition.match}, "
            f"on_missing={condition.on_missing}): {len(self.passing)} passing, {len(self.failing)} failing, "
            f"{len(self.missing)} missing of {len(self.checks)} watched"
        )
        if not self.checks:
            return head + "; the query returned no scores"
        lines = [f"  {c.id}: {condition.field}={_fmt(c.value)}, needs {c.bound}" for c in self.failing]
        lines += [f"  {c.id}: {c.missing_text}" for c in self.missing]
        if len(lines) > REPORT_MAX_LINES:
            lines = [*lines[:REPORT_MAX_LINES], f"  ... and {len(lines) - REPORT_MAX_LINES} more"]
        return "\n".join([head, *lines])

    @property
    def absent(self) -> list[GateCheck]:
        """Watched ids the query did not return at all (a typo, or a service not scored yet)."""
        return [c for c in self.missing if c.missing == "absent from the result"]

    def absent_warning(self) -> str | None:
        """A loud one-line warning about absent ids with their closest existing ids, or None."""
        absent = self.absent
        if not absent:
            return None
        items = "; ".join(
            f"{c.id!r} (closest: {', '.join(c.closest)})" if c.closest else repr(c.id) for c in absent
        )
        return (
            f"{len(absent)} watched id(s) absent from the result: {items}. A typo waits until the timeout "
            f"(on_missing={self.condition.on_missing!r}); check score_ids against the query's ids"
        )


def _fmt(value: float | None) -> str:
    if value is None:
        return "None"
    return f"{value:g}"


def check_gate(client: ScorecardsClient, query: ScoresQuery, condition: GateCondition) -> GateResult:
    """One gate check (what a sensor poke, a trigger loop and the check operator each do).

    The API cannot filter by score id, so every score of the query is fetched and the watched ids are
    picked out; narrow the query with filters to keep this cheap.
    """
    return condition.evaluate(client.fetch(query).records)
