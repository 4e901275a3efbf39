"""The simulator's rule outcomes endpoint: Datadog's wire shape, and the same truth as the scores."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from airflow_provider_scorecards.simulator import ScorecardsSimulator
from airflow_provider_scorecards.simulator.outcomes import failing_rules

OUTCOMES = "/api/v2/scorecard/outcomes"


def _get(sim: ScorecardsSimulator, params: dict[str, Any], key: str | None = None) -> requests.Response:
    headers = {"DD-API-KEY": key or sim.api_key, "DD-APPLICATION-KEY": sim.app_key}
    return requests.get(sim.url + OUTCOMES, params=params, headers=headers, timeout=10)


def _all_pages(sim: ScorecardsSimulator, params: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """Follow links.next as Datadog's own client does, until a page comes back short."""
    items: list[dict[str, Any]] = []
    requests_made = 0
    while True:
        answer = _get(sim, params)
        requests_made += 1
        assert answer.status_code == 200, answer.text
        body = json.loads(answer.content)
        items += body["data"]
        assert "next" in body["links"]  # on every page, even the last
        assert "meta" not in body
        if len(body["data"]) < int(params["page[size]"]):
            return items, requests_made
        params = dict(parse_qsl(urlsplit(body["links"]["next"]).query))


def test_outcomes_agree_with_the_scores_for_every_entity(sim: ScorecardsSimulator) -> None:
    outcomes, _ = _all_pages(sim, {"page[size]": "100", "filter[outcome][state]": "fail"})
    fails: dict[str, int] = {}
    for outcome in outcomes:
        assert outcome["attributes"]["state"] == "fail"
        assert outcome["attributes"]["remarks"]
        fails[outcome["attributes"]["service_name"]] = fails.get(outcome["attributes"]["service_name"], 0) + 1
    for record in sim.expected_scores("by-entity"):
        name = record["id"].split(":", 1)[1]
        assert fails.get(name, 0) == record["attributes"]["total_fail"], record["id"]


def test_a_fixed_rule_passes_in_both_endpoints() -> None:
    with ScorecardsSimulator(seed=7, entities=20) as sim:
        before = {r.id for r in failing_rules(sim.org, "service:checkout-api", sim.step)}
        sim.advance(sim.org.fix_steps)
        body = json.loads(
            _get(sim, {"filter[outcome][service_name]": "checkout-api", "page[size]": "100"}).content
        )
        states = {o["id"].split("\\")[0]: o["attributes"]["state"] for o in body["data"]}
        score = next(r for r in sim.expected_scores("by-entity") if r["id"] == "service:checkout-api")
    assert before
    assert all(states[rule_id] == "pass" for rule_id in before)
    assert score["attributes"]["total_fail"] == 0


def test_the_wire_shape_is_the_recorded_one(sim: ScorecardsSimulator) -> None:
    answer = _get(
        sim,
        {
            "filter[outcome][service_name]": "checkout-api",
            "page[size]": "2",
            "page[offset]": "2",
            "include": "rule",
        },
    )
    assert answer.headers["Content-Type"] == "application/vnd.api+json"
    assert b"\\u0026" in answer.content  # links escaped as Datadog does
    body = json.loads(answer.content)
    assert {o["type"] for o in body["data"]} == {"outcome"}
    for outcome in body["data"]:
        rule_id, service = outcome["id"].split("\\")
        assert service == "checkout-api"
        if "relationships" in outcome:
            assert outcome["relationships"]["rule"]["data"] == {"id": rule_id, "type": "rule"}
    assert {r["type"] for r in body["included"]} == {"rule"}
    assert all("name" in r["attributes"] for r in body["included"])
    next_params = dict(parse_qsl(urlsplit(body["links"]["next"]).query))
    assert (next_params["page[offset]"], next_params["page[size]"], next_params["page[limit]"]) == (
        "4",
        "2",
        "2",
    )
    assert next_params["filter[outcome][service_name]"] == "checkout-api"
    assert dict(parse_qsl(urlsplit(body["links"]["previous"]).query))["page[offset]"] == "0"


