"""No bare exception escapes the typed-error contract, whatever the server or the input holds."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from airflow_provider_scorecards.client.errors import (
    InvalidParameterError,
    ScorecardsAuthError,
    ScorecardsError,
)
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.client.settings import settings_from_connection
from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook
from airflow_provider_scorecards.operators.snapshots import load_baseline
from tests.conftest import CONN_ENV
from tests.reliability.hostile_servers import EMPTY_PAGE, answer, first_gate_event, serving

DEEP = b"[" * 200_000 + b"]" * 200_000
DEEP_OBJECT = b'{"data": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_000 + b"}"
HUGE_INTEGER = b'{"data": [], "meta": {"count": 0, "total": ' + b"9" * 5000 + b'}, "links": {}}'


def _page(body: bytes, headers: dict[str, str] | None = None) -> object:
    return lambda handler: answer(handler, body=body, headers=headers)


@pytest.mark.parametrize(
    "behave",
    [
        _page(DEEP),
        _page(DEEP_OBJECT),
        _page(HUGE_INTEGER),
        _page(EMPTY_PAGE, {"X-RateLimit-Remaining": "inf", "X-RateLimit-Reset": "1e400"}),
        _page(EMPTY_PAGE, {"X-RateLimit-Remaining": "9" * 5000, "X-RateLimit-Reset": "9" * 5000}),
        lambda handler: answer(handler, 500, DEEP),
    ],
    ids=["deep-list", "deep-object", "5000-digits", "inf-header", "5000-digit-header", "deep-error"],
)
def test_a_hostile_answer_is_a_typed_error_or_a_result(
    monkeypatch: pytest.MonkeyPatch, behave: object
) -> None:
    with serving(behave) as server:  # type: ignore[arg-type]
        monkeypatch.setenv(CONN_ENV, server.connection(max_retries=1))
        with DatadogScorecardsHook() as hook:
            try:
                for _ in range(2):  # twice: the pacer reads the headers of the first answer
                    hook.get_conn().get_page(ScoresQuery.build("by-kind"))
            except ScorecardsError:
                pass


def _deep_403(handler: BaseHTTPRequestHandler) -> None:
    answer(handler, 403, b'{"errors": ' + DEEP + b"}")


def test_a_403_with_a_deep_body_still_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    with serving(_deep_403) as server:
        monkeypatch.setenv(CONN_ENV, server.connection(max_retries=5))
        with DatadogScorecardsHook() as hook, pytest.raises(ScorecardsAuthError):
            hook.get_conn().get_page(ScoresQuery.build("by-kind"))
    assert len(server.seen) == 1


def test_the_trigger_reports_a_deep_page(monkeypatch: pytest.MonkeyPatch) -> None:
    with serving(_page(DEEP)) as server:  # type: ignore[arg-type]
        monkeypatch.setenv(CONN_ENV, server.connection(max_retries=0))
        assert first_gate_event()["status"] == "error"


@pytest.mark.parametrize("content", ["[" * 100_000, '{"id": ' * 100_000])
def test_a_deep_baseline_is_an_invalid_parameter(tmp_path: Path, content: str) -> None:
    path = tmp_path / "baseline.jsonl"
    path.write_text(content)
    for value in (str(path), content):
        with pytest.raises(InvalidParameterError):
            load_baseline(value)


def test_a_deep_template_value_is_an_invalid_parameter() -> None:
    from airflow_provider_scorecards.client.coercion import coerce_str_list

    with pytest.raises(InvalidParameterError):
        coerce_str_list("rule_ids", "[" * 30_000)


def test_a_deep_proxies_extra_is_an_invalid_parameter() -> None:
    """Read here, not through an ``AIRFLOW_CONN_*``: Airflow's masker keeps a connection's extra for good."""
    extra = {"app_key_secret": "APP-deep-1", "proxies": '{"a": ' * 100_000}
    with pytest.raises(InvalidParameterError, match="proxies"):
        settings_from_connection("deep", "datadogscorecards", "KEY-deep-1", extra)
