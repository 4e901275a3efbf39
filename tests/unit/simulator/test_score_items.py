"""A score as the simulator renders it: the counts, the optional parts, and what a sparse record drops."""

from __future__ import annotations

from airflow_provider_scorecards.simulator.model import Entity
from airflow_provider_scorecards.simulator.score_items import entity_relationships, score_item, sparse_item


def test_counts_become_numerator_denominator_and_score() -> None:
    item = score_item("by-team", "payments", (3, 1, 2, 4), 7, 2, {"team": {"data": {"id": "payments"}}})
    attributes = item["attributes"]
    assert (attributes["numerator"], attributes["denominator"], attributes["score"]) == (3, 4, 0.75)
    assert (attributes["total_skip"], attributes["total_no_data"], attributes["level"]) == (2, 4, 2)
    assert list(item) == ["attributes", "id", "relationships", "type"]


def test_nothing_evaluated_scores_zero_and_optional_parts_are_left_out() -> None:
    item = score_item("by-kind", "queue", (0, 0, 5, 1), 3, None, None)
    assert item["attributes"]["score"] == 0.0
    assert "level" not in item["attributes"]
    assert "relationships" not in item


def test_a_sparse_record_keeps_the_counts_and_drops_the_rest() -> None:
    entity = Entity(id="service:checkout-api", name="checkout-api", kind="service", team="payments")
    item = score_item("by-entity", entity.id, (1, 1, 0, 0), 1, 1, entity_relationships(entity))
    assert set(item["relationships"]) == {"entity", "team", "service"}
    sparse = sparse_item(item)
    assert "relationships" not in sparse
    assert (sparse["attributes"]["level"], sparse["attributes"]["total_entities"]) == (None, None)
    assert sparse["attributes"]["score"] == 0.5


def test_only_a_service_has_a_service_relationship() -> None:
    queue = Entity(id="queue:orders-stream-00007", name="orders-stream-00007", kind="queue", team="infra")
    assert set(entity_relationships(queue)) == {"entity", "team"}
