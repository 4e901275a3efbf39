"""The simulator speaks the endpoint as Datadog does; Datadog's own client must accept every answer."""

from __future__ import annotations

import json

import pytest
import requests

from airflow_provider_scorecards.simulator import ScorecardsSimulator
from airflow_provider_scorecards.simulator.org import AGGREGATIONS, Organisation

SCORES = "/api/v2/scorecard/scores/"


def get(sim: ScorecardsSimulator, path: str, **params: str) -> requests.Response:
    headers = {"DD-API-KEY": sim.api_key, "DD-APPLICATION-KEY": sim.app_key}
    return requests.get(sim.url + path, headers=headers, params=params, timeout=5)


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_official_client_deserialises_every_aggregation_and_page(
    sim: ScorecardsSimulator, aggregation: str
) -> None:
    from datadog_api_client import ApiClient, Configuration
    from datadog_api_client.v2.api.scorecards_api import ScorecardsApi
    from datadog_api_client.v2.model.scorecard_scores_aggregation import ScorecardScoresAggregation

    config = Configuration(host=sim.url)
    config.api_key["apiKeyAuth"] = sim.api_key
    config.api_key["appKeyAuth"] = sim.app_key
    config.return_http_data_only = True
    seen: list[str] = []
    with ApiClient(config) as client:
        api = ScorecardsApi(client)
        offset = 0
        while True:
            response = api.list_scorecard_scores(
                aggregation=ScorecardScoresAggregation(aggregation),
                page_limit=50,
                page_offset=offset,
                sort="-score",
            )
            seen.extend(item.id for item in response.data)
            assert response.meta.offset == offset
            if response.meta.count < 50:
                break
            offset += 50
    assert seen == [item["id"] for item in sim.expected_scores(aggregation, sort="-score")]


