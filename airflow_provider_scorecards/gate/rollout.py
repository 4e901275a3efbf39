"""Rolling a gate out: the options (dry run, waivers, explanations) and one verdict from a gate result.

Shadow a gate (``dry_run``), exempt known stragglers (``waivers``), tell owners what to fix (``explain``),
then enforce (docs/gate-rollout.rst). The task classes and the event trigger take the same options; this
module validates them and turns a result into the ``verdict`` document in one order everywhere: decide
(waivers applied), then explain (a failed by-entity gate only, bounded, never changing the decision).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_scorecards.client.coercion import coerce_bool, coerce_int
from airflow_provider_scorecards.client.errors import render_server_text
from airflow_provider_scorecards.gate.explain import (
    DEFAULT_EXPLAIN_LIMIT,
    MAX_EXPLAIN_LIMIT,
    Explanation,
    Explanations,
    explain_failures,
)
from airflow_provider_scorecards.gate.verdict import decision_parts
from airflow_provider_scorecards.gate.waivers import (
    WaivedResult,
    Waiver,
    apply_waivers,
    describe_waivers,
    parse_waivers,
)

if TYPE_CHECKING:
    from airflow_provider_scorecards.client.client import ScorecardsClient
    from airflow_provider_scorecards.client.query import ScoresQuery
    from airflow_provider_scorecards.gate.condition import GateResult

ROLLOUT_ARGS: tuple[str, ...] = ("dry_run", "waivers", "explain", "explain_limit")
"""The rollout arguments of the gate task classes; all are template fields."""


@dataclass(frozen=True)
class RolloutOptions:
    """Validated rollout options. Build them with :meth:`build`."""

    dry_run: bool = False
    waivers: tuple[Waiver, ...] = ()
    explain: bool = True
    explain_limit: int = DEFAULT_EXPLAIN_LIMIT

    @classmethod
    def build(
        cls,
        *,
        dry_run: Any = False,
        waivers: Any = None,
        explain: Any = True,
        explain_limit: Any = DEFAULT_EXPLAIN_LIMIT,
    ) -> RolloutOptions:
        """Coerce and validate the options (rendered values); raise ``InvalidParameterError``."""
        return cls(
            dry_run=coerce_bool("dry_run", dry_run) is True,  # unset: no dry run
            waivers=parse_waivers(waivers),
            explain=coerce_bool("explain", explain) is not False,  # unset: explain
            explain_limit=coerce_int("explain_limit", explain_limit, minimum=1, maximum=MAX_EXPLAIN_LIMIT),
        )

    def describe(self) -> dict[str, Any]:
        """Return a deterministic JSON form (trigger kwargs); :meth:`build` reads it back."""
        return {**asdict(self), "waivers": describe_waivers(self.waivers)}


def decide(result: GateResult, options: RolloutOptions, now: datetime | None = None) -> WaivedResult:
    """Decide on one gate result with the waivers applied (at ``now``, UTC by default)."""
    return apply_waivers(result, options.waivers, now or datetime.now(UTC))


def explain_decision(
    decision: WaivedResult,
    options: RolloutOptions,
    query: ScoresQuery,
    client: Callable[[], ScorecardsClient],
) -> Explanations | None:
    """Explanations of a decision that failed, as :func:`explain_ids` gives them; None when it is met.

    ``client`` builds the explanation client (see
    :func:`~airflow_provider_scorecards.gate.explain.explanation_settings`) only when it is needed; it is
    closed afterwards. A failure to build it is reported as explanations unavailable, like any other.
    """
    return None if decision.met else explain_ids(decision.failing_ids, options, query, client)


def explain_ids(
    failing_ids: list[str],
    options: RolloutOptions,
    query: ScoresQuery,
    client: Callable[[], ScorecardsClient],
) -> Explanations | None:
    """Explanations of failing ids (a decision made elsewhere, such as in the triggerer), or None.

    None unless ``explain`` is on, the query is by-entity and there are failing ids.
    """
    if not (options.explain and query.aggregation == "by-entity" and failing_ids):
        return None
    try:
        explainer = client()
    except Exception as exc:  # an explanation must never fail the gate
        reason = render_server_text(f"{type(exc).__name__}: {exc}", 300)
        ids = failing_ids[: options.explain_limit]
        return Explanations(
            tuple(Explanation(i, unavailable=reason) for i in ids),
            not_explained=len(failing_ids) - len(ids),
            limit=options.explain_limit,
        )
    with explainer:
        return explain_failures(explainer, failing_ids, query=query, limit=options.explain_limit)


def verdict(
    decision: WaivedResult,
    options: RolloutOptions,
    explanations: Explanations | None = None,
    query: ScoresQuery | None = None,
) -> dict[str, Any]:
    """Build the ``verdict`` document (see :mod:`airflow_provider_scorecards.gate.verdict`)."""
    return verdict_from_parts(decision_parts(decision), decision.report(), options, explanations, query)


def verdict_from_parts(
    parts: dict[str, Any],
    report: str,
    options: RolloutOptions,
    explanations: Explanations | None = None,
    query: ScoresQuery | None = None,
) -> dict[str, Any]:
    """Build the ``verdict`` document from a decision's report and its parts.

    The parts are :func:`~airflow_provider_scorecards.gate.verdict.decision_parts`, as a trigger's event
    carries them; the keys are :data:`~airflow_provider_scorecards.gate.verdict.VERDICT_KEYS`. The report
    is followed by the explanations' lines, when there are explanations.
    """
    lines = [report, *(explanations.report_lines() if explanations is not None else [])]
    return {
        "met": bool(parts.get("met")),
        "dry_run": options.dry_run,
        "failing": list(parts.get("failing", [])),
        "missing": list(parts.get("missing", [])),
        "waived": list(parts.get("waived", [])),
        "waivers": dict(parts.get("waivers", {})),
        "report": "\n".join(lines),
        "explanations": {} if explanations is None else explanations.as_dict(),
        "scores": dict(parts.get("scores", {})),
        "query": {} if query is None else query.describe(),
    }