def test_records_are_as_sparse_as_the_spec_allows(sim: ScorecardsSimulator) -> None:
    outcomes, _ = _all_pages(sim, {"page[size]": "100", "include": "rule"})
    assert any("modified_at" not in o["attributes"] for o in outcomes)
    assert any("modified_at" in o["attributes"] for o in outcomes)
    assert any("relationships" not in o for o in outcomes)
    assert any(o["attributes"].get("remarks", "x") == "" for o in outcomes)
    assert all(
        "relationships" in o and o["attributes"]["remarks"]
        for o in outcomes
        if o["attributes"]["state"] == "fail"
    )
    assert {o["attributes"]["state"] for o in outcomes} == {"pass", "fail", "skip"}


def test_sparse_fieldsets_keep_only_what_is_asked(sim: ScorecardsSimulator) -> None:
    body = json.loads(
        _get(
            sim, {"fields[outcome]": "state", "fields[rule]": "name", "include": "rule", "page[size]": "5"}
        ).content
    )
    assert {key for o in body["data"] for key in o["attributes"]} == {"state"}
    assert {key for o in body["data"] for key in o} == {"id", "type", "attributes"}  # as recorded
    assert {key for r in body["included"] for key in r["attributes"]} == {"name"}


def test_filters_select_rules_and_states(sim: ScorecardsSimulator) -> None:
    rule = sim.org.rules[0]
    by_id, _ = _all_pages(sim, {"filter[rule][id]": rule.id, "page[size]": "100"})
    by_name, _ = _all_pages(sim, {"filter[rule][name]": rule.name.upper(), "page[size]": "100"})
    assert by_id == by_name
    assert {o["id"].split("\\")[0] for o in by_id} == {rule.id}
    enabled, _ = _all_pages(sim, {"filter[rule][enabled]": "false", "page[size]": "100"})
    disabled_ids = {r.id for r in sim.org.rules if not r.is_enabled}
    assert {o["id"].split("\\")[0] for o in enabled} <= disabled_ids
    skips, _ = _all_pages(sim, {"filter[outcome][state]": "skip", "page[size]": "100"})
    assert skips
    assert {o["attributes"]["state"] for o in skips} == {"skip"}


@pytest.mark.parametrize(
    "params",
    [
        {"page[size]": "101"},
        {"page[size]": "0"},
        {"page[offset]": "-1"},
        {"filter[outcome][state]": "broken"},
        {"filter[rule][enabled]": "yes"},
        {"include": "team"},
    ],
)
def test_malformed_requests_get_a_400_in_datadogs_shape(
    sim: ScorecardsSimulator, params: dict[str, str]
) -> None:
    answer = _get(sim, params)
    assert answer.status_code == 400
    error = json.loads(answer.content)["errors"][0]
    assert (error["status"], error["title"]) == ("400", "Bad Request")
    assert next(iter(params)) in error["detail"]


def test_wrong_keys_are_refused(sim: ScorecardsSimulator) -> None:
    assert _get(sim, {}, key="nope").status_code == 403


def test_the_default_page_size_is_ten(sim: ScorecardsSimulator) -> None:
    assert len(json.loads(_get(sim, {}).content)["data"]) == 10


def test_faults_apply_to_outcomes_too(fresh_sim: ScorecardsSimulator) -> None:
    fresh_sim.faults.inject("status", status=503)
    assert _get(fresh_sim, {}).status_code == 503
    fresh_sim.faults.inject("truncate")
    with pytest.raises(json.JSONDecodeError):
        json.loads(_get(fresh_sim, {}).content)
    fresh_sim.faults.inject("bad_shape")
    assert not isinstance(json.loads(_get(fresh_sim, {}).content)["data"], list)
