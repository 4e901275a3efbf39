"""Posted outcomes in the scores: the simulator's answers against a small model of Datadog's arithmetic."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_scorecards.simulator import ScorecardsSimulator
from airflow_provider_scorecards.simulator.org import Organisation
from airflow_provider_scorecards.simulator.outcomes import OUTCOMES_PATH, STATES
from airflow_provider_scorecards.simulator.params import BadRequest
from airflow_provider_scorecards.simulator.rules import RULES_PATH, rules_answer

ENTITIES = 12
GHOST = ENTITIES  # an entity reference no entity has: received, never counted

_batches = st.lists(
    st.lists(st.tuples(st.integers(0, GHOST), st.sampled_from(STATES)), min_size=1, max_size=8), max_size=5
)


def _post(sim: ScorecardsSimulator, path: str, document: dict[str, Any]) -> dict[str, Any]:
    status, body = rules_answer(sim, "POST", path, {}, json.dumps(document).encode(), None)
    assert status in (201, 202)
    return dict(json.loads(body))


@settings(max_examples=60, deadline=None)
@given(batches=_batches, level=st.integers(1, 3))
def test_scores_after_posted_outcomes_equal_a_small_model(
    batches: list[list[tuple[int, str]]], level: int
) -> None:
    sim = ScorecardsSimulator(
        organisation=Organisation.generate(seed=3, entities=ENTITIES, sparse_every=0), outcome_delay=0
    )
    org = sim.org
    states = [[org.outcome(e, r) for r in range(len(org.rules))] for e in range(ENTITIES)]
    levels = [rule.level for rule in org.rules] + [level]
    rule = {"name": "Data tests", "scorecard_name": "Documentation & Ownership", "level": level}
    rule_id = _post(sim, RULES_PATH, {"data": {"type": "rule", "attributes": rule}})["data"]["id"]
    posted: dict[int, str] = {}
    for batch in batches:
        results = [
            {
                "rule_id": rule_id,
                "entity_reference": f"service:{e}" if e == GHOST else org.entities[e].id,
                "state": s,
            }
            for e, s in batch
        ]
        answer = _post(
            sim, OUTCOMES_PATH, {"data": {"type": "batched-outcome", "attributes": {"results": results}}}
        )
        assert answer["meta"] == {"total_received": len(batch)}
        posted.update((e, s) for e, s in batch if e != GHOST)  # the last outcome of an entity wins
    scores = {item["id"]: item["attributes"] for item in sim.expected_scores("by-entity")}
    for e, entity in enumerate(org.entities):
        row = [*states[e], posted.get(e, "no_data")]
        failing = [lvl for lvl, state in zip(levels, row, strict=True) if state == "fail"]
        got = scores[entity.id]
        assert [got[f"total_{s}"] for s in ("pass", "fail", "skip", "no_data")] == [
            row.count(s) for s in (*STATES, "no_data")
        ]
        assert got["level"] == (min(failing) - 1 if failing else 3)
    by_rule = next(item["attributes"] for item in sim.expected_scores("by-rule") if item["id"] == rule_id)
    column = [posted.get(e, "no_data") for e in range(ENTITIES)]
    assert [by_rule[f"total_{s}"] for s in ("pass", "fail", "skip", "no_data")] == [
        column.count(s) for s in (*STATES, "no_data")
    ]
    assert len(sim.writes.posted_outcomes()) == sum(map(len, batches))


@pytest.mark.parametrize(
    "body", [b"{", b"\xff", b"[" * 100_000], ids=["cut", "not UTF-8", "nested 100k deep"]
)
def test_a_write_whose_body_is_not_json_is_a_400(body: bytes) -> None:
    sim = ScorecardsSimulator(organisation=Organisation.generate(entities=ENTITIES))
    with pytest.raises(BadRequest, match="the body is not JSON"):
        rules_answer(sim, "POST", RULES_PATH, {}, body, None)
