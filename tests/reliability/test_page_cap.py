"""One answer cannot exhaust the memory: a page larger than ``max_page_bytes`` is refused while it is read."""

from __future__ import annotations

import functools
import time
import tracemalloc
import zlib
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


@functools.cache
def _compression_bomb() -> bytes:
    """256 MiB of spaces gzipped into about 250 KB, compressed a MiB at a time and only when a test asks."""
    gzipped = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    mebibyte = b" " * (1024 * 1024)
    return b"".join(gzipped.compress(mebibyte) for _ in range(256)) + gzipped.flush()


def _sends_a_compression_bomb(handler: BaseHTTPRequestHandler) -> None:
    answer(handler, body=_compression_bomb(), headers={"Content-Encoding": "gzip"})


def _refused_page_peak() -> tuple[ScorecardsResponseError, int]:
    """Fetch one page, which must be refused, and return the error and the peak memory traced meanwhile."""
    tracemalloc.start()
    try:
        with DatadogScorecardsHook() as hook, pytest.raises(ScorecardsResponseError) as info:
            hook.get_conn().get_page(ScoresQuery.build("by-kind"))
        return info.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "behave",
    [endless_chunked, _claims_a_huge_body, _sends_two_megabytes, _sends_a_compression_bomb],
    ids=["endless", "claimed", "large", "compressed"],
)
def test_a_page_over_the_cap_is_refused_in_bounded_memory(
    monkeypatch: pytest.MonkeyPatch, behave: object
) -> None:
    cap = 1024 * 1024
    with serving(behave) as server:  # type: ignore[arg-type]
        monkeypatch.setenv(CONN_ENV, server.connection(max_page_bytes=cap, max_retries=2))
        _refused_page_peak()  # the first refusal also loads the modules of the error path
        started = time.monotonic()
        error, peak = _refused_page_peak()
        assert len(server.seen) == 2  # one request each: not retried, the server sends the same again
    assert "max_page_bytes=1048576" in str(error)
    assert peak < 6 * cap, peak  # the cap, the chunk being read and the hostile server's own buffers
    assert time.monotonic() - started < 10


def test_the_default_cap_is_generous() -> None:
    from airflow_provider_scorecards.client.settings import DEFAULT_MAX_PAGE_BYTES

    assert DEFAULT_MAX_PAGE_BYTES >= 16 * 1024 * 1024  # a page of 1000 scores is well under 1 MB
