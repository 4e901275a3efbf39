"""DatadogScorecardsHook: an Airflow connection turned into a Scorecards API client.

The hook reads its connection lazily (on first use, never in ``__init__``, so constructing it at DAG parse
costs nothing and touches no database), builds one :class:`~airflow_provider_scorecards.transport.Transport`
(one ``requests.Session``) per hook instance, and offers two ways to read scores that everything else in
the provider builds on: :meth:`get_page` for one page and :meth:`iter_pages` / :meth:`iter_scores` for every
score of a query.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from airflow_provider_scorecards import __version__
from airflow_provider_scorecards._compat import AirflowNotFoundException, BaseHook, mask_secret
from airflow_provider_scorecards.config import (
    APP_KEY_FIELD,
    ClientConfig,
    config_from_connection,
    config_from_env,
    legacy_app_key_field,
)
from airflow_provider_scorecards.errors import (
    ScorecardsAPIError,
    ScorecardsAuthError,
    ScorecardsConfigError,
    ScorecardsError,
)
from airflow_provider_scorecards.gate import GateCondition, GateResult
from airflow_provider_scorecards.pagination import PaginationStats, paginate
from airflow_provider_scorecards.query import MAX_CONCURRENCY, ScoresQuery, coerce_int
from airflow_provider_scorecards.records import Page, Record, parse_page
from airflow_provider_scorecards.task_args import DEFAULT_CONN_ID
from airflow_provider_scorecards.transport import Transport

PROGRESS_LOG_SECONDS = 5.0


class DatadogScorecardsHook(BaseHook):
    """Talks to Datadog's "List all scores" endpoint (``GET /api/v2/scorecard/scores/{aggregation}``).

    :param datadog_conn_id: Airflow connection id. Type ``datadog_scorecards`` (API key as password,
        extra ``app_key_secret``, ``site`` or ``api_url``...) or the official provider's ``datadog`` type.
        If the default connection does not exist, ``DD_API_KEY``, ``DD_APP_KEY`` and ``DD_SITE`` are used;
        any other missing connection id is an error.
    :param concurrency: size of the connection pool (the largest page concurrency you will ask for).
    """

    conn_name_attr = "datadog_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "datadog_scorecards"
    hook_name = "Datadog Scorecards"

    def __init__(
        self,
        datadog_conn_id: str = default_conn_name,
        *,
        concurrency: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        self.datadog_conn_id = datadog_conn_id
        self.concurrency = coerce_int("concurrency", concurrency, minimum=1, maximum=MAX_CONCURRENCY)
        self._sleep = sleep
        self._config: ClientConfig | None = None
        self._transport: Transport | None = None

    # -- connection ---------------------------------------------------------------------------------

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": ["schema", "port", "login", "host"],
            "relabeling": {"password": "API key"},
            "placeholders": {
                "password": "Datadog API key",
                APP_KEY_FIELD: "Datadog application key",
                "site": "datadoghq.com",
                "api_url": "https://api.datadoghq.com (optional, overrides site)",
            },
        }

    @property
    def config(self) -> ClientConfig:
        """Settings of this hook, read from the connection (or the environment) on first access."""
        if self._config is None:
            self._config = self._load_config()
            for secret in self._config.secrets:
                mask_secret(secret)
        return self._config

    def _load_config(self) -> ClientConfig:
        try:
            conn = self.get_connection(self.datadog_conn_id)
        except AirflowNotFoundException:
            if self.datadog_conn_id != self.default_conn_name:
                # A mistyped id must not quietly talk to whatever organisation the worker's DD_* belong to.
                raise ScorecardsConfigError(
                    f"Connection {self.datadog_conn_id!r} does not exist. Only the default connection "
                    f"{self.default_conn_name!r} falls back to DD_API_KEY/DD_APP_KEY/DD_SITE; create "
                    f"{self.datadog_conn_id!r} or check the datadog_conn_id for a typo."
                ) from None
            self.log.info(
                "Connection %r not found; using DD_API_KEY/DD_APP_KEY/DD_SITE", self.datadog_conn_id
            )
            return config_from_env(self.datadog_conn_id)
        extra = conn.extra_dejson if conn.extra else {}
        legacy = legacy_app_key_field(extra)
        if legacy:
            self.log.warning(
                "Connection %r keeps the application key in the extra field %r, which Airflow shows in "
                "clear in its UI and REST API; rename the field to %r so Airflow hides it",
                self.datadog_conn_id,
                legacy,
                APP_KEY_FIELD,
            )
        return config_from_connection(self.datadog_conn_id, conn.conn_type, conn.password, extra)

    def get_conn(self) -> Transport:
        """The transport (session, retries) of this hook, created once."""
        if self._transport is None:
            import airflow

            self._transport = Transport(
                self.config,
                user_agent=(
                    f"airflow-provider-scorecards/{__version__} (apache-airflow/{airflow.__version__})"
                ),
                log=self.log,
                pool_size=max(self.concurrency, 4),
                sleep=self._sleep,
            )
        return self._transport

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def __enter__(self) -> DatadogScorecardsHook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        return self.config.base_url

    # -- reading scores -----------------------------------------------------------------------------

    def get_page(
        self, query: ScoresQuery, offset: int = 0, limit: int | None = None, *, raw: bool = False
    ) -> Page:
        """One page of scores as flat records (the JSON:API objects with ``raw``), with its metadata."""
        payload = self.get_conn().get_json(query.path, query.to_params(offset=offset, limit=limit))
        return parse_page(payload, offset, raw=raw)

    def iter_pages(
        self,
        query: ScoresQuery,
        *,
        max_results: int | None = None,
        concurrency: int | None = None,
        stats: PaginationStats | None = None,
        raw: bool = False,
    ) -> Iterator[Page]:
        """Every page of the query in order, deduplicated by id, capped at ``max_results``.

        With ``concurrency`` > 1 and a ``meta.total`` on the first page, later pages are fetched in
        parallel (bounded); progress is logged every few seconds on long fetches.
        """
        workers = coerce_int(
            "concurrency",
            self.concurrency if concurrency is None else concurrency,
            minimum=1,
            maximum=MAX_CONCURRENCY,
        )
        transport = self.get_conn()
        state = stats if stats is not None else PaginationStats()
        last_log = [time.monotonic()]

        def progress(current: PaginationStats) -> None:
            now = time.monotonic()
            if now - last_log[0] >= PROGRESS_LOG_SECONDS:
                last_log[0] = now
                self.log.info(
                    "Fetched %d of %s pages, %d scores so far, %d retries",
                    current.pages,
                    current.pages_expected or "?",
                    current.records,
                    transport.stats.retries,
                )

        yield from paginate(
            lambda offset, limit: self.get_page(query, offset, limit, raw=raw),
            page_limit=query.page_limit,
            max_results=max_results,
            concurrency=workers,
            stats=state,
            on_page=progress,
        )
        if state.duplicates:
            self.log.warning(
                "Dropped %d duplicate scores: the data shifted between pages while paging", state.duplicates
            )

    def iter_scores(
        self,
        query: ScoresQuery,
        *,
        max_results: int | None = None,
        concurrency: int | None = None,
        stats: PaginationStats | None = None,
    ) -> Iterator[Record]:
        """Every score of the query as a flat record (see :mod:`airflow_provider_scorecards.records`)."""
        for page in self.iter_pages(query, max_results=max_results, concurrency=concurrency, stats=stats):
            yield from page.items

    def list_scores(self, query: ScoresQuery, **kwargs: Any) -> list[Record]:
        """All records of the query in a list."""
        return list(self.iter_scores(query, **kwargs))

    def check_gate(self, query: ScoresQuery, condition: GateCondition) -> GateResult:
        """One gate check (what a sensor poke, a trigger loop and the check operator each do).

        The API cannot filter by score id, so every score of the query is fetched and the watched ids are
        picked out; narrow the query with filters to keep this cheap.
        """
        return condition.evaluate(self.list_scores(query))

    # -- connection test ----------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """One cheap request that proves both keys and the ``apm_service_catalog_read`` permission."""
        try:
            page = self.get_page(ScoresQuery.build("by-kind", page_limit=1))
        except ScorecardsAuthError as exc:
            return False, (
                f"Datadog refused the credentials ({exc.status}): {'; '.join(exc.errors) or 'forbidden'}. "
                "Check the API key and the application key, and that the application key (or OAuth "
                "token) has the apm_service_catalog_read permission."
            )
        except ScorecardsAPIError as exc:
            return False, str(exc)
        except ScorecardsError as exc:
            return False, f"Could not reach the Scorecards API at {self.config.base_url}: {exc}"
        finally:
            self.close()
        return True, (
            f"Connected to {self.config.base_url}: keys accepted, scores readable "
            f"({page.total if page.total is not None else page.count} score kinds)."
        )
