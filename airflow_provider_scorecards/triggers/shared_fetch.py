"""One fetch per query per interval for all the score gates and asset watchers of one triggerer process.

Triggers that would send the very same request to the very same place (:class:`ScoresKey`: connection
id, resolved settings, query) subscribe to one entry (``async with SHARED_SCORES.subscribe(key, ...) as
subscription``); ``await subscription.fetch()`` returns the entry's last :class:`ScoresSnapshot` while it
is younger than every subscriber's ``max_age`` (counted from the fetch's start), else joins the fetch in
flight, else starts one. Fetches run in a pool of their own (:data:`MAX_FETCH_THREADS`), at most
:data:`MAX_FETCHES_PER_GROUP` per connection, so a stalled server never holds the loop's default
executor. A failure reaches every waiter and is not kept; the last subscriber out drops the entry and
closes its client. Nothing is shared between processes or event loops.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import secrets
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType

from airflow_provider_scorecards.client.client import ScorecardsClient
from airflow_provider_scorecards.client.pages import Record
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.client.settings import ClientSettings
from airflow_provider_scorecards.hooks.scorecards import USER_AGENT_SUFFIX

logger = logging.getLogger(__name__)

MAX_FETCHES_PER_GROUP = 2
"""Fetches of one connection running at once; more wait for a slot, and
count their age from then. Parsing a page holds the GIL: each extra thread parsing at the same time delays
the event loop's next turn (measured in ``benchmarks/triggerer_scale.py``); two keep one fetch's network
wait overlapped with another's parsing."""
MAX_FETCH_THREADS = 16
"""Threads of one loop's fetch pool, all connections together: the bound on threads, whatever the number of
connections (eight connections would have to stall at once to make a ninth wait)."""

_DIGEST_KEY = secrets.token_bytes(32)
"""Keys the settings digest: equal settings give equal digests within this process, and a digest that
ends up anywhere else says nothing about the credentials behind it."""


@dataclass(frozen=True)
class ScoresKey:
    """What must be equal for two checks to share a fetch: connection id, resolved settings and query."""

    conn_id: str
    settings_digest: str
    query: ScoresQuery

    @classmethod
    def of(cls, conn_id: str, settings: ClientSettings, query: ScoresQuery) -> ScoresKey:
        """Build the key of a check, with its settings reduced to a keyed digest (no credential kept).

        The digest covers every resolved setting, credentials included: two triggers share a fetch only if
        they would send the very same request to the very same place (same site or URL, same keys, same
        TLS and proxy settings, same retry policy).
        """
        payload = json.dumps(dataclasses.asdict(settings), sort_keys=True, default=str).encode()
        return cls(conn_id, hashlib.blake2b(payload, key=_DIGEST_KEY, digest_size=16).hexdigest(), query)

    @property
    def connection(self) -> tuple[str, str]:
        """The group of the key: fetch slots are per connection, so one stalled server stalls only its own."""
        return (self.conn_id, self.settings_digest)


@dataclass(frozen=True)
class ScoresSnapshot:
    """Every record of one fetch, with an index by id built in the fetching thread.

    Shared by every trigger of the key: nobody mutates it (events carry copies of the records they send).
    """

    records: list[Record]
    by_id: dict[str, Record]


class ScoresSource:
    """The blocking side of a key: one client (one session, one page at a time) and its query."""

    def __init__(self, settings: ClientSettings, query: ScoresQuery, *, user_agent_suffix: str = "") -> None:
        # concurrency=1: one page at a time, so no page pool of our own inside the triggerer's process.
        self._client = ScorecardsClient(
            settings, concurrency=1, user_agent_suffix=user_agent_suffix, log=logger
        )
        self._query = query

    def fetch(self) -> ScoresSnapshot:
        """Fetch every page of the query (blocking) and index the records by id."""
        records = self._client.fetch(self._query).records
        return ScoresSnapshot(records, {record["id"]: record for record in records})

    def abandon(self) -> None:
        """Cut the fetch in flight short: its last trigger has left (see ``ScorecardsClient.abandon``)."""
        self._client.abandon()

    def close(self) -> None:
        """Close the client's session once no trigger shares this key any more."""
        self._client.close()


@dataclass(frozen=True)
class Fetched:
    """One completed fetch: its value and when it ran, on the event loop's clock (``loop.time()``).

    ``started`` bounds the age of the data (the first page was read after it); ``finished`` is when the
    waiters got it, from which a trigger counts its ``poke_interval``, so that every waiter of one fetch
    wakes up for the next one together.
    """

    value: ScoresSnapshot
    started: float
    finished: float


