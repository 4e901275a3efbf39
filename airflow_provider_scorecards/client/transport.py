"""HTTP transport: one ``requests.Session``, retries with backoff, rate-limit pacing, typed errors.

Why this is its own module: what to do with an answer (wait for the rate-limit window, back off, fail fast)
is the same for every request the client makes, and it must be right once. The retry loop is tenacity's
(what Airflow's own http provider uses); this module only says which errors are retried and how long to
wait: Datadog's ``X-RateLimit-Reset`` / ``Retry-After`` on a 429, exponential backoff with jitter on the
rest. Nothing here is global, so two clients in one process never share state.

``requests`` and ``tenacity`` are imported when the first transport is built, not when this module is
imported: DAG files import the operators at every parse and should not pay for an HTTP stack there.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_scorecards.client.errors import (
    ScorecardsAPIError,
    ScorecardsError,
    ScorecardsRateLimitError,
    ScorecardsResponseError,
    ScorecardsTransportError,
    ServerText,
    api_error_for_status,
    error_messages,
)
from airflow_provider_scorecards.client.settings import ClientSettings
from airflow_provider_scorecards.client.watchdog import RequestWatchdog, deadline_adapter

if TYPE_CHECKING:
    import requests
    import tenacity

RATE_LIMIT_WAIT_MAX = 60.0
"""Longest single wait for a rate-limit window (seconds); Datadog's windows are 10 to 60 s."""
BACKOFF_MAX = 30.0
"""Longest single backoff between two attempts (seconds)."""
PACING_WAIT_TOTAL_MAX = 300.0
"""Longest total time one transport spends pacing on ``X-RateLimit-Remaining: 0`` (seconds); past it a
server that never grants a request is a :class:`ScorecardsRateLimitError`, not an endless wait."""
MAX_ERROR_BODY_BYTES = 64 * 1024
"""Most of an error answer's body that is read: Datadog's JSON:API errors are a few hundred bytes."""
CHUNK_BYTES = 16 * 1024
"""Bodies are read in chunks of this size, so the page cap holds before the memory is spent."""
MAX_HEADER_NUMBER_CHARS = 40
"""A rate-limit header longer than this is not a number anyone sends: it is ignored."""
REQUEST_ID_HEADERS = ("X-Request-Id", "DD-Request-Id", "X-Datadog-Request-Id")


