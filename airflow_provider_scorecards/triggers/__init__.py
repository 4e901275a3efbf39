"""Triggers of the provider: the deferrable sensor's wait and the event trigger of asset watchers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.triggers.base import TriggerEvent

if TYPE_CHECKING:
    from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook


def trigger_event(payload: dict[str, Any]) -> TriggerEvent:
    """Wrap an event payload (plain JSON) in Airflow's ``TriggerEvent``, typed."""
    return TriggerEvent(payload)  # type: ignore[no-untyped-call,unused-ignore]


def trigger_hook(conn_id: str) -> DatadogScorecardsHook:
    """Build a trigger's hook: one connection, as its blocking client runs in ``asyncio.to_thread``.

    Imported here, not at module level: a DAG file builds the event trigger at parse, and the hook brings
    ``requests``.
    """
    from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook

    return DatadogScorecardsHook(conn_id, concurrency=1)