class _Entry:
    """The shared state of one key: its source, subscribers, last result and the fetch in flight."""

    def __init__(
        self, source: ScoresSource, fetch_slots: asyncio.Semaphore, threads: ThreadPoolExecutor
    ) -> None:
        self.source = source
        self.fetch_slots = fetch_slots
        self.threads = threads
        self.subscriptions: set[Subscription] = set()
        self.max_ages: Counter[float] = Counter()
        self.latest: Fetched | None = None
        self.in_flight: asyncio.Task[Fetched] | None = None
        self.requesting = False
        """The fetch in flight has left the queue for a slot: a worker thread is running it."""

    async def run_fetch(self) -> Fetched:
        loop = asyncio.get_running_loop()
        try:
            async with self.fetch_slots:
                started = loop.time()  # the data's age counts from the request, not from the queue
                self.requesting = True
                value = await loop.run_in_executor(self.threads, self.source.fetch)
        finally:
            self.in_flight, self.requesting = None, False  # a failed fetch is not kept
        fetched = Fetched(value, started, loop.time())
        self.latest = fetched
        return fetched

    def retire(self) -> None:
        """Close the source once no fetch uses it any more (the last subscriber has left)."""
        self.latest = None
        task = self.in_flight
        if task is None or task.done():
            self._close_source()
            return
        if self.requesting:
            # A worker thread cannot be interrupted, but its requests can be cut: it returns at once
            # instead of holding its thread, its connection's fetch slot and the process's exit for as
            # long as a stalled server keeps it. The client is closed after it has returned.
            self.source.abandon()
        else:
            task.cancel()  # still queued for a slot: no request for nobody
        task.add_done_callback(self._after_orphaned_fetch)

    def _after_orphaned_fetch(self, task: asyncio.Task[Fetched]) -> None:
        self.latest = None
        if not task.cancelled():
            task.exception()  # retrieved: an error nobody waits for any more is not worth a log line
        self._close_source()

    def _close_source(self) -> None:
        """Close the client in a worker thread (closing sockets is quick, but it is still I/O)."""
        try:
            asyncio.get_running_loop().run_in_executor(None, _close_quietly, self.source)
        except RuntimeError:  # the loop is shutting its executor down: close here, once
            _close_quietly(self.source)


def _close_quietly(source: ScoresSource) -> None:
    try:
        source.close()
    except Exception:
        logger.warning("Closing a shared scores client failed", exc_info=True)


class Subscription:
    """One trigger's membership in a registry entry; an async context manager. See the module docstring."""

    def __init__(
        self,
        registry: SharedFetches,
        key: ScoresKey,
        max_age: float,
        open_source: Callable[[], ScoresSource],
    ) -> None:
        if max_age < 0:
            raise ValueError(f"max_age must be >= 0, got {max_age}")
        self._registry = registry
        self._key = key
        self.max_age = max_age
        self._open_source = open_source
        self._entry: _Entry | None = None
        self._last_judged: Fetched | None = None

    async def __aenter__(self) -> Subscription:
        # Synchronous from here to the end: no other task can see a half-registered subscription.
        self._entry = self._registry._join(self._key, self, self._open_source)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        entry, self._entry = self._entry, None
        self._last_judged = None
        if entry is not None:
            self._registry._leave(self._key, self, entry)

    async def fetch(self) -> Fetched:
        """Return a result no older than the entry's bound that this subscriber has not judged yet; shared.

        Raises the shared fetch's exception, if it fails, in every waiter of that fetch.
        """
        entry = self._entry
        if entry is None:
            raise RuntimeError("fetch() outside `async with subscription`")
        loop = asyncio.get_running_loop()
        fetched = entry.latest
        if (
            fetched is None
            or fetched is self._last_judged
            or loop.time() - fetched.started >= min(entry.max_ages)  # the subscribers' shortest interval
        ):
            if entry.in_flight is None:
                entry.in_flight = loop.create_task(entry.run_fetch(), name="scorecards-shared-fetch")
            # shield: a waiter that is cancelled leaves the fetch running for the others.
            fetched = await asyncio.shield(entry.in_flight)
        self._last_judged = fetched
        return fetched


