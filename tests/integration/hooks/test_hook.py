"""DatadogScorecardsHook against the simulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_scorecards.client.errors import (
    ScorecardsAuthError,
    ScorecardsBadRequestError,
    ScorecardsConfigError,
    ScorecardsNotFoundError,
    ScorecardsRateLimitError,
    ScorecardsServerError,
    ScorecardsTransportError,
)
from airflow_provider_scorecards.client.pages import flatten
from airflow_provider_scorecards.client.query import AGGREGATIONS, ScoresQuery
from airflow_provider_scorecards.client.settings import ClientSettings
from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook
from airflow_provider_scorecards.simulator import ScorecardsSimulator
from tests.conftest import CONN_ENV


def expected_records(sim: ScorecardsSimulator, query: ScoresQuery) -> list[dict[str, Any]]:
    wire = {k: v for k, v in query.to_params().items() if k.startswith("filter")}
    return [flatten(item) for item in sim.expected_scores(query.aggregation, wire, query.sort)]


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
@pytest.mark.parametrize("concurrency", [1, 4])
def test_every_page_of_every_aggregation(
    sim_conn: ScorecardsSimulator, aggregation: str, concurrency: int
) -> None:
    query = ScoresQuery.build(aggregation, page_limit=7)
    with DatadogScorecardsHook() as hook:
        records = hook.get_conn().fetch(query, concurrency=concurrency).records
    expected = expected_records(sim_conn, query)
    assert records == expected
    assert len(records) > 0


@pytest.mark.parametrize(
    "filters",
    [
        {"rule_levels": [1]},
        {"rule_levels": "2,3"},
        {"scorecard_ids": ["security-posture"]},
        {"is_custom": True},
        {"is_custom": False},
        {"is_enabled": False},
        {"rule_name": "Has runbook"},
        {
            "rule_levels": [1],
            "is_enabled": True,
            "scorecard_ids": "production-readiness,observability-best-practices",
        },
    ],
)
def test_filters_are_honoured(sim_conn: ScorecardsSimulator, filters: dict[str, Any]) -> None:
    for aggregation in ("by-entity", "by-rule", "by-team"):
        query = ScoresQuery.build(aggregation, page_limit=50, **filters)
        with DatadogScorecardsHook() as hook:
            records = hook.get_conn().fetch(query).records
        assert records == expected_records(sim_conn, query)
        unfiltered = expected_records(sim_conn, ScoresQuery.build(aggregation))
        assert records != unfiltered or (aggregation == "by-team" and not records)


def test_rule_id_filter(sim_conn: ScorecardsSimulator) -> None:
    rule_ids = [sim_conn.org.rules[0].id, sim_conn.org.rules[3].id]
    with DatadogScorecardsHook() as hook:
        records = hook.get_conn().fetch(ScoresQuery.build("by-rule", rule_ids=rule_ids)).records
    assert sorted(r["id"] for r in records) == sorted(rule_ids)  # rule_id may be absent (sparse)


@pytest.mark.parametrize("sort", ["score", "-score", "total_fail", "-denominator"])
def test_sort(sim_conn: ScorecardsSimulator, sort: str) -> None:
    query = ScoresQuery.build("by-entity", sort=sort, page_limit=100)
    with DatadogScorecardsHook() as hook:
        records = hook.get_conn().fetch(query, concurrency=4).records
    values = [r[sort.lstrip("-")] for r in records]
    assert values == sorted(values, reverse=sort.startswith("-"))
    assert records == expected_records(sim_conn, query)


def test_session_headers_and_user_agent(sim_conn: ScorecardsSimulator) -> None:
    import airflow

    hook = DatadogScorecardsHook()
    headers = hook.get_conn().transport.session.headers
    assert headers["Accept"] == "application/json"
    assert headers["DD-API-KEY"] == sim_conn.api_key
    assert headers["DD-APPLICATION-KEY"] == sim_conn.app_key
    assert headers["User-Agent"].startswith("airflow-provider-scorecards/0.1.0")
    assert f"apache-airflow/{airflow.__version__}" in headers["User-Agent"]
    assert hook.get_conn() is hook.get_conn()  # one session per hook


def test_connection_is_read_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONN_ENV, raising=False)
    hook = DatadogScorecardsHook("does_not_exist_yet")  # no error: nothing is read in __init__
    with pytest.raises(ScorecardsConfigError, match="DD_API_KEY"):
        _ = hook.settings


def test_two_hooks_share_nothing(sim_conn: ScorecardsSimulator) -> None:
    one, two = DatadogScorecardsHook(), DatadogScorecardsHook()
    assert one.get_conn() is not two.get_conn()
    assert one.get_conn().transport.session is not two.get_conn().transport.session


def test_bearer_token(monkeypatch: pytest.MonkeyPatch) -> None:
    with ScorecardsSimulator(seed=3, entities=20, bearer_token="oauth-token-abc") as sim:
        monkeypatch.setenv(
            CONN_ENV,
            json.dumps(
                {
                    "conn_type": "datadogscorecards",
                    "extra": {"api_url": sim.url, "bearer_token": "oauth-token-abc"},
                }
            ),
        )
        with DatadogScorecardsHook() as hook:
            assert hook.get_conn().transport.session.headers["Authorization"] == "Bearer oauth-token-abc"
            assert len(hook.get_conn().fetch(ScoresQuery.build("by-team")).records) == len(sim.org.teams)


def test_official_datadog_connection_type(monkeypatch: pytest.MonkeyPatch, sim: ScorecardsSimulator) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DATADOG_DEFAULT",
        json.dumps(
            {
                "conn_type": "datadog",
                "extra": {"api_key": sim.api_key, "app_key": sim.app_key, "api_host": sim.url},
            }
        ),
    )
    with DatadogScorecardsHook("datadog_default") as hook:
        assert hook.base_url == sim.url
        assert len(hook.get_conn().fetch(ScoresQuery.build("by-kind")).records) == len(
            {e.kind for e in sim.org.entities}
        )


def test_official_connection_type_with_site_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DATADOG_DEFAULT",
        json.dumps(
            {
                "conn_type": "datadog",
                "extra": {"api_key": "a", "app_key": "b", "api_host": "https://api.datadoghq.eu"},
            }
        ),
    )
    assert DatadogScorecardsHook("datadog_default").base_url == "https://api.datadoghq.eu"


def test_environment_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONN_ENV, raising=False)
    monkeypatch.setenv("DD_API_KEY", "env-api-key")
    monkeypatch.setenv("DD_APP_KEY", "env-app-key")
    monkeypatch.setenv("DD_SITE", "app.datadoghq.eu")
    config = DatadogScorecardsHook().settings
    assert config.base_url == "https://api.datadoghq.eu"
    assert (config.api_key, config.app_key) == ("env-api-key", "env-app-key")
    assert "environment" in config.source


def test_environment_fallback_needs_both_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONN_ENV, raising=False)
    monkeypatch.setenv("DD_API_KEY", "env-api-key-only")
    with pytest.raises(ScorecardsConfigError, match="application key is missing") as info:
        _ = DatadogScorecardsHook().settings
    assert "env-api-key-only" not in str(info.value)


def test_connection_without_app_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONN_ENV, json.dumps({"conn_type": "datadogscorecards", "password": "k"}))
    with pytest.raises(ScorecardsConfigError, match="app_key_secret"):
        _ = DatadogScorecardsHook().settings


def test_only_the_default_connection_falls_back_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A mistyped connection id is an error naming it, never the worker's DD_* organisation."""
    monkeypatch.setenv("DD_API_KEY", "env-api-key")
    monkeypatch.setenv("DD_APP_KEY", "env-app-key")
    with pytest.raises(ScorecardsConfigError, match="'datadog_scoreards' does not exist") as info:
        _ = DatadogScorecardsHook("datadog_scoreards").settings
    assert "env-api-key" not in str(info.value)
    monkeypatch.delenv(CONN_ENV, raising=False)
    assert DatadogScorecardsHook().settings.api_key == "env-api-key"


