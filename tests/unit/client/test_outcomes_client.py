"""The rule outcomes endpoint in the Airflow-free client: its query, its page, and real HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider_scorecards.client import (
    InvalidParameterError,
    ScorecardsAuthError,
    ScorecardsClient,
    ScorecardsResponseError,
    settings_from_connection,
)
from airflow_provider_scorecards.client.outcomes import (
    MAX_PAGE_BYTES,
    OutcomesQuery,
    decode_outcomes_page,
)
from airflow_provider_scorecards.simulator import ScorecardsSimulator
from airflow_provider_scorecards.simulator.outcomes import failing_rules

RECORDING = Path(
    "/work/shared/reference/recorded/test_list_all_rule_outcomes_returns_ok_response_with_pagination.yaml"
)
"""Datadog's own recording of this endpoint, where the machine has the reference material."""
RECORDED_SHAPE = [
    # The shape of that recording (fields[outcome]=state, page[size]=2), written out here.
    '{"data":[{"id":"r-1\\\\my-service","type":"outcome","attributes":{"state":"pass"}},'
    '{"id":"r-2\\\\my-service","type":"outcome","attributes":{"state":"pass"}}],'
    '"links":{"next":"/api/v2/scorecard/outcomes?fields%5Boutcome%5D=state\\u0026page%5Blimit%5D=2'
    '\\u0026page%5Boffset%5D=2\\u0026page%5Bsize%5D=2"}}',
    '{"data":[],"links":{"next":"/api/v2/scorecard/outcomes?page%5Boffset%5D=4",'
    '"previous":"/api/v2/scorecard/outcomes?page%5Boffset%5D=0"}}',
]


def _client(sim: ScorecardsSimulator, **extra: Any) -> ScorecardsClient:
    spec = sim.connection_dict()
    spec["extra"].update(extra)
    return ScorecardsClient(settings_from_connection("t", spec["conn_type"], spec["password"], spec["extra"]))


def test_query_wire_names_and_defaults() -> None:
    query = OutcomesQuery.build(
        service_name=" checkout-api ", state="FAIL", rule_ids=["r1", "r2"], rule_enabled="true"
    )
    assert query.to_params(offset=100) == {
        "filter[outcome][service_name]": "checkout-api",
        "filter[outcome][state]": "fail",
        "filter[rule][id]": "r1,r2",
        "filter[rule][enabled]": "true",
        "include": "rule",
        "page[size]": "100",
        "page[offset]": "100",
    }
    assert OutcomesQuery.build().to_params() == {"include": "rule", "page[size]": "100", "page[offset]": "0"}
    assert OutcomesQuery.build(include_rules=False, page_size="5").to_params() == {
        "page[size]": "5",
        "page[offset]": "0",
    }


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"service_name": ""}, "service_name"),
        ({"service_name": "   "}, "service_name"),
        ({"service_name": 7}, "service_name"),
        ({"service_name": "x" * 201}, "service_name"),
        ({"state": "no_data"}, "state"),
        ({"state": ""}, "state"),
        ({"rule_ids": []}, "rule_ids"),
        ({"rule_ids": ["a", " "]}, "rule_ids"),
        ({"rule_ids": ["a,b"]}, "rule_ids"),
        ({"rule_ids": [None]}, "rule_ids"),
        ({"rule_name": ""}, "rule_name"),
        ({"rule_enabled": "maybe"}, "rule_enabled"),
        ({"page_size": 101}, "page_size"),
        ({"page_size": 0}, "page_size"),
    ],
)
def test_a_bad_or_blank_filter_is_refused_naming_it(arguments: dict[str, Any], parameter: str) -> None:
    with pytest.raises(InvalidParameterError) as raised:
        OutcomesQuery.build(**arguments)
    assert raised.value.parameter == parameter


def _recorded() -> list[list[str]]:
    sources = [RECORDED_SHAPE]
    if RECORDING.exists():
        interactions = yaml.safe_load(RECORDING.read_text())["interactions"]
        sources.append([i["response"]["body"]["string"] for i in interactions])
    return sources


