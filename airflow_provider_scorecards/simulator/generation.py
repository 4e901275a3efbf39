"""How a generated organisation is drawn from its seed: the names, the four scorecards, the outcomes.

Why this is its own module: :mod:`~airflow_provider_scorecards.simulator.org` is the arithmetic (what a
score is, for any query and drift step) on the records of :mod:`.model`; this is the fiction it starts
from. The same seed and sizes give the same organisation on every run and machine (one ``random.Random``
per organisation, and one per curated service so that it looks the same whatever the organisation's size).
"""

from __future__ import annotations

import random

from airflow_provider_scorecards.simulator.model import FAIL, NO_DATA, PASS, SKIP, Entity, Rule, Scorecard

KINDS = ("service", "datastore", "queue", "website")
KIND_WEIGHTS = (0.6, 0.15, 0.15, 0.1)
"""How often each of :data:`KINDS` is drawn."""
CURATED_SERVICES = ("checkout-api", "payments-gateway", "search-indexer", "identity-service", "web-frontend")
"""The first entities of every generated organisation (when it has that many), always services."""
CURATED_QUALITY = (0.5, 0.9, 0.35, 0.75, 0.6)
"""Their pass rates: checkout-api starts below a 0.8 gate and crosses it as outcomes drift."""

TEAM_NAMES = (
    "payments",
    "checkout",
    "search",
    "identity",
    "platform",
    "data-eng",
    "mobile",
    "growth",
    "billing",
    "infra",
    "security",
    "catalog",
    "shipping",
    "notifications",
    "ml-serving",
    "web",
)
NOUNS = ("api", "worker", "gateway", "db", "cache", "stream", "frontend", "indexer", "scheduler", "store")
ADJECTIVES = ("orders", "users", "cart", "ledger", "profile", "events", "pricing", "ranking", "auth", "media")

SCORECARDS = (
    Scorecard("production-readiness", "Production Readiness", False),
    Scorecard("observability-best-practices", "Observability Best Practices", False),
    Scorecard("documentation-ownership", "Documentation & Ownership", False),
    Scorecard("security-posture", "Security Posture", True),
)
"""The scorecards: custom ones, or Datadog's own."""
RULES = (
    ("production-readiness", "Has on-call", 1),
    ("production-readiness", "Has runbook", 1),
    ("production-readiness", "Has SLOs defined", 2),
    ("production-readiness", "Has deployment tracking", 2),
    ("production-readiness", "Has multi-zone failover", 3),
    ("observability-best-practices", "Has monitors", 1),
    ("observability-best-practices", "Has logs", 1),
    ("observability-best-practices", "Has APM traces", 2),
    ("observability-best-practices", "Has profiling enabled", 3),
    ("documentation-ownership", "Has owner team", 1),
    ("documentation-ownership", "Has docs link", 1),
    ("documentation-ownership", "Has repository link", 2),
    ("security-posture", "Dependencies scanned", 1),
    ("security-posture", "No critical vulnerabilities", 2),
    ("security-posture", "Secrets in vault", 3),
)
"""The rules, by scorecard: scorecard id, name, level."""


def generate_parts(
    seed: int, entities: int, teams: int | None, fix_steps: int
) -> tuple[list[str], list[Scorecard], list[Rule], list[Entity], list[bytes], list[bytes]]:
    """Draw an organisation's teams, scorecards, rules, entities, outcome rows and fix steps from ``seed``."""
    rng = random.Random(seed)
    n_teams = teams if teams is not None else max(3, min(len(TEAM_NAMES), entities // 10 or 3))
    team_names = [TEAM_NAMES[i] if i < len(TEAM_NAMES) else f"team-{i:03d}" for i in range(n_teams)]
    custom = {scorecard.id: scorecard.is_custom for scorecard in SCORECARDS}
    rules = [
        Rule(
            id=rule_id(rng),
            name=name,
            scorecard_id=scorecard_id,
            level=level,
            is_custom=custom[scorecard_id] or rng.random() < 0.15,
            is_enabled=rng.random() < 0.85,
        )
        for scorecard_id, name, level in RULES
    ]
    kinds = rng.choices(KINDS, weights=KIND_WEIGHTS, k=entities)
    entity_list = []
    for i, kind in enumerate(kinds):
        team = team_names[rng.randrange(n_teams)]
        if i < len(CURATED_SERVICES):  # well-known names, so examples and docs can refer to them
            name, team = CURATED_SERVICES[i], team_names[i % n_teams]
            kind = "service"
        else:
            name = f"{ADJECTIVES[i % 10]}-{NOUNS[(i // 10) % 10]}-{i:05d}"
        entity_list.append(Entity(id=f"{kind}:{name}", name=name, kind=kind, team=team))
    outcomes: list[bytes] = []
    fixes: list[bytes] = []
    levels = [rule.level for rule in rules]
    for index, entity in enumerate(entity_list):
        if index < len(CURATED_SERVICES):
            # Own random stream: a curated service looks the same whatever the organisation's size.
            entity_rng, quality = random.Random(f"{seed}:{entity.name}"), CURATED_QUALITY[index]
        else:
            entity_rng, quality = rng, rng.uniform(0.25, 0.95)
        row, fix = outcome_row(entity_rng, quality, levels, fix_steps)
        outcomes.append(row)
        fixes.append(fix)
    return team_names, list(SCORECARDS), rules, entity_list, outcomes, fixes


def outcome_row(rng: random.Random, quality: float, levels: list[int], fix_steps: int) -> tuple[bytes, bytes]:
    """One entity's outcome per rule, and the drift step at which each fail gets fixed."""
    row = bytearray()
    fix = bytearray()
    for level in levels:
        draw = rng.random()
        if draw < 0.05:
            outcome = SKIP
        elif draw < 0.10:
            outcome = NO_DATA
        elif rng.random() < quality - 0.12 * (level - 1):
            outcome = PASS
        else:
            outcome = FAIL
        row.append(outcome)
        fix.append(rng.randint(1, fix_steps) if outcome == FAIL else 0)
    return bytes(row), bytes(fix)


def rule_id(rng: random.Random) -> str:
    """Draw a rule id shaped like Datadog's (a version-4 UUID), from the organisation's generator."""
    text = f"{rng.getrandbits(128):032x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{text[16:20]}-{text[20:32]}"
