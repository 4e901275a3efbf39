"""Run an ``AssetWatcher``'s trigger as the triggerer runs it, until its first event (for DAG tests)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import Callable
from typing import Any


def first_event(
    watched: Any,
    *,
    timeout: float = 30.0,
    poll_interval: float | None = None,
    then: Callable[[], object] | None = None,
    baseline_taken: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Run the trigger of ``watched`` until it yields an event; return the event's payload.

    :param watched: an ``Asset`` with one watcher, an ``AssetWatcher``, or the trigger itself.
    :param timeout: the longest wait for the event, in seconds; none by then is an ``AssertionError``.
    :param poll_interval: replaces the trigger's ``poll_interval`` (a DAG's five minutes would outlast any
        test); ``None`` keeps it.
    :param then: called once, after ``baseline_taken()`` turns true, to make the change the watcher
        should see (a score crossing its bar).
    :param baseline_taken: says when the watcher has taken its first look (the first observation of
        ``DatadogScoreEventTrigger`` is a baseline and fires nothing by default).

    The trigger is rebuilt from its serialized form, as the triggerer builds it, and its ``run()`` is
    iterated in an event loop of its own, so call this from a plain (not ``async``) test.
    """
    trigger = _rebuilt(_trigger_of(watched), poll_interval)

    async def watch() -> dict[str, Any]:
        events = trigger.run()
        first: asyncio.Task[Any] = asyncio.ensure_future(anext(events))
        try:
            if then is not None:
                while not first.done() and not (baseline_taken is None or baseline_taken()):
                    await asyncio.sleep(0.01)
                if not first.done():
                    then()
            return dict((await first).payload)
        except StopAsyncIteration:
            raise AssertionError("the watcher's trigger ended without an event") from None
        finally:
            first.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await first
            await events.aclose()

    try:
        return asyncio.run(asyncio.wait_for(watch(), timeout))
    except TimeoutError:
        raise AssertionError(f"the watcher's trigger yielded no event within {timeout:g} s") from None


def _trigger_of(watched: Any) -> Any:
    watchers = getattr(watched, "watchers", None)
    if watchers is not None:  # an Asset
        if len(watchers) != 1:
            names = ", ".join(repr(w.name) for w in watchers) or "none"
            raise ValueError(f"the asset has {len(watchers)} watchers ({names}): pass the AssetWatcher")
        watched = watchers[0]
    trigger = getattr(watched, "trigger", watched)  # an AssetWatcher, or the trigger
    if not (callable(getattr(trigger, "serialize", None)) and callable(getattr(trigger, "run", None))):
        raise TypeError(f"expected an Asset, an AssetWatcher or a trigger, got {type(watched).__name__}")
    return trigger


def _rebuilt(trigger: Any, poll_interval: float | None) -> Any:
    classpath, kwargs = trigger.serialize()
    if poll_interval is not None and hasattr(trigger, "poll_interval"):  # serialize() omits a default
        kwargs = {**kwargs, "poll_interval": poll_interval}
    module, _, name = classpath.rpartition(".")
    return getattr(importlib.import_module(module), name)(**kwargs)
