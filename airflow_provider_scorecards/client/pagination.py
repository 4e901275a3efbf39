"""The pagination engine: every page of a query, complete, in order, bounded, optionally concurrent.

Termination never relies on ``links.next``: Datadog sends it on the last, empty page too. A query is done
on a short page, when ``offset + count >= meta.total``, or at ``max_results``. When the first page carries
``meta.total``, the remaining offsets are known and are fetched by a bounded pool of threads; pages are
still handed on in offset order, and at most ``concurrency`` pages are held at once so memory stays
proportional to what the caller keeps.

A misbehaving server cannot make this loop forever or pass off a partial result as complete: a full page
made only of records already seen, or a result that keeps growing far past its announced total, raises
:class:`ScorecardsResponseError`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_scorecards.client.errors import ScorecardsResponseError
from airflow_provider_scorecards.client.pages import Page

if TYPE_CHECKING:
    from concurrent.futures import Future

FetchPage = Callable[[int, int], Page]
"""``fetch(offset, limit) -> Page``: one request (the transport retries inside it)."""

MAX_PAGES_WITHOUT_TOTAL = 100_000
MAX_CONCURRENCY = 16
"""Most pages fetched at once for one query (more only adds pressure on Datadog's rate limit)."""


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
) -> Iterator[Page]:
    """Yield the pages of a query with duplicates (by id) removed and the result capped at max_results.

    ``state`` is the owning :class:`~airflow_provider_scorecards.client.client.PageStream`'s statistics,
    updated page by page.
    """
    seen: set[str] = set()
    cap = max_results

    def accept(page: Page, requested: int) -> Page:
        ids = {item["id"] for item in page.items}
        if len(ids) == len(page.items) and seen.isdisjoint(ids):
            seen.update(ids)  # the usual page, nothing seen before: set operations, no loop in Python
            items = page.items
        else:
            items = []
            for item in page.items:
                item_id = item["id"]
                if item_id in seen:
                    state.duplicates += 1
                    continue
                seen.add(item_id)
                items.append(item)
        if page.count >= requested and page.count > 0 and not items:
            raise ScorecardsResponseError(
                f"page at offset {page.offset} only repeats records already received; "
                "the server's pagination cannot be trusted, so no partial result is returned"
            )
        if cap is not None and state.records + len(items) > cap:
            items = items[: cap - state.records]
        state.pages += 1
        state.records += len(items)
        return Page(offset=page.offset, items=items, total=page.total, count=page.count)

    def reached_cap() -> bool:
        return cap is not None and state.records >= cap

    first_limit = page_limit if cap is None else max(1, min(page_limit, cap))
    first = fetch(0, first_limit)
    total = first.total
    if total is not None:
        wanted = total if cap is None else min(total, cap)
        state.pages_expected = max(1, -(-wanted // page_limit))
    yield accept(first, first_limit)
    if _is_last(first, first_limit) or reached_cap():
        return

    offset = first.count
    page_budget = MAX_PAGES_WITHOUT_TOTAL if total is None else 2 * (total // page_limit) + 10
    if total is not None and concurrency > 1:
        end = total if cap is None else min(total, cap)
        offsets = list(range(offset, end, page_limit))
        last_full = True
        for page in _fetch_concurrently(fetch, offsets, page_limit, concurrency):
            yield accept(page, page_limit)
            last_full = not _is_last(page, page_limit)
            if not last_full or reached_cap():
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


def _is_last(page: Page, requested: int) -> bool:
    if page.count < requested:
        return True
    return page.total is not None and page.offset + page.count >= page.total


def _fetch_concurrently(fetch: FetchPage, offsets: list[int], limit: int, concurrency: int) -> Iterator[Page]:
    """Pages for ``offsets`` in order, at most ``concurrency`` requests in flight or waiting to be read."""
    from concurrent.futures import ThreadPoolExecutor

    pending: deque[Future[Page]] = deque()
    remaining = iter(offsets)
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="scorecards-page")
    try:
        for offset in remaining:
            pending.append(pool.submit(fetch, offset, limit))
            if len(pending) >= concurrency:
                break
        while pending:
            page = pending.popleft().result()
            next_offset = next(remaining, None)
            if next_offset is not None:
                pending.append(pool.submit(fetch, next_offset, limit))
            yield page
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
