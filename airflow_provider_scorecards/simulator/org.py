"""A deterministic Scorecards organisation and the scores Datadog would compute for it.

Drawn from a seed (``simulator/generation.py``): teams, entities of several kinds, scorecards with rules and
one outcome per entity and rule. Every aggregation is computed from the same outcomes, so the five views
agree and a test can ask for the expected answer of any query. Where Datadog's documentation is silent, the
choices are docs/simulator.rst's. Drift fixes each failing outcome at its step in 1..``fix_steps``, so
scores only improve; one record in ``sparse_every`` (:data:`SPARSE_EVERY`, chosen by a CRC-32 of its id)
comes without relationships and with ``level`` and ``total_entities`` null.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from operator import itemgetter
from typing import Any

from airflow_provider_scorecards.simulator.generation import generate_parts
from airflow_provider_scorecards.simulator.model import (
    FAIL,
    NO_DATA,
    OUTCOME_NAMES,
    PASS,
    SKIP,
    Entity,
    Rule,
    Scorecard,
)
from airflow_provider_scorecards.simulator.score_items import (
    entity_relationships,
    relationship,
    score_item,
    sparse_item,
)

AGGREGATIONS = ("by-entity", "by-rule", "by-scorecard", "by-team", "by-kind")
SORT_FIELDS = ("score", "numerator", "denominator", "total_pass", "total_fail", "total_skip", "total_no_data")

Counts = tuple[int, ...]  # passes, fails, skips and no_data, in that order
SPARSE_EVERY = 8
"""By default one score in this many is sent sparse (12.5 %): no relationships, null level and
total_entities."""


@dataclass(frozen=True)
class RuleFilter:
    """The rule filters of a query, parsed (None = no filter)."""

    rule_ids: frozenset[str] | None = None
    rule_name: str | None = None
    levels: frozenset[int] | None = None
    scorecard_ids: frozenset[str] | None = None
    is_custom: bool | None = None
    is_enabled: bool | None = None

    def matches(self, rule: Rule) -> bool:
        """Return whether ``rule`` passes every filter that is set (an unset filter matches every rule)."""
        return (
            (self.rule_ids is None or rule.id in self.rule_ids)
            and (self.rule_name is None or rule.name.lower() == self.rule_name.lower())
            and (self.levels is None or rule.level in self.levels)
            and (self.scorecard_ids is None or rule.scorecard_id in self.scorecard_ids)
            and (self.is_custom is None or rule.is_custom == self.is_custom)
            and (self.is_enabled is None or rule.is_enabled == self.is_enabled)
        )


@dataclass(eq=False, repr=False)
class Organisation:
    """Teams, entities, scorecards, rules and outcomes; computes scores for any query."""

    teams: list[str]
    scorecards: list[Scorecard]
    rules: list[Rule]
    entities: list[Entity]
    outcomes: list[bytes]  # one bytes per entity, one byte per rule (rule order)
    fix_steps_by_entity: list[bytes]  # drift step at which a fail turns into a pass (0 = never)
    fix_steps: int = 4
    sparse_every: int = SPARSE_EVERY
    remarks: dict[tuple[int, int], str] = field(default_factory=dict, init=False)  # by entity, rule index

    def __post_init__(self) -> None:
        if self.sparse_every < 0:
            raise ValueError(f"sparse_every must be 0 (no sparse records) or more, got {self.sparse_every}")
        self._step_cache: dict[int, list[bytes]] = {0: self.outcomes}

    # -- generation -------------------------------------------------------------------------------

    @classmethod
    def generate(
        cls,
        seed: int = 7,
        entities: int = 200,
        teams: int | None = None,
        fix_steps: int = 4,
        sparse_every: int = SPARSE_EVERY,
    ) -> Organisation:
        """Build an organisation from ``seed``: the same arguments give the same organisation, every run."""
        return cls(*generate_parts(seed, entities, teams, fix_steps), fix_steps, sparse_every)

    # -- (de)serialisation --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return the organisation as JSON-ready data, which :meth:`from_dict` reads back."""
        return {
            "teams": self.teams,
            "scorecards": [asdict(s) for s in self.scorecards],
            "rules": [asdict(r) for r in self.rules],
            "entities": [asdict(e) for e in self.entities],
            "outcomes": [[OUTCOME_NAMES[o] for o in row] for row in self.outcomes],
            "fix_steps_by_entity": [list(row) for row in self.fix_steps_by_entity],
            "fix_steps": self.fix_steps,
            "sparse_every": self.sparse_every,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Organisation:
        """Build an organisation from :meth:`to_dict`'s data; every entity needs one outcome per rule."""
        index = {name: code for code, name in enumerate(OUTCOME_NAMES)}
        rules = [Rule(**r) for r in data["rules"]]
        outcomes = [bytes(index[o] for o in row) for row in data["outcomes"]]
        fixes = [bytes(row) for row in data.get("fix_steps_by_entity", [[0] * len(rules)] * len(outcomes))]
        if any(len(row) != len(rules) for row in outcomes):
            raise ValueError("every entity needs one outcome per rule")
        return cls(
            list(data["teams"]),
            [Scorecard(**s) for s in data["scorecards"]],
            rules,
            [Entity(**e) for e in data["entities"]],
            outcomes,
            fixes,
            int(data.get("fix_steps", 4)),
            int(data.get("sparse_every", SPARSE_EVERY)),
        )

    @classmethod
    def from_json_file(cls, path: str) -> Organisation:
        """Read an organisation saved as JSON (:meth:`to_dict`'s data), to serve a fixed one."""
        with open(path, encoding="utf-8") as handle:
            return cls.from_dict(json.load(handle))

    # -- outcomes -----------------------------------------------------------------------------------

    def outcome(self, entity_index: int, rule_index: int, step: int = 0) -> str:
        """Return one entity's outcome on one rule (``pass``, ``fail``, ``skip``, ``no_data``) at ``step``."""
        return OUTCOME_NAMES[self._rows(step)[entity_index][rule_index]]

    def _rows(self, step: int) -> list[bytes]:
        step = max(0, min(step, self.fix_steps))
        rows = self._step_cache.get(step)
        if rows is None:
            rows = [
                bytes(PASS if (o == FAIL and 0 < f <= step) else o for o, f in zip(row, fix, strict=True))
                for row, fix in zip(self.outcomes, self.fix_steps_by_entity, strict=True)
            ]
            self._step_cache[step] = rows
        return rows

    def pin_outcome(self, entity_index: int, rule_index: int, outcome: str) -> None:
        """Set one outcome for good: drift never changes it (tests pin a score this way)."""
        code = OUTCOME_NAMES.index(outcome)
        row, fix = bytearray(self.outcomes[entity_index]), bytearray(self.fix_steps_by_entity[entity_index])
        row[rule_index], fix[rule_index] = code, 0
        self.outcomes[entity_index], self.fix_steps_by_entity[entity_index] = bytes(row), bytes(fix)
        self._step_cache = {0: self.outcomes}

    # -- scoring ------------------------------------------------------------------------------------

    def scores(
        self, aggregation: str, rule_filter: RuleFilter | None = None, step: int = 0
    ) -> list[dict[str, Any]]:
        """Compute the score objects (JSON:API ``data`` items) of a query, ordered by id."""
        selected = [
            i for i, rule in enumerate(self.rules) if rule_filter is None or rule_filter.matches(rule)
        ]
        if not selected:
            return []
        rows = self._rows(step)
        if aggregation == "by-rule":
            items = [self._rule_score(i, rows) for i in selected]
        elif aggregation == "by-scorecard":
            items = self._scorecard_scores(selected, rows)
        else:
            entity_counts = self._entity_counts(selected, rows)
            if aggregation == "by-entity":
                items = [
                    score_item("by-entity", entity.id, counts, 1, level, entity_relationships(entity))
                    for entity, (counts, level) in zip(self.entities, entity_counts, strict=True)
                ]
            elif aggregation in ("by-team", "by-kind"):
                items = self._group_scores(aggregation, entity_counts)
            else:
                raise ValueError(f"unknown aggregation {aggregation!r}")
        items = [sparse_item(item) if self.is_sparse(item["id"]) else item for item in items]
        items.sort(key=itemgetter("id"))
        return items

    def is_sparse(self, score_id: str) -> bool:
        """Whether the score ``score_id`` is sent sparse (no relationships, null level and total_entities)."""
        return bool(self.sparse_every) and zlib.crc32(score_id.encode()) % self.sparse_every == 0

    def _entity_counts(self, selected: list[int], rows: list[bytes]) -> list[tuple[Counts, int]]:
        pick = itemgetter(*selected) if len(selected) > 1 else (lambda row: (row[selected[0]],))
        levels_sel = [self.rules[i].level for i in selected]
        result = []
        for row in rows:
            values = pick(row)
            failing = [lvl for lvl, v in zip(levels_sel, values, strict=True) if v == FAIL]
            result.append((_counts(values), min(failing) - 1 if failing else 3))
        return result

    def _rule_score(self, rule_index: int, rows: list[bytes]) -> dict[str, Any]:
        rule = self.rules[rule_index]
        return score_item(
            "by-rule",
            rule.id,
            _counts(bytes(row[rule_index] for row in rows)),
            len(self.entities),
            rule.level,
            {
                "rule": relationship(rule.id, "rule"),
                "scorecard": relationship(rule.scorecard_id, "scorecard"),
            },
        )

    def _scorecard_scores(self, selected: list[int], rows: list[bytes]) -> list[dict[str, Any]]:
        by_scorecard: dict[str, list[int]] = {}
        for i in selected:
            by_scorecard.setdefault(self.rules[i].scorecard_id, []).append(i)
        return [
            score_item(
                "by-scorecard",
                sc_id,
                _counts(bytes(row[i] for row in rows for i in rule_indexes)),
                len(self.entities),
                None,
                {"scorecard": relationship(sc_id, "scorecard")},
            )
            for sc_id, rule_indexes in by_scorecard.items()
        ]

    def _group_scores(
        self, aggregation: str, entity_counts: list[tuple[Counts, int]]
    ) -> list[dict[str, Any]]:
        groups: dict[str, list[int]] = {}  # pass, fail, skip, no_data, entities, min level
        for entity, (counts, level) in zip(self.entities, entity_counts, strict=True):
            key = entity.team if aggregation == "by-team" else entity.kind
            acc = groups.setdefault(key, [0, 0, 0, 0, 0, 3])
            for k in range(4):
                acc[k] += counts[k]
            acc[4] += 1
            acc[5] = min(acc[5], level)
        if aggregation == "by-kind":
            return [score_item("by-kind", key, acc[:4], acc[4], None, None) for key, acc in groups.items()]
        return [
            score_item("by-team", key, acc[:4], acc[4], acc[5], {"team": relationship(key, "team")})
            for key, acc in groups.items()
        ]


def _counts(outcomes: Sequence[int]) -> Counts:
    """Count the passes, fails, skips and no_data among outcome codes, in that order."""
    return tuple(outcomes.count(code) for code in (PASS, FAIL, SKIP, NO_DATA))
