"""Rate limits: Datadog's ``X-RateLimit-*`` and ``Retry-After`` headers, read safely, and the pacer.

Why this is its own module: the headers come from the server and may hold anything (``inf``, 5,000
digits, a date instead of seconds), so reading them is one careful piece of code, and the two things
that act on them (the pacer before a request, the wait after a 429) must read them the same way.
Standard library only; the transport that uses it loads ``requests``, this module does not.
"""

from __future__ import annotations

import email.utils
import math
import threading
import time
from collections.abc import Callable, Mapping

from airflow_provider_scorecards.client.errors import ScorecardsRateLimitError

RATE_LIMIT_WAIT_MAX = 60.0
"""Longest single wait for a rate-limit window (seconds); Datadog's windows are 10 to 60 s."""
PACING_WAIT_TOTAL_MAX = 300.0
"""Longest total time one transport spends pacing on ``X-RateLimit-Remaining: 0`` (seconds); past it a
server that never grants a request is a :class:`ScorecardsRateLimitError`, not an endless wait."""
MAX_HEADER_NUMBER_CHARS = 40
"""A rate-limit header longer than this is not a number anyone sends: it is ignored."""


class RateLimitPacer:
    """Slows requests down before Datadog has to answer 429.

    Every answer carries ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (seconds until the window
    resets). The pacer keeps a local estimate of what remains, counts each request it lets through, and
    when the estimate reaches zero makes callers wait for the reset instead of spending a request on a 429.
    Shared by the threads of one transport, hence the lock.
    """

    def __init__(
        self,
        sleep: Callable[[float], object],
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
            if self._remaining is not None and self._remaining <= 0:
                wait = max(min(self._reset_at - self._clock(), RATE_LIMIT_WAIT_MAX), 0.0)
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
        remaining = header_number(headers, "X-RateLimit-Remaining")
        reset = header_number(headers, "X-RateLimit-Reset")
        if remaining is None:
            return
        with self._lock:
            self._remaining = int(min(remaining, 1e9))
            self._reset_at = self._clock() + min(reset if reset is not None else 1.0, RATE_LIMIT_WAIT_MAX)


def rate_limit_wait(status: int, headers: Mapping[str, str]) -> float | None:
    """Return what a 429 asks us to wait (``X-RateLimit-Reset``, else ``Retry-After``), capped; else None.

    ``Retry-After`` may be a number of seconds or an HTTP date (RFC 9110); both are honoured.
    """
    if status != 429:
        return None
    seconds = header_number(headers, "X-RateLimit-Reset")
    if seconds is None:
        seconds = header_number(headers, "Retry-After")
    if seconds is None:
        seconds = header_date_delay(headers, "Retry-After")
    if seconds is None:
        return None
    return min(RATE_LIMIT_WAIT_MAX, max(seconds, 0.0))


def header_number(headers: Mapping[str, str], name: str) -> float | None:
    """Read a finite, non-negative number from a header, or None (absent, garbled, ``inf``, too long)."""
    value = headers.get(name)
    if value is None or len(value) > MAX_HEADER_NUMBER_CHARS:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def header_date_delay(headers: Mapping[str, str], name: str) -> float | None:
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
