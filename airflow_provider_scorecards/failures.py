"""How provider errors become task outcomes.

An error that no retry can fix (a bad parameter, missing credentials, 400/401/403/404, a response that is
not a scores page) fails the task at once with ``AirflowFailException``, so Airflow does not spend the
task's retries on it. Errors that a later attempt may fix (429, 5xx, dropped connections, timeouts that
outlasted the hook's own retries) propagate unchanged and Airflow's ``retries`` apply.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from airflow_provider_scorecards._compat import AirflowFailException
from airflow_provider_scorecards.errors import ScorecardsError


@contextmanager
def failing_fast() -> Iterator[None]:
    """Turn non-retryable provider errors raised inside the block into ``AirflowFailException``."""
    try:
        yield
    except ScorecardsError as exc:
        if exc.retryable:
            raise
        raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc
