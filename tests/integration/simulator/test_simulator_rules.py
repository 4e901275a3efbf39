"""The simulator's rules list, rule creation and outcome posting, over real HTTP: Datadog's answers, unkindly."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from airflow_provider_scorecards.simulator import ScorecardsSimulator, rules
from airflow_provider_scorecards.simulator.rules import MAX_BODY_BYTES

RULES = "/api/v2/scorecard/rules"
OUTCOMES = "/api/v2/scorecard/outcomes"


@pytest.fixture
def writable() -> Iterator[ScorecardsSimulator]:
    # Posted outcomes count after 1 s: room for a loaded machine to see them not counted yet.
    with ScorecardsSimulator(seed=7, entities=20, outcome_delay=1.0) as simulator:
        yield simulator


def _call(sim: ScorecardsSimulator, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"DD-API-KEY": sim.api_key, "DD-APPLICATION-KEY": sim.app_key}
    return requests.request(method, sim.url + path, headers=headers, timeout=10, **kwargs)


def _rule(name: str = "Data tests", scorecard: str = "Production Readiness", **more: Any) -> dict[str, Any]:
    return {"data": {"type": "rule", "attributes": {"name": name, "scorecard_name": scorecard, **more}}}


def _outcomes(*results: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"type": "batched-outcome", "attributes": {"results": list(results)}}}


def _create(sim: ScorecardsSimulator, name: str = "Data tests", **more: Any) -> str:
    answer = _call(sim, "POST", RULES, json=_rule(name, **more))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["data"]["id"])


def _entity(sim: ScorecardsSimulator, entity_id: str) -> dict[str, Any]:
    return next(r["attributes"] for r in sim.expected_scores("by-entity") if r["id"] == entity_id)


def test_creating_a_rule_answers_as_datadog_and_refuses_what_it_refuses(
    writable: ScorecardsSimulator,
) -> None:
    answer = _call(writable, "POST", RULES, json=_rule(owner="data-eng"))
    assert answer.status_code == 201
    assert answer.headers["Content-Type"] == "application/vnd.api+json"
    data = answer.json()["data"]
    assert data["type"] == "rule"
    assert data["relationships"]["scorecard"]["data"] == {"id": "production-readiness", "type": "scorecard"}
    attributes = data["attributes"]
    assert attributes["custom"] is True
    assert attributes["enabled"] is True
    assert attributes["level"] == 3
    assert attributes["scorecard_name"] == attributes["category"] == "Production Readiness"
    assert attributes["owner"] == "data-eng"
    assert "description" not in attributes

    def refused(body: Any) -> tuple[int, Any]:
        answer = _call(writable, "POST", RULES, data=body if isinstance(body, bytes) else json.dumps(body))
        return answer.status_code, answer.json()["errors"][0]

    status, error = refused(_rule(scorecard="Nope"))
    assert (status, error["detail"]) == (400, 'attribute "scorecard_id" failed scorecard lookup')
    assert refused(_rule())[0] == 409  # the same name twice in one scorecard
    assert refused(_rule("Has runbook"))[0] == 409  # a name Datadog's own rule has there too
    assert _call(writable, "POST", RULES, json=_rule(scorecard="Security Posture")).status_code == 201
    by_id = {
        "data": {"type": "rule", "attributes": {"name": "By id", "scorecard_id": "production-readiness"}}
    }
    assert _call(writable, "POST", RULES, json=by_id).status_code == 201  # as Datadog's recording sends it
    for bad in (
        _rule("x", level=4),
        _rule("x", level="1"),
        _rule("x", enabled="yes"),
        _rule(" "),
        b"{no",
        [1],
    ):
        assert refused(bad)[0] == 400, bad
    assert [r["scorecard_name"] for r in writable.writes.created_rules()] == [
        "Production Readiness",
        "Security Posture",
        "Production Readiness",
    ]


def test_the_rules_list_pages_filters_and_links_as_recorded(writable: ScorecardsSimulator) -> None:
    created = _create(writable)
    whole = _call(writable, "GET", RULES).json()
    assert len(whole["data"]) == len(writable.org.rules)  # 100 a page unless asked
    assert whole["links"] == {"next": f"{RULES}?page%5Blimit%5D=100&page%5Boffset%5D=100"}
    ids = [item["id"] for item in whole["data"]]
    assert [item["attributes"]["name"] for item in whole["data"]] == sorted(
        rule.name for rule in writable.org.rules
    )
    assert created in ids
    assert any("scorecard_name" not in item["attributes"] for item in whole["data"])  # unkind, allowed
    seen, params = [], {"page[size]": "2", "fields[rule]": "name"}
    while True:  # as Datadog's client: follow links.next until a short page
        page = _call(writable, "GET", RULES, params=params).json()
        assert "page%5Bsize%5D=2" in page["links"]["next"]  # on every page, as asked
        assert all(set(item) == {"id", "type", "attributes"} for item in page["data"])  # as recorded
        assert all(set(item["attributes"]) == {"name"} for item in page["data"])
        seen += [item["id"] for item in page["data"]]
        if len(page["data"]) < 2:
            break
        params = dict(parse_qsl(urlsplit(page["links"]["next"]).query))
    assert seen == ids
    custom = _call(
        writable, "GET", RULES, params={"filter[rule][custom]": "true", "filter[rule][name]": "DATA"}
    )
    assert [item["id"] for item in custom.json()["data"]] == [created]  # any part of the name, any case
    included = _call(
        writable, "GET", RULES, params={"filter[rule][id]": created, "include": "scorecard"}
    ).json()
    assert included["included"] == [
        {"id": "production-readiness", "type": "scorecard", "attributes": {"name": "Production Readiness"}}
    ]
    for bad in (
        {"page[size]": "101"},
        {"page[size]": "0"},
        {"filter[rule][custom]": "yes"},
        {"include": "x"},
    ):
        assert _call(writable, "GET", RULES, params=bad).status_code == 400, bad


def test_posted_outcomes_count_a_moment_later_in_scores_and_outcomes(writable: ScorecardsSimulator) -> None:
    rule_id = _create(writable, level=1)
    before = _entity(writable, "service:checkout-api")
    results = [
        {
            "rule_id": rule_id,
            "entity_reference": "service:checkout-api",
            "state": "fail",
            "remarks": "3 failed",
        },
        {"rule_id": rule_id, "entity_reference": "service:search-indexer", "state": "pass"},
        {"rule_id": rule_id, "entity_reference": "service:no-such-service", "state": "pass"},
    ]
    answer = _call(writable, "POST", OUTCOMES, json=_outcomes(*results))
    assert answer.status_code == 202
    body = answer.json()
    assert body["data"]["type"] == "async-request"
    assert body["meta"] == {"total_received": 3}
    assert _entity(writable, "service:checkout-api") == before  # accepted, not counted yet
    time.sleep(1.05)
    after = _entity(writable, "service:checkout-api")
    assert after["total_fail"] == before["total_fail"] + 1
    assert after["level"] == 0
    assert after["total_no_data"] == before["total_no_data"] - 1  # the new rule's no data became a fail
    listed = _call(writable, "GET", OUTCOMES, params={"filter[rule][id]": rule_id}).json()["data"]
    states = {item["attributes"]["service_name"]: item["attributes"] for item in listed}
    assert set(states) == {"checkout-api", "search-indexer"}  # the unknown entity's outcome never shows
    assert states["checkout-api"]["remarks"] == "3 failed"
    assert states["checkout-api"]["state"] == "fail"
    by_rule = next(r for r in writable.expected_scores("by-rule") if r["id"] == rule_id)["attributes"]
    assert (by_rule["total_pass"], by_rule["total_fail"], by_rule["total_no_data"]) == (1, 1, 18)
    assert writable.writes.posted_outcomes() == [{"remarks": None, **r} for r in results]


def test_outcomes_are_refused_as_recorded(writable: ScorecardsSimulator) -> None:
    rule_id = _create(writable)
    datadogs = next(rule.id for rule in writable.org.rules if not rule.is_custom)

    def post(*results: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        answer = _call(writable, "POST", OUTCOMES, json=_outcomes(*results))
        return answer.status_code, answer.json()["errors"][0]

    good = {"rule_id": rule_id, "entity_reference": "service:checkout-api", "state": "pass"}
    assert post(good, {**good, "rule_id": "INVALID.RULE_ID"}) == (
        409,
        {"status": "409", "title": "Invalid rule_id"},
    )
    assert post({**good, "rule_id": datadogs})[0] == 409  # Datadog evaluates its own rules
    status, error = post(good, {**good, "state": "PASS"})
    assert (status, error["detail"]) == (400, 'attribute "state" must be one of "pass fail skip"')
    assert post({**good, "entity_reference": ""})[0] == 400
    assert post({**good, "remarks": 5})[0] == 400
    assert post()[0] == 400  # no result
    assert writable.writes.posted_outcomes() == []  # a refused batch posts nothing of it


def test_the_body_is_bounded_and_read_by_its_length(
    writable: ScorecardsSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = {"DD-API-KEY": writable.api_key, "DD-APPLICATION-KEY": writable.app_key}
    connection = http.client.HTTPConnection("127.0.0.1", writable.port, timeout=10)
    connection.putrequest("POST", RULES)
    for name, value in {**headers, "Content-Length": str(MAX_BODY_BYTES + 1)}.items():
        connection.putheader(name, value)
    connection.endheaders()  # the body is never sent: it is refused by its length
    answer = connection.getresponse()
    assert answer.status == 413
    assert answer.getheader("Connection") == "close"
    connection.close()
    connection = http.client.HTTPConnection("127.0.0.1", writable.port, timeout=10)
    connection.putrequest("POST", OUTCOMES)
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders()
    assert connection.getresponse().status == 411
    connection.close()
    monkeypatch.setattr(rules, "BODY_SECONDS", 0.2)
    connection = http.client.HTTPConnection("127.0.0.1", writable.port, timeout=10)
    connection.putrequest("POST", OUTCOMES)
    for name, value in {**headers, "Content-Length": "100"}.items():
        connection.putheader(name, value)
    connection.endheaders(b"{")  # and the rest never comes
    assert connection.getresponse().status == 408
    connection.close()


def test_racing_creates_make_one_rule(writable: ScorecardsSimulator) -> None:
    statuses: list[int] = []
    threads = [
        threading.Thread(
            target=lambda: statuses.append(_call(writable, "POST", RULES, json=_rule()).status_code)
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * 7
    assert len(writable.writes.created_rules()) == 1


def test_faults_apply_to_writes(writable: ScorecardsSimulator) -> None:
    writable.faults.inject("rate_limit")
    answer = _call(writable, "POST", RULES, json=_rule())
    assert answer.status_code == 429
    assert answer.headers["X-RateLimit-Remaining"] == "0"
    assert writable.writes.created_rules() == []  # refused before the write
    writable.faults.inject("status", status=503)
    assert _call(writable, "POST", RULES, json=_rule()).status_code == 503
    assert len(writable.writes.created_rules()) == 1  # done, and its answer lost: a retry meets a 409
    assert _call(writable, "POST", RULES, json=_rule()).status_code == 409
    rule_id = writable.writes.created_rules()[0]["id"]
    writable.faults.inject("drop")
    result = {"rule_id": rule_id, "entity_reference": "service:checkout-api", "state": "pass"}
    with pytest.raises(requests.ConnectionError):
        _call(writable, "POST", OUTCOMES, json=_outcomes(result))
    assert len(writable.writes.posted_outcomes()) == 1
    writable.faults.inject("truncate")
    assert _call(writable, "GET", RULES).content.endswith(b"}") is False


def test_datadogs_own_client_creates_lists_and_posts(writable: ScorecardsSimulator) -> None:
    from datadog_api_client import ApiClient, Configuration
    from datadog_api_client.v2.api.scorecards_api import ScorecardsApi
    from datadog_api_client.v2.model.create_rule_request import CreateRuleRequest
    from datadog_api_client.v2.model.create_rule_request_data import CreateRuleRequestData
    from datadog_api_client.v2.model.rule_attributes_request import RuleAttributesRequest
    from datadog_api_client.v2.model.rule_type import RuleType
    from datadog_api_client.v2.model.update_outcomes_async_attributes import UpdateOutcomesAsyncAttributes
    from datadog_api_client.v2.model.update_outcomes_async_request import UpdateOutcomesAsyncRequest
    from datadog_api_client.v2.model.update_outcomes_async_request_data import UpdateOutcomesAsyncRequestData
    from datadog_api_client.v2.model.update_outcomes_async_request_item import UpdateOutcomesAsyncRequestItem
    from datadog_api_client.v2.model.update_outcomes_async_type import UpdateOutcomesAsyncType

    config = Configuration(host=writable.url)
    config.api_key["apiKeyAuth"] = writable.api_key
    config.api_key["appKeyAuth"] = writable.app_key
    with ApiClient(config) as client:
        api = ScorecardsApi(client)
        attributes = RuleAttributesRequest(
            name="Data tests", scorecard_name="Production Readiness", enabled=True
        )
        created = api.create_scorecard_rule(
            CreateRuleRequest(data=CreateRuleRequestData(attributes=attributes, type=RuleType.RULE))
        )
        assert created.data.attributes.custom is True
        listed = [rule.id for rule in api.list_scorecard_rules_with_pagination(page_size=2)]
        assert listed == [rule.id for rule in sorted(writable.org.rules, key=lambda r: (r.name, r.id))]
        item = UpdateOutcomesAsyncRequestItem(
            rule_id=created.data.id, entity_reference="service:checkout-api", state="pass"
        )
        data = UpdateOutcomesAsyncRequestData(
            attributes=UpdateOutcomesAsyncAttributes(results=[item]),
            type=UpdateOutcomesAsyncType.BATCHED_OUTCOME,
        )
        api.update_scorecard_outcomes(UpdateOutcomesAsyncRequest(data=data))
    assert writable.writes.posted_outcomes()[0]["state"] == "pass"
