"""DatadogScoreEventTrigger: start DAGs when Scorecards scores cross a bound (an Airflow 3 AssetWatcher).

It fires on edges, never on levels: ``fire_on="met"`` when the gate becomes met, ``fire_on="change"`` when
a watched value changes. The previous observation lives in ``triggers/event_state.py`` (the asset's state
store on 3.3+, memory on 3.0). One fetch per connection, query and interval: on 3.3+
:meth:`~DatadogScoreEventTrigger.open_shared_stream` polls once for every watcher and each one's
:meth:`~DatadogScoreEventTrigger.filter_shared_stream` applies its condition; otherwise
:meth:`~DatadogScoreEventTrigger.run` chains the two. Either way the polls go through the triggerer's
shared fetches (``triggers/shared_fetch.py``, with the threshold gates'): bounded threads of their own.
Errors never fire and never end the watcher: they back off (doubling from ``poll_interval``, up to an
hour). Only validation is imported at module level.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Hashable
from contextlib import AsyncExitStack, aclosing
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from airflow_provider_scorecards.client.coercion import coerce_bool, coerce_choice, coerce_float
from airflow_provider_scorecards.client.errors import ScorecardsError, render_server_text
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.gate.condition import GateCondition
from airflow_provider_scorecards.gate.waivers import describe_waivers, parse_waivers
from airflow_provider_scorecards.hooks import DEFAULT_CONN_ID, coerce_conn_id
from airflow_provider_scorecards.operators.base import GATE_ARGS, QUERY_ARGS, scorecards_hook
from airflow_provider_scorecards.triggers.event_state import Watch

if TYPE_CHECKING:
    from airflow_provider_scorecards.client.settings import ClientSettings

DEFAULT_POLL_INTERVAL = 300.0
BACKOFF_CAP = 3600.0
"""Longest wait between two attempts after errors (unless ``poll_interval`` itself is longer)."""
STATE_KEY_PREFIX = "datadog_scorecards_event:"
"""Prefix of the key under which a watcher keeps its last observation in the asset state store."""

PUBLIC_CLASSPATH = "airflow_provider_scorecards.triggers.scores.DatadogScoreEventTrigger"
"""The classpath stored with every watcher: the public one, so moving this module never orphans a watcher
(the triggerer imports it by that path; ``triggers.scores`` imports it from here)."""

_QUERY_DEFAULTS: dict[str, Any] = {
    field.name: field.default for field in dataclasses.fields(ScoresQuery) if field.name != "aggregation"
}
"""The query's defaults (left out of ``serialize()``), read from ScoresQuery itself."""
_CONDITION_DEFAULTS: dict[str, Any] = {
    name: getattr(GateCondition(), name)
    for name in ("field", "min_value", "max_value", "match", "on_missing")
}
_WATCHER_DEFAULTS: dict[str, Any] = {
    "fire_on": "met",
    "fire_on_start": False,
    "poll_interval": DEFAULT_POLL_INTERVAL,
    "datadog_conn_id": DEFAULT_CONN_ID,
}
"""The gate's and the watcher's arguments in ``serialize()`` order, each with the default left out."""
_STATE_NEUTRAL = ("poll_interval", "fire_on_start")
"""Kwargs that do not change what a stored observation means: changing them keeps the stored state."""


