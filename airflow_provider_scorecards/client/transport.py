"""HTTP transport: one ``requests.Session``, retries with backoff, rate-limit pacing, typed errors.

The one place that decides what to do with an answer (the policy is :class:`Transport`'s); the headers are
read by :mod:`~airflow_provider_scorecards.client.rate_limit`, the scrubbed errors built by
:mod:`~airflow_provider_scorecards.client.http_errors`. Nothing is global; ``requests`` and ``tenacity``
load with the first transport, not when a DAG file is parsed.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from airflow_provider_scorecards.client.bounded_json import load_json
from airflow_provider_scorecards.client.errors import (
    ScorecardsError,
    ScorecardsRateLimitError,
    ScorecardsResponseError,
    ScorecardsTransportError,
    ServerText,
)
from airflow_provider_scorecards.client.http_errors import (
    brief,
    caused_by,
    status_error,
    transport_error,
)
from airflow_provider_scorecards.client.rate_limit import RateLimitPacer, rate_limit_wait
from airflow_provider_scorecards.client.settings import ClientSettings, proxy_passwords
from airflow_provider_scorecards.client.watchdog import RequestWatchdog, deadline_adapter

if TYPE_CHECKING:
    import requests
    import tenacity

BACKOFF_MAX = 30.0
"""Longest single backoff between two attempts (seconds)."""
MAX_ERROR_BODY_BYTES = 64 * 1024
"""Most of an error answer's body that is read: Datadog's JSON:API errors are a few hundred bytes."""
CHUNK_BYTES = 1024 * 1024
"""Bodies are read in chunks of at most this size, so the page cap holds before the memory is spent.

