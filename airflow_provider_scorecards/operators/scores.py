"""Operators: fetch every score of a query (DatadogScorecardScoresOperator).

This module is imported by every DAG file that uses the provider, at every parse, so it imports only
what a parse needs; the hook, ``requests`` and object storage load inside ``execute``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator, BaseOperatorLink

from airflow_provider_scorecards._compat import AirflowFailException
from airflow_provider_scorecards.errors import InvalidParameterError
from airflow_provider_scorecards.failures import failing_fast
from airflow_provider_scorecards.query import (
    MAX_CONCURRENCY,
    coerce_bool,
    coerce_int,
    coerce_optional_int,
    coerce_optional_str,
)
from airflow_provider_scorecards.task_args import (
    DATADOG_PURPLE,
    DEFAULT_CONN_ID,
    GATE_ARGS,
    QUERY_ARGS,
    coerce_conn_id,
    gate_settings,
    query_from_args,
    set_task_args,
    validate_static,
    validate_static_gate,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook
    from airflow_provider_scorecards.query import ScoresQuery
    from airflow_provider_scorecards.records import Page
    from airflow_provider_scorecards.summary import ScoreSummary

XCOM_WARN_RECORDS = 10_000
"""Above this many records pushed to XCom, a warning suggests ``output_path``."""


class ScorecardsLink(BaseOperatorLink):
    """Button on the task: the Scorecards page of the Datadog site the task talked to."""

    name = "Datadog Scorecards"

    def get_link(self, operator: BaseOperator, *, ti_key: Any) -> str:
        return str(
            getattr(operator, "scorecards_ui_url", "") or "https://app.datadoghq.com/software/scorecards"
        )


def _execute_checks() -> dict[str, Any]:
    return {
        "max_results": lambda v: coerce_optional_int("max_results", v, minimum=1),
        "concurrency": lambda v: coerce_int("concurrency", v, minimum=1, maximum=MAX_CONCURRENCY),
        "raw": lambda v: coerce_bool("raw", v) or False,
        "output_path": lambda v: coerce_optional_str("output_path", v),
        "datadog_conn_id": coerce_conn_id,
    }


class DatadogScorecardScoresOperator(BaseOperator):
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
    """

    template_fields: Sequence[str] = (
        *QUERY_ARGS,
        "max_results",
        "concurrency",
        "output_path",
        "datadog_conn_id",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "rule_ids": "py",
        "rule_levels": "py",
        "scorecard_ids": "py",
    }
    ui_color = DATADOG_PURPLE
    ui_fgcolor = "#ffffff"
    operator_extra_links = (ScorecardsLink(),)

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
        page_limit: int | str = 1000,
        max_results: int | str | None = None,
        concurrency: int | str = 4,
        raw: bool = False,
        output_path: str | None = None,
        datadog_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        set_task_args(self, QUERY_ARGS, locals())
        self.max_results = max_results
        self.concurrency = concurrency
        self.raw = raw
        self.output_path = output_path
        self.datadog_conn_id = datadog_conn_id
        validate_static(vars(self), _execute_checks())

    def _settings(self) -> dict[str, Any]:
        """Rendered arguments, coerced and validated; raises before any request is sent."""
        checks = _execute_checks()
        settings = {name: check(getattr(self, name)) for name, check in checks.items()}
        settings["query"] = query_from_args(vars(self))
        return settings

    def execute(self, context: Context) -> Any:
        with failing_fast():
            return self._fetch(context)

    def _fetch(self, context: Context) -> Any:
        import pendulum

        from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook
        from airflow_provider_scorecards.pagination import PaginationStats

        settings = self._settings()
        query: ScoresQuery = settings["query"]
        hook = DatadogScorecardsHook(settings["datadog_conn_id"], concurrency=settings["concurrency"])
        self.scorecards_ui_url = _ui_url(hook)
        stats = PaginationStats()
        fetched_at = pendulum.now("UTC")
        self.log.info("Fetching %s scores from %s: %s", query.aggregation, hook.base_url, _describe(query))
        try:
            pages = hook.iter_pages(
                query,
                max_results=settings["max_results"],
                concurrency=settings["concurrency"],
                stats=stats,
                raw=settings["raw"],
            )
            result: dict[str, Any] | list[dict[str, Any]]
            if settings["output_path"]:
                result, summary = _write_jsonl(settings["output_path"], pages, raw=settings["raw"])
            else:
                result, summary = _collect(pages, raw=settings["raw"])
            transport = hook.get_conn()
            requests_made, retries = transport.stats.requests, transport.stats.retries
        finally:
            hook.close()
        self.log.info(
            "Fetched %d scores in %d pages (%d requests, %d retries, %d duplicates dropped)",
            summary["count"],
            stats.pages,
            requests_made,
            retries,
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
            requests=requests_made,
            retries=retries,
            duplicates_dropped=stats.duplicates,
            output_path=result["path"] if isinstance(result, dict) else None,
        )
        context["ti"].xcom_push(key="summary", value=summary)
        return result


