"""The connection's ``verify`` wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, against a real TLS server."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_scorecards.client.errors import InvalidParameterError, ScorecardsTransportError
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook
from tests.conftest import CONN_ENV
from tests.reliability.hostile_servers import HostileServer, answer, serving


def _self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[HostileServer, Path]]:
    cert, key = _self_signed(tmp_path, "server")
    other_ca, _ = _self_signed(tmp_path, "corporate")
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
