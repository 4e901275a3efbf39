"""ScorecardsClient: the "List all scores" endpoint as Python calls, with no Airflow in sight.

One client holds one transport (one ``requests.Session``, its retry policy and rate-limit pacing). Its
entry points return what happened along with the data, never through out-parameters:

- :meth:`ScorecardsClient.get_page`: one page (one request, retried as the transport says);
- :meth:`ScorecardsClient.stream`: a :class:`PageStream` of every page of a query, fetched as it is
  iterated (pages in order, deduplicated, optionally concurrent), whose ``stats`` say what happened;
- :meth:`ScorecardsClient.fetch`: every record of a query in a :class:`FetchResult`;
- custom rules listed and created, their outcomes posted: :class:`~.writes.RuleWrites`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_scorecards import __version__
from airflow_provider_scorecards.client.coercion import coerce_int
from airflow_provider_scorecards.client.errors import ScorecardsResponseError
from airflow_provider_scorecards.client.outcomes import OutcomesPage, OutcomesQuery, decode_outcomes_page
from airflow_provider_scorecards.client.pages import Page, Record, decode_page
from airflow_provider_scorecards.client.pagination import FetchStats, paginate, read_whole
from airflow_provider_scorecards.client.query import MAX_CONCURRENCY, ScoresQuery
from airflow_provider_scorecards.client.settings import ClientSettings
from airflow_provider_scorecards.client.transport import Logger, Transport
from airflow_provider_scorecards.client.writes import RuleWrites

if TYPE_CHECKING:
    import requests.adapters

PROGRESS_LOG_SECONDS = 5.0
"""On long fetches, progress is logged at most this often."""


@dataclass(frozen=True)
class FetchResult:
    """Every record of a query, and what it took to get them."""

    records: list[Record]
    stats: FetchStats


@dataclass(eq=False)
class PageStream:
    """The pages of one query, fetched while they are iterated (once); ``stats`` says what happened.

    Pages come in offset order with duplicates (by id) removed; with ``concurrency`` > 1 and a
    ``meta.total`` on the first page, later pages are fetched in parallel by a bounded pool.

    :param client: the client whose transport sends the requests.
    :param query: the query to page through.
    :param max_results: stop after this many scores (None: all of them).
    :param concurrency: pages fetched at once after the first (1: one after the other).
    :param raw: yield the JSON:API objects unchanged instead of flat records.
    """

    client: ScorecardsClient
    query: ScoresQuery
    max_results: int | None
    concurrency: int
    raw: bool
    stats: FetchStats = field(default_factory=FetchStats, init=False)
    _started: bool = field(default=False, init=False, repr=False)

    def __iter__(self) -> Iterator[Page]:
        if self._started:
            raise ScorecardsResponseError("a PageStream is iterated once; call client.stream() again")
        self._started = True
        client, stats = self.client, self.stats
        transport = client.transport
        requests_before, retries_before = transport.stats.requests, transport.stats.retries
        last_log = time.monotonic()
        pages = paginate(
            lambda offset, limit: client.get_page(self.query, offset, limit, raw=self.raw),
            stats,
            page_limit=self.query.page_limit,
            max_results=self.max_results,
            concurrency=self.concurrency,
        )
        for page in pages:
            stats.requests = transport.stats.requests - requests_before
            stats.retries = transport.stats.retries - retries_before
            if time.monotonic() - last_log >= PROGRESS_LOG_SECONDS:
                last_log = time.monotonic()
                client.log.info(
                    "Fetched %d of %s pages, %d scores so far, %d retries",
                    stats.pages,
                    stats.pages_expected or "?",
                    stats.records,
                    stats.retries,
                )
            yield page
        stats.requests = transport.stats.requests - requests_before
        stats.retries = transport.stats.retries - retries_before
        if stats.duplicates:
            client.log.warning(
                "Dropped %d duplicate scores: the data shifted between pages while paging", stats.duplicates
            )


class ScorecardsClient(RuleWrites):
    """A client of Datadog's Scorecards API: scores and rule outcomes read, rules and outcomes written.

    :param settings: where to send requests and with which credentials (see :mod:`.settings`).
    :param concurrency: size of the connection pool (the largest page concurrency you will ask for).
    :param user_agent_suffix: appended to the User-Agent (the hook adds Airflow's version).
    :param log: a logger (stdlib by default; the hook passes its task logger).
    :param sleep: how to wait between retries (tests pass a fake; default: a wait that
        :meth:`abandon` cuts short).
    :param transport: what sends each HTTP request, below the retries and the typed errors: a
        ``requests`` adapter such as :class:`~airflow_provider_scorecards.client.mock.MockTransport`
        (default: the network); the client closes it.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        concurrency: int = 4,
        user_agent_suffix: str = "",
        log: Logger | None = None,
        sleep: Callable[[float], object] | None = None,
        transport: requests.adapters.BaseAdapter | None = None,
    ) -> None:
        self.settings = settings
        self.concurrency = coerce_int("concurrency", concurrency, minimum=1, maximum=MAX_CONCURRENCY)
        self.log: Logger = log or logging.getLogger(__name__)
        agent = f"airflow-provider-scorecards/{__version__}" + (
            f" ({user_agent_suffix})" if user_agent_suffix else ""
        )
        self._transport_args: dict[str, Any] = {
            "user_agent": agent,
            "log": self.log,
            "pool_size": max(self.concurrency, 4),
            "sleep": sleep,
        }
        self._adapter = transport
        self._transport: Transport | None = None

    @property
    def transport(self) -> Transport:
        """The transport (session, retries), created on first use: building it imports ``requests``."""
        if self._transport is None:
            self._transport = Transport(self.settings, **self._transport_args)
            if self._adapter is not None:
                for scheme in ("https://", "http://"):
                    self._transport.session.mount(scheme, self._adapter)
        return self._transport

    @property
    def base_url(self) -> str:
        """The API's root on the configured Datadog site (``https://api.<site>``)."""
        return self.settings.base_url

    def abandon(self) -> None:
        """Give up the fetch in flight from another thread: nobody waits for its answer any more.

        Its requests are cut now and not retried, so its thread returns at once (with an error) instead
        of holding a thread, a fetch slot and a process's exit for up to ``request_deadline`` per attempt.
        Only for a client that will not be used again; it returns at once.
        """
        if self._transport is not None:
            self._transport.abandon()

    def close(self) -> None:
        """Close the transport's connections; the client opens a new transport if it is used again."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def __enter__(self) -> ScorecardsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get_page(
        self, query: ScoresQuery, offset: int = 0, limit: int | None = None, *, raw: bool = False
    ) -> Page:
        """One page of scores as flat records (the JSON:API objects with ``raw``), with its metadata."""
        page: Page = self.transport.request(
            "GET",
            query.path,
            query.to_params(offset=offset, limit=limit),
            decode=lambda body: decode_page(body, offset, raw=raw),
        )
        return page

    def get_outcomes(self, query: OutcomesQuery, offset: int = 0) -> OutcomesPage:
        """One page of rule outcomes (one request, retried as the transport says).

        See :mod:`airflow_provider_scorecards.client.outcomes`.
        """
        page: OutcomesPage = self.transport.request(
            "GET",
            query.path,
            query.to_params(offset),
            decode=lambda body: decode_outcomes_page(body, offset, query.page_size),
        )
        return page

    def stream(
        self,
        query: ScoresQuery,
        *,
        max_results: int | None = None,
        concurrency: int | None = None,
        raw: bool = False,
    ) -> PageStream:
        """Every page of the query, fetched as the stream is iterated; see :class:`PageStream`."""
        chosen = self.concurrency if concurrency is None else concurrency
        workers = coerce_int("concurrency", chosen, minimum=1, maximum=MAX_CONCURRENCY)
        return PageStream(self, query, max_results, workers, raw)

    def read(
        self,
        query: ScoresQuery,
        consume: Callable[[PageStream], Any],
        *,
        max_results: int | None = None,
        concurrency: int | None = None,
        raw: bool = False,
    ) -> tuple[Any, PageStream]:
        """``consume`` a whole, steady read of the query: what it returned, and the stream it read.

        When the result changes while it is paged (see :class:`~.pagination.ResultMovedError`), what
        ``consume`` made of that read is dropped (its exception propagated out of it) and a fresh stream
        is read from the start, a bounded number of times.
        """

        def one_read() -> tuple[Any, PageStream]:
            stream = self.stream(query, max_results=max_results, concurrency=concurrency, raw=raw)
            return consume(stream), stream

        return read_whole(one_read, log=self.log)

    def fetch(
        self, query: ScoresQuery, *, max_results: int | None = None, concurrency: int | None = None
    ) -> FetchResult:
        """Every score of the query as flat records (see :mod:`.pages`), with the fetch's statistics."""

        def collect(stream: PageStream) -> list[Record]:
            return [record for page in stream for record in page.items]

        records, stream = self.read(query, collect, max_results=max_results, concurrency=concurrency)
        return FetchResult(records, stream.stats)
