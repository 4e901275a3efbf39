"""One answer cannot exhaust the memory: a page larger than ``max_page_bytes`` is refused while it is read."""

from __future__ import annotations

import time
import tracemalloc
from http.server import BaseHTTPRequestHandler

import pytest

from airflow_provider_scorecards.client.errors import ScorecardsResponseError
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook
from tests.conftest import CONN_ENV
from tests.reliability.hostile_servers import answer, endless_chunked, serving


def _claims_a_huge_body(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(10**12))
    handler.end_headers()
    handler.wfile.write(b"[" * 1024)


def _sends_two_megabytes(handler: BaseHTTPRequestHandler) -> None:
    answer(handler, body=b" " * (2 * 1024 * 1024) + b"{}")


@pytest.mark.parametrize(
    "behave",
    [endless_chunked, _claims_a_huge_body, _sends_two_megabytes],
    ids=["endless", "claimed", "large"],
)
def test_a_page_over_the_cap_is_refused_in_bounded_memory(
    monkeypatch: pytest.MonkeyPatch, behave: object
) -> None:
    with serving(behave) as server:  # type: ignore[arg-type]
        monkeypatch.setenv(CONN_ENV, server.connection(max_page_bytes=1024 * 1024, max_retries=2))
        tracemalloc.start()
        started = time.monotonic()
        try:
            with DatadogScorecardsHook() as hook, pytest.raises(ScorecardsResponseError) as info:
                hook.get_conn().get_page(ScoresQuery.build("by-kind"))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert len(server.seen) == 1  # not retried: the same server sends the same body again
    assert "max_page_bytes=1048576" in str(info.value)
    assert peak < 8 * 1024 * 1024, peak
    assert time.monotonic() - started < 10


def test_the_default_cap_is_generous() -> None:
    from airflow_provider_scorecards.client.settings import DEFAULT_MAX_PAGE_BYTES

    assert DEFAULT_MAX_PAGE_BYTES >= 16 * 1024 * 1024  # a page of 1000 scores is well under 1 MB
