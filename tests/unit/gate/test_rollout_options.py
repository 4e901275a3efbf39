"""Rollout options and the order decide -> explain -> verdict, against the simulator over loopback HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from airflow_provider_scorecards.client import (
    InvalidParameterError,
    ScorecardsClient,
    ScorecardsConfigError,
    ScoresQuery,
    settings_from_connection,
)
from airflow_provider_scorecards.client.settings import ClientSettings
from airflow_provider_scorecards.gate.condition import GateCondition, check_gate
from airflow_provider_scorecards.gate.explain import explanation_settings
from airflow_provider_scorecards.gate.rollout import RolloutOptions, decide, explain_decision, verdict
from airflow_provider_scorecards.simulator import ScorecardsSimulator
from airflow_provider_scorecards.simulator.outcomes import OUTCOMES_PATH

CHECKOUT = "service:checkout-api"
NOW = datetime(2026, 12, 2, tzinfo=UTC)


def _settings(sim: ScorecardsSimulator) -> ClientSettings:
    spec = sim.connection_dict()
    return settings_from_connection("t", spec["conn_type"], spec["password"], spec["extra"])


def test_defaults_and_rendered_values() -> None:
    assert RolloutOptions.build() == RolloutOptions(dry_run=False, waivers=(), explain=True, explain_limit=5)
    options = RolloutOptions.build(
        dry_run="True", waivers="{'service:a': '2026-12-31'}", explain="false", explain_limit="3"
    )
    assert (options.dry_run, options.explain, options.explain_limit) == (True, False, 3)
    assert [w.id for w in options.waivers] == ["service:a"]
    assert RolloutOptions.build(**options.describe()) == options
    assert RolloutOptions.build(dry_run=None, explain=None) == RolloutOptions()


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"dry_run": "perhaps"}, "dry_run"),
        ({"explain": 2}, "explain"),
        ({"explain_limit": 0}, "explain_limit"),
        ({"explain_limit": 21}, "explain_limit"),
        ({"explain_limit": "five"}, "explain_limit"),
        ({"waivers": {"service:a": "tomorrow"}}, "waivers"),
    ],
)
def test_bad_options_name_the_parameter(arguments: dict[str, Any], parameter: str) -> None:
    with pytest.raises(InvalidParameterError) as raised:
        RolloutOptions.build(**arguments)
    assert raised.value.parameter == parameter


def _decision(sim: ScorecardsSimulator, aggregation: str, options: RolloutOptions, **condition: Any) -> Any:
    query = ScoresQuery.build(aggregation)
    with ScorecardsClient(_settings(sim)) as client:
        result = check_gate(client, query, GateCondition.build(**condition))
    return query, decide(result, options, NOW)


def test_a_failed_by_entity_gate_is_explained_after_it_is_decided(sim: ScorecardsSimulator) -> None:
    options = RolloutOptions.build(explain_limit=2)
    query, decision = _decision(sim, "by-entity", options, min_score=0.8, score_ids=[CHECKOUT])
    sim.reset_log()
    explanations = explain_decision(
        decision, options, query, lambda: ScorecardsClient(explanation_settings(_settings(sim)))
    )
    assert explanations is not None
    assert [r.path for r in sim.requests] == [OUTCOMES_PATH]
    document = verdict(decision, options, explanations)
    assert document["met"] is False
    assert document["failing"] == [CHECKOUT]
    assert list(document["explanations"]) == [CHECKOUT]


@pytest.mark.parametrize(
    ("aggregation", "options", "condition"),
    [
        ("by-team", RolloutOptions.build(), {"min_score": 0.99}),  # not by-entity: nothing to ask
        ("by-entity", RolloutOptions.build(explain=False), {"min_score": 0.8, "score_ids": [CHECKOUT]}),
        ("by-entity", RolloutOptions.build(), {"min_score": 0.1, "score_ids": [CHECKOUT]}),  # met
        (
            "by-entity",
            RolloutOptions.build(waivers={CHECKOUT: "2026-12-31"}),
            {"min_score": 0.8, "score_ids": [CHECKOUT]},
        ),  # met through its waiver
        (
            "by-entity",
            RolloutOptions.build(),
            {"min_score": 0.8, "score_ids": ["service:nope"]},
        ),  # missing only
    ],
)
def test_no_request_when_there_is_nothing_to_explain(
    sim: ScorecardsSimulator, aggregation: str, options: RolloutOptions, condition: dict[str, Any]
) -> None:
    query, decision = _decision(sim, aggregation, options, **condition)

    def no_client() -> ScorecardsClient:
        raise AssertionError("no explanation client may be built")

    assert explain_decision(decision, options, query, no_client) is None


def test_a_client_that_cannot_be_built_is_explanations_unavailable(sim: ScorecardsSimulator) -> None:
    options = RolloutOptions.build()
    query, decision = _decision(sim, "by-entity", options, min_score=0.8, score_ids=[CHECKOUT])

    def broken() -> ScorecardsClient:
        raise ScorecardsConfigError("no credentials")

    explanations = explain_decision(decision, options, query, broken)
    assert explanations is not None
    assert [item.unavailable for item in explanations.items] == ["ScorecardsConfigError: no credentials"]
    assert verdict(decision, options, explanations)["met"] is False