class Logger(Protocol):
    """What the client needs of a logger: the stdlib's, or an Airflow task's structlog logger."""

    def info(self, msg: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Log routine progress (pages and scores fetched so far)."""

    def warning(self, msg: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Log what the user should see: a retry and its cause, duplicates dropped while paging."""


@dataclass
class TransportStats:
    """Counters of one transport: requests sent and retries made (callers report their differences)."""

    requests: int = 0
    retries: int = 0


class RateLimitPacer:
    """Slows requests down before Datadog has to answer 429.

    Every answer carries ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (seconds until the window
    resets). The pacer keeps a local estimate of what remains, counts each request it lets through, and
    when the estimate reaches zero makes callers wait for the reset instead of spending a request on a 429.
    Shared by the threads of one transport, hence the lock.
    """

    def __init__(
        self,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        total_wait_max: float = PACING_WAIT_TOTAL_MAX,
    ) -> None:
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._remaining: int | None = None
        self._reset_at = 0.0
        self._total_wait_max = total_wait_max
        self.waited = 0.0
        """Seconds spent pacing so far; bounded by ``total_wait_max`` over the transport's life."""

    def before_request(self) -> None:
        """Wait if the window is spent; raise once the overall pacing bound would be passed."""
        with self._lock:
            wait = 0.0
            now = self._clock()
            if self._remaining is not None and self._remaining <= 0:
                if now < self._reset_at:
                    wait = min(self._reset_at - now, RATE_LIMIT_WAIT_MAX)
                self._remaining = None  # unknown until the next answer tells us
            elif self._remaining is not None:
                self._remaining -= 1
            if wait > 0 and self.waited + wait > self._total_wait_max:
                raise ScorecardsRateLimitError(
                    429,
                    [
                        f"X-RateLimit-Remaining stayed at 0 through {self.waited:.0f} s of pacing "
                        f"(the bound is {self._total_wait_max:g} s)"
                    ],
                )
            self.waited += wait
        if wait > 0:
            self._sleep(wait)

    def window_waited(self) -> None:
        """Forget the estimate: the caller has just waited out the window (a 429's reset)."""
        with self._lock:
            self._remaining = None

    def observe(self, headers: Mapping[str, str]) -> None:
        """Take the window's state from an answer's rate-limit headers (none: the estimate stays)."""
        remaining = _header_number(headers, "X-RateLimit-Remaining")
        reset = _header_number(headers, "X-RateLimit-Reset")
        if remaining is None:
            return
        with self._lock:
            self._remaining = int(min(remaining, 1e9))
            self._reset_at = self._clock() + min(reset if reset is not None else 1.0, RATE_LIMIT_WAIT_MAX)


class _RetryableAnswer(Exception):
    """Carries a retryable error and the wait its answer asked for (a 429's reset) to the retry policy."""

    def __init__(self, error: ScorecardsError, wait: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait = wait


class Transport:
    """GETs JSON from the Scorecards API with the retry policy of the provider.

    - 429: wait for ``X-RateLimit-Reset`` (or ``Retry-After``; else exponential backoff), capped.
    - 5xx, connection errors, read timeouts, a truncated body: exponential backoff with full jitter.
    - 400/401/403/404 and any other status: raise at once with Datadog's message; no retry.
    - Redirects are not followed: a redirect to another host would carry the keys along.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        user_agent: str,
        log: Logger | None = None,
        pool_size: int = 10,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import requests

        self.settings = settings
        self.log: Logger = log or logging.getLogger(__name__)
        self.stats = TransportStats()
        self._sleep = sleep
        self._lock = threading.Lock()
        self.pacer = RateLimitPacer(sleep, clock)
        self._request_errors = requests.RequestException
        # Errors of the request itself (a malformed URL or header): no retry can help.
        self._unsendable = (
            requests.exceptions.InvalidSchema,
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidHeader,
        )
        self._watchdog = RequestWatchdog()
        self._text = ServerText(settings.secrets)
        session = requests.Session()
        adapter = deadline_adapter(pool_size)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers.update(
            {"Accept": "application/json", "User-Agent": user_agent, **settings.auth_headers()}
        )
        session.verify = settings.verify
        if settings.proxies:
            session.proxies.update(settings.proxies)
        session.trust_env = settings.proxies is None
        self.session: requests.Session = session

    def close(self) -> None:
        """Close the session's pooled connections."""
        self.session.close()

    def get_json(
        self, path: str, params: Mapping[str, str], decode: Callable[[bytes], Any] = json.loads
    ) -> Any:
        """Return the decoded JSON body of ``GET base_url + path``, after retries; raise a typed error.

        ``decode`` turns the body into the result (``json.loads`` by default); a ``ValueError`` from it
        means a truncated or garbled body, which is retried like a dropped connection.
        """
        try:
            return self._retry_policy()(self._attempt, path, params, decode)
        except _RetryableAnswer as exhausted:
            raise exhausted.error from None

    def _attempt(self, path: str, params: Mapping[str, str], decode: Callable[[bytes], Any]) -> Any:
        """One request: the body, a typed error raised at once, or a retryable answer for the policy."""
        self.pacer.before_request()
        self._count(requests=1)
        settings = self.settings
        with self._watchdog.request(settings.request_deadline) as clock:
            try:
                # ``verify`` per request: requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override the
                # session's, and the connection's setting must win.
                response = self.session.get(
                    settings.base_url + path,
                    params=params,
                    timeout=(min(settings.timeout, settings.request_deadline), settings.timeout),
                    allow_redirects=False,
                    stream=True,
                    verify=settings.verify,
                )
                try:
                    self.pacer.observe(response.headers)
                    limit = settings.max_page_bytes if response.status_code == 200 else MAX_ERROR_BODY_BYTES
                    body = self._read_body(response, path, limit, truncate=response.status_code != 200)
                finally:
                    response.close()
            except (self._request_errors, OSError) as exc:
                raise self._failure(exc, path, clock.expired) from None
            if clock.expired:  # a cut answer can look complete (headers ended by the shutdown)
                raise self._failure(None, path, expired=True)
        if response.status_code == 200:
            try:
                return decode(body)
            except ScorecardsResponseError as exc:
                raise ScorecardsResponseError(self._text.clean(str(exc))) from None
            except RecursionError:
                raise ScorecardsResponseError(
                    f"GET {path}: the response body is nested too deeply to be a scores page"
                ) from None
            except ValueError:
                raise _RetryableAnswer(
                    ScorecardsTransportError(f"GET {path}: the response body is not valid JSON (truncated?)")
                ) from None
        status_error = _status_error(
            response.status_code, response.reason, response.headers, body, path, self._text
        )
        if not status_error.retryable:
            raise status_error
        raise _RetryableAnswer(status_error, _rate_limit_wait(response.status_code, response.headers))

    def _read_body(self, response: requests.Response, path: str, limit: int, *, truncate: bool) -> bytes:
        """Read the body in chunks, never beyond ``limit`` bytes (an error body is cut there)."""
        declared = response.headers.get("Content-Length", "")
        if not truncate and declared.isdigit() and len(declared) < 20 and int(declared) > limit:
            raise self._too_large(path, limit)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                if truncate:
                    chunks.append(chunk[: limit - (size - len(chunk))])
                    break
                raise self._too_large(path, limit)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, path: str, limit: int) -> ScorecardsResponseError:
        return ScorecardsResponseError(
            f"GET {path}: the response body is larger than max_page_bytes={limit} (a page of 1000 scores "
            "is well under 1 MB); refused"
        )

    def _failure(self, exc: Exception | None, path: str, expired: bool) -> Exception:
        """Return the typed error (or retryable answer) for a request that got no complete answer."""
        if expired or exc is None:
            error: ScorecardsError = ScorecardsTransportError(
                f"GET {path}: no complete answer within request_deadline={self.settings.request_deadline:g} s"
            )
        elif isinstance(exc, self._request_errors):
            error = _transport_error(exc, path, self._text, unsendable=isinstance(exc, self._unsendable))
        else:
            error = ScorecardsTransportError(
                f"GET {path}: no HTTP answer ({type(exc).__name__}: {self._text.clean(_first_line(exc))})"
            )
        return _RetryableAnswer(error) if error.retryable else error

    def _retry_policy(self) -> tenacity.Retrying:
        """Build the retry loop of one request (per request: its state is that request's own)."""
        import tenacity

        waited_for_window = [False]

        def wait(state: tenacity.RetryCallState) -> float:
            answer = state.outcome.exception() if state.outcome else None
            waited_for_window[0] = isinstance(answer, _RetryableAnswer) and isinstance(
                answer.error, ScorecardsRateLimitError
            )
            if isinstance(answer, _RetryableAnswer) and answer.wait is not None:
                # A small jitter so that concurrent workers do not all return at the same instant.
                return answer.wait + random.uniform(0, 0.05)
            ceiling = min(BACKOFF_MAX, self.settings.backoff_base * 2 ** (state.attempt_number - 1))
            return random.uniform(ceiling / 2, ceiling)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            answer = state.outcome.exception() if state.outcome else None
            seconds = state.next_action.sleep if state.next_action else 0.0
            self.log.warning(
                "Scorecards API: %s; retry %d of %d in %.2fs",
                _brief(answer),
                state.attempt_number,
                self.settings.max_retries,
                seconds,
            )
            self._count(retries=1)

        def sleep(seconds: float) -> None:
            self._sleep(seconds)
            if waited_for_window[0]:
                self.pacer.window_waited()  # a 429's reset has passed: nothing is known to be spent

        return tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_RetryableAnswer),
            stop=tenacity.stop_after_attempt(self.settings.max_retries + 1),
            wait=wait,
            before_sleep=before_sleep,
            sleep=sleep,
            reraise=True,
        )

    def _count(self, requests: int = 0, retries: int = 0) -> None:
        with self._lock:
            self.stats.requests += requests
            self.stats.retries += retries


