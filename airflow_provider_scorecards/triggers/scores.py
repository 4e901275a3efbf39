"""DatadogScoreThresholdTrigger: the deferrable sensor's wait, in the triggerer.

The client is blocking (``requests``); each check runs in a worker thread (``asyncio.to_thread``) so the
triggerer's event loop is never blocked and no new HTTP dependency is needed. What travels through
``serialize()`` is JSON only: the connection id, the query and condition descriptions, intervals and the
deadline. Pagination state never does; each check fetches afresh.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

BACKOFF_MAX = 300.0


class DatadogScoreThresholdTrigger(BaseTrigger):
    """Poll a score gate every ``poke_interval`` seconds until it is met, fails, or ``deadline`` passes.

    Yields one event: ``{"status": "met", "records", "report"}``, ``{"status": "failed", "report"}``
    (missing data with ``on_missing="fail"``), ``{"status": "error", "message"}`` (400/401/403, or
    ``max_consecutive_failures`` transient failures in a row) or ``{"status": "timeout", "report"}``.
    """

    def __init__(
        self,
        *,
        datadog_conn_id: str,
        query: dict[str, Any],
        condition: dict[str, Any],
        poke_interval: float = 60.0,
        deadline: float | None = None,
        max_consecutive_failures: int = 3,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call,unused-ignore]
        self.datadog_conn_id = datadog_conn_id
        self.query = query
        self.condition = condition
        self.poke_interval = poke_interval
        self.deadline = deadline
        self.max_consecutive_failures = max_consecutive_failures

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "datadog_conn_id": self.datadog_conn_id,
                "query": self.query,
                "condition": self.condition,
                "poke_interval": self.poke_interval,
                "deadline": self.deadline,
                "max_consecutive_failures": self.max_consecutive_failures,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_provider_scorecards.client.errors import ScorecardsError
        from airflow_provider_scorecards.client.query import ScoresQuery
        from airflow_provider_scorecards.gate import GateCondition, check_gate
        from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook

        query = ScoresQuery.from_description(self.query)
        condition = GateCondition.from_description(self.condition)
        # One page at a time: no page pool of our own inside the triggerer's process.
        hook = DatadogScorecardsHook(self.datadog_conn_id, concurrency=1)
        failures = 0
        last_report = "no successful check yet"
        warned_absent = False
        try:
            while True:
                try:
                    client = await asyncio.to_thread(hook.get_conn)  # reads the connection: blocking
                    result = await asyncio.to_thread(check_gate, client, query, condition)
                except ScorecardsError as exc:
                    if not exc.retryable:
                        yield _event({"status": "error", "message": f"{type(exc).__name__}: {exc}"})
                        return
                    failures += 1
                    if failures >= self.max_consecutive_failures:
                        message = (
                            f"{failures} consecutive transient failures; last: {type(exc).__name__}: {exc}"
                        )
                        yield _event({"status": "error", "message": message})
                        return
                    self.log.warning(
                        "Transient failure %d of %d: %s", failures, self.max_consecutive_failures, exc
                    )
                    wait = min(BACKOFF_MAX, self.poke_interval * 2**failures)
                else:
                    failures = 0
                    last_report = result.report()
                    if not warned_absent and (warning := result.absent_warning()):
                        warned_absent = True
                        self.log.warning("%s", warning)
                    if result.met:
                        yield _event(
                            {"status": "met", "records": result.passed_records, "report": last_report}
                        )
                        return
                    if result.fatal:
                        yield _event({"status": "failed", "report": last_report})
                        return
                    self.log.info("%s", last_report)
                    wait = self.poke_interval
                if self.deadline is not None:
                    remaining = self.deadline - time.time()
                    if remaining <= 0:
                        yield _event({"status": "timeout", "report": last_report})
                        return
                    wait = min(wait, remaining)
                await asyncio.sleep(wait)
        finally:
            await asyncio.to_thread(hook.close)


def _event(payload: dict[str, Any]) -> TriggerEvent:
    return TriggerEvent(payload)  # type: ignore[no-untyped-call,unused-ignore]
