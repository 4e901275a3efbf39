"""The score gate: which scores must satisfy which bound, and the verdict (docs/check.rst).

One evaluator for the sensor, the trigger, the check operator and the event trigger, so "met" means the
same everywhere: records in, :class:`GateResult` out (:func:`check_gate` fetches them first). A watched
score passes when ``min_value <= record[field] <= max_value``, and with ``max_drop`` when it fell no more
than that since the baseline. Missing data (an absent id, nothing evaluated, a field not reported) is
judged by ``on_missing``; ``match`` says whether all or any must pass; nothing left to judge is never met.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_scorecards.client.coercion import (
    coerce_choice,
    coerce_optional_float,
    coerce_str_list,
    is_none,
)
from airflow_provider_scorecards.client.errors import InvalidParameterError, render_id
from airflow_provider_scorecards.client.pages import (
    DOMAINS,
    INT64_MAX,
    NUMERIC_FIELDS,
    Record,
    nothing_evaluated,
)
from airflow_provider_scorecards.gate.report import (
    absent_warning,
    format_compared,
    format_number,
    render_report,
)

if TYPE_CHECKING:
    from airflow_provider_scorecards.client.client import ScorecardsClient
    from airflow_provider_scorecards.client.query import ScoresQuery

DROP_TOLERANCE = 1e-9
"""Slack on ``max_drop`` for float rounding: 0.62 -> 0.57 is a drop of 0.05, not 0.05000000000000004."""
ABSENT = "absent from the result"
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
    max_drop: float | None = None
    """The largest allowed decrease of ``field`` since the baseline, per watched id (None: no comparison)."""
    on_missing_baseline: str = "pass"
    """With ``max_drop`` and no baseline at all (a first run): ``"pass"`` or ``"fail"``."""

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
        max_drop: Any = None,
        on_missing_baseline: Any = "pass",
        bound_required: bool = True,
    ) -> GateCondition:
        """Coerce and validate every argument; ``bound_required=False`` accepts a gate without a bound."""
        name = "score" if is_none(field) else str(field).strip()
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
        lowest, highest, _ = DOMAINS[name]  # a bound outside the field's domain could never be judged
        score_range = {"minimum": float(lowest), "maximum": None if highest == INT64_MAX else float(highest)}
        low = coerce_optional_float("min_value", min_value, **score_range)
        high = coerce_optional_float("max_value", max_value, **score_range)
        if low is not None and low_score is not None:
            raise InvalidParameterError("min_value", min_value, "give min_score or min_value, not both")
        if high is not None and high_score is not None:
            raise InvalidParameterError("max_value", max_value, "give max_score or max_value, not both")
        low = low if low is not None else low_score
        high = high if high is not None else high_score
        drop = coerce_optional_float("max_drop", max_drop, **score_range)
        if bound_required and low is None and high is None and drop is None:
            raise InvalidParameterError(
                "min_score",
                None,
                "a gate needs a bound: min_score/max_score, min_value/max_value with field, "
                "or max_drop with a baseline",
            )
        if low is not None and high is not None and low > high:
            high_name, high_given = (
                ("max_value", max_value) if high_score is None else ("max_score", max_score)
            )
            low_name = "min_value" if low_score is None else "min_score"
            raise InvalidParameterError(
                high_name,
                high_given,
                f"the upper bound must be >= the lower bound {low_name}={format_number(low)}",
            )
        return cls(
            field=name,
            min_value=low,
            max_value=high,
            match=coerce_choice("match", match, ("all", "any")),
            on_missing=coerce_choice("on_missing", on_missing, ("wait", "fail", "ignore")),
            max_drop=drop,
            on_missing_baseline=(
                "pass"
                if is_none(on_missing_baseline)
                else coerce_choice("on_missing_baseline", on_missing_baseline, ("pass", "fail"))
            ),
            score_ids=coerce_str_list("score_ids", score_ids),
        )

    @property
    def bound(self) -> str:
        """The bound as people read it: ``score >= 0.8``, ``0.2 <= score <= 0.9``, ``total_fail <= 0``."""
        low, high = format_number(self.min_value), format_number(self.max_value)
        if self.min_value is not None and self.max_value is not None:
            return f"{low} <= {self.field} <= {high}"
        if self.min_value is not None:
            return f"{self.field} >= {low}"
        if self.max_value is not None:
            return f"{self.field} <= {high}"
        return f"any {self.field}"

    @property
    def rule(self) -> str:
        """Everything that must hold, for the report's first line: the bound and/or the allowed drop."""
        parts = [] if self.min_value is None and self.max_value is None else [self.bound]
        if self.max_drop is not None:
            parts.append(f"{self.field} drop <= {format_number(self.max_drop)} since the baseline")
        return ", ".join(parts)

    def describe(self) -> dict[str, Any]:
        """Return a JSON-serialisable description (trigger kwargs, logs) that :meth:`build` reads back."""
        data = asdict(self)
        if data["score_ids"] is not None:
            data["score_ids"] = list(data["score_ids"])
        if self.max_drop is None:  # unchanged for every gate without a comparison (trigger kwargs, hashes)
            del data["max_drop"], data["on_missing_baseline"]
        return data

    def evaluate(self, records: list[Record], baseline: Sequence[Record] | None = None) -> GateResult:
        """Judge the fetched records, against ``baseline`` when ``max_drop`` is set.

        ``baseline`` is the records of an earlier snapshot of the same query, or None when there is none
        (``on_missing_baseline`` decides). Both are valid records (decoded by ``client/pages.py``, or read
        back by ``operators/snapshots.py`` through ``pages.record_problem``); a baseline value of None
        counts as "not in the baseline".
        """
        by_id = {record["id"]: record for record in records}
        comparing = self.max_drop is not None and baseline is not None
        before: dict[str, float | None] = {}
        if self.max_drop is not None and baseline is not None:
            before = {r["id"]: r.get(self.field) for r in baseline}  # validated where it was read
        watched = list(self.score_ids) if self.score_ids is not None else list(by_id)
        if self.score_ids is None:  # watching everything: ids that vanished since the baseline count too
            watched += [score_id for score_id in before if score_id not in by_id]
        checks: list[GateCheck] = []
        for score_id in watched:
            record = by_id.get(score_id)
            value = None if record is None else record.get(self.field)
            then = before.get(score_id)
            if record is None and self.score_ids is None:
                was = "not reported" if then is None else format_compared(then, self.field)
                gone = f"gone since the baseline ({self.field} was {was})"
                checks.append(GateCheck(score_id, None, self.bound, None, gone, baseline=then))
            elif record is None:
                closest = closest_ids(score_id, by_id)
                checks.append(GateCheck(score_id, None, self.bound, None, ABSENT, closest, baseline=then))
            elif (unevaluated := nothing_evaluated(record)) is not None:
                checks.append(GateCheck(score_id, value, self.bound, None, unevaluated))
            elif value is None:
                checks.append(GateCheck(score_id, None, self.bound, None, f"{self.field} not reported"))
            else:
                in_bounds = (self.min_value is None or value >= self.min_value) and (
                    self.max_value is None or value <= self.max_value
                )
                regressed = (
                    comparing and then is not None and then - value > (self.max_drop or 0.0) + DROP_TOLERANCE
                )
                checks.append(
                    GateCheck(
                        score_id,
                        value,
                        self.bound,
                        in_bounds and not regressed,
                        None,
                        baseline=then,
                        out_of_bounds=not in_bounds,
                        regressed=regressed,
                    )
                )
        return GateResult(
            self,
            checks,
            by_id,
            baseline_size=len(before) if comparing else None,
            baseline_missing=self.max_drop is not None and baseline is None,
        )


