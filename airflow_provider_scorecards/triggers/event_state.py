"""One asset watcher's memory and its edge detection, apart from the trigger that polls.

:class:`~airflow_provider_scorecards.triggers.events.DatadogScoreEventTrigger` fires on edges (the gate
becoming met, a watched value changing), and an edge needs the previous observation. :class:`Watch`
holds that observation, keeps it in Airflow's asset state store where there is one (so a triggerer
restart neither repeats an event nor misses a crossing, but for the second Airflow holds a queued event in
memory: docs/event-driven.rst) and turns each new snapshot into an event payload or nothing. It imports
nothing of Airflow: the store is whatever object the triggerer injects.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeGuard

from airflow_provider_scorecards.gate.waivers import apply_waivers

if TYPE_CHECKING:
    from airflow_provider_scorecards.client.pages import Record
    from airflow_provider_scorecards.gate.condition import GateResult
    from airflow_provider_scorecards.triggers.events import DatadogScoreEventTrigger

MAX_EVENT_ITEMS = 1000
"""Most records (and changes) one event carries; the rest are counted in ``truncated``.

An event's payload is stored in the metadata database with the asset event: a watcher on every score of
a large organisation must not write megabytes per event.
"""
STATE_VERSION = 1
"""Version of the stored observation's layout; an observation of another version is ignored."""
STATE_LOAD_ATTEMPTS = 3
"""Observations skipped while the asset state store does not answer, before going on with memory only."""


