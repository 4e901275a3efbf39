"""The pagination engine: every page of a query, complete, in order, bounded, optionally concurrent.

A query ends on a short page, at ``meta.total`` or at ``max_results``, never on ``links.next`` (Datadog
sends it on the last, empty page too). With a ``meta.total`` on the first page, the other pages are fetched
by a bounded pool and still handed on in order. An identical repeat is dropped and counted; a full page of
repeats is a :class:`ScorecardsResponseError`; a result that moves while it is paged (its total, or one id
with different numbers) is a :class:`ResultMovedError`, which :func:`read_whole` answers by reading again,
at most :data:`MAX_READS` times. Nothing is allocated in proportion to a number the server claims.
"""

from __future__ import annotations

import operator
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_scorecards.client.errors import ScorecardsResponseError, render_id
from airflow_provider_scorecards.client.pages import NUMERIC_FIELDS, Page, score_numbers

if TYPE_CHECKING:
    from airflow_provider_scorecards.client.transport import Logger

FetchPage = Callable[[int, int], Page]
"""``fetch(offset, limit) -> Page``: one request (the transport retries inside it)."""

MAX_PAGES_WITHOUT_TOTAL = 100_000
MAX_READS = 3
"""Reads of a whole result, from the start, before a ``meta.total`` that keeps moving is an error."""

T = TypeVar("T")


class ResultMovedError(ScorecardsResponseError):
    """The result changed while it was paged: its ``meta.total`` moved, or it ended short of it.

    A read that saw this is not complete (records may have been skipped, or counted twice), so it is
    never handed on. Retryable: the data was changing, and a later attempt may read it whole.
    """

    retryable = True

    def __init__(self, totals: Sequence[int | None], detail: str, *, reads: int = 1) -> None:
        self.totals = list(totals)
        self.reads = reads
        self.detail = detail
        seen = " -> ".join("none" if total is None else str(total) for total in self.totals)
        super().__init__(
            f"the result changed while paging ({detail}; meta.total seen: {seen}"
            f"{f', over {reads} reads from the start' if reads > 1 else ''}); "
            "no partial result is returned"
        )


def read_whole(read: Callable[[], T], *, reads: int = MAX_READS, log: Logger | None = None) -> T:
    """``read()`` (one whole read of a result, from the start) until a read completes unmoved.

    Each read that raises :class:`ResultMovedError` is discarded whole and the result read again; after
    ``reads`` such reads, a :class:`ResultMovedError` names every total seen across them.
    """
    totals: list[int | None] = []
    last = ""
    for attempt in range(1, reads + 1):
        try:
            return read()
        except ResultMovedError as exc:
            totals.extend(exc.totals)
            last = exc.detail
            if log is not None and attempt < reads:
                log.warning(
                    "The result changed while paging (meta.total seen: %s); reading it again from the "
                    "start (read %d of %d)",
                    " -> ".join(str(total) for total in exc.totals),
                    attempt + 1,
                    reads,
                )
    raise ResultMovedError(totals, f"it never held still; last: {last}", reads=reads)


@dataclass
class FetchStats:
    """What happened while fetching one query: pages, records kept, duplicates dropped, requests, retries."""

    pages: int = 0
    pages_expected: int | None = None
    records: int = 0
    duplicates: int = 0
    requests: int = 0
    retries: int = 0


