"""Typed errors of the provider.

Callers (operators, sensors, a user's own ``@task``) decide what to do by the *type* of an error, never by
parsing a message: a bad parameter is a :class:`InvalidParameterError` raised before any request; an answer
from Datadog that no retry can change is a :class:`ScorecardsAPIError` with ``retryable = False``; an
answer that a later attempt may change (429, 5xx, a dropped connection) is retryable.

No message built here ever contains a credential: only the parameter names, values the user gave for
non-secret parameters, HTTP statuses, Datadog's error detail and the request id. Text that came from the
server (error detail, reason phrase, request id, ``Location``) goes through :class:`ServerText` first: a
server or proxy that echoes the request headers must not put the keys into an exception, a log line, a
trigger event or XCom, and a 20 MB error string must not become a 20 MB exception.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Sequence
from types import NoneType, UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec.structs

from airflow_provider_scorecards.client.bounded_json import load_json

MAX_SERVER_TEXT = 1000
"""Longest piece of server text (one error detail, a reason phrase, a header) in a message (characters)."""
MAX_SERVER_MESSAGE = 4000
"""Longest server detail of one error, all its pieces together (characters)."""
MAX_ERROR_ITEMS = 10
"""Most entries of a body's ``errors`` list that are read."""
MAX_ID_CHARS = 200
"""Longest score id, entity reference or rule id shown in a report line or a log (characters)."""
REDACTED = "***"
MIN_HELD_SECRET = 16
"""Shortest secret an answer is searched for (:meth:`ServerText.held_in`); Datadog's keys have 32 and 40
characters, and a short one (a proxy password that is a word) would refuse answers by chance."""
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def render_server_text(text: Any, limit: int = MAX_SERVER_TEXT) -> str:
    r"""Return server text as a person may safely read it: on one line, every invisible character shown.

    The one renderer of text that came from a server (ids, rule names, remarks, error details) on its way
    to a log, a report, the verdict, an approval form, an exception or a page. Control characters,
    bidirectional overrides, zero-width and other format characters, line and paragraph separators are
    written as visible escapes (``\n``, ``\u202e``), so a hostile id can neither start a line of its own
    nor reorder or hide what follows it. At most ``limit`` characters, then ``... (cut)``.
    """
    raw = text if isinstance(text, str) else _safe_str(text, limit)
    cut = len(raw) > limit
    raw = raw[:limit]
    if not raw.isprintable():
        raw = "".join(ch if ch.isprintable() else _escape(ch) for ch in raw)
        if len(raw) > limit:
            raw, cut = raw[:limit], True
    return raw + "... (cut)" if cut else raw


def render_id(value: Any) -> str:
    """Render a score id, an entity reference or a rule id that came from a server (see above)."""
    return render_server_text(value, MAX_ID_CHARS)


def _escape(ch: str) -> str:
    if ch in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


