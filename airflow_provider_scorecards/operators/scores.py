"""Operators: fetch every score of a query (DatadogScorecardScoresOperator), check a gate once
(DatadogScoreCheckOperator).

This module is imported by every DAG file that uses the provider, at every parse, so it imports only
what a parse needs (argument validation); ``requests``, the retry machinery and object storage load
inside ``execute``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

from airflow_provider_scorecards._compat import AirflowFailException
from airflow_provider_scorecards.client.coercion import (
    coerce_bool,
    coerce_int,
    coerce_optional_float,
    coerce_optional_int,
    coerce_optional_str,
    is_unset,
)
from airflow_provider_scorecards.client.errors import InvalidParameterError
from airflow_provider_scorecards.client.pagination import MAX_CONCURRENCY
from airflow_provider_scorecards.client.query import DEFAULT_PAGE_LIMIT
from airflow_provider_scorecards.gate import GateCondition
from airflow_provider_scorecards.hooks import DEFAULT_CONN_ID
from airflow_provider_scorecards.links import ScorecardsLink
from airflow_provider_scorecards.task_mixin import (
    GATE_ARGS,
    LIST_RENDERERS,
    QUERY_ARGS,
    ScorecardsTaskMixin,
    failing_fast,
    is_deferred_value,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_scorecards.client.pages import Page, Record
    from airflow_provider_scorecards.client.query import ScoresQuery
    from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook

__all__ = ["DatadogScoreCheckOperator", "DatadogScorecardScoresOperator", "ScorecardsLink"]

XCOM_WARN_RECORDS = 10_000
"""Above this many records pushed to XCom, a warning suggests ``output_path``."""


FETCH_CHECKS: dict[str, Callable[[Any], Any]] = {
    "max_results": lambda v: coerce_optional_int("max_results", v, minimum=1),
    "concurrency": lambda v: coerce_int("concurrency", v, minimum=1, maximum=MAX_CONCURRENCY),
    "raw": lambda v: coerce_bool("raw", v) or False,
    "output_path": lambda v: coerce_optional_str("output_path", v),
}
"""Coercers of the operator's own (non-query) arguments, applied at parse when plain and after rendering."""


