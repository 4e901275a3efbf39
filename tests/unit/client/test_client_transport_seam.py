"""The client through its transport seam: pagination and the client, each on its own."""

from __future__ import annotations

import json

import pytest

from airflow_provider_scorecards.client.client import ScorecardsClient
from airflow_provider_scorecards.client.errors import ScorecardsAuthError, ScorecardsResponseError
from airflow_provider_scorecards.client.mock import MockTransport, Response
from airflow_provider_scorecards.client.pages import Page
from airflow_provider_scorecards.client.pagination import MAX_READS, FetchStats, ResultMovedError, paginate
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.client.settings import ClientSettings, settings_from_connection


def settings() -> ClientSettings:
    return settings_from_connection("unit", "datadogscorecards", "k", {"app_key_secret": "a"})


def body(ids: list[str], total: int | None) -> Response:
    data = [{"id": i, "type": "score", "attributes": {"score": 0.5, "aggregation": "by-team"}} for i in ids]
    meta = {} if total is None else {"total": total}
    return Response(200, json.dumps({"data": data, "meta": meta}).encode())


def org(n: int, *, announce_total: bool = True) -> MockTransport:
    """An organisation of ``n`` scores, paged as Datadog pages them."""
    ids = [f"team-{k:03d}" for k in range(n)]

    def handler(path: str, params: dict[str, str]) -> Response:
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


def test_a_429_is_retried_after_the_wait_its_headers_ask_for() -> None:
    answers = [Response(429, headers={"X-RateLimit-Reset": "7", "Retry-After": "9"}), body(["team-a"], 1)]
    transport = MockTransport(lambda path, params: answers.pop(0))
    waits: list[float] = []
    with ScorecardsClient(settings(), transport=transport, sleep=waits.append) as client:
        result = client.fetch(ScoresQuery.build("by-team"))
    assert [r["id"] for r in result.records] == ["team-a"]
    assert len(waits) == 1
    assert 7 <= waits[0] < 7.1  # X-RateLimit-Reset (not Retry-After), plus a little jitter
    assert (result.stats.requests, result.stats.retries) == (2, 1)


def test_a_401_fails_at_once_with_datadogs_message_scrubbed() -> None:
    key = "abcdef0123456789abcdef0123456789"
    error = {"errors": [{"status": "401", "title": "Unauthorized", "detail": f"API key {key} is invalid"}]}
    transport = MockTransport(lambda path, params: Response(401, json.dumps(error).encode()))
    keys = settings_from_connection("unit", "datadogscorecards", key, {"app_key_secret": "app-key-0123"})
    with ScorecardsClient(keys, transport=transport) as client, pytest.raises(ScorecardsAuthError) as info:
        client.fetch(ScoresQuery.build("by-team"))
    assert "answered 401: Unauthorized: API key *** is invalid" in str(info.value)
    assert len(transport.requests) == 1


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


def test_paginate_refuses_a_repeat_that_took_the_place_of_a_record_under_a_steady_total() -> None:
    # an unstable order between two requests: "b" twice, "d" never
    with pytest.raises(ResultMovedError, match="ended with 3 different records of an announced 4"):
        pages_of(page(0, ["a", "b"], total=4), page(2, ["b", "c"], total=4))


def test_paginate_trusts_the_total_not_links_next() -> None:
    calls, pages = pages_of(page(0, ["a", "b"], total=4), page(2, ["c", "d"], total=4))
    assert calls == [(0, 2), (2, 2)]  # no request for the empty page after the total
    assert sum(len(p.items) for p in pages) == 4


def scored(offset: int, scores: dict[str, float], total: int | None = None) -> Page:
    items = [{"id": i, "score": s} for i, s in scores.items()]
    return Page(offset=offset, items=items, total=total, count=len(items))


@pytest.mark.parametrize(
    "pages",
    [
        [scored(0, {"a": 0.9, "b": 0.3}), scored(2, {"b": 0.9, "c": 0.5}), scored(4, {"d": 0.1})],
        [scored(0, {"a": 0.9, "b": 0.3}), scored(2, {"c": 0.5, "a": 0.2}), scored(4, {"d": 0.1})],
    ],
    ids=["next-page", "later-page"],
)
def test_an_id_sent_twice_with_different_numbers_is_a_moved_result_naming_both(pages: list[Page]) -> None:
    with pytest.raises(
        ResultMovedError, match=r"came twice with different numbers: score 0\.[39] then 0\.[29]"
    ):
        pages_of(*pages)


def test_an_id_twice_on_one_page_with_different_numbers_is_a_moved_result_too() -> None:
    page_one = Page(
        offset=0, items=[{"id": "a", "score": 0.9}, {"id": "a", "score": 0.1}], total=None, count=2
    )
    with pytest.raises(ResultMovedError, match="'a' came twice"):
        pages_of(page_one, scored(2, {"b": 0.5}))


def test_an_identical_repeat_is_dropped_and_counted() -> None:
    stats = FetchStats()
    pages = {0: scored(0, {"a": 0.9, "b": 0.3}), 2: scored(2, {"b": 0.3, "c": 0.5}), 4: scored(4, {})}
    kept = [r["id"] for p in paginate(lambda o, _: pages[o], stats, page_limit=2) for r in p.items]
    assert kept == ["a", "b", "c"]
    assert stats.duplicates == 1


def test_a_differing_repeat_is_read_again_from_the_start_then_named() -> None:
    ids = ["team-a", "team-b", "team-c"]
    calls = {"n": 0}

    def handler(path: str, params: dict[str, str]) -> Response:
        calls["n"] += 1
        offset = int(params["page[offset]"])
        if offset == 0:
            return body(ids[:2], None)
        # the page after repeats team-b with another score: re-evaluated while paging
        data = [
            {"id": "team-b", "attributes": {"score": 0.1}},
            {"id": "team-c", "attributes": {"score": 0.5}},
        ]
        return Response(200, json.dumps({"data": data[: int(params["page[limit]"])]}).encode())

    client = ScorecardsClient(settings(), transport=MockTransport(handler))
    with client, pytest.raises(ResultMovedError) as info:
        client.fetch(ScoresQuery.build("by-team", page_limit=2), concurrency=1)
    assert info.value.reads == MAX_READS
    assert "'team-b' came twice with different numbers: score 0.5 then 0.1" in str(info.value)
    assert calls["n"] == 2 * MAX_READS