A chunk is a loop in C (http.client reads into one buffer until it is full); small chunks cost a pass
through urllib3 and requests, and a hand-over of the GIL, for every few kilobytes of every page."""


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


def environment_proxies(base_url: str) -> dict[str, str]:
    """Return the proxies the environment sets for ``base_url`` (``HTTPS_PROXY`` and the like).

    Empty when ``NO_PROXY`` exempts the host. Every request of a transport goes to ``base_url``'s host, so
    the answer holds for all of them.
    """
    from requests.utils import get_environ_proxies

    found = get_environ_proxies(base_url)
    return {scheme: url for scheme, url in found.items() if scheme != "no" and url}


def _host_and_port(url: str) -> str:
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    except ValueError:  # an environment's malformed proxy URL: requests says more when it fails
        return "?"


class _RetryableAnswer(Exception):
    """Carries a retryable error and the wait its answer asked for (a 429's reset) to the retry policy."""

    def __init__(
        self, error: ScorecardsError, wait: float | None = None, *, unprocessed: bool = False
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait = wait
        self.unprocessed = unprocessed
        """The server cannot have acted on the request (a 429, a connection never made)."""


class Transport:
    """Sends requests to the Scorecards API (GET, and JSON POSTs) with the retry policy of the provider.

    - 429: wait for ``X-RateLimit-Reset`` (or ``Retry-After``; else exponential backoff), capped.
    - 5xx, connection errors, read timeouts, a truncated body: exponential backoff with full jitter.
    - 400/401/403/404/409 and any other status: raise at once with Datadog's message; no retry.
    - A write that must not be repeated (a create) is sent again after a 5xx or a lost answer only once
      its caller has looked for what it may have done (see :meth:`request`).
    - Redirects are not followed: a redirect to another host would carry the keys along.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        user_agent: str,
        log: Logger | None = None,
        pool_size: int = 10,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        import requests
        import urllib3
        from requests.exceptions import InvalidHeader, InvalidSchema, InvalidURL, MissingSchema

        self.settings = settings
        self.log: Logger = log or logging.getLogger(__name__)
        self.stats = TransportStats()
        self._abandoned = threading.Event()
        # Waits (backoff, pacing) end early when the fetch is abandoned, unless a test brings its own.
        self._sleep = sleep if sleep is not None else self._abandoned.wait
        self._lock = threading.Lock()
        self.pacer = RateLimitPacer(self._sleep, time.monotonic)
        self._request_errors = requests.RequestException
        # Errors of the request itself (a malformed URL or header): no retry can help.
        self._unsendable = (InvalidSchema, InvalidURL, MissingSchema, InvalidHeader)
        self._proxy_errors = requests.exceptions.ProxyError
        # Failures to connect at all: nothing was sent, so even a create may be sent again.
        self._connect_errors = (requests.exceptions.ConnectTimeout, urllib3.exceptions.NewConnectionError)
        self._watchdog = RequestWatchdog()
        proxies = settings.proxies if settings.proxies is not None else environment_proxies(settings.base_url)
        self._text = ServerText((*settings.secrets, *proxy_passwords(proxies)))
        proxy_url = proxies.get(urlsplit(settings.base_url).scheme) or proxies.get("all")
        self._proxy = _host_and_port(proxy_url) if proxy_url else None
        """``host:port`` of the proxy the requests go through, as errors name it (no credentials)."""
        session = requests.Session()
        adapter = deadline_adapter(pool_size)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers.update(
            {"Accept": "application/json", "User-Agent": user_agent, **settings.auth_headers()}
        )
        session.verify = settings.verify
        session.proxies.update(proxies)
        # The environment was read once, above: requests would otherwise scan it (every variable, for the
        # proxies twice, and ~/.netrc) on each request, which costs a fetch of 100 pages several percent.
        session.trust_env = False
        self.session: requests.Session = session

    def abandon(self) -> None:
        """Cut the request in flight and refuse every later one: nobody waits for the answer any more.

        Thread-safe and immediate: the requests' sockets are shut (their blocked reads return now), a
        backoff wait ends, and the retry loop stops at its next attempt with a ``ScorecardsTransportError``.
        """
        self._abandoned.set()
        self._watchdog.expire_all()

    def scrub(self, text: str) -> str:
        """Return ``text`` with the connection's secrets (keys, token, proxy passwords) replaced."""
        return self._text.scrub(text)

    def close(self) -> None:
        """Close the session's pooled connections."""
        self.session.close()

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        decode: Callable[[bytes], Any] = load_json,
        *,
        body: Any = None,
        max_bytes: int | None = None,
        before_resend: Callable[[], Any] | None = None,
    ) -> Any:
        """Return the decoded body of a 2xx answer to ``method base_url + path``, after retries.

        ``decode`` turns the body into the result (``load_json`` by default); a ``ValueError`` from it
        means a truncated or garbled body, retried like a dropped connection. ``body`` is sent as JSON;
        an answer over ``max_bytes`` (default ``max_page_bytes``) is refused. ``before_resend`` marks a
        write that must never be repeated blindly (a create): after a failure the server may have acted
        on (a 5xx, a lost or cut answer), it is called before sending again, and what it returns, unless
        ``None``, is the result. Without it, every retryable failure is retried (reads, idempotent writes).
        Failures where nothing was processed (a 429, a refused connection) are retried either way.
        """
        data = None if body is None else json.dumps(body).encode()
        limit = self.settings.max_page_bytes if max_bytes is None else max_bytes
        acted = [False]

        def attempt() -> Any:
            if acted[0] and before_resend is not None and (found := before_resend()) is not None:
                return found
            try:
                return self._attempt(method, path, params or {}, decode, data, limit)
            except _RetryableAnswer as answer:
                acted[0] = acted[0] or not answer.unprocessed
                raise

        try:
            return self._retry_policy()(attempt)
        except _RetryableAnswer as exhausted:
            raise exhausted.error from exhausted.error.__cause__  # what the HTTP stack said, if anything

    def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, str],
        decode: Callable[[bytes], Any],
        data: bytes | None,
        limit: int,
    ) -> Any:
        """One request: the body, a typed error raised at once, or a retryable answer for the policy."""
        self.pacer.before_request()
        where = f"{method} {path}"
        if self._abandoned.is_set():
            raise self._abandonment(where)
        self._count(requests=1)
        settings = self.settings
        with self._watchdog.request(settings.request_deadline) as clock:
            try:
                # ``verify`` per request: requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override the
                # session's, and the connection's setting must win.
                response = self.session.request(
                    method,
                    settings.base_url + path,
                    params=params,
                    data=data,
                    headers=None if data is None else {"Content-Type": "application/json"},
                    timeout=(min(settings.timeout, settings.request_deadline), settings.timeout),
                    allow_redirects=False,
                    stream=True,
                    verify=settings.verify,
                )
                try:
                    self.pacer.observe(response.headers)
                    ok = 200 <= response.status_code < 300
                    content = self._read_body(response, where, limit if ok else MAX_ERROR_BODY_BYTES, ok)
                finally:
                    response.close()
            except (self._request_errors, OSError) as exc:
                raise self._failure(exc, where, clock.expired) from None
            if clock.expired and ok:  # a cut answer can look complete (headers ended by the shutdown)
                raise self._failure(None, where, expired=True)
        if ok:
            if self._text.held_in(content):  # else its ids and names would carry the key everywhere
                raise ScorecardsResponseError(
                    f"{where}: the answer holds a credential of the connection; refused"
                )
            try:
                return decode(content)
            except ScorecardsResponseError as exc:
                raise ScorecardsResponseError(self._text.clean(str(exc))) from None
            except RecursionError:
                raise ScorecardsResponseError(f"{where}: the response body is nested too deeply") from None
            except ValueError:
                raise _RetryableAnswer(
                    ScorecardsTransportError(f"{where}: the response body is not valid JSON (truncated?)")
                ) from None
        status = response.status_code
        error = status_error(status, response.reason, response.headers, content, path, self._text, method)
        if not error.retryable:
            raise error
        raise _RetryableAnswer(error, rate_limit_wait(status, response.headers), unprocessed=status == 429)

    def _read_body(self, response: requests.Response, where: str, limit: int, whole: bool) -> bytes:
        """Read the body in chunks, never beyond ``limit`` bytes.

        An error body (not ``whole``) is cut at ``limit``, and what arrived of it is kept when reading it
        fails (cut short, garbled, past the deadline): its status decides, not its body.
        """
        declared = response.headers.get("Content-Length", "")
        if (
            whole
            and declared.isascii()
            and declared.isdigit()
            and len(declared) < 20
            and int(declared) > limit
        ):
            raise self._too_large(where, limit)
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(min(CHUNK_BYTES, limit + 1)):
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    if whole:
                        raise self._too_large(where, limit)
                    return b"".join(chunks)[:limit]
        except (self._request_errors, OSError):
            if whole or self._abandoned.is_set():  # an abandoned request is neither retried nor logged
                raise
        return b"".join(chunks)

    def _too_large(self, where: str, limit: int) -> ScorecardsResponseError:
        return ScorecardsResponseError(
            f"{where}: the response body is larger than max_page_bytes={limit} (a page of 1000 scores "
            "is well under 1 MB); refused"
            if limit == self.settings.max_page_bytes
            else f"{where}: the response body is larger than the {limit} bytes such an answer takes; refused"
        )

    def _failure(self, exc: Exception | None, where: str, expired: bool) -> Exception:
        """Return the typed error (or retryable answer) for a request that got no complete answer."""
        if self._abandoned.is_set():
            return self._abandonment(where)
        if expired or exc is None:
            error: ScorecardsError = ScorecardsTransportError(
                f"{where}: no complete answer within request_deadline={self.settings.request_deadline:g} s"
            )
        else:
            error = transport_error(
                exc,
                where,
                self._text,
                self.settings,
                self._proxy,
                unsendable=isinstance(exc, self._unsendable),
                proxy_failed=isinstance(exc, self._proxy_errors),
            )
        # A connection never made carried nothing: the server cannot have acted on the request.
        unsent = exc is not None and caused_by(exc, self._connect_errors)
        return _RetryableAnswer(error, unprocessed=unsent) if error.retryable else error

    def _abandonment(self, where: str) -> ScorecardsTransportError:
        """Return the error of an abandoned request: raised as it is, so neither retried nor logged."""
        return ScorecardsTransportError(f"{where}: abandoned, nobody waits for the answer any more")

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
                brief(answer),
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