@pytest.mark.parametrize("bodies", _recorded())
def test_the_recorded_answer_decodes_and_its_last_page_is_empty(bodies: list[str]) -> None:
    first, last = (decode_outcomes_page(body.encode(), 0, 2) for body in bodies)
    assert [o.id.split("\\")[1] for o in first.outcomes if o.id] == ["my-service", "my-service"]
    assert [o.state for o in first.outcomes] == ["pass", "pass"]
    # fields[outcome]=state: nothing else was sent, and nothing is invented
    assert {o.remarks for o in first.outcomes} == {None}
    assert {o.rule_id for o in first.outcomes} == {None}
    assert first.next_link is not None
    assert "page%5Boffset%5D=2" in first.next_link
    assert not first.last
    assert last.outcomes == []
    assert last.last
    assert last.next_link is not None


def _decoded(payload: Any) -> Any:
    return decode_outcomes_page(json.dumps(payload).encode(), 0, 100)


def test_every_field_is_optional() -> None:
    page = _decoded({"data": [{}, {"attributes": None, "relationships": {"rule": None}}]})
    assert [o.id for o in page.outcomes] == [None, None]
    assert page.rules == {}
    assert page.next_link is None
    assert _decoded({}).outcomes == []


def test_included_rules_name_the_outcomes_rules() -> None:
    payload = {
        "data": [{"id": "r1\\svc", "relationships": {"rule": {"data": {"id": "r1", "type": "rule"}}}}],
        "included": [
            {"id": "r1", "type": "rule", "attributes": {"name": "Has runbook", "scorecard_name": "PR"}},
            {"id": "other", "type": "team"},
            {"type": "rule"},
        ],
    }
    page = _decoded(payload)
    assert (page.outcomes[0].rule_name, page.outcomes[0].scorecard_name) == ("Has runbook", "PR")
    assert list(page.rules) == ["r1"]


def test_a_page_too_large_or_too_deep_is_refused_before_it_is_built() -> None:
    with pytest.raises(ScorecardsResponseError, match="bytes, more than"):
        decode_outcomes_page(b" " * (MAX_PAGE_BYTES + 1), 0, 100)
    with pytest.raises(ScorecardsResponseError, match="nested too deeply"):
        decode_outcomes_page(b"[" * 100_000 + b"]" * 100_000, 0, 100)
    with pytest.raises(json.JSONDecodeError):  # a truncated body: the transport retries it
        decode_outcomes_page(b'{"data": [', 0, 100)


def test_the_client_reads_failing_outcomes_over_http(sim: ScorecardsSimulator) -> None:
    entity = "service:checkout-api"
    with _client(sim) as client:
        page = client.get_outcomes(OutcomesQuery.build(service_name="checkout-api", state="fail"))
    expected = failing_rules(sim.org, entity, sim.step)
    assert expected, "the curated service fails some rules"
    assert [o.rule_id for o in page.outcomes] == [rule.id for rule in expected]
    assert [o.rule_name for o in page.outcomes] == [rule.name for rule in expected]
    assert all(o.state == "fail" and o.remarks for o in page.outcomes)
    assert page.last
    record = next(r for r in sim.expected_scores("by-entity") if r["id"] == entity)
    assert record["attributes"]["total_fail"] == len(page.outcomes)


def test_a_refused_request_is_a_typed_error(sim: ScorecardsSimulator) -> None:
    spec = sim.connection_dict()
    settings = settings_from_connection("t", spec["conn_type"], "wrong-key", spec["extra"])
    with ScorecardsClient(settings) as client, pytest.raises(ScorecardsAuthError) as raised:
        client.get_outcomes(OutcomesQuery.build(service_name="checkout-api"))
    assert raised.value.status == 403
    assert "wrong-key" not in str(raised.value)


def test_a_bad_request_names_the_parameter(sim: ScorecardsSimulator) -> None:
    # The client never sends such a query; a raw request shows the simulator's 400 is Datadog's shape.
    import requests

    answer = requests.get(
        f"{sim.url}/api/v2/scorecard/outcomes",
        params={"filter[outcome][state]": "no_data"},
        headers={"DD-API-KEY": sim.api_key, "DD-APPLICATION-KEY": sim.app_key},
        timeout=10,
    )
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/vnd.api+json"
    assert "filter[outcome][state]" in json.loads(answer.content)["errors"][0]["detail"]