def paginate(
    fetch: FetchPage,
    state: FetchStats,
    *,
    page_limit: int,
    max_results: int | None = None,
    concurrency: int = 1,
    fields: tuple[str, ...] = NUMERIC_FIELDS,
) -> Iterator[Page]:
    """Yield the pages of a query with duplicates (by id) removed and the result capped at max_results.

    ``state`` is the owning :class:`~airflow_provider_scorecards.client.client.PageStream`'s statistics,
    updated page by page. Two copies of one id are compared on ``fields`` (a score's numbers by default;
    the rules list passes a rule's attributes, its items being flat).
    """
    values = score_numbers if fields is NUMERIC_FIELDS else operator.itemgetter(*fields)
    seen: dict[str, tuple[Any, ...]] = {}
    """Each id received, with the numbers of its first copy."""
    cap = max_results

    def accept(page: Page, requested: int) -> Page:
        ids = [item["id"] for item in page.items]
        numbers = list(map(values, page.items))
        if len(set(ids)) == len(ids) and seen.keys().isdisjoint(ids):
            seen.update(zip(ids, numbers, strict=True))  # the usual page, nothing seen before
            items = page.items
        else:
            items = []
            for item_id, item, item_values in zip(ids, page.items, numbers, strict=True):
                first = seen.setdefault(item_id, item_values)
                if first is item_values:
                    items.append(item)
                elif first == item_values:
                    state.duplicates += 1
                else:
                    raise ResultMovedError([total], _difference(item_id, first, item_values, fields))
        if page.count >= requested and page.count > 0 and not items:
            raise ScorecardsResponseError(
                f"page at offset {page.offset} only repeats records already received; "
                "the server's pagination cannot be trusted, so no partial result is returned"
            )
        if cap is not None and state.records + len(items) > cap:
            items = items[: cap - state.records]
        state.pages += 1
        state.records += len(items)
        # The read is whole: every page announces the first page's total, and it ends there.
        if page.total is not None and page.total != total:
            raise ResultMovedError(
                [total, page.total], f"the page at offset {page.offset} announced another total"
            )
        ends = _is_last(page, requested) and not reached_cap()
        # A repeat under a steady total took the place of a record never received.
        if ends and total is not None and (received := min(page.offset + page.count, len(seen))) < total:
            raise ResultMovedError(
                [total], f"it ended with {received} different records of an announced {total}"
            )
        return Page(offset=page.offset, items=items, total=page.total, count=page.count)

    def reached_cap() -> bool:
        return cap is not None and state.records >= cap

    first_limit = page_limit if cap is None else max(1, min(page_limit, cap))
    first = fetch(0, first_limit)
    total = first.total
    if total is not None:
        end = total if cap is None else min(total, cap)
        state.pages_expected = max(1, -(-end // page_limit))
    yield accept(first, first_limit)
    if _is_last(first, first_limit) or reached_cap():
        return

    offset = first.count
    page_budget = MAX_PAGES_WITHOUT_TOTAL if total is None else 2 * (total // page_limit) + 10
    if total is not None and concurrency > 1:
        offsets = range(offset, end, page_limit)  # a range: the server's claimed total costs nothing
        for page in _fetch_concurrently(fetch, offsets, page_limit, concurrency):
            yield accept(page, page_limit)
            if _is_last(page, page_limit) or reached_cap():
                return
        offset = offsets[-1] + page_limit if offsets else offset
        # Only if the result grew past its first total do we go on, one page at a time.

    while not reached_cap():
        if state.pages >= page_budget:
            raise ScorecardsResponseError(
                f"pagination went on for {state.pages} pages (first page announced total={total}); "
                "stopping rather than looping on a server that never ends its result"
            )
        page = fetch(offset, page_limit)
        yield accept(page, page_limit)
        if _is_last(page, page_limit):
            return
        offset += page_limit


def _difference(item_id: str, first: tuple[Any, ...], then: tuple[Any, ...], fields: tuple[str, ...]) -> str:
    """Describe an id received twice with different values: the id, and each field's two values."""
    changed = ", ".join(
        f"{name} {a!r:.40} then {b!r:.40}" for name, a, b in zip(fields, first, then, strict=True) if a != b
    )
    what = "numbers" if fields is NUMERIC_FIELDS else "attributes"
    return f"'{render_id(item_id)}' came twice with different {what}: {changed}"


def _is_last(page: Page, requested: int) -> bool:
    return page.count < requested or (page.total is not None and page.offset + page.count >= page.total)


def _fetch_concurrently(
    fetch: FetchPage, offsets: Iterable[int], limit: int, concurrency: int
) -> Iterator[Page]:
    """Pages for ``offsets`` in order, at most ``concurrency`` requests in flight or waiting to be read."""
    pending: deque[Future[Page]] = deque()
    remaining = iter(offsets)
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="scorecards-page")
    try:
        pending.extend(pool.submit(fetch, offset, limit) for offset in islice(remaining, concurrency))
        while pending:
            page = pending.popleft().result()
            if (next_offset := next(remaining, None)) is not None:
                pending.append(pool.submit(fetch, next_offset, limit))
            yield page
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
