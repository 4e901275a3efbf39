"""What went wrong with a request, as a typed error: a non-200 answer, or no complete answer at all.

Why this is its own module: everything here turns text the server chose (an error body, a reason
phrase, a ``Location``, a request id) or an exception of the HTTP stack into a message the user reads,
so every piece is scrubbed of the keys and capped in one place, whichever status or failure it was.
It names no ``requests`` class: the transport says which exceptions could not even be sent, and which
came from a proxy; every other cause is read from the standard library's exceptions in the chain.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from airflow_provider_scorecards.client.bounded_json import load_json
from airflow_provider_scorecards.client.errors import (
    ScorecardsAPIError,
    ScorecardsError,
    ScorecardsResponseError,
    ScorecardsTransportError,
    ServerText,
    api_error_class,
    error_messages,
    render_server_text,
)

if TYPE_CHECKING:
    from airflow_provider_scorecards.client.settings import ClientSettings

REQUEST_ID_HEADERS = ("X-Request-Id", "DD-Request-Id", "X-Datadog-Request-Id")


def status_error(
    status: int,
    reason: str | None,
    headers: Mapping[str, str],
    body: bytes,
    path: str,
    text: ServerText,
    method: str = "GET",
) -> ScorecardsAPIError:
    """Return the typed error of a non-2xx answer; every text taken from it is scrubbed and capped."""
    try:
        decoded = load_json(body) if body else None
    except (ValueError, RecursionError):
        decoded = None
    messages = [text.clean(message) for message in error_messages(decoded)]
    if 300 <= status < 400:
        location = text.clean(headers.get("Location", "?"))
        messages = [f"unexpected redirect to {location} (not followed)"]
    request_id = next((headers[h] for h in REQUEST_ID_HEADERS if h in headers), None)
    return api_error_class(status)(
        status,
        text.clean_all(messages),
        request_id=None if request_id is None else text.clean(request_id, limit=200),
        url=path,
        reason=None if reason is None else text.clean(reason, limit=200),
        method=method,
    )


def transport_error(
    exc: BaseException,
    where_to: str,
    text: ServerText,
    settings: ClientSettings,
    proxy: str | None,
    *,
    unsendable: bool = False,
    proxy_failed: bool = False,
) -> ScorecardsError:
    """Return the typed error of a request (``"GET /path"``) that got no answer: its cause first.

    ``proxy`` is the ``host:port`` of the proxy the requests go through, if any. ``unsendable``: the
    request itself was bad. ``proxy_failed``: the HTTP stack blames the proxy. The
    original exception is chained to the error, unless some text in its chain holds a credential (a
    proxy that echoes what it was sent).
    """
    # The exception text of requests can include the full URL with query but never headers.
    if unsendable:
        return ScorecardsResponseError(f"{where_to}: request could not be sent ({type(exc).__name__})")
    chain = _chain(exc)
    root = chain[-1]
    detail = f"{type(root).__name__}: {text.clean(str(root), limit=300)}"
    error = ScorecardsTransportError(f"{where_to}: {_cause(exc, settings, proxy, proxy_failed)} ({detail})")
    if not any(_holds_secret(str(e), text) for e in chain):
        error.__cause__ = exc
    return error


def _cause(exc: BaseException, settings: ClientSettings, proxy: str | None, proxy_failed: bool) -> str:
    """Return the cause of a failed request in words a user acts on, naming the host and port."""
    api = urlsplit(settings.base_url)
    host, port = api.hostname or "?", api.port or (443 if api.scheme == "https" else 80)
    target = f"{host}:{port}"
    if proxy_failed and proxy:
        return (
            f"the proxy {proxy} refused or failed the connection to {target}; check the "
            "connection's proxies extra (or HTTPS_PROXY and NO_PROXY)"
        )
    if caused_by(exc, socket.gaierror):
        return (
            f"cannot resolve the host {host} (port {port}); check the connection's site or "
            "api_url, and this machine's DNS"
        )
    if caused_by(exc, ssl.SSLCertVerificationError):
        trusted = "the default CA bundle" if settings.verify is True else f"the CA bundle {settings.verify}"
        return (
            f"the TLS certificate of {target} is not trusted by {trusted}; set the connection's "
            "verify extra to the path of a CA bundle that holds its issuer (a proxy that inspects TLS "
            "needs its own CA there)"
        )
    if caused_by(exc, ConnectionRefusedError):
        return f"connection refused by {target}: nothing listens there; check the connection's api_url"
    if caused_by(exc, TimeoutError):
        return (
            f"no answer from {target} within timeout={settings.timeout:g} s; check the network path, "
            "or raise the connection's timeout extra"
        )
    if caused_by(exc, ssl.SSLError):
        return f"the TLS handshake with {target} failed"
    return f"no HTTP answer from {target}"


def caused_by(exc: BaseException, kinds: type[BaseException] | tuple[type[BaseException], ...]) -> bool:
    """Whether ``exc`` or anything it wraps is one of ``kinds``."""
    return any(isinstance(e, kinds) for e in _chain(exc))


def _chain(exc: BaseException, limit: int = 12) -> list[BaseException]:
    """Return ``exc`` and what it wraps (causes, contexts, a ``reason``, ``args``), deepest last."""
    depth: dict[int, tuple[int, BaseException]] = {}
    todo = [(0, exc)]
    while todo and len(depth) < limit:
        level, current = todo.pop()
        if id(current) in depth:
            continue
        depth[id(current)] = (level, current)
        wrapped = [current.__context__, *current.args, getattr(current, "reason", None), current.__cause__]
        todo.extend((level + 1, e) for e in wrapped if isinstance(e, BaseException))
    return [e for _, e in sorted(depth.values(), key=lambda pair: pair[0])]


def _holds_secret(raw: str, text: ServerText) -> bool:
    rendered = render_server_text(raw, 10 * len(raw) + 10)  # never cut: an escape is at most 10 characters
    return text.scrub(raw) != raw or text.scrub(rendered) != rendered


def brief(error: BaseException | None) -> str:
    """Return an error's message without the request it was about, for the one-line retry log."""
    return re.split(r" \((?:GET|POST) /", str(error))[0][:200]