class Watch:
    """One watcher's memory: the previous observation, where it is stored, and the edge detection."""

    def __init__(self, trigger: DatadogScoreEventTrigger) -> None:
        self.trigger = trigger
        self.log = trigger.log
        self.store = getattr(trigger, "asset_state_store", None)
        self.loaded = self.store is None  # nothing to load: memory only (Airflow 3.0)
        self.load_failures = 0
        self.state: dict[str, Any] | None = None
        self.dirty = False
        self.warned_absent = False
        self.warned_waivers = False
        self.was_fatal = False
        if self.store is None:
            self.log.info(
                "No asset state store was injected (Airflow < 3.3, or not run by an asset watcher): state "
                "is kept in memory and the first observation after each start is a baseline"
            )

    # -- state ----------------------------------------------------------------------------------------

    async def load(self) -> bool:
        """Read the stored observation once; False while the store fails (the snapshot is skipped)."""
        if self.loaded:
            return True
        key = self.trigger.state_key
        try:
            stored = None
            for accessor in _accessors(self.store):
                stored = await accessor.aget(key)
                if stored is not None:
                    break
        except Exception as exc:  # the store is Airflow's API: any failure means "not now"
            self.load_failures += 1
            if self.load_failures < STATE_LOAD_ATTEMPTS:
                self.log.warning("Asset state store unavailable (%s); skipping this observation", exc)
                return False
            self.log.error(
                "Asset state store unavailable %d times (%s); going on with state in memory only",
                self.load_failures,
                exc,
            )
            self.store = None  # nothing was read: going on as without a store
        self.loaded = True
        if _valid_state(stored, self.trigger.fire_on):
            self.state = stored
            self.log.info("Resuming from the stored observation of %s", stored.get("observed_at"))
        elif stored is not None:
            self.log.warning("Ignoring an unreadable stored observation under %s", key)
        return True

    async def save(self) -> None:
        """Store the observation if it changed; a failure keeps it in memory and retries next time."""
        if self.dirty and self.store is not None:
            try:
                for accessor in _accessors(self.store):
                    await accessor.aset(self.trigger.state_key, self.state)
            except Exception as exc:  # kept in memory; a later save retries
                self.log.warning("Could not store the observation (%s); will retry", exc)
                return
        self.dirty = False

    def _remember(self, **state: Any) -> None:
        self.state = {
            "version": STATE_VERSION,
            "fire_on": self.trigger.fire_on,
            **state,
            "observed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self.dirty = True

    # -- edges ----------------------------------------------------------------------------------------

    def observe(self, records: list[Record]) -> dict[str, Any] | None:
        """Judge one snapshot; the event payload when this observation is an edge, else None."""
        condition = self.trigger.condition
        result = condition.evaluate(records)
        if self.trigger.waivers:  # applied at each observation: a waiver that ends stops counting
            decision = apply_waivers(result, self.trigger.waivers, datetime.now(UTC))
            if not self.warned_waivers and decision.warnings():
                self.warned_waivers = True
                for line in decision.warnings():
                    self.log.warning("%s", line)
            result = decision.result
        if not self.warned_absent and (warning := result.absent_warning()):
            self.warned_absent = True
            self.log.warning("%s", warning)
        if result.fatal and not self.was_fatal:
            self.log.error("%s (a watcher keeps watching: counted as not met)", result.report())
        self.was_fatal = result.fatal
        by_id = {record["id"]: record for record in records}
        # Each watched id's value as reported, also where the gate calls it missing (denominator 0).
        values = {check.id: (by_id.get(check.id) or {}).get(condition.field) for check in result.checks}
        if self.trigger.fire_on == "change":
            return self._observe_change(result, values, by_id)
        return self._observe_met(result, values)

    def _observe_met(self, result: GateResult, values: dict[str, Any]) -> dict[str, Any] | None:
        met = bool(result.met)
        previous = None if self.state is None else bool(self.state["met"])
        if previous == met:
            self.log.debug("%s", result.report())
            return None
        self._remember(met=met, values=values)
        if previous is None and not (met and self.trigger.fire_on_start):
            self.log.info("Baseline (fires nothing): %s", result.report())
            return None
        self.log.info("%s", result.report())
        if not met:
            return None
        records, truncated = _capped(result.passed_records)
        return {"status": "met", "records": records, "report": result.report(), **truncated}

    def _observe_change(
        self, result: GateResult, current: dict[str, Any], by_id: dict[str, Record]
    ) -> dict[str, Any] | None:
        if self.state is None:
            self._remember(values=current)
            if not (self.trigger.fire_on_start and current):
                self.log.info("Baseline of %d watched value(s) (fires nothing)", len(current))
                return None
            previous: dict[str, Any] = {}
        else:
            previous = dict(self.state["values"])
        changes = [
            {"id": score_id, "previous": previous.get(score_id), "current": current.get(score_id)}
            for score_id in sorted(set(previous) | set(current))
            if previous.get(score_id) != current.get(score_id)
        ]
        if not changes:
            return None
        self._remember(values=current)
        self.log.info("%d watched value(s) of %s changed", len(changes), self.trigger.condition.field)
        capped_changes, truncated_changes = _capped(changes, "truncated_changes")
        changed = [by_id[c["id"]] for c in capped_changes if c["id"] in by_id]
        payload: dict[str, Any] = {
            "status": "changed",
            "changes": capped_changes,
            "records": changed,
            **truncated_changes,
        }
        if self.trigger.bounded:
            payload["met"] = bool(result.met)
            payload["report"] = result.report()
        return payload


def _capped(items: list[Any], counter: str = "truncated") -> tuple[list[Any], dict[str, int]]:
    if len(items) <= MAX_EVENT_ITEMS:
        return items, {}
    return items[:MAX_EVENT_ITEMS], {counter: len(items) - MAX_EVENT_ITEMS}


def _valid_state(stored: Any, fire_on: str) -> TypeGuard[dict[str, Any]]:
    if not isinstance(stored, dict) or stored.get("version") != STATE_VERSION:
        return False
    if stored.get("fire_on") != fire_on:
        return False
    if fire_on == "met":
        return isinstance(stored.get("met"), bool)
    return isinstance(stored.get("values"), dict)


def _accessors(store: Any) -> list[Any]:
    """Return the per-asset accessors: one trigger may watch several assets (equal kwargs, one trigger).

    Airflow's ``AssetStateStoreAccessors`` answers ``aget``/``aset`` directly only for a single asset; with
    several, every asset gets the state (and the first that has it is read), through its per-asset
    accessors. A store without them (a test's fake) is used as it is.
    """
    # Private fields: Airflow offers no public way to list the accessors, only to look one up by its asset.
    many = [*getattr(store, "_by_name", {}).values(), *getattr(store, "_by_uri", {}).values()]
    return many if len(many) > 1 else [store]