def _rate_limit_wait(status: int, headers: Mapping[str, str]) -> float | None:
    """Return what a 429 asks us to wait (``X-RateLimit-Reset``, else ``Retry-After``), capped; else None.

    ``Retry-After`` may be a number of seconds or an HTTP date (RFC 9110); both are honoured.
    """
    if status != 429:
        return None
    seconds = _header_number(headers, "X-RateLimit-Reset")
    if seconds is None:
        seconds = _header_number(headers, "Retry-After")
    if seconds is None:
        seconds = _header_date_delay(headers, "Retry-After")
    if seconds is None:
        return None
    return min(RATE_LIMIT_WAIT_MAX, max(seconds, 0.0))


def _status_error(
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


def _transport_error(exc: Exception, path: str, text: ServerText, *, unsendable: bool) -> ScorecardsError:
    # The exception text of requests can include the full URL with query but never headers.
    kind = type(exc).__name__
    if unsendable:
        return ScorecardsResponseError(f"GET {path}: request could not be sent ({kind})")
    return ScorecardsTransportError(f"GET {path}: no HTTP answer ({kind}: {text.clean(_first_line(exc))})")


def _first_line(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text[:200]


def _brief(error: BaseException | None) -> str:
    return str(error).split(" (GET ")[0][:200]


def _header_number(headers: Mapping[str, str], name: str) -> float | None:
    """Read a finite, non-negative number from a header, or None (absent, garbled, ``inf``, too long)."""
    value = headers.get(name)
    if value is None or len(value) > MAX_HEADER_NUMBER_CHARS:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _header_date_delay(headers: Mapping[str, str], name: str) -> float | None:
    """Seconds from now until the HTTP date in a header, or None when it is not one."""
    value = headers.get(name)
    if value is None or len(value) > 100:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        return None
    return moment.timestamp() - time.time()
