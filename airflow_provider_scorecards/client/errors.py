"""Typed errors of the provider.

Callers (operators, sensors, a user's own ``@task``) decide what to do by the *type* of an error, never by
parsing a message: a bad parameter is a :class:`InvalidParameterError` raised before any request; an answer
from Datadog that no retry can change is a :class:`ScorecardsAPIError` with ``retryable = False``; an
answer that a later attempt may change (429, 5xx, a dropped connection) is retryable.

No message built here ever contains a credential: only the parameter names, values the user gave for
non-secret parameters, HTTP statuses, Datadog's error detail and the request id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


class ScorecardsError(Exception):
    """Base class of every error this provider raises on purpose.

    ``retryable`` says whether a later attempt may succeed (429, 5xx, a dropped connection); tasks let
    Airflow retry those and fail at once, without retries, on the rest.
    """

    retryable = False


class InvalidParameterError(ScorecardsError, ValueError):
    """A parameter is wrong; it names the parameter, the value and what is allowed.

    Raised before any request is sent, so nothing was fetched or pushed.
    """

    def __init__(self, parameter: str, value: Any, allowed: str) -> None:
        self.parameter = parameter
        self.value = value
        self.allowed = allowed
        super().__init__(f"Invalid {parameter}={_short_repr(value)}: {allowed}.")


class UnsupportedSiteError(InvalidParameterError):
    """A real Datadog site that does not offer Scorecards (the US government sites)."""


class ScorecardsConfigError(ScorecardsError):
    """The connection (or its environment fallback) cannot be turned into a usable client."""


class ScorecardsAPIError(ScorecardsError):
    """Datadog (or the simulator) answered with an HTTP error.

    ``errors`` holds Datadog's detail as readable strings, whichever form the body used: the spec's list of
    strings or the JSON:API objects ``{"status", "title", "detail"}`` that the real API sends.
    """

    retryable = False

    def __init__(
        self,
        status: int,
        errors: Sequence[str] = (),
        *,
        request_id: str | None = None,
        url: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.status = status
        self.errors = list(errors)
        self.request_id = request_id
        self.url = url
        detail = "; ".join(self.errors) or reason or "no detail in the response"
        message = f"Datadog Scorecards API answered {status}: {detail}"
        if url:
            message += f" (GET {url})"
        if request_id:
            message += f" [request id {request_id}]"
        super().__init__(message)


class ScorecardsBadRequestError(ScorecardsAPIError):
    """400: the query itself is wrong; retrying cannot help."""


class ScorecardsAuthError(ScorecardsAPIError):
    """401/403: keys are missing, wrong, or lack the ``apm_service_catalog_read`` permission."""


class ScorecardsNotFoundError(ScorecardsAPIError):
    """404: the endpoint is not there (wrong site or ``api_url``)."""


class ScorecardsRateLimitError(ScorecardsAPIError):
    """429 that outlasted every retry."""

    retryable = True


class ScorecardsServerError(ScorecardsAPIError):
    """5xx that outlasted every retry."""

    retryable = True


class ScorecardsTransportError(ScorecardsError):
    """The request never got an HTTP answer (refused, dropped, timed out) after every retry."""

    retryable = True


class ScorecardsResponseError(ScorecardsError):
    """The server answered 200 with something that is not a valid scores page.

    Also raised when pagination cannot be trusted (a page that only repeats records already seen), so a
    partial result is never handed on as if it were complete.
    """

    retryable = False


def api_error_for_status(
    status: int,
    errors: Sequence[str],
    *,
    request_id: str | None,
    url: str | None,
    reason: str | None = None,
) -> ScorecardsAPIError:
    """Pick the most specific :class:`ScorecardsAPIError` subclass for an HTTP status."""
    cls: type[ScorecardsAPIError]
    if status == 429:
        cls = ScorecardsRateLimitError
    elif status >= 500:
        cls = ScorecardsServerError
    elif status in (401, 403):
        cls = ScorecardsAuthError
    elif status == 404:
        cls = ScorecardsNotFoundError
    elif status == 400:
        cls = ScorecardsBadRequestError
    else:
        cls = ScorecardsAPIError
    return cls(status, errors, request_id=request_id, url=url, reason=reason)


def error_messages(body: Any) -> list[str]:
    """Datadog's error detail as strings, from either documented or observed body shape.

    ``{"errors": ["Bad Request"]}`` (the spec) and
    ``{"errors": [{"status": "400", "title": "Bad Request", "detail": "..."}]}`` (what the API sends) both
    give readable lines; anything else gives an empty list rather than an exception.
    """
    if not isinstance(body, dict):
        return []
    raw = body.get("errors")
    if not isinstance(raw, list):
        return []
    return [_one_error(item) for item in raw if item not in (None, "", {})]


def _one_error(item: Any) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        title = item.get("title")
        detail = item.get("detail")
        parts: Iterable[Any] = (p for p in (title, detail) if p)
        text = ": ".join(str(p) for p in parts)
        return text or str(item)
    return str(item)


def _short_repr(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 15] + f"... ({len(text)} chars)"
