"""A score as the API renders it: a JSON:API item with its attributes and relationships, or sparse.

Why this is its own module: the organisation (:mod:`~airflow_provider_scorecards.simulator.org`) counts
passes and fails; how a count becomes the item on the wire (which attributes, in which order, which
relationships per aggregation, what a sparse record leaves out) is one shape, written once here, that
every aggregation shares and that tests compare the client's records with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_scorecards.simulator.model import Entity


def score_item(
    aggregation: str,
    item_id: str,
    counts: Sequence[int],
    total_entities: int,
    level: int | None,
    relationships: dict[str, Any] | None,
) -> dict[str, Any]:
    """Render one score: counts -> numerator, denominator, score (0.0 when nothing was evaluated)."""
    passes, fails, skips, no_data = counts
    denominator = passes + fails
    attributes: dict[str, Any] = {
        "aggregation": aggregation,
        "denominator": denominator,
        "numerator": passes,
        "score": round(passes / denominator, 6) if denominator else 0.0,
        "total_entities": total_entities,
        "total_fail": fails,
        "total_no_data": no_data,
        "total_pass": passes,
        "total_skip": skips,
    }
    if level is not None:
        attributes["level"] = level
    item: dict[str, Any] = {"attributes": attributes, "id": item_id}
    if relationships:
        item["relationships"] = relationships
    item["type"] = "score"
    return item


def sparse_item(item: dict[str, Any]) -> dict[str, Any]:
    """Return the record as the spec allows it to come: no relationships, the optional details null."""
    attributes = {**item["attributes"], "level": None, "total_entities": None}
    return {"attributes": attributes, "id": item["id"], "type": item["type"]}


def entity_relationships(entity: Entity) -> dict[str, Any]:
    """Relationships of a by-entity score: the entity, its team, and its service when it is one."""
    rels = {"entity": relationship(entity.id, "entity"), "team": relationship(entity.team, "team")}
    if entity.kind == "service":
        rels["service"] = relationship(entity.name, "service")
    return rels


def relationship(item_id: str, kind: str) -> dict[str, Any]:
    """One JSON:API relationship: ``{"data": {"id": ..., "type": ...}}``."""
    return {"data": {"id": item_id, "type": kind}}
