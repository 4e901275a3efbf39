"""What went wrong with a request, as a typed error: a non-200 answer, or no complete answer at all.

Why this is its own module: everything here turns text the server chose (an error body, a reason
phrase, a ``Location``, a request id) or an exception of the HTTP stack into a message the user reads,
so every piece is scrubbed of the keys and capped in one place, whichever status or failure it was.
It names no ``requests`` class: the transport says which exceptions could not even be sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from airflow_provider_scorecards.client.errors import (
    ScorecardsAPIError,
    ScorecardsError,
    ScorecardsResponseError,
    ScorecardsTransportError,
    ServerText,
    api_error_for_status,
    error_messages,
)

REQUEST_ID_HEADERS = ("X-Request-Id", "DD-Request-Id", "X-Datadog-Request-Id")


def status_error(
    status: int,
    reason: str | None,
    headers: Mapping[str, str],
    body: bytes,
    path: str,
    text: ServerText,
) -> ScorecardsAPIError:
    """Return the typed error of a non-200 answer; every text taken from it is scrubbed and capped."""
    try:
        decoded = json.loads(body) if body else None
    except (ValueError, RecursionError):
        decoded = None
    messages = [text.clean(message) for message in error_messages(decoded)]
    if 300 <= status < 400:
        location = text.clean(headers.get("Location", "?"))
        messages = [f"unexpected redirect to {location} (not followed)"]
    request_id = next((headers[h] for h in REQUEST_ID_HEADERS if h in headers), None)
    return api_error_for_status(
        status,
        text.clean_all(messages),
        request_id=None if request_id is None else text.clean(request_id, limit=200),
        url=path,
        reason=None if reason is None else text.clean(reason, limit=200),
    )


def transport_error(exc: Exception, path: str, text: ServerText, *, unsendable: bool) -> ScorecardsError:
    """Return the typed error of an HTTP-stack exception (``unsendable``: the request itself was bad)."""
    # The exception text of requests can include the full URL with query but never headers.
    kind = type(exc).__name__
    if unsendable:
        return ScorecardsResponseError(f"GET {path}: request could not be sent ({kind})")
    return ScorecardsTransportError(f"GET {path}: no HTTP answer ({kind}: {text.clean(first_line(exc))})")


def first_line(exc: Exception) -> str:
    """Return the first line of an exception's text, at most 200 characters (still to be scrubbed)."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text[:200]


def brief(error: BaseException | None) -> str:
    """Return an error's message without the request it was about, for the one-line retry log."""
    return str(error).split(" (GET ")[0][:200]
