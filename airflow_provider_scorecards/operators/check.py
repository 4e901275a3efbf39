"""DatadogScoreCheckOperator: check a score gate once, optionally against a baseline snapshot.

For gates where waiting makes no sense (a CI-style check inside a DAG). Imported at every DAG parse (it is
re-exported by :mod:`airflow_provider_scorecards.operators.scores`, where DAGs import it): the hook and
the snapshot code load inside ``execute``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_scorecards._compat import AirflowFailException
from airflow_provider_scorecards.client.coercion import coerce_choice, coerce_optional_float, is_unset
from airflow_provider_scorecards.client.errors import InvalidParameterError
from airflow_provider_scorecards.gate.condition import GateCondition
from airflow_provider_scorecards.gate.verdict import dry_run_message
from airflow_provider_scorecards.operators.base import (
    GATE_ARGS,
    DatadogScorecardsGateBaseOperator,
    GateArguments,
    coerce_once_on_missing,
    is_run_time_value,
    refusing_arguments,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_scorecards.client.pages import Record

COMPARISON_ARGS = ("max_drop", "baseline", "on_missing_baseline")
"""The check's own arguments, which compare with an earlier snapshot."""


class DatadogScoreCheckOperator(DatadogScorecardsGateBaseOperator):
    """Check a score gate once: met → the records that met it; not met → fail without retries.

    The query arguments, ``datadog_conn_id`` and the gate arguments are those of
    :class:`~airflow_provider_scorecards.operators.base.DatadogScorecardsGateBaseOperator`.

    Not met raises ``AirflowFailException`` whose message lists every failing id with its value and the
    bound, like common.sql's threshold checks: a tripped gate is an answer, not a transient error.

    Rolling it out: ``dry_run``, ``waivers``, ``explain`` and ``explain_limit`` (see
    :class:`~airflow_provider_scorecards.operators.base.DatadogScorecardsGateBaseOperator`); the ``verdict``
    XCom says what was decided, dry run or not.

    Regression gate: ``max_drop`` (with or without bounds) compares each watched id with ``baseline``, the
    records of an earlier snapshot of the same query, and fails any id whose ``field`` dropped by more
    than ``max_drop`` (``team-payments: score 0.62 -> 0.50 (-0.12), allowed drop 0.05``).

    :param on_missing: what an absent id or a score with denominator 0 means: ``"fail"`` (default) or
        ``"ignore"`` (templated); there is nothing to wait for.
    :param baseline: a path (anything ``ObjectStoragePath`` accepts) to a snapshot written by
        :class:`~airflow_provider_scorecards.operators.scores.DatadogScorecardScoresOperator`'s
        ``output_path``, or a list of records, or its JSON text (templated). Read and validated before
        any request; a baseline that is not a valid snapshot fails the task with the path and the line.
        Ids new since the baseline pass; ids in it that are gone now follow ``on_missing``.
    :param max_drop: the largest allowed decrease of ``field`` per watched id (templated; absolute: 0.05
        for a score).
    :param on_missing_baseline: no baseline at ``baseline`` (the first run): ``"pass"`` (default; the
        bounds alone decide and a warning says nothing was compared) or ``"fail"`` (templated).
    """

    template_fields: Sequence[str] = (*DatadogScorecardsGateBaseOperator.template_fields, *COMPARISON_ARGS)
    bound_replaced_by_comparison = True  # max_drop with a baseline is a bound too

    @refusing_arguments
    def __init__(
        self,
        *,
        on_missing: str = "fail",
        baseline: str | list[dict[str, Any]] | None = None,
        max_drop: float | str | None = None,
        on_missing_baseline: str = "pass",
        **kwargs: Any,
    ) -> None:
        super().__init__(on_missing=on_missing, **kwargs)
        self.baseline = baseline
        self.max_drop = max_drop
        self.on_missing_baseline = on_missing_baseline
        self.validate_plain_arguments(
            {
                "on_missing": coerce_once_on_missing,
                "max_drop": lambda v: coerce_optional_float("max_drop", v, minimum=0.0),
                "on_missing_baseline": lambda v: coerce_choice("on_missing_baseline", v, ("pass", "fail")),
            }
        )
        self._validate_comparison_at_parse()

    def _validate_comparison_at_parse(self) -> None:
        """``max_drop`` and ``baseline`` go together, and a check needs a bound or a ``max_drop``.

        Only when every gate argument is a plain value (a template may still render to anything); the
        same rules apply to the rendered values in :meth:`gate_condition` and :meth:`_baseline`.
        """
        if any(is_run_time_value(getattr(self, name)) for name in (*GATE_ARGS, *COMPARISON_ARGS)):
            return
        _check_pairing(self.gate_condition().max_drop, self.baseline)  # every bound checked as at run time

    def gate_condition(self) -> GateCondition:
        """Build the condition from the rendered arguments: the gate arguments plus the comparison."""
        return GateCondition.build(
            **self.gate_values(), max_drop=self.max_drop, on_missing_baseline=self.on_missing_baseline
        )

    def execute(self, context: Context) -> Any:
        """Check the gate once; return the records that met it, or fail without retries.

        The ``verdict`` XCom is pushed either way; with ``dry_run`` the task never fails on the verdict.
        """
        _, options, decision, verdict = self.check_once(context, self._baseline)
        if options.dry_run:
            self.log.warning("%s", dry_run_message(verdict))
        elif not decision.met:
            raise AirflowFailException(verdict["report"])
        else:
            self.log.info("%s", verdict["report"])
        return decision.result.passed_records

    def _baseline(self, args: GateArguments) -> list[Record] | None:
        """Read the baseline's records (validated), or None when there is none yet; log which it is."""
        condition = args.condition
        _check_pairing(condition.max_drop, self.baseline)
        if condition.max_drop is None:
            return None
        from airflow_provider_scorecards.operators.snapshots import load_baseline

        loaded = load_baseline(self.baseline, field=condition.field, aggregation=args.query.aggregation)
        if loaded.records is None:
            self.log.warning(
                "No baseline to compare with (%s): the first run has nothing to compare with; "
                "on_missing_baseline=%r, so %s",
                loaded.source,
                condition.on_missing_baseline,
                "the check fails" if condition.on_missing_baseline == "fail" else "drops are not checked",
            )
        else:
            self.log.info(
                "Comparing with %s (%d records): %s may drop by at most %s",
                loaded.source,
                len(loaded.records),
                condition.field,
                condition.max_drop,
            )
        return loaded.records


def _check_pairing(max_drop: float | None, baseline: Any) -> None:
    """Refuse a baseline without ``max_drop``, and ``max_drop`` without a baseline (blank or None)."""
    if max_drop is None and not is_unset(baseline):
        raise InvalidParameterError(
            "max_drop", None, "a baseline is only compared with max_drop: give the largest allowed drop"
        )
    if max_drop is not None and is_unset(baseline):
        raise InvalidParameterError(
            "baseline", baseline, "max_drop compares with a baseline: give a snapshot path or records"
        )
