"""The client through its transport seam: pagination and the client, each on its own."""

from __future__ import annotations

import json

import pytest

from airflow_provider_scorecards.client.client import ScorecardsClient
from airflow_provider_scorecards.client.errors import ScorecardsResponseError
from airflow_provider_scorecards.client.mock import MockTransport
from airflow_provider_scorecards.client.pages import Page
from airflow_provider_scorecards.client.pagination import FetchStats, paginate
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.client.settings import ClientSettings, settings_from_connection


def settings() -> ClientSettings:
    return settings_from_connection("unit", "datadogscorecards", "k", {"app_key_secret": "a"})


def body(ids: list[str], total: int | None) -> bytes:
    data = [{"id": i, "type": "score", "attributes": {"score": 0.5, "aggregation": "by-team"}} for i in ids]
    return json.dumps({"data": data, "meta": {} if total is None else {"total": total}}).encode()


def org(n: int, *, announce_total: bool = True) -> MockTransport:
    """An organisation of ``n`` scores, paged as Datadog pages them."""
    ids = [f"team-{k:03d}" for k in range(n)]

    def handler(path: str, params: dict[str, str]) -> bytes:
        offset, limit = int(params["page[offset]"]), int(params["page[limit]"])
        return body(ids[offset : offset + limit], n if announce_total else None)

    return MockTransport(handler)


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("announce_total", [True, False])
def test_the_client_pages_through_every_score_once(concurrency: int, announce_total: bool) -> None:
    transport = org(25, announce_total=announce_total)
    with ScorecardsClient(settings(), transport=transport) as client:
        result = client.fetch(ScoresQuery.build("by-team", page_limit=10), concurrency=concurrency)
    assert [r["id"] for r in result.records] == [f"team-{k:03d}" for k in range(25)]
    assert sorted(int(p["page[offset]"]) for _, p in transport.requests) == [0, 10, 20]
    assert {path for path, _ in transport.requests} == {"/api/v2/scorecard/scores/by-team"}
    assert (result.stats.pages, result.stats.requests) == (3, 3)
    assert transport.closed


def test_max_results_stops_early() -> None:
    transport = org(1000)
    with ScorecardsClient(settings(), transport=transport) as client:
        result = client.fetch(ScoresQuery.build("by-team", page_limit=100), max_results=150, concurrency=1)
    assert len(result.records) == 150
    assert len(transport.requests) == 2


def pages_of(*pages: Page) -> tuple[list[tuple[int, int]], list[Page]]:
    calls: list[tuple[int, int]] = []
    by_offset = {page.offset: page for page in pages}

    def fetch(offset: int, limit: int) -> Page:
        calls.append((offset, limit))
        return by_offset[offset]

    return calls, list(paginate(fetch, FetchStats(), page_limit=2))


def page(offset: int, ids: list[str], total: int | None = None) -> Page:
    return Page(offset=offset, items=[{"id": i} for i in ids], total=total, count=len(ids))


def test_paginate_drops_duplicates_and_ends_on_a_short_page() -> None:
    calls, pages = pages_of(page(0, ["a", "b"]), page(2, ["b", "c"]), page(4, ["d"]))
    assert calls == [(0, 2), (2, 2), (4, 2)]
    assert [[r["id"] for r in p.items] for p in pages] == [["a", "b"], ["c"], ["d"]]


def test_paginate_refuses_a_full_page_of_repeats() -> None:
    with pytest.raises(ScorecardsResponseError, match="only repeats"):
        pages_of(page(0, ["a", "b"]), page(2, ["a", "b"]))


def test_paginate_trusts_the_total_not_links_next() -> None:
    calls, pages = pages_of(page(0, ["a", "b"], total=4), page(2, ["c", "d"], total=4))
    assert calls == [(0, 2), (2, 2)]  # no request for the empty page after the total
    assert sum(len(p.items) for p in pages) == 4