def test_app_key_extra_of_our_type_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, sim: ScorecardsSimulator
) -> None:
    conn = sim.connection_dict()
    conn["extra"]["app_key"] = conn["extra"].pop("app_key_secret")  # the official datadog type's field
    monkeypatch.setenv(CONN_ENV, json.dumps(conn))
    with pytest.raises(ScorecardsConfigError, match=r"extra field 'app_key'.*'app_key_secret'") as info:
        _ = DatadogScorecardsHook().settings
    assert sim.app_key not in str(info.value)


def test_connection_extras_are_coerced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        CONN_ENV,
        json.dumps(
            {
                "conn_type": "datadogscorecards",
                "password": "k",
                "extra": {
                    "app_key_secret": "a",
                    "site": "us5.datadoghq.com",
                    "timeout": "12.5",
                    "max_retries": "2",
                    "verify": "false",
                    "proxies": "http://127.0.0.1:3128",
                },
            }
        ),
    )
    config = DatadogScorecardsHook().settings
    assert config.base_url == "https://api.us5.datadoghq.com"
    assert (config.timeout, config.max_retries, config.verify) == (12.5, 2, False)
    assert config.proxies == {"http": "http://127.0.0.1:3128", "https": "http://127.0.0.1:3128"}


def test_gov_site_in_connection_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        CONN_ENV,
        json.dumps(
            {
                "conn_type": "datadogscorecards",
                "password": "k",
                "extra": {"app_key_secret": "a", "site": "ddog-gov.com"},
            }
        ),
    )
    with pytest.raises(ValueError, match="not offered"):
        _ = DatadogScorecardsHook().settings


