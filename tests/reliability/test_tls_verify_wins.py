"""The connection's ``verify`` wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, against a real TLS server."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_scorecards.client.errors import InvalidParameterError, ScorecardsTransportError
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook
from tests.conftest import CONN_ENV
from tests.reliability.hostile_servers import HostileServer, answer, self_signed, serving


@pytest.fixture
def tls_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[HostileServer, Path]]:
    cert, key = self_signed(tmp_path, "server")
    other_ca, _ = self_signed(tmp_path, "corporate")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    # What corporate images set: a bundle that does not hold our server's certificate.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other_ca))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(other_ca))
    with serving(answer, tls=context) as server:
        yield server, cert


@pytest.mark.parametrize("verify", ["cert", "false", False])
def test_the_connection_setting_wins(
    monkeypatch: pytest.MonkeyPatch, tls_server: tuple[HostileServer, Path], verify: object
) -> None:
    server, cert = tls_server
    monkeypatch.setenv(CONN_ENV, server.connection("https", verify=str(cert) if verify == "cert" else verify))
    with DatadogScorecardsHook() as hook:
        page = hook.get_conn().get_page(ScoresQuery.build("by-kind"))
    assert page.count == 0
    assert len(server.seen) == 1


def test_default_verification_still_refuses_an_unknown_certificate(
    monkeypatch: pytest.MonkeyPatch, tls_server: tuple[HostileServer, Path]
) -> None:
    server, _ = tls_server
    monkeypatch.setenv(CONN_ENV, server.connection("https", max_retries=0))
    with DatadogScorecardsHook() as hook, pytest.raises(ScorecardsTransportError):
        hook.get_conn().get_page(ScoresQuery.build("by-kind"))


@pytest.mark.parametrize("verify", ["off", "/no/such/ca-bundle.pem", ["x"]])
def test_a_bad_verify_is_an_invalid_parameter(monkeypatch: pytest.MonkeyPatch, verify: object) -> None:
    with serving(answer) as server:
        monkeypatch.setenv(CONN_ENV, server.connection("https", verify=verify))
        with pytest.raises(InvalidParameterError) as info:
            _ = DatadogScorecardsHook().settings
    assert info.value.parameter == "verify"
    assert server.seen == []
