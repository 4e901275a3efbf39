"""Hostile HTTP servers on 127.0.0.1: the answers the simulator cannot give, for the client's bounds.

A server is a function ``behave(handler)`` run for every request, with the ``BaseHTTPRequestHandler`` to
write raw bytes to (``handler.wfile``), so a server can drip, lie about sizes, echo the request's headers
or never finish. :class:`HostileServer` runs one in a thread, records the requests it saw and gives the
connection to it with recognisable fake keys; ``first_gate_event`` runs the gate's trigger against it, as
a triggerer would, up to its first event. The reliability tests and the fault matrix (``fault_matrix.py``)
both serve from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

API_KEY = "HOSTILE-API-KEY-5b1c9e"
APP_KEY = "HOSTILE-APP-KEY-8d2f7a"
SECRETS = (API_KEY, APP_KEY)

EMPTY_PAGE = json.dumps({"data": [], "meta": {"count": 0, "total": 0}, "links": {}}).encode()
"""A valid, empty scores page."""

Behaviour = Callable[[BaseHTTPRequestHandler], None]


class HostileServer:
    """A threaded HTTP(S) server on loopback whose every answer is ``behave``'s."""

    def __init__(self, behave: Behaviour, *, tls: ssl.SSLContext | None = None) -> None:
        self.seen: list[dict[str, str]] = []
        """Every request, in order: its path, method and headers."""
        self.bodies: list[bytes] = []
        """The body of every POST, in order."""
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                outer.seen.append({"path": self.path, "method": self.command, **dict(self.headers)})
                with contextlib.suppress(OSError):  # the client hung up (what a deadline does)
                    behave(self)

            def do_POST(self) -> None:
                with contextlib.suppress(OSError, ValueError):
                    outer.bodies.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                self.do_GET()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        """The loopback port it listens on."""
        return int(self.server.server_address[1])

    def connection(self, scheme: str = "http", **extra: Any) -> str:
        """The JSON of a connection to this server (for ``AIRFLOW_CONN_...``), with the tests' fake keys."""
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
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def serving(behave: Behaviour, *, tls: ssl.SSLContext | None = None) -> Iterator[HostileServer]:
    """Run a :class:`HostileServer` for the ``with`` block."""
    with HostileServer(behave, tls=tls) as server:
        yield server


def answer(
    handler: BaseHTTPRequestHandler,
    status: int = 200,
    body: bytes = EMPTY_PAGE,
    headers: dict[str, str] | None = None,
    reason: str | None = None,
) -> None:
    """Send a complete answer (Content-Length set, after any headers given, which may lie)."""
    handler.send_response(status, reason)
    handler.send_header("Content-Type", "application/vnd.api+json")
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def drip_body(every: float, chunks: int = 1000, status: int = 200) -> Behaviour:
    """Send the headers at once, then the body a byte every ``every`` seconds (each gap under any timeout)."""

    def behave(handler: BaseHTTPRequestHandler) -> None:
        body = b" " * chunks + EMPTY_PAGE
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.flush()
        for byte in body:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(every)

    return behave


def drip_headers(every: float) -> Behaviour:
    """Send the status line, then one header byte every ``every`` seconds, forever."""

    def behave(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        handler.wfile.flush()
        while True:
            handler.wfile.write(b"a")
            handler.wfile.flush()
            time.sleep(every)

    return behave


def endless_chunked(handler: BaseHTTPRequestHandler) -> None:
    """Send a chunked body that never ends (1 MB chunks of ``[``-free filler)."""
    handler.send_response(200)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    chunk = b" " * (1024 * 1024)
    while True:
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))


def first_gate_event(conn_id: str = "datadog_scorecards_default", timeout: float = 30) -> dict[str, Any]:
    """Run a gate trigger (``min_score=0.5``, one failure allowed) to its first event; return the payload."""
    from airflow_provider_scorecards.client.query import ScoresQuery
    from airflow_provider_scorecards.gate.condition import GateCondition
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
