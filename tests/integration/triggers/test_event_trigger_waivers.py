"""The event trigger takes the same waivers as the gate task classes: in its identity and its verdicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from airflow_provider_scorecards.client.errors import InvalidParameterError
from airflow_provider_scorecards.simulator import ScorecardsSimulator
from tests.integration.triggers.test_event_trigger import CHECKOUT, PAYMENTS, Running, polls, sim, watcher

__all__ = ["sim"]  # the fixture, shared with the event trigger's own tests


def _day(offset: int) -> str:
    return (datetime.now(UTC) + timedelta(days=offset)).date().isoformat()


def test_waivers_are_part_of_the_identity_and_normalised() -> None:
    _, plain = watcher(waivers={CHECKOUT: _day(3)}).serialize()
    _, rendered = watcher(waivers=str({CHECKOUT: {"until": _day(3)}})).serialize()
    assert plain == rendered
    assert plain["waivers"] == {CHECKOUT: {"until": _day(3), "reason": None}}
    assert "waivers" not in watcher().serialize()[1]  # existing watchers keep their identity
    assert watcher(waivers={CHECKOUT: _day(3)}).state_key != watcher().state_key


def test_a_malformed_waiver_fails_at_construction() -> None:
    with pytest.raises(InvalidParameterError, match="waivers"):
        watcher(waivers={CHECKOUT: "next week"})


async def test_a_waived_failing_id_counts_as_met(sim: ScorecardsSimulator) -> None:
    # checkout-api scores 0.25 < 0.7 at step 0: met only through its waiver
    trigger = watcher(score_ids=[CHECKOUT, PAYMENTS], fire_on_start=True, waivers={CHECKOUT: _day(0)})
    async with Running(trigger) as running:
        await polls(sim, 4)
    assert len(running.events) == 1
    assert {record["id"] for record in running.events[0]["records"]} == {CHECKOUT, PAYMENTS}


async def test_an_expired_waiver_counts_for_nothing(sim: ScorecardsSimulator) -> None:
    trigger = watcher(score_ids=[CHECKOUT, PAYMENTS], fire_on_start=True, waivers={CHECKOUT: _day(-1)})
    async with Running(trigger) as running:
        await polls(sim, 4)
    assert running.events == []
