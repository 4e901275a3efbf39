"""The rate-limit pacer and the headers it reads, with a clock the test moves (no server, no sleep)."""

from __future__ import annotations

import email.utils
import time

import pytest

from airflow_provider_scorecards.client.errors import ScorecardsRateLimitError
from airflow_provider_scorecards.client.rate_limit import (
    RATE_LIMIT_WAIT_MAX,
    RateLimitPacer,
    header_number,
    rate_limit_wait,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_pacer_waits_for_the_reset_once_the_window_is_spent() -> None:
    clock = Clock()
    pacer = RateLimitPacer(clock.sleep, lambda: clock.now)
    pacer.observe({"X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "7"})
    pacer.before_request()  # the last request of the window
    assert clock.slept == []
    pacer.before_request()  # the window is spent: wait for its reset
    assert clock.slept == [7.0]
    pacer.before_request()  # unknown until the next answer says: no wait
    assert clock.slept == [7.0]


def test_the_pacer_never_waits_without_rate_limit_headers() -> None:
    clock = Clock()
    pacer = RateLimitPacer(clock.sleep, lambda: clock.now)
    pacer.observe({})
    for _ in range(5):
        pacer.before_request()
    assert clock.slept == []


def test_the_pacer_refuses_to_pace_past_its_total_bound() -> None:
    clock = Clock()
    pacer = RateLimitPacer(clock.sleep, lambda: clock.now, total_wait_max=10)
    pacer.observe({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "7"})
    pacer.before_request()
    pacer.observe({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "7"})
    with pytest.raises(ScorecardsRateLimitError):
        pacer.before_request()
    assert clock.slept == [7.0]


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"X-RateLimit-Reset": "3", "Retry-After": "9"}, 3.0),
        ({"Retry-After": "9"}, 9.0),
        ({"Retry-After": "3600"}, RATE_LIMIT_WAIT_MAX),
        ({}, None),
        ({"X-RateLimit-Reset": "inf"}, None),
        ({"X-RateLimit-Reset": "9" * 5000}, None),
        ({"X-RateLimit-Reset": "-4"}, None),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00"}, None),  # a date without a zone is not one
    ],
)
def test_a_429_waits_for_what_its_headers_say(headers: dict[str, str], wait: float | None) -> None:
    assert rate_limit_wait(429, headers) == wait


def test_a_retry_after_date_is_honoured_and_capped() -> None:
    soon = email.utils.formatdate(time.time() + 20, usegmt=True)
    assert 15 < (rate_limit_wait(429, {"Retry-After": soon}) or 0) <= 20
    past = email.utils.formatdate(time.time() - 20, usegmt=True)
    assert rate_limit_wait(429, {"Retry-After": past}) == 0.0


def test_only_a_429_asks_for_a_wait() -> None:
    assert rate_limit_wait(503, {"X-RateLimit-Reset": "3", "Retry-After": "3"}) is None


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "1e400", "abc", "", "9" * 41])
def test_a_header_that_is_no_usable_number_is_ignored(value: str) -> None:
    assert header_number({"X-RateLimit-Remaining": value}, "X-RateLimit-Remaining") is None
