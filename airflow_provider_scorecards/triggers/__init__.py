"""Triggers of the provider: the deferrable sensor's wait and the event trigger of asset watchers."""

from __future__ import annotations

from typing import Any

from airflow.triggers.base import TriggerEvent


def trigger_event(payload: dict[str, Any]) -> TriggerEvent:
    """Wrap an event payload (plain JSON) in Airflow's ``TriggerEvent``, typed."""
    return TriggerEvent(payload)  # type: ignore[no-untyped-call,unused-ignore]