class DatadogScoreEventTrigger(BaseEventTrigger):
    """Fire when Datadog Scorecards scores cross a bound (or change), for ``AssetWatcher``.

    Query arguments are those of ``DatadogScorecardScoresOperator`` (``aggregation``, ``rule_ids``,
    ``rule_name``, ``rule_levels``, ``scorecard_ids``, ``is_custom``, ``is_enabled``, ``sort``,
    ``page_limit``); gate arguments are those of the threshold sensor (``score_ids``, ``min_score``,
    ``max_score``, ``field``, ``min_value``, ``max_value``, ``match``, ``on_missing``). Both are validated
    here, at DAG parse, with the same errors.

    :param fire_on: ``"met"`` (default): one ``{"status": "met", "records", "report"}`` event each time the
        gate goes from not met to met. ``"change"``: one ``{"status": "changed", "changes", "records"}``
        event each time a watched value (``field``) differs from the previous observation; ``changes``
        lists ``{"id", "previous", "current"}`` and ``records`` the current records of the changed ids.
        Bounds are optional in change mode; when given, the event also says whether the gate is ``met``.
    :param fire_on_start: the first observation without stored state is a baseline and fires nothing;
        True makes a gate already met (in change mode: any watched value) fire once at that observation.
    :param poll_interval: seconds between two fetches (default 300).
    :param datadog_conn_id: the Airflow connection (default ``datadog_scorecards_default``).
    :param waivers: ``{id: "YYYY-MM-DD"}`` or ``{id: {"until", "reason"}}``, as for the gate task classes:
        a waived id that fails its bound counts as passing until the end of that day (UTC), at each
        observation (see :mod:`airflow_provider_scorecards.gate.waivers`).

    ``on_missing="fail"`` cannot end a watcher: the gate counts as not met and an error is logged.
    """

    def __init__(
        self,
        *,
        fire_on: Any = "met",
        fire_on_start: Any = False,
        poll_interval: Any = DEFAULT_POLL_INTERVAL,
        datadog_conn_id: Any = DEFAULT_CONN_ID,
        waivers: Any = None,
        **query_and_gate: Any,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call,unused-ignore]
        unknown = sorted(set(query_and_gate) - set(QUERY_ARGS) - set(GATE_ARGS))
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected keyword arguments: {', '.join(unknown)}")
        if "aggregation" not in query_and_gate:
            raise TypeError(f"{type(self).__name__} missing keyword argument 'aggregation'")
        self.fire_on = coerce_choice("fire_on", fire_on, ("met", "change"))
        query = ScoresQuery.build(**{k: v for k, v in query_and_gate.items() if k in QUERY_ARGS})
        self.query = replace(
            query,
            rule_ids=_as_set(query.rule_ids),
            rule_levels=_as_set(query.rule_levels),
            scorecard_ids=_as_set(query.scorecard_ids),
        )
        gate = {k: v for k, v in query_and_gate.items() if k in GATE_ARGS and v is not None}
        condition = GateCondition.build(**gate, bound_required=self.fire_on == "met")
        self.condition = replace(condition, score_ids=_as_set(condition.score_ids))
        self.bounded = self.condition.min_value is not None or self.condition.max_value is not None
        self.fire_on_start = bool(coerce_bool("fire_on_start", fire_on_start))
        self.poll_interval = coerce_float("poll_interval", poll_interval, minimum=0.01)
        self.datadog_conn_id = coerce_conn_id(datadog_conn_id)
        self.waivers = parse_waivers(waivers)

    # -- identity -------------------------------------------------------------------------------------

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and normalised JSON kwargs: equivalent arguments give equal kwargs.

        Airflow identifies a watcher's trigger by ``BaseEventTrigger.hash(classpath, kwargs)`` at every DAG
        parse; unstable kwargs would drop and recreate the watcher each time. So values are coerced
        (``"0.8"`` → 0.8, ``300`` → 300.0), set-like filters sorted, ``min_score`` written as the
        ``min_value`` it means, lists never tuples (tuples change type through Airflow's serialisation),
        keys in a fixed order, and arguments at their default left out (so a later release that adds an
        argument keeps existing watchers, and their stored state, as they are).
        """
        kwargs: dict[str, Any] = {"aggregation": self.query.aggregation}
        for name, value in self.query.describe().items():
            if name != "aggregation" and value != _QUERY_DEFAULTS[name]:
                kwargs[name] = value
        if self.condition.score_ids is not None:
            kwargs["score_ids"] = list(self.condition.score_ids)
        for source, defaults in ((self.condition, _CONDITION_DEFAULTS), (self, _WATCHER_DEFAULTS)):
            for name, default in defaults.items():
                if (value := getattr(source, name)) != default:
                    kwargs[name] = value
        if self.waivers:
            kwargs["waivers"] = describe_waivers(self.waivers)
        cls = type(self)
        classpath = (
            PUBLIC_CLASSPATH if cls is DatadogScoreEventTrigger else f"{cls.__module__}.{cls.__qualname__}"
        )
        return classpath, kwargs

    @property
    def state_key(self) -> str:
        """Where this watcher keeps its last observation in the asset state store.

        Derived from the normalised kwargs, so two watchers with different conditions on one asset never
        read each other's state, and the same watcher finds its own state after any restart. The poll
        interval and ``fire_on_start`` are left out: changing them does not change what a stored
        observation means, and keeping the state across such an edit avoids a missed or repeated event.
        """
        _, kwargs = self.serialize()
        identity = {k: v for k, v in kwargs.items() if k not in _STATE_NEUTRAL}
        identity.setdefault("datadog_conn_id", self.datadog_conn_id)
        digest = hashlib.sha256(_canonical(identity).encode()).hexdigest()
        return STATE_KEY_PREFIX + digest[:32]

    # -- shared polling (Airflow 3.3+), and the standalone path -------------------------------------

    def shared_stream_key(self) -> Hashable | None:
        """Watchers of one connection, query and interval share one fetch per interval."""
        return (
            "datadog-scorecards-scores",
            self.datadog_conn_id,
            _canonical(self.query.describe()),
            self.poll_interval,
        )

    @classmethod
    async def open_shared_stream(cls, kwargs: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        """Fetch the query every ``poll_interval`` seconds, forever, and yield each successful result.

        Run once per shared-stream group; only the connection, the query and the interval (the fields of
        :meth:`shared_stream_key`) are used, since the other kwargs belong to one watcher of the group.
        A snapshot is ``{"records": [...], "fetched_at": epoch seconds}``; failures yield nothing.

        Fetches go through the triggerer's shared fetches (:mod:`.shared_fetch`), as the threshold gates'
        do: their own bounded pool, at most two at once per connection, so watchers on a stalled server
        never hold the loop's default executor nor delay another connection's watchers and gates. A stream
        closed or cancelled mid-fetch leaves its subscription: the fetch is abandoned if nobody else waits
        for it (its requests cut, nothing retried).
        """
        # Brings the client and requests: not at the parse of a DAG file that imports this module.
        from airflow_provider_scorecards.triggers.shared_fetch import Subscription, subscribe_scores

        trigger = cls(**kwargs)
        failures = 0
        async with AsyncExitStack() as subscribed:
            subscription: Subscription | None = None
            while True:
                try:
                    if subscription is None:  # the connection is read again: a fixed key is picked up
                        settings = await asyncio.to_thread(_read_settings, trigger.datadog_conn_id)
                        subscription = await subscribed.enter_async_context(
                            subscribe_scores(
                                trigger.datadog_conn_id,
                                settings,
                                trigger.query,
                                max_age=trigger.poll_interval,
                            )
                        )
                    fetched = await subscription.fetch()
                except Exception as exc:  # a watcher must outlive any error: said, then tried again later
                    failures += 1
                    wait = backoff(trigger.poll_interval, failures)
                    # 400/401/403/404, a bad connection, an unexpected answer: only a person can fix it, so
                    # it is said loudly, and the connection is read afresh at the next attempt.
                    final = not (isinstance(exc, ScorecardsError) and exc.retryable)
                    trigger.log.log(
                        logging.ERROR if final else logging.WARNING,
                        "Scores of %s %s (%d failure(s) in a row): %s: %s; %snext attempt in %.3g s",
                        trigger.query.path,
                        "cannot be read" if final else "unavailable",
                        failures,
                        type(exc).__name__,
                        exc,
                        "no event fires until this is fixed; " if final else "",
                        wait,
                    )
                    if final and subscription is not None:
                        await subscribed.aclose()  # leaves the shared fetches of the old settings
                        subscription = None
                else:
                    if failures:
                        trigger.log.info("Scores readable again after %d failure(s)", failures)
                    failures = 0
                    wait = trigger.poll_interval
                    # The records are shared with every trigger of the query: read, never changed.
                    age = asyncio.get_running_loop().time() - fetched.finished  # > 0 if another's fetch
                    yield {"records": fetched.value.records, "fetched_at": time.time() - age}
                await asyncio.sleep(wait)

    async def filter_shared_stream(
        self, shared_stream: AsyncIterator[Any]
    ) -> AsyncGenerator[TriggerEvent, None]:
        """Apply this watcher's condition to each snapshot and yield an event on each edge."""
        watch = Watch(self)
        async for snapshot in shared_stream:
            if not await watch.load():
                continue
            try:
                payload = watch.observe(snapshot["records"])
            except Exception as exc:  # a watcher outlives any evaluation error: no event, said loudly
                self.log.error(
                    "This observation could not be judged (%s); no event fires for it, the watcher goes on",
                    render_server_text(f"{type(exc).__name__}: {exc}"),
                )
                continue
            if payload is not None:
                yield TriggerEvent(payload)  # type: ignore[no-untyped-call,unused-ignore]
            # After the yield: the event is queued before the state that suppresses a repeat is stored.
            await watch.save()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """One watcher's own stream: Airflow 3.0, or a triggerer without shared streams (fetches shared)."""
        stream = self.open_shared_stream(self.serialize()[1])
        async with aclosing(stream), aclosing(self.filter_shared_stream(stream)) as events:
            async for event in events:
                yield event


def backoff(poll_interval: float, failures: int) -> float:
    """Wait after the n-th failure in a row: poll_interval, then doubling, capped at an hour."""
    cap = max(BACKOFF_CAP, poll_interval)
    return float(min(cap, poll_interval * 2 ** min(failures - 1, 32)))


# -- helpers ------------------------------------------------------------------------------------------


def _read_settings(conn_id: str) -> ClientSettings:
    """Read the connection through a new hook (blocking: a connection lookup, run in a thread)."""
    return scorecards_hook(conn_id, concurrency=1).settings


def _as_set(values: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
    """Sort and deduplicate a filter the API reads as a set: ``["b", "a"]`` and ``"a,b"`` are one."""
    return None if values is None else tuple(sorted(set(values)))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