class _LoopFetches:
    """What the fetches of one event loop share: their thread pool and the slots of each group."""

    def __init__(self) -> None:
        self.threads = ThreadPoolExecutor(max_workers=MAX_FETCH_THREADS, thread_name_prefix="shared-fetch")
        self.slots: dict[tuple[str, str], asyncio.Semaphore] = {}


class SharedFetches:
    """The registry of one process: an entry per (event loop, key) while it has subscribers.

    :data:`MAX_FETCHES_PER_GROUP` fetches of one connection (``ScoresKey.connection``) run at once, in a
    pool of :data:`MAX_FETCH_THREADS` threads per loop. The pool and the slots, like the entries, exist
    only while a loop has subscribers.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[asyncio.AbstractEventLoop, ScoresKey], _Entry] = {}
        self._loops: dict[asyncio.AbstractEventLoop, _LoopFetches] = {}

    def subscribe(
        self, key: ScoresKey, *, max_age: float, open_source: Callable[[], ScoresSource]
    ) -> Subscription:
        """Join the entry of ``key`` (``async with``); ``open_source`` makes its source if it is new.

        ``max_age``: the oldest result (seconds since its fetch started) this subscriber accepts; the
        entry reuses results only while they are younger than every subscriber's ``max_age``.
        ``open_source`` runs on the event loop and must not block (build a client, do not connect).
        """
        return Subscription(self, key, max_age, open_source)

    def __len__(self) -> int:
        """Live entries, all loops together (0 once every subscriber has left)."""
        return len(self._entries)

    @property
    def idle(self) -> bool:
        """Nothing kept at all: no entry, no pool, no slot (what remains after the last subscriber)."""
        return not self._entries and not self._loops

    def subscribers(self, key: ScoresKey) -> int:
        """Count the subscribers of ``key`` in the running loop's entry (0 when there is none)."""
        entry = self._entries.get((asyncio.get_running_loop(), key))
        return 0 if entry is None else len(entry.subscriptions)

    def _join(
        self, key: ScoresKey, subscription: Subscription, open_source: Callable[[], ScoresSource]
    ) -> _Entry:
        loop = asyncio.get_running_loop()
        entry = self._entries.get((loop, key))
        if entry is None:
            source = open_source()  # if this raises, nothing has been registered
            shared = self._loops.get(loop)
            if shared is None:
                shared = self._loops[loop] = _LoopFetches()
            slots = shared.slots.setdefault(key.connection, asyncio.Semaphore(MAX_FETCHES_PER_GROUP))
            entry = self._entries[(loop, key)] = _Entry(source, slots, shared.threads)
        entry.subscriptions.add(subscription)
        entry.max_ages[subscription.max_age] += 1
        return entry

    def _leave(self, key: ScoresKey, subscription: Subscription, entry: _Entry) -> None:
        entry.subscriptions.discard(subscription)
        entry.max_ages -= Counter([subscription.max_age])  # an interval no subscriber has any more is dropped
        if entry.subscriptions:
            return
        loop = asyncio.get_running_loop()
        if self._entries.get((loop, key)) is entry:
            del self._entries[(loop, key)]
        remaining = [k for entry_loop, k in self._entries if entry_loop is loop]
        shared = self._loops.get(loop)
        if shared is not None and not any(k.connection == key.connection for k in remaining):
            # A fetch still running for a dropped entry keeps its own reference to the semaphore.
            shared.slots.pop(key.connection, None)
        entry.retire()
        if shared is not None and not remaining:
            del self._loops[loop]
            shared.threads.shutdown(wait=False)  # a fetch still running finishes, then its thread ends


SHARED_SCORES = SharedFetches()
"""The score fetches shared by the score triggers of this process (threshold gates and asset watchers)."""


def subscribe_scores(
    conn_id: str, settings: ClientSettings, query: ScoresQuery, *, max_age: float
) -> Subscription:
    """Subscribe to :data:`SHARED_SCORES`' fetches of ``query`` on this connection: every trigger's way in.

    Keyed by connection id, a digest of the resolved settings (credentials included) and the query, so
    that different connections or credentials never share; ``max_age`` as in :meth:`SharedFetches.subscribe`.
    """
    return SHARED_SCORES.subscribe(
        ScoresKey.of(conn_id, settings, query),
        max_age=max_age,
        open_source=lambda: ScoresSource(settings, query, user_agent_suffix=USER_AGENT_SUFFIX),
    )
