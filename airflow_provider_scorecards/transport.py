"""HTTP transport: one ``requests.Session``, retries with backoff, rate-limit pacing, typed errors.

Why this is its own module: what to do with an answer (wait for the rate-limit window, back off, fail fast)
is the same for every request the provider makes, and it must be right once. The hook owns one
:class:`Transport`; nothing here is global, so two hooks in one process never share state.

``requests`` is imported when the first transport is built, not when this module is imported: DAG files
import the operators at every parse and should not pay for an HTTP stack they do not use there.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_scorecards.config import ClientConfig
from airflow_provider_scorecards.errors import (
    ScorecardsAPIError,
    ScorecardsError,
    ScorecardsRateLimitError,
    ScorecardsResponseError,
    ScorecardsTransportError,
    api_error_for_status,
    error_messages,
)

if TYPE_CHECKING:
    import requests

RATE_LIMIT_WAIT_MAX = 60.0
"""Longest single wait for a rate-limit window (seconds); Datadog's windows are 10 to 60 s."""
BACKOFF_MAX = 30.0
REQUEST_ID_HEADERS = ("X-Request-Id", "DD-Request-Id", "X-Datadog-Request-Id")


class Logger(Protocol):
    def info(self, msg: Any, /, *args: Any, **kwargs: Any) -> Any: ...

    def warning(self, msg: Any, /, *args: Any, **kwargs: Any) -> Any: ...


@dataclass
class TransportStats:
    """Counters a caller can read to report progress (requests made, retries, time spent waiting)."""

    requests: int = 0
    retries: int = 0
    waited: float = 0.0


class RateLimitPacer:
    """Slows requests down before Datadog has to answer 429.

    Every answer carries ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (seconds until the window
    resets). The pacer keeps a local estimate of what remains, counts each request it lets through, and
    when the estimate reaches zero makes callers wait for the reset instead of spending a request on a 429.
    Shared by the threads of one transport, hence the lock.
    """

    def __init__(self, sleep: Callable[[float], None], clock: Callable[[], float]) -> None:
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._remaining: int | None = None
        self._reset_at = 0.0

    def before_request(self) -> float:
        """Wait if the window is spent; return how long we waited."""
        with self._lock:
            wait = 0.0
            now = self._clock()
            if self._remaining is not None and self._remaining <= 0:
                if now < self._reset_at:
                    wait = min(self._reset_at - now, RATE_LIMIT_WAIT_MAX)
                self._remaining = None  # unknown until the next answer tells us
            elif self._remaining is not None:
                self._remaining -= 1
        if wait > 0:
            self._sleep(wait)
        return wait

    def window_waited(self) -> None:
        """The caller has just waited out the window (a 429's reset): nothing is known to be spent."""
        with self._lock:
            self._remaining = None

    def observe(self, headers: Mapping[str, str]) -> None:
        remaining = _header_number(headers, "X-RateLimit-Remaining")
        reset = _header_number(headers, "X-RateLimit-Reset")
        if remaining is None:
            return
        with self._lock:
            self._remaining = int(remaining)
            self._reset_at = self._clock() + (reset if reset is not None else 1.0)


class Transport:
    """GETs JSON from the Scorecards API with the retry policy of the provider.

    - 429: wait for ``X-RateLimit-Reset`` (or ``Retry-After``; else exponential backoff), capped.
    - 5xx, connection errors, read timeouts, a truncated body: exponential backoff with full jitter.
    - 400/401/403/404 and any other status: raise at once with Datadog's message; no retry.
    - Redirects are not followed: a redirect to another host would carry the keys along.
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        user_agent: str,
        log: Logger,
        pool_size: int = 10,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import requests

        self.config = config
        self.log = log
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
        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=max(pool_size, 1))
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers.update(
            {"Accept": "application/json", "User-Agent": user_agent, **config.auth_headers()}
        )
        session.verify = config.verify
        if config.proxies:
            session.proxies.update(config.proxies)
        session.trust_env = config.proxies is None
        self.session: requests.Session = session

    def close(self) -> None:
        self.session.close()

    def get_json(self, path: str, params: Mapping[str, str]) -> Any:
        """The decoded JSON body of ``GET base_url + path``, after retries; raises a typed error."""
        url = self.config.base_url + path
        attempts = self.config.max_retries + 1
        for attempt in range(attempts):
            waited = self.pacer.before_request()
            if waited:
                self._count(waited=waited)
            self._count(requests=1)
            try:
                response = self.session.get(
                    url, params=params, timeout=self.config.timeout, allow_redirects=False
                )
            except self._request_errors as exc:
                error: ScorecardsError = _transport_error(
                    exc, path, unsendable=isinstance(exc, self._unsendable)
                )
                if not getattr(error, "retryable", False):
                    raise error from None
                wait = self._backoff(attempt)
            else:
                self.pacer.observe(response.headers)
                if response.status_code == 200:
                    try:
                        return json.loads(response.content)
                    except ValueError:
                        error = ScorecardsTransportError(
                            f"GET {path}: the response body is not valid JSON (truncated?)"
                        )
                        wait = self._backoff(attempt)
                else:
                    error = _status_error(response, path)
                    if not getattr(error, "retryable", False):
                        raise error
                    wait = self._wait_for(response, attempt)
            if attempt + 1 >= attempts:
                raise error
            self.log.warning(
                "Scorecards API: %s; retry %d of %d in %.2fs", _brief(error), attempt + 1, attempts - 1, wait
            )
            self._count(retries=1, waited=wait)
            self._sleep(wait)
            if isinstance(error, ScorecardsRateLimitError):
                self.pacer.window_waited()
        raise AssertionError("unreachable")  # pragma: no cover

    def _count(self, requests: int = 0, retries: int = 0, waited: float = 0.0) -> None:
        with self._lock:
            self.stats.requests += requests
            self.stats.retries += retries
            self.stats.waited += waited

    def _backoff(self, attempt: int) -> float:
        ceiling = min(BACKOFF_MAX, self.config.backoff_base * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)

    def _wait_for(self, response: requests.Response, attempt: int) -> float:
        if response.status_code == 429:
            for name in ("X-RateLimit-Reset", "Retry-After"):
                seconds = _header_number(response.headers, name)
                if seconds is not None:
                    # A small jitter so that concurrent workers do not all return at the same instant.
                    return min(RATE_LIMIT_WAIT_MAX, max(seconds, 0.0) + random.uniform(0, 0.05))
        return self._backoff(attempt)


def _status_error(response: requests.Response, path: str) -> ScorecardsAPIError:
    try:
        body = json.loads(response.content) if response.content else None
    except ValueError:
        body = None
    messages = error_messages(body)
    if 300 <= response.status_code < 400:
        messages = [f"unexpected redirect to {response.headers.get('Location', '?')} (not followed)"]
    request_id = next((response.headers[h] for h in REQUEST_ID_HEADERS if h in response.headers), None)
    return api_error_for_status(
        response.status_code, messages, request_id=request_id, url=path, reason=response.reason
    )


def _transport_error(exc: Exception, path: str, *, unsendable: bool) -> ScorecardsError:
    # The exception text of requests can include the full URL with query but never headers.
    kind = type(exc).__name__
    if unsendable:
        return ScorecardsResponseError(f"GET {path}: request could not be sent ({kind})")
    return ScorecardsTransportError(f"GET {path}: no HTTP answer ({kind}: {_first_line(exc)})")


def _first_line(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text[:200]


def _brief(error: Exception) -> str:
    return str(error).split(" (GET ")[0][:200]


def _header_number(headers: Mapping[str, str], name: str) -> float | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number == number and number >= 0 else None