class ServerText:
    """Makes text that came from the server fit for a message: rendered, then the secrets replaced.

    ``secrets`` are the connection's credentials (keys, token, proxy passwords), matched regardless of
    case. The text is cut before it is scrubbed (a 20 MB string costs no 20 MB search), and what could be
    the start of a secret cut in two is dropped with the rest.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        unique = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._longest = len(unique[0]) if unique else 0
        self._pattern = re.compile("|".join(map(re.escape, unique)), re.IGNORECASE) if unique else None
        # An escape (``\x85``, ``\u202e``, ``\n``) renders as up to 8 characters that may spell a secret's
        # start: a secret's tail after them is searched too.
        self._encoded = tuple(
            {s.lower()[k:].encode() for s in unique if len(s) >= MIN_HELD_SECRET for k in (0, 1, 2, 4, 8)}
        )

    def held_in(self, body: bytes) -> bool:
        """Tell whether a body holds a secret, or its tail after an escape's characters, in any case."""
        lowered = body.lower() if self._encoded else b""
        return any(secret in lowered for secret in self._encoded)

    def clean(self, text: Any, limit: int = MAX_SERVER_TEXT) -> str:
        """Return ``text`` scrubbed of the secrets, on one line and at most ``limit`` characters.

        Anything that is not a string (a number, a list from a JSON body) is turned into one first, cut
        to the window that is searched, so it is scrubbed and capped like any other text.
        """
        window = limit + self._longest
        raw = text if isinstance(text, str) else _safe_str(text, window)
        rendered = render_server_text(raw[:window], window)
        shown = rendered.removesuffix("... (cut)")
        cut = len(raw) > window or len(shown) < len(rendered)
        shown = self.scrub(shown)  # after rendering: its escapes (``\x1b``) may spell a secret
        if cut:
            shown = shown[: max(len(shown) - self._longest, 0)]
        return shown[:limit] + "... (cut)" if cut or len(shown) > limit else shown

    def scrub(self, text: str) -> str:
        """Return ``text`` with every secret replaced and nothing else changed (text the provider sends)."""
        return text if self._pattern is None else self._pattern.sub(REDACTED, text)

    def clean_all(self, pieces: Iterable[str], limit: int = MAX_SERVER_MESSAGE) -> list[str]:
        """Pieces already cleaned, kept while they fit in ``limit`` characters together."""
        kept: list[str] = []
        total = 0
        for piece in pieces:
            if total + len(piece) > limit:
                kept.append("... (more detail cut)")
                break
            kept.append(piece)
            total += len(piece)
        return kept


def _safe_str(value: Any, limit: int) -> str:
    try:
        return str(value)[: limit + 1]
    except (RecursionError, ValueError):
        return f"<{type(value).__name__}>"


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

    def __init__(
        self,
        status: int,
        errors: Sequence[str] = (),
        *,
        request_id: str | None = None,
        url: str | None = None,
        reason: str | None = None,
        method: str = "GET",
    ) -> None:
        self.status = status
        self.errors = list(errors)
        self.request_id = request_id
        self.url = url
        detail = "; ".join(self.errors) or reason or "no detail in the response"
        message = f"Datadog Scorecards API answered {status}: {detail}"
        if url:
            message += f" ({method} {url})"
        if request_id:
            message += f" [request id {request_id}]"
        super().__init__(message)


class ScorecardsBadRequestError(ScorecardsAPIError):
    """400: the query itself is wrong; retrying cannot help."""


class ScorecardsAuthError(ScorecardsAPIError):
    """401/403: keys are missing, wrong, or lack the ``apm_service_catalog_read`` permission."""


class ScorecardsNotFoundError(ScorecardsAPIError):
    """404: the endpoint is not there (wrong site or ``api_url``)."""


class ScorecardsConflictError(ScorecardsAPIError):
    """409: the write conflicts with what exists (a rule of that name, or an unknown rule id)."""


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


_ERROR_OF_STATUS: dict[int, type[ScorecardsAPIError]] = {
    400: ScorecardsBadRequestError,
    401: ScorecardsAuthError,
    403: ScorecardsAuthError,
    404: ScorecardsNotFoundError,
    409: ScorecardsConflictError,
    429: ScorecardsRateLimitError,
}
"""The error of each status that has its own; any other 5xx is a ``ScorecardsServerError``."""


def api_error_class(status: int) -> type[ScorecardsAPIError]:
    """Return the most specific :class:`ScorecardsAPIError` subclass for an HTTP status."""
    return _ERROR_OF_STATUS.get(status) or (ScorecardsServerError if status >= 500 else ScorecardsAPIError)


def error_messages(body: Any) -> list[str]:
    """Datadog's error detail as strings, from either documented or observed body shape.

    ``{"errors": ["Bad Request"]}`` (the spec) and
    ``{"errors": [{"status": "400", "title": "Bad Request", "detail": "..."}]}`` (what the API sends) both
    give readable lines; anything else gives an empty list rather than an exception.
    """
    raw = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(raw, list):
        return []
    return [_one_error(item) for item in raw[:MAX_ERROR_ITEMS] if item not in (None, "", {})]


