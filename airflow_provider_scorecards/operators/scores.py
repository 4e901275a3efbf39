"""DatadogScorecardScoresOperator: fetch every score of a query, push it as XCom or write a snapshot.

This module is imported by every DAG file that uses the provider, at every parse, so it imports only
what a parse needs (argument validation); the hook (``requests``, the retry machinery), the summary and
snapshot code load inside ``execute``. ``DatadogScoreCheckOperator`` is importable from here too, where
DAGs import it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.sdk import Asset

from airflow_provider_scorecards.client.coercion import (
    coerce_bool,
    coerce_int,
    coerce_optional_str,
    is_unset,
)
from airflow_provider_scorecards.client.query import MAX_CONCURRENCY
from airflow_provider_scorecards.operators.base import (
    DatadogScorecardsBaseOperator,
    failing_fast,
    refusing_arguments,
)
from airflow_provider_scorecards.operators.check import DatadogScoreCheckOperator
from airflow_provider_scorecards.operators.links import ScorecardsLink

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_scorecards.client.pages import Page, Record
    from airflow_provider_scorecards.client.query import ScoresQuery
    from airflow_provider_scorecards.operators.snapshots import SnapshotFile

__all__ = ["DatadogScoreCheckOperator", "DatadogScorecardScoresOperator", "ExportArguments", "ScorecardsLink"]

XCOM_WARN_RECORDS = 10_000
"""Above this many records pushed to XCom, a warning suggests ``output_path``."""

EXPORT_CHECKS: dict[str, Callable[[Any], Any]] = {
    "max_results": lambda v: None if is_unset(v) else coerce_int("max_results", v, minimum=1),
    "concurrency": lambda v: coerce_int("concurrency", v, minimum=1, maximum=MAX_CONCURRENCY),
    "raw": lambda v: coerce_bool("raw", v) or False,
    "output_path": lambda v: coerce_optional_str("output_path", v),
}
"""Coercers of the export's own arguments, applied at parse when plain and after rendering."""


@dataclass(frozen=True)
class ExportArguments:
    """The export's rendered arguments, coerced and validated: what one run fetches and where it goes."""

    query: ScoresQuery
    conn_id: str
    max_results: int | None
    concurrency: int
    raw: bool
    output_path: str | None


