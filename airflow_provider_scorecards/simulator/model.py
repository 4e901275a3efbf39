"""The records an organisation is made of: rules, scorecards, entities, and the four outcome codes.

:mod:`.generation` draws them from a seed, :mod:`.org` computes scores from them; both import them from here.
"""

from __future__ import annotations

from dataclasses import dataclass

PASS, FAIL, SKIP, NO_DATA = 0, 1, 2, 3
OUTCOME_NAMES = ("pass", "fail", "skip", "no_data")
"""The outcome codes' names, by code (what Datadog's API calls each state)."""


@dataclass(frozen=True)
class Rule:
    """A scorecard rule, with the attributes that the rule filters select on."""

    id: str
    name: str
    scorecard_id: str
    level: int
    is_custom: bool
    is_enabled: bool


@dataclass(frozen=True)
class Scorecard:
    """A scorecard: a named group of rules, custom or Datadog's own."""

    id: str
    name: str
    is_custom: bool


@dataclass(frozen=True)
class Entity:
    """A scored entity of one kind and one team; its id, ``<kind>:<name>``, is its by-entity score's id."""

    id: str
    name: str
    kind: str
    team: str