def test_config_repr_hides_credentials() -> None:
    config = ClientSettings(
        base_url="https://api.datadoghq.com", api_key="AKEY123", app_key="APPKEY456", bearer_token="TOK789"
    )
    text = repr(config)
    assert "AKEY123" not in text
    assert "APPKEY456" not in text
    assert "TOK789" not in text


def test_keys_are_registered_with_the_secrets_masker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        CONN_ENV,
        json.dumps(
            {
                "conn_type": "datadogscorecards",
                "password": "mask-me-api-key-1",
                "extra": {"app_key_secret": "mask-me-app-key-2", "bearer_token": "mask-me-token-3"},
            }
        ),
    )
    _ = DatadogScorecardsHook().settings
    redact = _masker_redact()
    for secret in ("mask-me-api-key-1", "mask-me-app-key-2", "mask-me-token-3"):
        assert secret not in redact(f"value={secret}")


def _masker_redact() -> Any:
    try:
        from airflow.sdk.log import _secrets_masker
    except ImportError:  # Airflow 3.0
        from airflow.sdk.execution_time.secrets_masker import _secrets_masker
    return _secrets_masker().redact


# -- retries and fail-fast ------------------------------------------------------------------------


def test_5xx_is_retried_then_succeeds(fresh_conn: ScorecardsSimulator) -> None:
    fresh_conn.faults.inject("status", count=2, status=503)
    with DatadogScorecardsHook() as hook:
        records = hook.get_conn().fetch(ScoresQuery.build("by-team")).records
        assert hook.get_conn().transport.stats.retries == 2
    assert len(records) == len(fresh_conn.org.teams)
    assert [r.status for r in fresh_conn.score_requests()] == [503, 503, 200]


def test_5xx_outlasting_retries_raises_server_error(fresh_conn: ScorecardsSimulator) -> None:
    fresh_conn.faults.inject("status", count=10, status=502)
    with DatadogScorecardsHook() as hook, pytest.raises(ScorecardsServerError) as info:
        hook.get_conn().fetch(ScoresQuery.build("by-team"))
    assert info.value.status == 502
    assert info.value.request_id is not None
    assert info.value.request_id.startswith("sim-")
    assert len(fresh_conn.score_requests()) == 6  # 1 + max_retries (5)


@pytest.mark.parametrize("mode", ["reset", "retry-after"])
def test_429_waits_for_the_announced_reset(fresh_conn: ScorecardsSimulator, mode: str) -> None:
    fresh_conn.faults.inject("rate_limit", count=1, rate_limit_headers=mode, reset_seconds=0.3)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)

    with DatadogScorecardsHook(sleep=sleep) as hook:
        hook.get_conn().fetch(ScoresQuery.build("by-team"))
    assert len(waits) == 1
    assert 0.3 <= waits[0] <= 0.36


def test_429_forever_raises_rate_limit_error(fresh_conn: ScorecardsSimulator) -> None:
    fresh_conn.faults.inject("rate_limit", count=10, rate_limit_headers="none")
    with DatadogScorecardsHook(sleep=lambda s: None) as hook, pytest.raises(ScorecardsRateLimitError):
        hook.get_conn().fetch(ScoresQuery.build("by-team"))


