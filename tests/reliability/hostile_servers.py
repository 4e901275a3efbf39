"""Hostile HTTP servers on 127.0.0.1 for the reliability tests, with the tests' fake keys.

The servers and behaviours are the test kit's (:mod:`airflow_provider_scorecards.testing.hostile`,
shared with the fault matrix); this module adds what the tests need around them: recognisable keys,
a connection to a server (``HostileServer.connection``), and ``first_gate_event``, which runs the gate's
trigger against it, as a triggerer would, up to its first event.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from airflow_provider_scorecards.testing import hostile
from airflow_provider_scorecards.testing.hostile import (
    EMPTY_PAGE,
    Behaviour,
    answer,
    drip_body,
    drip_headers,
    endless_chunked,
)

__all__ = [
    "API_KEY",
    "APP_KEY",
    "EMPTY_PAGE",
    "SECRETS",
    "Behaviour",
    "HostileServer",
    "answer",
    "drip_body",
    "drip_headers",
    "endless_chunked",
    "first_gate_event",
    "self_signed",
    "serving",
]

API_KEY = "HOSTILE-API-KEY-5b1c9e"
APP_KEY = "HOSTILE-APP-KEY-8d2f7a"
SECRETS = (API_KEY, APP_KEY)


class HostileServer(hostile.HostileServer):
    """The kit's hostile server, with the connection a test points the hook at."""

    def connection(self, scheme: str = "http", **extra: Any) -> str:
        """The JSON of a connection to this server (for ``AIRFLOW_CONN_...``)."""
        return json.dumps(
            {
                "conn_type": "datadog_scorecards",
                "password": API_KEY,
                "extra": {
                    "app_key_secret": APP_KEY,
                    "api_url": f"{scheme}://127.0.0.1:{self.port}",
                    "backoff_base": 0.01,
                    **extra,
                },
            }
        )

    def __enter__(self) -> HostileServer:
        super().__enter__()
        return self


@contextmanager
def serving(behave: Behaviour, *, tls: ssl.SSLContext | None = None) -> Iterator[HostileServer]:
    with HostileServer(behave, tls=tls) as server:
        yield server


def first_gate_event(conn_id: str = "datadog_scorecards_default", timeout: float = 30) -> dict[str, Any]:
    """Run a gate trigger (``min_score=0.5``, one failure allowed) to its first event; return the payload."""
    from airflow_provider_scorecards.client.query import ScoresQuery
    from airflow_provider_scorecards.gate import GateCondition
    from airflow_provider_scorecards.triggers.scores import DatadogScoreThresholdTrigger

    trigger = DatadogScoreThresholdTrigger(
        datadog_conn_id=conn_id,
        query=ScoresQuery.build("by-kind").describe(),
        condition=GateCondition.build(min_score=0.5).describe(),
        poke_interval=0.01,
        deadline=time.time() + 30,
        max_consecutive_failures=1,
    )

    async def first() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("no event")

    return asyncio.run(asyncio.wait_for(first(), timeout))


def self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    """Write a self-signed certificate for 127.0.0.1 and its key into ``folder``; return both paths."""
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
