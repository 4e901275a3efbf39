"""Proxies from the connection or the environment; no key in clear to a remote proxy; passwords hidden."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

import pytest

from airflow_provider_scorecards.client.errors import InvalidParameterError
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.client.settings import settings_from_connection
from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook
from tests.conftest import CONN_ENV
from tests.reliability.hostile_servers import API_KEY, APP_KEY, answer, serving

PROXY_PASSWORD = "proxy-pass-3e9d1f"


def _extra(**extra: object) -> dict[str, object]:
    return {"app_key_secret": APP_KEY, **extra}


def _connection(**extra: object) -> str:
    """The JSON of a connection (for ``AIRFLOW_CONN_...``) to an API that nothing serves unless proxied."""
    extra.setdefault("api_url", "http://127.0.0.1:9")
    return json.dumps({"conn_type": "datadog_scorecards", "password": API_KEY, "extra": _extra(**extra)})


@pytest.mark.parametrize(
    "proxies",
    [
        "http://10.20.30.40:3128",
        {"http": "http://proxy.corp.example:8080"},
        {"all": "http://u:p@10.0.0.1:80"},
    ],
)
def test_a_plain_http_proxy_on_another_host_is_refused_for_a_plain_http_api(proxies: object) -> None:
    with pytest.raises(InvalidParameterError) as info:
        settings_from_connection(
            "c", "datadog_scorecards", API_KEY, _extra(api_url="http://127.0.0.1:9", proxies=proxies)
        )
    assert info.value.parameter == "proxies"
    assert "in clear" in str(info.value)
    assert ":p@" not in str(info.value)


def test_an_https_api_may_go_through_a_plain_http_proxy() -> None:
    settings = settings_from_connection(
        "c", "datadog_scorecards", API_KEY, _extra(site="datadoghq.eu", proxies="http://10.20.30.40:3128")
    )
    assert settings.proxies == {"http": "http://10.20.30.40:3128", "https": "http://10.20.30.40:3128"}


def test_repr_and_the_masker_never_show_a_proxy_password(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = f"http://user:{PROXY_PASSWORD}@127.0.0.1:3128"
    monkeypatch.setenv(CONN_ENV, _connection(proxies={"http": proxy}))
    try:
        from airflow.sdk.log import redact
    except ImportError:  # Airflow 3.0
        from airflow.sdk.execution_time.secrets_masker import redact

    assert PROXY_PASSWORD in str(redact(f"proxy said {PROXY_PASSWORD}"))  # not registered yet
    settings = DatadogScorecardsHook().settings
    assert PROXY_PASSWORD not in repr(settings)
    assert "127.0.0.1:3128" in repr(settings)
    assert PROXY_PASSWORD not in str(redact(f"proxy said {PROXY_PASSWORD}"))  # Airflow's masker hides it


def _acts_as_proxy(handler: BaseHTTPRequestHandler) -> None:
    assert handler.path.startswith("http://127.0.0.1:9/")  # a proxy sees the absolute URL
    answer(handler)


def test_a_loopback_proxy_carries_the_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    with serving(_acts_as_proxy) as proxy:
        monkeypatch.setenv(CONN_ENV, _connection(proxies=f"http://127.0.0.1:{proxy.port}"))
        with DatadogScorecardsHook() as hook:
            assert hook.get_conn().get_page(ScoresQuery.build("by-kind")).count == 0
    assert len(proxy.seen) == 1


@pytest.fixture
def environment_without_proxies(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy variable from the machine running the tests: each test sets the ones it is about."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def test_the_environment_s_proxy_carries_the_requests(
    environment_without_proxies: pytest.MonkeyPatch,
) -> None:
    with serving(_acts_as_proxy) as proxy:
        environment_without_proxies.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        environment_without_proxies.setenv(CONN_ENV, _connection())
        with DatadogScorecardsHook() as hook:
            client = hook.get_conn()
            assert client.get_page(ScoresQuery.build("by-kind")).count == 0
            assert client.get_page(ScoresQuery.build("by-team")).count == 0
    assert len(proxy.seen) == 2


def test_no_proxy_exempts_the_api_host(environment_without_proxies: pytest.MonkeyPatch) -> None:
    with serving(answer) as server:
        environment_without_proxies.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
        environment_without_proxies.setenv("NO_PROXY", "127.0.0.1")
        environment_without_proxies.setenv(CONN_ENV, server.connection())
        with DatadogScorecardsHook() as hook:
            assert hook.get_conn().get_page(ScoresQuery.build("by-kind")).count == 0
    assert len(server.seen) == 1


def _proxy_echoing_its_password(handler: BaseHTTPRequestHandler) -> None:
    detail = f"upstream refused user:{PROXY_PASSWORD}"
    body = json.dumps({"errors": [{"status": "403", "title": "Forbidden", "detail": detail}]}).encode()
    answer(handler, 403, body)


def test_the_environment_s_proxy_password_is_scrubbed_from_errors(
    environment_without_proxies: pytest.MonkeyPatch,
) -> None:
    from airflow_provider_scorecards.client.errors import ScorecardsAPIError

    with serving(_proxy_echoing_its_password) as proxy:
        environment_without_proxies.setenv(
            "HTTP_PROXY", f"http://user:{PROXY_PASSWORD}@127.0.0.1:{proxy.port}"
        )
        environment_without_proxies.setenv(CONN_ENV, _connection())
        with DatadogScorecardsHook() as hook, pytest.raises(ScorecardsAPIError) as info:
            hook.get_conn().get_page(ScoresQuery.build("by-kind"))
    assert "upstream refused" in str(info.value)
    assert PROXY_PASSWORD not in str(info.value)


@pytest.mark.parametrize(
    "proxy",
    [
        f"user:{PROXY_PASSWORD}@proxy.corp.example:3128",  # no scheme: urlsplit reads "user" as one
        f"http://user:{PROXY_PASSWORD}/x@proxy.corp.example:3128",  # a "/" left unencoded
        f"http://user:{PROXY_PASSWORD}?x@proxy.corp.example:3128",
        f"http://user:{PROXY_PASSWORD}@[proxy.corp.example:3128",  # an unclosed "[": urlsplit raises
    ],
)
def test_a_malformed_proxy_url_is_refused_without_its_password(proxy: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        settings_from_connection(
            "c", "datadog_scorecards", API_KEY, _extra(site="datadoghq.eu", proxies=proxy)
        )
    assert info.value.parameter == "proxies"
    assert PROXY_PASSWORD not in str(info.value)
    assert "proxy.corp.example:3128" in str(info.value)


def test_a_malformed_proxy_url_in_the_environment_is_a_typed_error(
    environment_without_proxies: pytest.MonkeyPatch,
) -> None:
    from airflow_provider_scorecards.client.errors import ScorecardsError

    environment_without_proxies.setenv("HTTP_PROXY", f"http://user:{PROXY_PASSWORD}@[::1:3128")
    environment_without_proxies.setenv(CONN_ENV, _connection())
    with DatadogScorecardsHook() as hook, pytest.raises(ScorecardsError) as info:
        hook.get_conn().get_page(ScoresQuery.build("by-kind"))
    assert PROXY_PASSWORD not in str(info.value)
