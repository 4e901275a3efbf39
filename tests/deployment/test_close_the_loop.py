"""The loop, closed in a real deployment: a worker posts custom rule outcomes, a gate reads the new score.

The close-the-loop example ran twice (scenario.py): its ``report`` task posted each service's data-quality
result to the custom rule "Data quality checks pass" (created by the first run to get there, never twice),
its gate checked the deploy service against that rule, and the DAG's success callback, run by the
dag-processor, posted the pipeline's own outcome. What the simulator received is read over HTTP
(``GET /_simulator/writes``), what Datadog would show through its public API, and the rest through
Airflow's REST API.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from tests.deployment.rest import AirflowAPI, q
from tests.deployment.scenario import Deployment, Scenario, run_keys, simulator_get

DAG_ID = "scorecards_close_the_loop"
RULE = "Data quality checks pass"
PIPELINE_RULE = "Data quality pipeline succeeds"
SCORECARD = "Production Readiness"
REPORT_REMARKS = "Checked by Airflow's data-quality DAG"
FAILING_REMARKS = "3 orders without a customer id"
TASKS = {"data_quality", "report", "wait_for_outcomes", "gate", "deploy"}
KEYS = run_keys(DAG_ID)
CALLBACK_TIMEOUT = 60.0


def simulator_writes(deployment: Deployment) -> dict[str, Any]:
    """The custom rules created and every outcome result posted, in order, as the simulator received them."""
    return dict(simulator_get(deployment, "/_simulator/writes"))


def params(api: AirflowAPI) -> dict[str, Any]:
    """The example's params as the deployment parsed them (the REST API wraps each in ``value``)."""
    found = api.get(f"/dags/{q(DAG_ID)}/details")["params"]
    return {name: p["value"] if isinstance(p, dict) and "value" in p else p for name, p in found.items()}


def the_rule(writes: dict[str, Any], name: str) -> dict[str, Any]:
    """The one custom rule of that name in the example's scorecard; two would be a duplicate."""
    found = [r for r in writes["rules"] if r["name"] == name and r["scorecard_name"] == SCORECARD]
    assert len(found) == 1, f"{len(found)} custom rules named {name!r}: {writes['rules']}"
    return found[0]


@pytest.mark.parametrize("key", KEYS)
def test_run_succeeded_with_every_task(scenario: Scenario, key: str) -> None:
    run = scenario.runs[key]
    assert run.state == "success", scenario.explain(run)
    assert set(run.task_states()) == TASKS, run.describe()
    assert set(run.task_states().values()) == {"success"}, run.describe()


def test_one_custom_rule_across_both_runs(
    scenario: Scenario, api: AirflowAPI, deployment: Deployment
) -> None:
    """Both runs posted to the same rule, created once; Datadog's rules list (public API) agrees."""
    writes = simulator_writes(deployment)
    rule = the_rule(writes, RULE)
    assert rule["custom"] is True
    reported = [api.xcom(DAG_ID, scenario.runs[key].run_id, "report") for key in KEYS]
    assert [r["rule_id"] for r in reported] == [rule["id"], rule["id"]]
    listed = simulator_get(
        deployment, "/api/v2/scorecard/rules", {"filter[rule][name]": RULE, "filter[rule][custom]": "true"}
    )
    assert [item["id"] for item in listed["data"]] == [rule["id"]]


def test_each_run_posted_every_service_as_its_params_say(
    scenario: Scenario, api: AirflowAPI, deployment: Deployment
) -> None:
    given = params(api)
    expected = {
        service: ("fail", FAILING_REMARKS) if service in given["failing"] else ("pass", REPORT_REMARKS)
        for service in given["services"]
    }
    for key in KEYS:
        report = api.xcom(DAG_ID, scenario.runs[key].run_id, "report")
        assert report["posted"] == len(expected), report
    writes = simulator_writes(deployment)
    rule_id = the_rule(writes, RULE)["id"]
    posted = [o for o in writes["posted_outcomes"] if o["rule_id"] == rule_id]
    got = Counter((o["entity_reference"], (o["state"], o["remarks"])) for o in posted)
    assert got == Counter({item: len(KEYS) for item in expected.items()}), posted
    # And what Datadog shows for the rule: each service's state, as posted.
    shown = simulator_get(
        deployment, "/api/v2/scorecard/outcomes", {"filter[rule][id]": rule_id, "page[size]": "100"}
    )
    states = {f"service:{o['attributes']['service_name']}": o["attributes"]["state"] for o in shown["data"]}
    assert states == {service: state for service, (state, _) in expected.items()}


@pytest.mark.parametrize("key", KEYS)
def test_gate_read_the_score_airflow_posted(
    scenario: Scenario, api: AirflowAPI, deployment: Deployment, key: str
) -> None:
    """The gate's verdict is the deploy service's score on the custom rule: the pass just posted, not the
    scorecard's score (other rules it fails are in it)."""
    run = scenario.runs[key]
    service = params(api)["deploy_service"]
    (record,) = api.xcom(DAG_ID, run.run_id, "gate")
    assert record["id"] == service, record
    assert (record["score"], record["numerator"], record["denominator"]) == (1.0, 1, 1), record
    rule_id = the_rule(simulator_writes(deployment), RULE)["id"]
    on_the_rule = entity_score(deployment, service, {"filter[rule][id]": rule_id})
    on_the_scorecard = entity_score(
        deployment, service, {"filter[rule][scorecard_id]": "production-readiness"}
    )
    assert on_the_rule["score"] == record["score"], on_the_rule
    assert on_the_scorecard["score"] < 1.0, on_the_scorecard  # so 1.0 can only be the custom rule's
    assert api.xcom(DAG_ID, run.run_id, "deploy") == f"Deploying {service} (data quality 100%)"


def entity_score(deployment: Deployment, entity: str, filters: dict[str, str]) -> dict[str, Any]:
    """The entity's by-entity score attributes in the simulator now, through the public API."""
    answer = simulator_get(
        deployment, "/api/v2/scorecard/scores/by-entity", {**filters, "page[limit]": "1000"}
    )
    (found,) = [item["attributes"] for item in answer["data"] if item["id"] == entity]
    return dict(found)


def test_dag_level_notifier_posted_each_runs_outcome(
    scenario: Scenario, api: AirflowAPI, deployment: Deployment
) -> None:
    """The DAG's success callback (run by the dag-processor) posted ``pass`` for the pipeline, once a run."""
    entity = params(api)["pipeline_service"]
    deadline = time.monotonic() + CALLBACK_TIMEOUT
    while True:  # the dag-processor runs a DAG callback a moment after the run is marked done
        writes = simulator_writes(deployment)
        rules = [r["id"] for r in writes["rules"] if r["name"] == PIPELINE_RULE]
        posted = [o for o in writes["posted_outcomes"] if o["rule_id"] in rules]
        if len(posted) >= len(KEYS) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert the_rule(writes, PIPELINE_RULE)["custom"] is True  # exactly one, though both runs raced for it
    assert [(o["entity_reference"], o["state"]) for o in posted] == [(entity, "pass")] * len(KEYS), posted
    for key in KEYS:
        run_id = scenario.runs[key].run_id
        (remarks,) = [o["remarks"] for o in posted if f"run {run_id} " in o["remarks"]]
        assert remarks.startswith(f"Airflow: DAG {DAG_ID}, run {run_id} succeeded. "), remarks
        assert f"/dags/{DAG_ID}/runs/{q(run_id)}" in remarks, remarks