class DatadogScorecardScoresOperator(DatadogScorecardsBaseOperator):
    """Fetch every score of a Datadog Scorecards query and push them via XCom.

    The return value is a list of flat records (see :mod:`airflow_provider_scorecards.client.pages`),
    one per score, in the API's order; XCom ``summary`` holds count, mean/min/max score, totals, the
    query and the fetch time. With ``output_path`` the records are written as JSON Lines instead and the
    return value is ``{"path", "count", "sha256"}`` of the file this run published.

    The query arguments and ``datadog_conn_id`` are those of
    :class:`~airflow_provider_scorecards.operators.base.DatadogScorecardsBaseOperator`.

    :param max_results: stop after this many scores (templated; default: all).
    :param concurrency: pages fetched in parallel once the total is known (templated; default 4;
        1 = sequential).
    :param raw: push the JSON:API objects unchanged instead of flat records.
    :param output_path: write records as JSON Lines to this path, anything ``ObjectStoragePath`` accepts
        (templated); keeps large results out of the metadata database.

    With ``outlets=[Asset(...)]`` every asset event the task emits carries the run's summary as its
    ``extra`` (``count``, ``mean_score``, ``min_score``, ``max_score``, ``fetched_at``, ``query``, and
    ``path`` and ``sha256`` with ``output_path``), so a DAG scheduled on the asset reads what it needs
    from ``triggering_asset_events`` without opening the snapshot.
    """

    template_fields: Sequence[str] = (
        *DatadogScorecardsBaseOperator.template_fields,
        "max_results",
        "concurrency",
        "output_path",
    )

    @refusing_arguments
    def __init__(
        self,
        *,
        max_results: int | str | None = None,
        concurrency: int | str = 4,
        raw: bool = False,
        output_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_results = max_results
        self.concurrency = concurrency
        self.raw = raw
        self.output_path = output_path
        self.validate_plain_arguments(EXPORT_CHECKS)

    def export_arguments(self) -> ExportArguments:
        """Coerce and validate the rendered arguments; raises before any request is sent."""
        own = {name: check(getattr(self, name)) for name, check in EXPORT_CHECKS.items()}
        return ExportArguments(query=self.scores_query(), conn_id=self.connection_id(), **own)

    def hook_concurrency(self) -> int:
        """Return the rendered ``concurrency``: the pool holds a connection per page fetched at once."""
        return int(EXPORT_CHECKS["concurrency"](self.concurrency))

    def execute(self, context: Context) -> Any:
        """Fetch the scores, push the summary, describe the asset events; return the records or the file."""
        with failing_fast():
            return self._export(context, self.export_arguments())

    def _export(self, context: Context, args: ExportArguments) -> Any:
        from airflow_provider_scorecards.operators.snapshots import write_snapshot
        from airflow_provider_scorecards.operators.summary import ScoreSummary, asset_event_extra

        hook = self.hook
        self.scorecards_ui_url = hook.scorecards_ui_url
        fetched_at = pendulum.now("UTC")
        self.log.info("Fetching %s scores from %s: %s", args.query.aggregation, hook.base_url, _filters(args))

        def consume(pages: Iterable[Page]) -> tuple[ScoreSummary, SnapshotFile | None, list[Record]]:
            """One whole read: a moved result raises out of it and the client reads again, afresh."""
            summary = ScoreSummary()
            batches = summary.counted(pages, raw=args.raw)
            if args.output_path:
                return summary, write_snapshot(args.output_path, batches), []
            return summary, None, [record for batch in batches for record in batch]

        with hook:
            (summary, snapshot, records), pages = hook.get_conn().read(
                args.query, consume, max_results=args.max_results, raw=args.raw
            )
        stats = pages.stats
        self.log.info(
            "Fetched %d scores in %d pages (%d requests, %d retries, %d duplicates dropped)",
            summary.count,
            stats.pages,
            stats.requests,
            stats.retries,
            stats.duplicates,
        )
        if snapshot is not None:
            self.log.info(
                "Wrote %d records to %s (sha256 %s)", snapshot.count, snapshot.path, snapshot.sha256
            )
        elif summary.count > XCOM_WARN_RECORDS:
            self.log.warning(
                "Pushing %d records to XCom; set output_path to write them to object storage instead "
                "and keep the metadata database small",
                summary.count,
            )
        pushed = {
            **summary.as_dict(),
            "query": args.query.describe(),
            "max_results": args.max_results,
            "fetched_at": fetched_at.to_iso8601_string(),
            "pages": stats.pages,
            "requests": stats.requests,
            "retries": stats.retries,
            "duplicates_dropped": stats.duplicates,
            "output_path": None if snapshot is None else snapshot.path,
            "sha256": None if snapshot is None else snapshot.sha256,
        }
        context["ti"].xcom_push(key="summary", value=pushed)
        self._describe_asset_events(context, asset_event_extra(pushed, snapshot))
        return records if snapshot is None else asdict(snapshot)  # {"path", "count", "sha256"}

    def _describe_asset_events(self, context: Context, extra: dict[str, Any]) -> None:
        """Put the snapshot's summary (``extra``) in the ``extra`` of each asset event this task emits.

        Only ``Asset`` outlets: an ``AssetAlias`` needs the task to name the asset it resolves to, which
        is the DAG author's decision, not ours. The extra is updated, not replaced, so what a
        ``pre_execute`` or ``post_execute`` of the author's put there stays.
        """
        for asset in self.outlets:
            if isinstance(asset, Asset):
                context["outlet_events"][asset].extra.update(extra)


def _filters(args: ExportArguments) -> str:
    """Format the query's filters for the log line (the aggregation is named beside them)."""
    described = args.query.describe().items()
    return ", ".join(f"{k}={v}" for k, v in described if v is not None and k != "aggregation")
