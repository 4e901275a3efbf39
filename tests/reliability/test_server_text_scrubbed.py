"""Text from the server reaches no message with a key in it, and never at any length."""

from __future__ import annotations

import json
import logging
from http.server import BaseHTTPRequestHandler

import pytest

from airflow_provider_scorecards.client.errors import ScorecardsAPIError
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook
from tests.conftest import CONN_ENV
from tests.reliability.hostile_servers import SECRETS, answer, first_gate_event, serving

MESSAGE_CAP = 10_000


def _echo(status: int) -> object:
    """Answers ``status`` and echoes every request header everywhere it can, with 20 MB of padding."""

    def behave(handler: BaseHTTPRequestHandler) -> None:
        echoed = "; ".join(f"{k}: {v}" for k, v in handler.headers.items())
        body = json.dumps(
            {"errors": [{"title": f"echo {echoed}", "detail": echoed.lower() + "x" * 20_000_000}] * 3}
        ).encode()
        headers = {"X-Request-Id": echoed, "Location": f"https://evil.example/?{echoed}"}
        if status == 429:
            headers["X-RateLimit-Reset"] = "0.01"
        answer(handler, status, body[:30_000_000], headers, reason=f"Echo {echoed}")

    return behave


def _clean(text: str) -> None:
    for secret in SECRETS:
        assert secret.lower() not in text.lower()
    assert len(text) < MESSAGE_CAP, len(text)


@pytest.mark.parametrize("status", [400, 403, 302, 404, 500, 429])
def test_errors_and_retry_logs_carry_no_secret(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    caplog.set_level(logging.WARNING)
    with serving(_echo(status)) as server:  # type: ignore[arg-type]
        monkeypatch.setenv(CONN_ENV, server.connection(max_retries=2))
        with DatadogScorecardsHook() as hook, pytest.raises(ScorecardsAPIError) as info:
            hook.get_conn().get_page(ScoresQuery.build("by-kind"))
    assert server.seen[0]["DD-API-KEY"] in SECRETS  # the server did see (and echo) the keys
    _clean(str(info.value))
    for piece in [*info.value.errors, info.value.request_id or ""]:
        _clean(piece)
    for record in caplog.records:
        _clean(record.getMessage())


@pytest.mark.parametrize("status", [401, 403, 500])
def test_test_connection_message_carries_no_secret(monkeypatch: pytest.MonkeyPatch, status: int) -> None:
    with serving(_echo(status)) as server:  # type: ignore[arg-type]
        monkeypatch.setenv(CONN_ENV, server.connection(max_retries=0))
        ok, message = DatadogScorecardsHook().test_connection()
    assert not ok
    _clean(message)


@pytest.mark.parametrize("status", [403, 500])
def test_the_trigger_error_event_carries_no_secret(monkeypatch: pytest.MonkeyPatch, status: int) -> None:
    with serving(_echo(status)) as server:  # type: ignore[arg-type]
        monkeypatch.setenv(CONN_ENV, server.connection(max_retries=0))
        payload = first_gate_event()
    assert payload["status"] == "error"
    _clean(json.dumps(payload))
