"""A result whose meta.total moves while paging, or that claims far more than it has, is never passed off.

Hostile servers on 127.0.0.1 serve scripted pages: a total that shrinks between pages (records deleted
while paging), one that shrinks once and then holds still (a re-read from the start returns the whole,
steady result), and one small page announcing ``meta.total = 10**10``, which must cost what its records
cost, not memory in proportion to the claim.
"""

from __future__ import annotations

import json
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from airflow_provider_scorecards.client.pagination import MAX_CONCURRENCY, MAX_READS, ResultMovedError
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.gate import GateCondition, check_gate
from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook
from tests.airflow_support import run_dag
from tests.conftest import CONN_ENV

Script = Callable[[int, int, int], tuple[int, int]]
"""``script(read, offset, limit) -> (records on this page, meta.total)``; ``read`` counts from 1."""


def _score(number: int) -> dict[str, Any]:
    return {
        "type": "score",
        "id": f"service:s{number}",
        "attributes": {"aggregation": "by-entity", "score": 0.9, "numerator": 9, "denominator": 10},
    }


class HostileServer:
    """Serves pages as ``script`` says; ``requests`` counts them, ``reads`` counts the reads from offset 0."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests = 0
        self.reads = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                params = dict(parse_qsl(urlsplit(self.path).query))
                offset, limit = int(params.get("page[offset]", "0")), int(params.get("page[limit]", "100"))
                with lock:
                    owner.requests += 1
                    owner.reads += offset == 0
                    count, total = owner.script(owner.reads, offset, limit)
                body = json.dumps(
                    {
                        "data": [_score(offset + i) for i in range(count)],
                        "meta": {"count": count, "total": total},
                        "links": {"next": f"/next?page[offset]={offset + limit}"},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/vnd.api+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> HostileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


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
    servers: list[HostileServer] = []

    def start(script: Script) -> HostileServer:
        server = HostileServer(script).__enter__()
        servers.append(server)
        extra = {"api_url": server.url, "app_key_secret": "app-key", "backoff_base": 0.01}
        monkeypatch.setenv(
            CONN_ENV, json.dumps({"conn_type": "datadog_scorecards", "password": "k", "extra": extra})
        )
        return server

    yield start
    for server in servers:
        server.__exit__()


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
    assert server.reads == MAX_READS


def test_a_total_that_moves_once_is_read_again_from_the_start(
    serve: Callable[[Script], HostileServer],
) -> None:
    server = serve(shrinking_once)
    result = _client().fetch(ScoresQuery.build("by-entity", page_limit=20))
    assert [r["id"] for r in result.records] == [f"service:s{i}" for i in range(20)]
    assert server.reads == 2


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
    assert server.requests <= MAX_READS * (2 + concurrency)  # the first page, then a bounded window


@pytest.mark.parametrize("dag_id", ["blank_filters_operator", "blank_filters_sensor"])
def test_the_operator_and_the_sensor_with_default_arguments_refuse_the_claim(
    serve: Callable[[Script], HostileServer], capfd: pytest.CaptureFixture[str], dag_id: str
) -> None:
    server = serve(claims_ten_billion)
    result = run_dag(dag_id)
    assert result.task_states["task"] == "failed"
    assert "ResultMovedError" in "".join(capfd.readouterr())
    # At most 3 pokes (the sensor's max_consecutive_failures), each of MAX_READS bounded reads.
    assert server.requests <= 3 * MAX_READS * (2 + MAX_CONCURRENCY)