def test_wire_details(sim: ScorecardsSimulator) -> None:
    response = get(sim, SCORES + "by-team", **{"page[limit]": "3", "filter[rule][level]": "1"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/vnd.api+json"
    for header in (
        "X-RateLimit-Limit",
        "X-RateLimit-Period",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "X-RateLimit-Name",
    ):
        assert header in response.headers
    body = response.json()
    assert body["meta"] == {"count": 3, "limit": 3, "offset": 0, "total": len(sim.org.teams)}
    assert body["links"]["next"].startswith(SCORES + "by-team?")
    assert "page%5Boffset%5D=3" in body["links"]["next"]
    assert "filter%5Brule%5D%5Blevel%5D=1" in body["links"]["next"]
    assert all(item["type"] == "score" for item in body["data"])


def test_default_limit_is_100_and_next_is_present_on_the_last_empty_page(sim: ScorecardsSimulator) -> None:
    body = get(sim, SCORES + "by-entity").json()
    assert body["meta"]["limit"] == 100
    assert body["meta"]["count"] == 100
    last = get(sim, SCORES + "by-entity", **{"page[offset]": "1000"}).json()
    assert last["data"] == []
    assert "next" in last["links"]


@pytest.mark.parametrize(
    ("path", "params", "fragment"),
    [
        (SCORES + "by-service", {}, "invalid aggregation"),
        (SCORES + "by-team", {"sort": "name"}, "invalid sort"),
        (SCORES + "by-team", {"page[limit]": "1001"}, "page[limit]"),
        (SCORES + "by-team", {"page[offset]": "-1"}, "page[offset]"),
        (SCORES + "by-team", {"filter[rule][is_custom]": "yes"}, "is_custom"),
        (SCORES + "by-team", {"filter[rule][level]": "one"}, "level"),
    ],
)
def test_bad_requests_get_jsonapi_errors(
    sim: ScorecardsSimulator, path: str, params: dict[str, str], fragment: str
) -> None:
    response = get(sim, path, **params)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["status"] == "400"
    assert error["title"] == "Bad Request"
    assert fragment in error["detail"]


def test_auth(sim: ScorecardsSimulator) -> None:
    assert requests.get(sim.url + SCORES + "by-kind", timeout=5).status_code == 403
    wrong = requests.get(
        sim.url + SCORES + "by-kind",
        headers={"DD-API-KEY": sim.api_key, "DD-APPLICATION-KEY": "x"},
        timeout=5,
    )
    assert wrong.status_code == 403
    assert wrong.json()["errors"][0]["title"] == "Forbidden"
    assert requests.get(
        sim.url + "/api/v1/validate", headers={"DD-API-KEY": sim.api_key}, timeout=5
    ).json() == {"valid": True}
    assert get(sim, "/api/v2/unknown").status_code == 404


def test_rate_limit_window() -> None:
    with ScorecardsSimulator(seed=1, entities=10, rate_limit=3, rate_limit_period=60) as sim:
        statuses = [get(sim, SCORES + "by-kind").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = get(sim, SCORES + "by-kind")
        assert limited.headers["X-RateLimit-Remaining"] == "0"
        assert float(limited.headers["X-RateLimit-Reset"]) > 50


def test_aggregations_agree_with_each_other(sim: ScorecardsSimulator) -> None:
    totals = {}
    for aggregation in AGGREGATIONS:
        items = sim.expected_scores(aggregation)
        totals[aggregation] = (
            sum(i["attributes"]["numerator"] for i in items),
            sum(i["attributes"]["denominator"] for i in items),
        )
    assert len(set(totals.values())) == 1
    for item in sim.expected_scores("by-entity"):
        attrs = item["attributes"]
        assert attrs["denominator"] == attrs["total_pass"] + attrs["total_fail"]
        if attrs["denominator"]:
            assert attrs["score"] == pytest.approx(attrs["numerator"] / attrs["denominator"], abs=1e-6)


def test_same_seed_same_organisation_and_json_round_trip(tmp_path: object) -> None:
    one, two = Organisation.generate(seed=5, entities=30), Organisation.generate(seed=5, entities=30)
    assert one.scores("by-entity") == two.scores("by-entity")
    assert Organisation.generate(seed=6, entities=30).scores("by-entity") != one.scores("by-entity")
    copy = Organisation.from_dict(json.loads(json.dumps(one.to_dict())))
    assert copy.scores("by-rule") == one.scores("by-rule")


def test_drift_only_improves_and_ends_with_no_fails() -> None:
    with ScorecardsSimulator(seed=2, entities=40) as sim:
        before = {i["id"]: i["attributes"]["score"] for i in sim.expected_scores("by-entity")}
        sim.advance(1)
        after = {i["id"]: i["attributes"]["score"] for i in sim.expected_scores("by-entity")}
        assert all(after[k] >= before[k] for k in before)
        assert after != before
        served = get(sim, SCORES + "by-entity", **{"page[limit]": "1000"}).json()["data"]
        assert {i["id"]: i["attributes"]["score"] for i in served} == after
        sim.advance(10)
        assert all(i["attributes"]["total_fail"] == 0 for i in sim.expected_scores("by-entity"))


def test_log_never_records_headers(sim: ScorecardsSimulator) -> None:
    get(sim, SCORES + "by-kind")
    assert sim.api_key not in repr(sim.requests)
    assert sim.app_key not in repr(sim.requests)


def test_cli_serves(tmp_path: object) -> None:
    import subprocess
    import sys
    import time
    from pathlib import Path

    port_file = Path(str(tmp_path)) / "port"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_scorecards.simulator.cli",
            "--entities",
            "15",
            "--port-file",
            str(port_file),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not port_file.exists() or not port_file.read_text():
            assert time.monotonic() < deadline
            assert proc.poll() is None
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port_file.read_text()}"
        from airflow_provider_scorecards.simulator import DEFAULT_API_KEY, DEFAULT_APP_KEY

        response = requests.get(
            url + SCORES + "by-entity",
            headers={"DD-API-KEY": DEFAULT_API_KEY, "DD-APPLICATION-KEY": DEFAULT_APP_KEY},
            timeout=5,
        )
        assert response.json()["meta"]["total"] == 15
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
    # What it prints is the connection to paste, pointing at itself with keys it accepts.
    out = proc.stdout.read() if proc.stdout else ""
    line = next(x for x in out.splitlines() if "AIRFLOW_CONN_DATADOG_SCORECARDS_DEFAULT=" in x)
    from airflow.models.connection import Connection

    conn = Connection(conn_id="printed", uri=line.split("=", 1)[1].strip("'"))
    assert conn.extra_dejson == {"app_key_secret": DEFAULT_APP_KEY, "api_url": url}
    assert conn.password == DEFAULT_API_KEY
    assert f"{url}/software/scorecards" in out


def test_advance_endpoint_drifts_from_another_process() -> None:
    with ScorecardsSimulator(seed=2, entities=10) as sim:
        url = sim.url + "/_simulator/advance"
        assert requests.post(url, params={"steps": 2}, timeout=5).status_code == 403
        response = requests.post(url, params={"steps": 2}, headers={"DD-API-KEY": sim.api_key}, timeout=5)
        assert response.json()["step"] == 2
        assert sim.step == 2
        assert requests.post(sim.url + SCORES + "by-kind", timeout=5).status_code == 405


def test_writes_endpoint_shows_created_rules_and_posted_outcomes_to_another_process() -> None:
    with ScorecardsSimulator(seed=2, entities=10, outcome_delay=0) as sim:
        url = sim.url + "/_simulator/writes"
        assert requests.get(url, timeout=5).status_code == 403
        keys = {"DD-API-KEY": sim.api_key, "DD-APPLICATION-KEY": sim.app_key}
        assert requests.get(url, headers=keys, timeout=5).json() == {"rules": [], "posted_outcomes": []}
        rule = {"name": "Airflow checks", "scorecard_name": "Production Readiness"}
        created = requests.post(
            sim.url + "/api/v2/scorecard/rules",
            json={"data": {"type": "rule", "attributes": rule}},
            headers=keys,
            timeout=5,
        )
        assert created.status_code == 201, created.text
        rule_id = created.json()["data"]["id"]
        result = {"rule_id": rule_id, "entity_reference": "service:checkout-api", "state": "pass"}
        posted = requests.post(
            sim.url + "/api/v2/scorecard/outcomes",
            json={"data": {"type": "batched-outcome", "attributes": {"results": [result]}}},
            headers=keys,
            timeout=5,
        )
        assert posted.status_code == 202, posted.text
        writes = requests.get(url, headers={"DD-API-KEY": sim.api_key}, timeout=5).json()
        assert [(r["id"], r["name"], r["custom"]) for r in writes["rules"]] == [
            (rule_id, "Airflow checks", True)
        ]
        assert writes["posted_outcomes"] == [{**result, "remarks": None}]
        assert writes == {
            "rules": sim.writes.created_rules(),
            "posted_outcomes": sim.writes.posted_outcomes(),
        }
