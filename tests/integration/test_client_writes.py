"""The client's writes against the simulator over real HTTP: one rule however the create goes, outcomes posted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_scorecards.client.client import ScorecardsClient
from airflow_provider_scorecards.client.errors import ScorecardsBadRequestError, ScorecardsConflictError
from airflow_provider_scorecards.client.rules import parse_outcomes
from airflow_provider_scorecards.client.settings import settings_from_connection
from airflow_provider_scorecards.simulator import ScorecardsSimulator

SCORECARD = "Production Readiness"


@pytest.fixture
def sim() -> Iterator[ScorecardsSimulator]:
    with ScorecardsSimulator(seed=7, entities=20, outcome_delay=0) as simulator:
        yield simulator


def client_of(sim: ScorecardsSimulator) -> ScorecardsClient:
    conn = sim.connection_dict()
    conn["extra"].update(backoff_base=0.01, max_retries=3)
    return ScorecardsClient(
        settings_from_connection("sim", conn["conn_type"], conn["password"], conn["extra"])
    )


@pytest.mark.parametrize("fault", [None, "drop", "status"])
def test_one_rule_however_the_create_goes(sim: ScorecardsSimulator, fault: str | None) -> None:
    if fault:  # the first lookup passes; the create is done, its answer lost (a cut connection, a 503)
        sim.faults.inject(fault, 1, after=1)
    with client_of(sim) as client:
        rule = client.find_or_create_rule(name="Data tests", scorecard_name=SCORECARD, description="dq")
        assert client.find_or_create_rule(name="Data tests", scorecard_name=SCORECARD) == rule
    assert [(r["name"], r["scorecard_name"]) for r in sim.writes.created_rules()] == [
        ("Data tests", SCORECARD)
    ]
    assert rule.custom is True
    assert rule.scorecard_name == SCORECARD


def test_outcomes_are_posted_and_the_write_errors_are_datadogs(sim: ScorecardsSimulator) -> None:
    entities = [entity.id for entity in sim.writes.current().entities]
    report = {
        entity: "fail" if k % 3 else {"state": "PASS", "remarks": "ok"} for k, entity in enumerate(entities)
    }
    results = parse_outcomes("outcomes", repr(report), remarks=f"checked with {sim.api_key}")
    with client_of(sim) as client:
        rule = client.find_or_create_rule(name="Data tests", scorecard_name=SCORECARD)
        assert client.post_outcomes(rule.id, results) == len(entities)
        with pytest.raises(ScorecardsConflictError, match="Invalid rule_id"):
            client.post_outcomes("no-such-rule", results[:1])
        with pytest.raises(ScorecardsBadRequestError):
            client.create_rule(name="x", scorecard_name="No Such Scorecard")
    posted = sim.writes.posted_outcomes()
    assert [(p["entity_reference"], p["state"]) for p in posted] == [
        (r.entity_reference, r.state) for r in results
    ]
    assert posted[0]["remarks"] == "ok"
    assert posted[1]["remarks"] == "checked with ***"