def closest_ids(wanted: str, ids: Iterable[str]) -> tuple[str, ...]:
    """Return up to :data:`CLOSEST_IDS` existing ids most like ``wanted`` (an absent id is often a typo)."""
    import difflib  # only when an id is absent: not at every DAG parse

    return tuple(difflib.get_close_matches(wanted, list(ids), n=CLOSEST_IDS, cutoff=0.6))


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
    baseline: float | None = None
    """The value in the baseline (None: no comparison, or the id is new since the baseline)."""
    out_of_bounds: bool = False
    regressed: bool = False
    """Dropped by more than ``max_drop`` since the baseline."""

    @property
    def missing_text(self) -> str:
        """What data is missing for the id, with the closest existing ids when some exist (a typo, often)."""
        if self.closest:
            return f"{self.missing}; closest ids that exist: {', '.join(map(render_id, self.closest))}"
        return str(self.missing)


class GateResult:
    """The verdict on one fetch: met, not met yet, or failed for good (missing data with on_missing=fail)."""

    def __init__(
        self,
        condition: GateCondition,
        checks: list[GateCheck],
        by_id: dict[str, Record],
        *,
        baseline_size: int | None = None,
        baseline_missing: bool = False,
    ) -> None:
        self.condition = condition
        self.checks = checks
        self._by_id = by_id
        self.baseline_size = baseline_size
        """How many records the baseline held (None: nothing was compared)."""
        self.baseline_missing = baseline_missing
        """``max_drop`` was set but there was no baseline to compare with."""
        judged = [c for c in checks if c.passed is not None]
        self.missing = [c for c in checks if c.passed is None]
        self.failing = [c for c in judged if not c.passed]
        self.passing = [c for c in judged if c.passed]
        self.regressed = [c for c in judged if c.regressed]
        considered_missing = self.missing if condition.on_missing != "ignore" else []
        refused = baseline_missing and condition.on_missing_baseline == "fail"
        if refused:
            self.met = False
        elif condition.match == "any":
            self.met = bool(self.passing)
        else:
            self.met = bool(judged) and not self.failing and not considered_missing
        self.fatal = refused or (not self.met and bool(self.missing) and condition.on_missing == "fail")

    @property
    def passed_records(self) -> list[Record]:
        """The score records that met the condition (what the gate pushes on success)."""
        return [self._by_id[c.id] for c in self.passing]

    def report(self) -> str:
        """Every failing and missing id with its value and the bound (or its drop), one per line."""
        return render_report(self)

    @property
    def absent(self) -> list[GateCheck]:
        """Watched ids the query did not return at all (a typo, or a service not scored yet)."""
        return [c for c in self.missing if c.missing == ABSENT]

    def absent_warning(self) -> str | None:
        """Return a loud one-line warning about absent ids with their closest existing ids, or None."""
        return absent_warning(self)


def check_gate(
    client: ScorecardsClient,
    query: ScoresQuery,
    condition: GateCondition,
    baseline: Sequence[Record] | None = None,
) -> GateResult:
    """One gate check (what a sensor poke, a trigger loop and the check operator each do).

    The API cannot filter by score id, so every score of the query is fetched and the watched ids are
    picked out; narrow the query with filters to keep this cheap. ``baseline``: see
    :meth:`GateCondition.evaluate`.
    """
    return condition.evaluate(client.fetch(query).records, baseline)
