"""A result whose meta.total moves while paging, or that claims far more than it has, is never passed off.

Hostile servers on 127.0.0.1 serve scripted pages: a total that shrinks between pages (records deleted
while paging), one that shrinks once and then holds still (a re-read from the start returns the whole,
steady result), and one small page announcing ``meta.total = 10**10``, which must cost what its records
cost, not memory in proportion to the claim.
"""

from __future__ import annotations

import contextlib
import json
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from airflow_provider_scorecards.client.pagination import MAX_READS, ResultMovedError
from airflow_provider_scorecards.client.query import MAX_CONCURRENCY, ScoresQuery
from airflow_provider_scorecards.gate.condition import GateCondition, check_gate
from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook
from tests.airflow_support import run_dag
from tests.conftest import CONN_ENV
from tests.reliability.hostile_servers import Behaviour, HostileServer, answer, serving

Script = Callable[[int, int, int], tuple[int, int]]
"""``script(read, offset, limit) -> (records on this page, meta.total)``; ``read`` counts from 1."""


def _score(number: int) -> dict[str, Any]:
    return {
        "type": "score",
        "id": f"service:s{number}",
        "attributes": {"aggregation": "by-entity", "score": 0.9, "numerator": 9, "denominator": 10},
    }


def scripted(script: Script) -> Behaviour:
    """Pages as ``script`` says; its ``read`` counts the requests for offset 0 (a read from the start)."""
    lock = threading.Lock()
    reads = 0

    def behave(handler: BaseHTTPRequestHandler) -> None:
        nonlocal reads
        offset, limit = _page_params(handler.path)
        with lock:
            reads += offset == 0
            count, total = script(reads, offset, limit)
        body = json.dumps(
            {
                "data": [_score(offset + i) for i in range(count)],
                "meta": {"count": count, "total": total},
                "links": {"next": f"/next?page[offset]={offset + limit}"},
            }
        ).encode()
        answer(handler, body=body)

    return behave


def _page_params(path: str) -> tuple[int, int]:
    params = dict(parse_qsl(urlsplit(path).query))
    return int(params.get("page[offset]", "0")), int(params.get("page[limit]", "100"))


def _reads(server: HostileServer) -> int:
    return sum(_page_params(seen["path"])[0] == 0 for seen in server.seen)


def _records_below(total: int) -> Callable[[int, int], int]:
    return lambda offset, limit: max(0, min(limit, total - offset))


def shrinking(read: int, offset: int, limit: int) -> tuple[int, int]:
    """50 records on the first page's count, 20 from the second page on: deleted while paging."""
    total = 50 if offset == 0 else 20
    return _records_below(total)(offset, limit), total


def shrinking_once(read: int, offset: int, limit: int) -> tuple[int, int]:
    """The first read sees 50 then 20; every later read sees a steady 20."""
    if read == 1:
        return shrinking(read, offset, limit)
    return _records_below(20)(offset, limit), 20


def claims_ten_billion(read: int, offset: int, limit: int) -> tuple[int, int]:
    """A full first page announcing 10**10 records, then nothing."""
    return (limit if offset == 0 else 0), 10**10


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Script], HostileServer]]:
    with contextlib.ExitStack() as servers:

        def start(script: Script) -> HostileServer:
            server = servers.enter_context(serving(scripted(script)))
            monkeypatch.setenv(CONN_ENV, server.connection())
            return server

        yield start


def _client() -> Any:
    return DatadogScorecardsHook("datadog_scorecards_default").get_conn()


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_total_that_keeps_shrinking_is_a_typed_error_naming_the_totals(
    serve: Callable[[Script], HostileServer], concurrency: int
) -> None:
    server = serve(shrinking)
    with pytest.raises(ResultMovedError) as info:
        _client().fetch(ScoresQuery.build("by-entity", page_limit=20), concurrency=concurrency)
    assert info.value.totals == [50, 20] * MAX_READS
    assert "50 -> 20" in str(info.value)
    assert info.value.retryable
    assert _reads(server) == MAX_READS


def test_a_total_that_moves_once_is_read_again_from_the_start(
    serve: Callable[[Script], HostileServer],
) -> None:
    server = serve(shrinking_once)
    result = _client().fetch(ScoresQuery.build("by-entity", page_limit=20))
    assert [r["id"] for r in result.records] == [f"service:s{i}" for i in range(20)]
    assert _reads(server) == 2


def test_a_gate_never_judges_a_read_that_moved(serve: Callable[[Script], HostileServer]) -> None:
    serve(shrinking)
    with pytest.raises(ResultMovedError):
        check_gate(
            _client(), ScoresQuery.build("by-entity", page_limit=20), GateCondition.build(min_score=0.5)
        )


@pytest.mark.parametrize("concurrency", [1, 4, 16])
def test_a_claimed_total_of_ten_billion_allocates_nothing_in_proportion(
    serve: Callable[[Script], HostileServer], concurrency: int
) -> None:
    server = serve(claims_ten_billion)
    client = _client()
    tracemalloc.start()
    try:
        with pytest.raises(ResultMovedError) as info:
            client.fetch(ScoresQuery.build("by-entity"), concurrency=concurrency)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 30 * 2**20, f"peak {peak / 2**20:.0f} MiB for a server that only claimed 10**10"
    assert 10**10 in info.value.totals
    assert len(server.seen) <= MAX_READS * (2 + concurrency)  # the first page, then a bounded window


@pytest.mark.parametrize("dag_id", ["blank_filters_operator", "blank_filters_sensor"])
def test_the_operator_and_the_sensor_with_default_arguments_refuse_the_claim(
    serve: Callable[[Script], HostileServer], capfd: pytest.CaptureFixture[str], dag_id: str
) -> None:
    server = serve(claims_ten_billion)
    result = run_dag(dag_id)
    assert result.task_states["task"] == "failed"
    assert "ResultMovedError" in "".join(capfd.readouterr())
    # At most 3 pokes (the sensor's max_consecutive_failures), each of MAX_READS bounded reads.
    assert len(server.seen) <= 3 * MAX_READS * (2 + MAX_CONCURRENCY)
