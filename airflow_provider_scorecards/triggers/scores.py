"""DatadogScoreThresholdTrigger: the deferrable sensor's wait, in the triggerer.

The client is blocking (``requests``); every fetch runs in a worker thread of the shared fetches' own
bounded pool (:mod:`.shared_fetch`), so the triggerer's loop is never blocked and no new HTTP dependency is
needed. Triggers of one process that watch the same connection, credentials and query share one fetch per
interval, the asset watchers' included: 500 waiting gates on one scorecard cost one fetch per interval,
not 500. What travels through ``serialize()`` is JSON only: the connection id, the query and
condition descriptions, intervals, the deadline, waivers and the sensor's check before deferring.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_scorecards.client.errors import ScorecardsError, render_server_text
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.gate.condition import GateCondition
from airflow_provider_scorecards.gate.verdict import decision_parts
from airflow_provider_scorecards.gate.waivers import apply_waivers, parse_waivers
from airflow_provider_scorecards.operators.base import scorecards_hook

# The event trigger's public path (events.PUBLIC_CLASSPATH, what every watcher stores); it lives in events.
from airflow_provider_scorecards.triggers.events import DatadogScoreEventTrigger as DatadogScoreEventTrigger

if TYPE_CHECKING:
    from airflow_provider_scorecards.client.settings import ClientSettings
    from airflow_provider_scorecards.gate.condition import GateResult
    from airflow_provider_scorecards.triggers.shared_fetch import Fetched, ScoresSnapshot

FAILED_CHECK_WAIT_MAX = 300.0
"""Longest wait between two checks after transient failures in a row (seconds). The client's own retries
(``client.transport.BACKOFF_MAX``) happen inside one check; this spaces the checks themselves."""
REPORT_REPEAT_SECONDS = 600.0
"""An unchanged report is logged again after this long: a long wait still shows in the task log that it
is alive, without a line per check from each of hundreds of triggers (each line costs the loop tens of
microseconds, and the log pipeline more)."""
MAX_LAST_CHECK_CHARS = 16_384
"""Largest ``last_check`` a trigger stores (as JSON); a larger one keeps its report only (the ids of a gate on
every score of a large organisation would otherwise sit in the trigger's database row for the whole wait)."""
_KWARGS = ("datadog_conn_id", "query", "condition", "poke_interval", "deadline", "max_consecutive_failures")
"""What ``serialize()`` writes of a trigger, in order (``waivers`` and ``last_check`` too, when given)."""


class ScoresFeed(Protocol):
    """Where a trigger's checks get their scores: ``fetch()`` once per check (see ``_scores_feed``)."""

    async def fetch(self) -> Fetched:
        """Return a snapshot young enough for this trigger, fetched for it or shared with others."""
        ...


class DatadogScoreThresholdTrigger(BaseTrigger):
    """Poll a score gate every ``poke_interval`` seconds until it is met, fails, or ``deadline`` passes.

    Yields one event: ``{"status": "met", "records", "report"}``, ``{"status": "failed", "report"}``
    (missing data with ``on_missing="fail"``), ``{"status": "error", "message"}`` (400/401/403, or
    ``max_consecutive_failures`` transient failures in a row) or ``{"status": "timeout", "report"}``.
    ``waivers`` (the form :func:`~airflow_provider_scorecards.gate.waivers.describe_waivers` writes) apply at
    every check; the met, failed and timeout events also carry ``verdict``, the decision's ids for the
    task's ``verdict`` XCom (:func:`~airflow_provider_scorecards.gate.verdict.decision_parts`).

    Checks share fetches with the other triggers of this process on the same connection, credentials and
    query: a check uses a result younger than the shortest ``poke_interval`` among them, or waits for the
    fetch in flight, instead of fetching again. A verdict is never based on data older than the trigger's
    own ``poke_interval``, and the next check is due ``poke_interval`` after the last fetch returned, as
    with a fetch of its own.

    The sensor builds it from its validated arguments; the kwargs are what the triggerer stores.

    :param datadog_conn_id: the Airflow connection, read again in the triggerer.
    :param query: the query, as ``ScoresQuery.describe()`` writes it.
    :param condition: the gate, as ``GateCondition.describe()`` writes it.
    :param poke_interval: seconds between two checks.
    :param deadline: when to give up and report a timeout, in seconds since the epoch (None: never).
    :param max_consecutive_failures: transient failures in a row before the trigger reports an error.
    :param last_check: the sensor's check before deferring, ``{"report", "verdict"}`` (the decision's
        parts): what a timeout reports when the deadline comes before a check of the trigger's own. Over
        :data:`MAX_LAST_CHECK_CHARS` as JSON, only its report is kept.
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
        waivers: dict[str, Any] | None = None,
        last_check: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call,unused-ignore]
        self.waivers = waivers or {}
        if last_check and len(json.dumps(last_check, default=str)) > MAX_LAST_CHECK_CHARS:
            last_check = {"report": last_check.get("report")}
        self.last_check = last_check or {}
        self.datadog_conn_id = datadog_conn_id
        self.query = query
        self.condition = condition
        self.poke_interval = poke_interval
        self.deadline = deadline
        self.max_consecutive_failures = max_consecutive_failures

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and the kwargs the triggerer rebuilds this trigger from."""
        kwargs = {name: getattr(self, name) for name in _KWARGS}
        if self.waivers:
            kwargs["waivers"] = self.waivers
        if self.last_check:
            kwargs["last_check"] = self.last_check
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Check the gate every ``poke_interval`` and yield the one event that ends the wait."""
        # The wait is a coroutine, not the generator: its subscription to the shared fetches is released
        # before the event is yielded, whether or not the triggerer ever resumes this generator.
        try:
            event = await self._wait_for_verdict()
        except Exception as exc:  # a trigger never dies: anything unforeseen ends the wait as a typed error
            event = {"status": "error", "message": render_server_text(f"{type(exc).__name__}: {exc}")}
        yield TriggerEvent(event)  # type: ignore[no-untyped-call,unused-ignore]

    async def _wait_for_verdict(self) -> dict[str, Any]:
        query = ScoresQuery.from_description(self.query)
        condition = GateCondition.build(**self.condition)  # validated again: the data travels
        waivers = parse_waivers(self.waivers)
        hook = scorecards_hook(self.datadog_conn_id, concurrency=1)
        loop = asyncio.get_running_loop()
        failures = 0
        # Until a check of its own, the sensor's before deferring: a gate not met (never read as met).
        last_report = str(self.last_check.get("report") or "no successful check yet")
        parts: dict[str, Any] = {}
        if self.last_check.get("verdict"):
            parts = {**self.last_check["verdict"], "met": False}
        logged_report, logged_at = "", -REPORT_REPEAT_SECONDS
        warned_absent = False
        async with AsyncExitStack() as subscriptions:
            feed: ScoresFeed | None = None
            while True:
                if self.deadline is not None and time.time() >= self.deadline:  # no fetch nobody waits for
                    return {"status": "timeout", "report": last_report, "verdict": parts}
                # The wait for a check is bounded by the trigger's own deadline, even while a fetch it
                # shares is stuck: the shared fetch goes on for the others (see shared_fetch).
                wait_bound = asyncio.timeout(None if self.deadline is None else self.deadline - time.time())
                try:
                    async with wait_bound:
                        if feed is None:
                            settings = await asyncio.to_thread(lambda: hook.settings)  # reads the connection
                            feed = await subscriptions.enter_async_context(self._scores_feed(settings, query))
                        fetched = await feed.fetch()
                    # Waivers apply at each check: one that ends while the gate waits stops applying.
                    decision = apply_waivers(
                        await _judge(condition, fetched.value), waivers, datetime.now(UTC)
                    )
                    result = decision.result
                except TimeoutError:
                    if not wait_bound.expired():
                        raise
                    return {"status": "timeout", "report": last_report, "verdict": parts}
                except ScorecardsError as exc:
                    if not exc.retryable:
                        return {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
                    failures += 1
                    if failures >= self.max_consecutive_failures:
                        message = (
                            f"{failures} consecutive transient failures; last: {type(exc).__name__}: {exc}"
                        )
                        return {"status": "error", "message": message}
                    self.log.warning(
                        "Transient failure %d of %d: %s", failures, self.max_consecutive_failures, exc
                    )
                    wait = min(FAILED_CHECK_WAIT_MAX, self.poke_interval * 2**failures)
                else:
                    failures = 0
                    last_report, parts = decision.report(), decision_parts(decision)
                    if not warned_absent and (warning := result.absent_warning()):
                        warned_absent = True
                        self.log.warning("%s", warning)
                    if result.met:
                        # Copies: the fetched records are shared with the other triggers of the query.
                        records = [dict(record) for record in result.passed_records]
                        return {"status": "met", "records": records, "report": last_report, "verdict": parts}
                    if result.fatal:
                        return {"status": "failed", "report": last_report, "verdict": parts}
                    if last_report != logged_report or loop.time() - logged_at >= REPORT_REPEAT_SECONDS:
                        self.log.info("%s", last_report)
                        logged_report, logged_at = last_report, loop.time()
                    # Counted from the end of the fetch, as when each trigger fetched on its own; every
                    # waiter of one fetch is then due at the same moment and shares the next one.
                    wait = fetched.finished + self.poke_interval - loop.time()
                if self.deadline is not None:
                    wait = min(wait, self.deadline - time.time())
                await asyncio.sleep(max(wait, 0.0))

    def _scores_feed(
        self, settings: ClientSettings, query: ScoresQuery
    ) -> AbstractAsyncContextManager[ScoresFeed]:
        """Subscribe this trigger to the process's shared fetches of ``query`` (:mod:`.shared_fetch`).

        Reused results are younger than this trigger's ``poke_interval``. (``benchmarks/triggerer_scale.py``
        overrides this method to measure triggers that each fetch on their own.)
        """
        # Brings the client and requests: not at the parse of a DAG file that imports this module.
        from airflow_provider_scorecards.triggers.shared_fetch import subscribe_scores

        return subscribe_scores(
            self.datadog_conn_id,
            settings,
            query,
            max_age=self.poke_interval,
        )


async def _judge(condition: GateCondition, snapshot: ScoresSnapshot) -> GateResult:
    """Judge the gate on a shared snapshot, on the loop when that is cheap, else in a worker thread.

    A gate on a few ids (the usual deployment gate) is judged on just those records, found through the
    snapshot's index: the same verdict and report as on the whole result, in microseconds, so hundreds of
    triggers woken by one fetch cost the loop little. A gate on every score, or one whose ids are not all
    present (the typo hints compare every id of the result), looks at every record: a worker thread's job.
    """
    watched = condition.score_ids
    if watched is not None and all(score_id in snapshot.by_id for score_id in watched):
        return condition.evaluate([snapshot.by_id[score_id] for score_id in watched])
    return await asyncio.to_thread(condition.evaluate, snapshot.records)
