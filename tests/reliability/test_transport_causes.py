"""A request that gets no answer says why first, in words a user acts on, with the host and port.

Real loopback servers (a closed port, TLS with an untrusted certificate, a proxy that refuses the tunnel,
one that is not there, a server that never answers) and a stubbed resolver: nothing leaves this machine,
DNS included (``no_dns`` refuses every name but loopback's for every test here).
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
import traceback
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_scorecards.client.errors import ScorecardsTransportError
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook
from tests.conftest import CONN_ENV
from tests.reliability.hostile_servers import API_KEY, APP_KEY, answer, self_signed, serving

PATH = "/api/v2/scorecard/scores/by-kind"
PROXY_PASSWORD = "proxy-pass-77c0e1"


@pytest.fixture(autouse=True)
def no_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Resolve loopback only; every other name is 'not known', and recorded."""
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("127.0.0.1", "localhost"):
            return real(host, *args, **kwargs)
        asked.append(str(host))
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def _connect(monkeypatch: pytest.MonkeyPatch, **extra: Any) -> None:
    extra = {"app_key_secret": APP_KEY, "max_retries": 0, **extra}
    monkeypatch.setenv(
        CONN_ENV, json.dumps({"conn_type": "datadogscorecards", "password": API_KEY, "extra": extra})
    )


def _fail() -> ScorecardsTransportError:
    with DatadogScorecardsHook() as hook, pytest.raises(ScorecardsTransportError) as info:
        hook.get_conn().get_page(ScoresQuery.build("by-kind"))
    return info.value


def _traceback(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_name_that_does_not_resolve(monkeypatch: pytest.MonkeyPatch, no_dns: list[str]) -> None:
    _connect(monkeypatch, site="datadoghq.eu")
    error = _fail()
    assert str(error).startswith(
        f"GET {PATH}: cannot resolve the host api.datadoghq.eu (port 443); check the connection's site"
    ), error
    assert "gaierror: [Errno -2] Name or service not known" in str(error)
    assert no_dns == ["api.datadoghq.eu"]
    assert "socket.gaierror" in _traceback(error)  # the HTTP stack's own exception, chained


def test_a_refused_port(monkeypatch: pytest.MonkeyPatch) -> None:
    port = _closed_port()
    _connect(monkeypatch, api_url=f"http://127.0.0.1:{port}")
    error = _fail()
    assert str(error).startswith(f"GET {PATH}: connection refused by 127.0.0.1:{port}: nothing listens"), (
        error
    )
    assert "ConnectionRefusedError" in str(error)
    assert error.__cause__ is not None
    assert "ConnectionRefusedError" in _traceback(error)


def test_an_untrusted_certificate_names_the_verify_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path, "server")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    other_ca, _ = self_signed(tmp_path, "corporate")
    with serving(answer, tls=context) as server:
        for verify, trusted in (
            (True, "the default CA bundle"),
            (str(other_ca), f"the CA bundle {other_ca}"),
        ):
            _connect(monkeypatch, api_url=f"https://127.0.0.1:{server.port}", verify=verify)
            error = _fail()
            assert str(error).startswith(
                f"GET {PATH}: the TLS certificate of 127.0.0.1:{server.port} is not trusted by {trusted}; "
                "set the connection's verify extra"
            ), error
            assert "CERTIFICATE_VERIFY_FAILED" in str(error)
            assert "SSLCertVerificationError" in _traceback(error)
        assert server.seen == []  # the keys never went to a server it could not authenticate


class _Proxy(BaseHTTPRequestHandler):
    """A proxy that refuses every tunnel, echoing its credentials and a long story in the reason phrase."""

    protocol_version = "HTTP/1.1"

    def do_CONNECT(self) -> None:
        told = self.headers.get("Proxy-Authorization", "")
        import base64

        credentials = base64.b64decode(told.split()[-1]).decode() if told else ""
        self.send_response(403, f"Forbidden for {credentials} " + "by policy " * 500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def refusing_proxy() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_a_proxy_that_refuses_the_tunnel(monkeypatch: pytest.MonkeyPatch, refusing_proxy: int) -> None:
    _connect(
        monkeypatch, site="datadoghq.eu", proxies=f"http://scorer:{PROXY_PASSWORD}@127.0.0.1:{refusing_proxy}"
    )
    error = _fail()
    assert str(error).startswith(
        f"GET {PATH}: the proxy 127.0.0.1:{refusing_proxy} refused or failed the connection to "
        "api.datadoghq.eu:443; check the connection's proxies extra"
    ), error
    assert "Tunnel connection failed: 403 Forbidden for scorer:***" in str(error)
    assert len(str(error)) < 800  # the proxy's story is capped
    assert PROXY_PASSWORD not in _traceback(error)  # scrubbed, and its raw text not chained
    assert error.__cause__ is None


def test_a_proxy_that_is_not_there(monkeypatch: pytest.MonkeyPatch) -> None:
    port = _closed_port()
    _connect(monkeypatch, site="datadoghq.eu", proxies=f"http://scorer:{PROXY_PASSWORD}@127.0.0.1:{port}")
    error = _fail()
    assert str(error).startswith(
        f"GET {PATH}: the proxy 127.0.0.1:{port} refused or failed the connection"
    ), error
    assert "ConnectionRefusedError" in str(error)
    assert "ProxyError" in _traceback(error)
    assert PROXY_PASSWORD not in _traceback(error)


def test_no_answer_within_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    with serving(lambda handler: time.sleep(3)) as server:
        _connect(monkeypatch, api_url=f"http://127.0.0.1:{server.port}", timeout=0.3)
        error = _fail()
    assert str(error).startswith(
        f"GET {PATH}: no answer from 127.0.0.1:{server.port} within timeout=0.3 s;"
    ), error
    assert "ReadTimeout" in _traceback(error)