def _one_error(item: Any) -> str:
    if isinstance(item, str):
        return item
    parts = (item.get("title"), item.get("detail")) if isinstance(item, dict) else ()
    text = ": ".join(_safe_str(part, MAX_SERVER_MESSAGE) for part in parts if part)
    return text or _safe_str(item, MAX_SERVER_MESSAGE)


def _short_repr(value: Any, limit: int = 120) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int of more digits than Python converts
        return f"<int of {value.bit_length()} bits>"
    return text if len(text) <= limit else text[: limit - 15] + f"... ({len(text)} chars)"


# -- a refused answer, named: what the decoders say when msgspec refused a body ---------------------------

_EXPECTED = {list: "a list", dict: "an object", str: "a string", bool: "a boolean", int: "an integer"}


def refusal(
    body: bytes,
    where: str,
    refused: Exception,
    problem: Callable[[Any], str | None],
    *,
    nested: str = "JSON nested too deeply",
) -> ScorecardsResponseError:
    """Return the error for a body the decoder refused, naming its first problem (item, id, field, value).

    The body is read again, loosely, only to name what is wrong; the page is refused whatever is found.
    A body that is not JSON at all (cut short, not UTF-8) raises its ``ValueError`` here, for the transport
    to retry; JSON that Python will not read (an integer of thousands of digits) is refused.
    """
    if isinstance(refused, RecursionError):
        return ScorecardsResponseError(f"{where}: {nested}")
    try:
        payload = load_json(body)
    except RecursionError:
        return ScorecardsResponseError(f"{where}: {nested}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise
    except ValueError:
        return ScorecardsResponseError(f"{where}: {refused}")
    return ScorecardsResponseError(f"{where}{problem(payload) or f': {refused}'}")


@functools.cache
def shape_of(struct: type[msgspec.Struct]) -> dict[str, Any]:
    """Return the shape :func:`shape_problem` checks, read from a decoder's struct: one statement of both.

    Each field's one JSON type: a nested struct's shape, ``list``, ``str``, ``bool`` or ``int``; a field of
    several types (a number that may be an int or a float) or of raw JSON is left to its decoder's words.
    """
    shape: dict[str, Any] = {}
    for field in msgspec.structs.fields(struct):
        union = get_origin(field.type) in (Union, UnionType)
        kinds = [kind for kind in (get_args(field.type) if union else (field.type,)) if kind is not NoneType]
        kind = get_args(kinds[0])[0] if get_origin(kinds[0]) is Annotated else kinds[0]
        if len(kinds) == 1 and isinstance(kind, type) and issubclass(kind, msgspec.Struct):
            shape[field.name] = shape_of(kind)
        elif len(kinds) == 1 and (get_origin(kind) is list or kind in (str, bool, int)):
            shape[field.name] = get_origin(kind) or kind
    return shape


def shape_problem(value: Any, shape: dict[str, Any], what: str, path: str = "") -> str | None:
    """Why a decoded value is not an object of ``shape`` (its keys' types, or their shapes); None if it is."""
    if type(value) is not dict:
        return f"expected {what}, got {kind_of(value)}"
    for key, kind in shape.items():
        if (inner := value.get(key)) is None:
            continue
        if type(inner) is not (expected := dict if type(kind) is dict else kind):
            shown = render_server_text(repr(inner) if type(inner) is str else inner, 40)
            return f"'{path}{key}' is {kind_of(inner)} {shown}, expected {_EXPECTED[expected]}"
        if expected is dict and (problem := shape_problem(inner, kind, "", f"{path}{key}.")):
            return problem
    return None


def named(item: Any) -> str:
    """`` (id '...')`` for an item with a string id, to say which one is wrong."""
    return f" (id '{render_id(item['id'])}')" if type(item) is dict and type(item.get("id")) is str else ""


def kind_of(value: Any) -> str:
    """Name the JSON kind of a decoded value, as messages say it (``null``, ``str``, ``dict``...)."""
    return "null" if value is None else type(value).__name__