class DatadogScorecardScoresOperator(ScorecardsTaskMixin, BaseOperator):
    """Fetch every score of a Datadog Scorecards query and push them via XCom.

    The return value is a list of flat records (see :mod:`airflow_provider_scorecards.records`), one per
    score, in the API's order; XCom ``summary`` holds count, mean/min/max score, totals, the query and the
    fetch time. With ``output_path`` the records are written as JSON Lines instead and the return value is
    ``{"path": ..., "count": ...}``.

    :param aggregation: ``by-entity``, ``by-rule``, ``by-scorecard``, ``by-team`` or ``by-kind``.
    :param rule_ids: only scores of these rules (list or comma-separated string).
    :param rule_name: only scores of the rule with this name.
    :param rule_levels: only rules of these levels (1-3).
    :param scorecard_ids: only rules of these scorecards.
    :param is_custom: only custom (True) or only built-in (False) rules.
    :param is_enabled: only enabled (True) or only disabled (False) rules.
    :param sort: ``score``, ``numerator``, ``denominator``, ``total_pass``, ``total_fail``, ``total_skip``,
        ``total_no_data``; prefix ``-`` for descending.
    :param page_limit: scores per request, 1-1000 (default 1000: fewest requests).
    :param max_results: stop after this many scores (default: all).
    :param concurrency: pages fetched in parallel once the total is known (default 4; 1 = sequential).
    :param raw: push the JSON:API objects unchanged instead of flat records.
    :param output_path: write records as JSON Lines to this path (anything ``ObjectStoragePath`` accepts);
        keeps large results out of the metadata database.
    :param datadog_conn_id: the connection to use.

    With ``outlets=[Asset(...)]`` every asset event the task emits carries the run's summary as its
    ``extra`` (``count``, ``mean_score``, ``min_score``, ``max_score``, ``fetched_at``, ``query``, and
    ``path`` with ``output_path``), so a DAG scheduled on the asset reads what it needs from
    ``triggering_asset_events`` without opening the snapshot.
    """

    template_fields: Sequence[str] = (
        *QUERY_ARGS,
        "max_results",
        "concurrency",
        "output_path",
        "datadog_conn_id",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = LIST_RENDERERS

    def __init__(
        self,
        *,
        aggregation: str,
        rule_ids: list[str] | str | None = None,
        rule_name: str | None = None,
        rule_levels: list[int] | str | None = None,
        scorecard_ids: list[str] | str | None = None,
        is_custom: bool | str | None = None,
        is_enabled: bool | str | None = None,
        sort: str | None = None,
        page_limit: int | str = DEFAULT_PAGE_LIMIT,
        max_results: int | str | None = None,
        concurrency: int | str = 4,
        raw: bool = False,
        output_path: str | None = None,
        datadog_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.aggregation = aggregation
        self.rule_ids = rule_ids
        self.rule_name = rule_name
        self.rule_levels = rule_levels
        self.scorecard_ids = scorecard_ids
        self.is_custom = is_custom
        self.is_enabled = is_enabled
        self.sort = sort
        self.page_limit = page_limit
        self.max_results = max_results
        self.concurrency = concurrency
        self.raw = raw
        self.output_path = output_path
        self.datadog_conn_id = datadog_conn_id
        self.validate_plain_arguments(checks=FETCH_CHECKS)

    def _settings(self) -> dict[str, Any]:
        """Rendered arguments, coerced and validated; raises before any request is sent."""
        settings = {name: check(getattr(self, name)) for name, check in FETCH_CHECKS.items()}
        settings["query"] = self.scores_query()
        settings["datadog_conn_id"] = self.connection_id()
        return settings

    def execute(self, context: Context) -> Any:
        with failing_fast():
            return self._fetch(context)

    def _fetch(self, context: Context) -> Any:
        import pendulum

        from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook

        settings = self._settings()
        query: ScoresQuery = settings["query"]
        hook = DatadogScorecardsHook(settings["datadog_conn_id"], concurrency=settings["concurrency"])
        self.scorecards_ui_url = _ui_url(hook)
        fetched_at = pendulum.now("UTC")
        self.log.info("Fetching %s scores from %s: %s", query.aggregation, hook.base_url, _describe(query))
        try:
            pages = hook.get_conn().stream(query, max_results=settings["max_results"], raw=settings["raw"])
            result: dict[str, Any] | list[dict[str, Any]]
            if settings["output_path"]:
                result, summary = _write_jsonl(settings["output_path"], pages, raw=settings["raw"])
            else:
                result, summary = _collect(pages, raw=settings["raw"])
        finally:
            hook.close()
        stats = pages.stats
        self.log.info(
            "Fetched %d scores in %d pages (%d requests, %d retries, %d duplicates dropped)",
            summary["count"],
            stats.pages,
            stats.requests,
            stats.retries,
            stats.duplicates,
        )
        if not settings["output_path"] and summary["count"] > XCOM_WARN_RECORDS:
            self.log.warning(
                "Pushing %d records to XCom; set output_path to write them to object storage instead "
                "and keep the metadata database small",
                summary["count"],
            )
        summary.update(
            query=query.describe(),
            max_results=settings["max_results"],
            fetched_at=fetched_at.to_iso8601_string(),
            pages=stats.pages,
            requests=stats.requests,
            retries=stats.retries,
            duplicates_dropped=stats.duplicates,
            output_path=result["path"] if isinstance(result, dict) else None,
        )
        context["ti"].xcom_push(key="summary", value=summary)
        self._describe_asset_events(context, summary)
        return result

    def _describe_asset_events(self, context: Context, summary: dict[str, Any]) -> None:
        """Put the snapshot's summary in the ``extra`` of each asset event this task emits.

        Only ``Asset`` outlets: an ``AssetAlias`` needs the task to name the asset it resolves to, which
        is the DAG author's decision, not ours. The extra is updated, not replaced, so what a
        ``pre_execute`` or ``post_execute`` of the author's put there stays.
        """
        from airflow.sdk import Asset

        assets = [outlet for outlet in self.outlets if isinstance(outlet, Asset)]
        if not assets:
            return
        extra = asset_event_extra(summary)
        for asset in assets:
            context["outlet_events"][asset].extra.update(extra)


class DatadogScoreCheckOperator(ScorecardsTaskMixin, BaseOperator):
    """Check a score gate once: met → the records that met it; not met → fail without retries.

    For gates where waiting makes no sense (a CI-style check inside a DAG); it takes the query arguments
    of :class:`DatadogScorecardScoresOperator` and the condition arguments of
    :class:`~airflow_provider_scorecards.sensors.scores.DatadogScoreThresholdSensor`. Missing data
    (``on_missing``) can only be ``"fail"`` (default) or ``"ignore"``: there is nothing to wait for.

    Not met raises ``AirflowFailException`` whose message lists every failing id with its value and the
    bound, like common.sql's threshold checks: a tripped gate is an answer, not a transient error.

    Regression gate: ``max_drop`` (with or without bounds) compares each watched id with ``baseline``, the
    records of an earlier snapshot of the same query, and fails any id whose ``field`` dropped by more
    than ``max_drop`` (``team-payments: score 0.62 -> 0.50 (-0.12), allowed drop 0.05``).

    :param baseline: a path (templated; anything ``ObjectStoragePath`` accepts) to a snapshot written by
        :class:`DatadogScorecardScoresOperator`'s ``output_path``, or a list of records (or its JSON text).
        Read and validated before any request; a baseline that is not a valid snapshot fails the task
        with the path and the line. Ids new since the baseline pass; ids in it that are gone now follow
        ``on_missing``.
    :param max_drop: the largest allowed decrease of ``field`` per watched id (absolute: 0.05 for a score).
    :param on_missing_baseline: no baseline at ``baseline`` (the first run): ``"pass"`` (default; the
        bounds alone decide and a warning says nothing was compared) or ``"fail"``.
    """

    template_fields: Sequence[str] = (
        *QUERY_ARGS,
        *GATE_ARGS,
        "baseline",
        "max_drop",
        "on_missing_baseline",
        "datadog_conn_id",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = LIST_RENDERERS

    def __init__(
        self,
        *,
        aggregation: str,
        rule_ids: list[str] | str | None = None,
        rule_name: str | None = None,
        rule_levels: list[int] | str | None = None,
        scorecard_ids: list[str] | str | None = None,
        is_custom: bool | str | None = None,
        is_enabled: bool | str | None = None,
        sort: str | None = None,
        page_limit: int | str = DEFAULT_PAGE_LIMIT,
        score_ids: list[str] | str | None = None,
        min_score: float | str | None = None,
        max_score: float | str | None = None,
        field: str | None = None,
        min_value: float | str | None = None,
        max_value: float | str | None = None,
        match: str = "all",
        on_missing: str = "fail",
        baseline: str | list[dict[str, Any]] | None = None,
        max_drop: float | str | None = None,
        on_missing_baseline: str = "pass",
        datadog_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.aggregation = aggregation
        self.rule_ids = rule_ids
        self.rule_name = rule_name
        self.rule_levels = rule_levels
        self.scorecard_ids = scorecard_ids
        self.is_custom = is_custom
        self.is_enabled = is_enabled
        self.sort = sort
        self.page_limit = page_limit
        self.score_ids = score_ids
        self.min_score = min_score
        self.max_score = max_score
        self.field = field
        self.min_value = min_value
        self.max_value = max_value
        self.match = match
        self.on_missing = on_missing
        self.baseline = baseline
        self.max_drop = max_drop
        self.on_missing_baseline = on_missing_baseline
        self.datadog_conn_id = datadog_conn_id
        self.validate_plain_arguments(
            gate=True,
            checks={
                "on_missing": _no_waiting,
                "max_drop": lambda v: coerce_optional_float("max_drop", v, minimum=0.0),
                "on_missing_baseline": _baseline_mode,
            },
        )
        self._validate_comparison_at_parse()

    def _validate_comparison_at_parse(self) -> None:
        """``max_drop`` and ``baseline`` go together, and a check needs a bound or a ``max_drop``.

        Only when every gate argument is a plain value (a template may still render to anything); the
        same rules apply to the rendered values in :meth:`gate_condition` and :meth:`_baseline`.
        """
        names = (*GATE_ARGS, "max_drop", "baseline", "on_missing_baseline")
        if any(is_deferred_value(getattr(self, name)) for name in names):
            return
        if self.max_drop is None:
            _no_baseline_without_max_drop(self.baseline)
        elif _unset_baseline(self.baseline):
            raise InvalidParameterError(
                "baseline",
                self.baseline,
                "max_drop compares with a baseline: give a snapshot path or records",
            )
        self.gate_condition()  # every bound and the drop, checked as at run time

    def gate_condition(self) -> GateCondition:
        """The condition from the rendered arguments: the mixin's gate arguments plus the comparison."""
        values = vars(self)
        return GateCondition.build(
            **{name: values[name] for name in GATE_ARGS if values.get(name) is not None},
            max_drop=self.max_drop,
            on_missing_baseline=self.on_missing_baseline,
        )

    def execute(self, context: Context) -> Any:
        from airflow_provider_scorecards.gate import check_gate
        from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook

        with failing_fast():
            query, condition = self.scores_query(), self.gate_condition()
            _no_waiting(condition.on_missing)
            baseline = self._baseline(condition, query)  # a corrupt baseline fails before any request
            with DatadogScorecardsHook(self.connection_id()) as hook:
                self.scorecards_ui_url = _ui_url(hook)
                result = check_gate(hook.get_conn(), query, condition, baseline)
        report = result.report()
        if not result.met:
            raise AirflowFailException(report)
        self.log.info("%s", report)
        return result.passed_records

    def _baseline(self, condition: GateCondition, query: ScoresQuery) -> list[Record] | None:
        """The baseline's records (validated), or None when there is none yet; logs which it is."""
        if condition.max_drop is None:
            _no_baseline_without_max_drop(self.baseline)
            return None
        from airflow_provider_scorecards.snapshots import load_baseline

        loaded = load_baseline(self.baseline, field=condition.field, aggregation=query.aggregation)
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


def _baseline_mode(value: Any) -> str:
    if isinstance(value, str) and value.strip().lower() in ("pass", "fail"):
        return value
    raise InvalidParameterError("on_missing_baseline", value, "expected 'pass' or 'fail'")


def _unset_baseline(value: Any) -> bool:
    return value is None or (isinstance(value, str) and is_unset(value))


def _no_baseline_without_max_drop(baseline: Any) -> None:
    if not _unset_baseline(baseline):
        raise InvalidParameterError(
            "max_drop", None, "a baseline is only compared with max_drop: give the largest allowed drop"
        )


def asset_event_extra(summary: dict[str, Any]) -> dict[str, Any]:
    """The ``extra`` of a snapshot's asset event: what a consumer needs without opening the snapshot.

    Plain JSON (numbers, strings, the query's description), a few hundred bytes whatever the result size,
    so it sits comfortably in the metadata database next to every event.
    """
    extra = {
        name: summary.get(name)
        for name in ("count", "mean_score", "min_score", "max_score", "fetched_at", "query")
    }
    if summary.get("output_path"):
        extra["path"] = summary["output_path"]
    return extra


def _no_waiting(on_missing: Any) -> str:
    if isinstance(on_missing, str) and on_missing.strip().lower() in ("fail", "ignore"):
        return on_missing
    raise InvalidParameterError(
        "on_missing",
        on_missing,
        "the check operator decides once: 'fail' or 'ignore' (DatadogScoreThresholdSensor can wait)",
    )


@dataclass
class ScoreSummary:
    """A running summary of a fetch (count, mean/min/max score, totals), pushed as XCom ``summary``.

    Accumulated record by record while pages arrive, so the operator never needs the whole result in
    memory to describe it (it may be streaming records to ``output_path``).
    """

    count: int = 0
    scored: int = 0
    score_sum: float = 0.0
    min_score: float | None = None
    max_score: float | None = None
    totals: dict[str, int] = field(
        default_factory=lambda: {"total_pass": 0, "total_fail": 0, "total_skip": 0, "total_no_data": 0}
    )

    def add(self, attributes: dict[str, Any]) -> None:
        """Count one score, given its attributes (a flat record or the raw ``attributes`` object)."""
        self.count += 1
        score = attributes.get("score")
        if score is not None:
            self.scored += 1
            self.score_sum += score
            if self.min_score is None or score < self.min_score:
                self.min_score = score
            if self.max_score is None or score > self.max_score:
                self.max_score = score
        totals = self.totals
        for name in totals:
            value = attributes.get(name)
            if value:
                totals[name] += value

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "mean_score": round(self.score_sum / self.scored, 6) if self.scored else None,
            "min_score": self.min_score,
            "max_score": self.max_score,
            **self.totals,
        }


def _batches(pages: Iterable[Page], *, raw: bool, summary: ScoreSummary) -> Iterator[list[dict[str, Any]]]:
    """Per page, the records to push or write, counted into the summary on the way."""
    for page in pages:
        for item in page.items:
            summary.add(item.get("attributes") or {} if raw else item)
        yield page.items


def _collect(pages: Iterable[Page], *, raw: bool) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    summary = ScoreSummary()
    records: list[dict[str, Any]] = []
    for batch in _batches(pages, raw=raw, summary=summary):
        records.extend(batch)
    return records, summary.as_dict()


def _write_jsonl(
    output_path: str, pages: Iterable[Page], *, raw: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Stream records to ``output_path`` as JSON Lines as pages arrive; the file appears only when complete.

    Written through :func:`~airflow_provider_scorecards.snapshots.published` (``<path>.partial``, renamed
    at the end), so a failed fetch never leaves a truncated snapshot that a downstream task or next week's
    comparison would take for a full one.
    """
    from airflow.sdk import ObjectStoragePath

    from airflow_provider_scorecards.snapshots import published

    summary = ScoreSummary()
    with published(output_path) as handle:
        for batch in _batches(pages, raw=raw, summary=summary):
            if batch:
                handle.write("\n".join(json.dumps(r, separators=(",", ":")) for r in batch) + "\n")
    target = ObjectStoragePath(output_path)
    result = summary.as_dict()
    return {"path": str(target), "count": result["count"]}, result


def _ui_url(hook: DatadogScorecardsHook) -> str:
    from airflow_provider_scorecards.client.settings import scorecards_ui_url

    return scorecards_ui_url(hook.base_url)


def _describe(query: ScoresQuery) -> str:
    return ", ".join(f"{k}={v}" for k, v in query.describe().items() if v is not None and k != "aggregation")