def test_dropped_connection_is_retried(fresh_conn: ScorecardsSimulator) -> None:
    fresh_conn.faults.inject("drop", count=2)
    with DatadogScorecardsHook() as hook:
        assert len(hook.get_conn().fetch(ScoresQuery.build("by-kind")).records) > 0


def test_connection_refused_is_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        CONN_ENV,
        json.dumps(
            {
                "conn_type": "datadogscorecards",
                "password": "k",
                "extra": {
                    "app_key_secret": "a",
                    "api_url": "http://127.0.0.1:9",
                    "max_retries": 1,
                    "backoff_base": 0.01,
                },
            }
        ),
    )
    with (
        DatadogScorecardsHook() as hook,
        pytest.raises(ScorecardsTransportError, match=r"connection refused by 127\.0\.0\.1:9"),
    ):
        hook.get_conn().get_page(ScoresQuery.build("by-kind"))


def test_403_fails_fast_with_datadogs_message(
    fresh_sim: ScorecardsSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = fresh_sim.connection_dict()
    conn["password"] = "wrong-api-key-xyz"
    monkeypatch.setenv(CONN_ENV, json.dumps(conn))
    with DatadogScorecardsHook() as hook, pytest.raises(ScorecardsAuthError) as info:
        hook.get_conn().fetch(ScoresQuery.build("by-team"))
    assert info.value.status == 403
    assert "invalid or missing API key" in str(info.value)
    assert "wrong-api-key-xyz" not in str(info.value)
    assert fresh_sim.app_key not in str(info.value)
    assert len(fresh_sim.score_requests()) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_not_retried(fresh_conn: ScorecardsSimulator, status: int) -> None:
    fresh_conn.faults.inject("status", count=1, status=status)
    expected = {
        400: ScorecardsBadRequestError,
        401: ScorecardsAuthError,
        403: ScorecardsAuthError,
        404: ScorecardsNotFoundError,
    }
    with DatadogScorecardsHook() as hook, pytest.raises(expected[status]):
        hook.get_conn().fetch(ScoresQuery.build("by-team"))
    assert len(fresh_conn.score_requests()) == 1


def test_test_connection(sim_conn: ScorecardsSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    ok, message = DatadogScorecardsHook().test_connection()
    assert ok, message
    assert "apm_service_catalog_write" in message  # what posting outcomes needs, which it cannot test
    conn = sim_conn.connection_dict()
    conn["extra"]["app_key_secret"] = "bad-app-key"
    monkeypatch.setenv(CONN_ENV, json.dumps(conn))
    ok, message = DatadogScorecardsHook().test_connection()
    assert not ok
    assert "apm_service_catalog_read" in message
    assert "apm_service_catalog_write" in message
    assert "bad-app-key" not in message


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({}, "app_key_secret"),  # no application key
        ({"app_key_secret": "secret-a", "site": "ddog-gov.com"}, "ddog-gov.com"),  # a refused site
        ({"app_key_secret": "secret-a", "timeout": "abc"}, "timeout"),  # a bad number
    ],
)
def test_test_connection_names_an_unusable_connection(
    monkeypatch: pytest.MonkeyPatch, extra: dict[str, str], named: str
) -> None:
    """A connection that cannot become settings is a failed test with its reason, not an exception."""
    conn = {"conn_type": "datadogscorecards", "password": "secret-k", "extra": extra}
    monkeypatch.setenv(CONN_ENV, json.dumps(conn))
    ok, message = DatadogScorecardsHook().test_connection()
    assert not ok
    assert message.startswith("The connection cannot be used: ")
    assert named in message
    assert "secret-k" not in message
    assert "secret-a" not in message


def test_fetching_never_touches_the_process_wide_gc(sim_conn: ScorecardsSimulator) -> None:
    """A worker or triggerer runs other work in the same process: the cyclic GC stays as it was."""
    import gc
    import threading

    seen_disabled = threading.Event()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if not gc.isenabled():
                seen_disabled.set()
            stop.wait(0.0005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with DatadogScorecardsHook(concurrency=4) as hook:
            records = hook.get_conn().fetch(ScoresQuery.build("by-entity", page_limit=10)).records
    finally:
        stop.set()
        watcher.join()
    assert len(records) == len(sim_conn.expected_scores("by-entity"))
    assert gc.isenabled()
    assert not seen_disabled.is_set()