class DatadogScoreCheckOperator(BaseOperator):
    """Check a score gate once: met → the records that met it; not met → fail without retries.

    For gates where waiting makes no sense (a CI-style check inside a DAG); it takes the query arguments
    of :class:`DatadogScorecardScoresOperator` and the condition arguments of
    :class:`~airflow_provider_scorecards.sensors.scores.DatadogScoreThresholdSensor`. Missing data
    (``on_missing``) can only be ``"fail"`` (default) or ``"ignore"``: there is nothing to wait for.

    Not met raises ``AirflowFailException`` whose message lists every failing id with its value and the
    bound, like common.sql's threshold checks: a tripped gate is an answer, not a transient error.
    """

    template_fields: Sequence[str] = (*QUERY_ARGS, *GATE_ARGS, "datadog_conn_id")
    template_fields_renderers: ClassVar[dict[str, str]] = {"score_ids": "py", "rule_ids": "py"}
    ui_color = DATADOG_PURPLE
    ui_fgcolor = "#ffffff"
    operator_extra_links = (ScorecardsLink(),)

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
        page_limit: int | str = 1000,
        score_ids: list[str] | str | None = None,
        min_score: float | str | None = None,
        max_score: float | str | None = None,
        field: str | None = None,
        min_value: float | str | None = None,
        max_value: float | str | None = None,
        match: str = "all",
        on_missing: str = "fail",
        datadog_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        set_task_args(self, (*QUERY_ARGS, *GATE_ARGS), locals())
        self.datadog_conn_id = datadog_conn_id
        validate_static(vars(self), {"on_missing": _no_waiting, "datadog_conn_id": coerce_conn_id})
        validate_static_gate(vars(self))

    def execute(self, context: Context) -> Any:
        from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook

        with failing_fast():
            query, condition, conn_id = gate_settings(vars(self))
            _no_waiting(condition.on_missing)
            with DatadogScorecardsHook(conn_id) as hook:
                self.scorecards_ui_url = _ui_url(hook)
                result = hook.check_gate(query, condition)
        report = result.report()
        if not result.met:
            raise AirflowFailException(report)
        self.log.info("%s", report)
        return result.passed_records


def _no_waiting(on_missing: Any) -> str:
    if isinstance(on_missing, str) and on_missing.strip().lower() in ("fail", "ignore"):
        return on_missing
    raise InvalidParameterError(
        "on_missing",
        on_missing,
        "the check operator decides once: 'fail' or 'ignore' (DatadogScoreThresholdSensor can wait)",
    )


def _batches(pages: Iterable[Page], *, raw: bool, summary: ScoreSummary) -> Iterator[list[dict[str, Any]]]:
    """Per page, the records to push or write, counted into the summary on the way."""
    for page in pages:
        for item in page.items:
            summary.add(item.get("attributes") or {} if raw else item)
        yield page.items


def _collect(pages: Iterable[Page], *, raw: bool) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from airflow_provider_scorecards.summary import ScoreSummary

    summary = ScoreSummary()
    records: list[dict[str, Any]] = []
    for batch in _batches(pages, raw=raw, summary=summary):
        records.extend(batch)
    return records, summary.as_dict()


def _write_jsonl(
    output_path: str, pages: Iterable[Page], *, raw: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Stream records to ``output_path`` as JSON Lines as pages arrive; the file appears only when complete.

    Records go to ``<path>.partial`` first and are renamed at the end, so a failed fetch never leaves a
    truncated snapshot where a downstream task (or next week's comparison) would take it for a full one.
    """
    from airflow.sdk import ObjectStoragePath

    from airflow_provider_scorecards.summary import ScoreSummary

    target = ObjectStoragePath(output_path)
    partial = ObjectStoragePath(f"{output_path}.partial")
    target.parent.mkdir(parents=True, exist_ok=True)
    summary = ScoreSummary()
    try:
        with partial.open("w", encoding="utf-8") as handle:  # type: ignore[no-untyped-call,unused-ignore]
            for batch in _batches(pages, raw=raw, summary=summary):
                if batch:
                    handle.write("\n".join(json.dumps(r, separators=(",", ":")) for r in batch) + "\n")
        partial.rename(target)
    except BaseException:
        if partial.exists():
            partial.unlink()
        raise
    result = summary.as_dict()
    return {"path": str(target), "count": result["count"]}, result


def _ui_url(hook: DatadogScorecardsHook) -> str:
    from airflow_provider_scorecards.sites import scorecards_ui_url

    return scorecards_ui_url(hook.base_url)


def _describe(query: ScoresQuery) -> str:
    return ", ".join(f"{k}={v}" for k, v in query.describe().items() if v is not None and k != "aggregation")
