"""No key leaves the connection: not in task logs (on disk and through the API), not in the triggerer's or
any other component's log, not in what the API shows of the connection, the task instances and the XComs,
and not in the audit log of the REST calls that created the connection.

``mask_secret`` only takes effect in a real worker's log pipeline and Airflow's name-based redaction only in
a real API server, so this is the one place where both are proven.
"""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_scorecards.simulator import DEFAULT_API_KEY, DEFAULT_APP_KEY
from tests.deployment.rest import AirflowAPI, q
from tests.deployment.scenario import CONN_ID, Deployment, Scenario, ti_label

# The keys, and their first halves: a key cut short in a message is still a leak.
NEEDLES = (DEFAULT_API_KEY, DEFAULT_APP_KEY, DEFAULT_API_KEY[:16], DEFAULT_APP_KEY[:20])


def leaks(text: str) -> list[str]:
    return [needle for needle in NEEDLES if needle in text]


def test_connection_shows_every_secret_masked(
    api: AirflowAPI, deployment: Deployment, connection: str
) -> None:
    shown = api.get(f"/connections/{q(connection)}")
    assert shown["conn_type"] == "datadogscorecards"
    assert shown["password"] == "***"
    assert json.loads(shown["extra"]) == {"api_url": deployment.simulator_url, "app_key_secret": "***"}
    listed = api.request("GET", "/connections").text
    assert CONN_ID in listed
    assert leaks(listed) == []


def test_no_key_in_task_log_files(scenario: Scenario) -> None:
    logs = scenario.deployment.airflow_home / "logs"
    task_logs = sorted(logs.glob("dag_id=*/run_id=*/task_id=*/**/*.log"))
    ran = sum(1 for run in scenario.runs.values() for ti in run.task_instances if ti["try_number"])
    assert len(task_logs) >= ran > 20
    found = {
        str(path.relative_to(logs)): leaks(path.read_text(errors="replace")) for path in logs.rglob("*.log")
    }
    assert {path: hits for path, hits in found.items() if hits} == {}


def test_no_key_in_task_logs_through_the_api(scenario: Scenario, api: AirflowAPI) -> None:
    found: dict[str, list[str]] = {}
    for run in scenario.runs.values():
        for ti in run.task_instances:
            for attempt in range(1, int(ti["try_number"] or 0) + 1):
                text = api.log(run.dag_id, run.run_id, ti["task_id"], attempt, ti["map_index"])
                assert '"content"' in text
                if hits := leaks(text):
                    found[f"{run.key} {ti_label(ti)} try {attempt}"] = hits
    assert found == {}


def test_no_key_in_the_component_logs(scenario: Scenario) -> None:
    """The scheduler's, the dag-processor's, the API server's and the triggerers' own logs; on the
    production leg also the Celery worker's, PostgreSQL's and Redis's.

    What a trigger logs goes to ``<task log>.trigger.<job id>.log`` beside the task's log (swept with the
    task logs); the triggerer's log has the triggerer's own messages.
    """
    logs = scenario.deployment.component_logs
    airflow_logs = [path for path in logs.glob("*.log") if path.name != "simulator.log"]
    names = {path.name for path in airflow_logs}
    expected = {"api-server.log", "scheduler.log", "dag-processor.log"}
    if scenario.deployment.production:
        expected |= {"triggerer-1.log", "triggerer-2.log", "worker.log", "postgres.log", "redis.log"}
    else:
        expected |= {"triggerer.log"}
    assert names >= expected
    found = {path.name: leaks(path.read_text(errors="replace")) for path in airflow_logs}
    assert {name: hits for name, hits in found.items() if hits} == {}


def test_the_gates_trigger_log_was_swept(scenario: Scenario) -> None:
    """The sweep above covers what the trigger wrote while it waited, not just the task's own log."""
    run = scenario.runs["gate-waits"]
    logs = scenario.deployment.airflow_home / "logs" / f"dag_id={run.dag_id}" / f"run_id={run.run_id}"
    trigger_logs = list(logs.glob("task_id=wait_for_readiness/*.trigger.*.log"))
    assert trigger_logs, scenario.explain(run)
    text = "".join(path.read_text(errors="replace") for path in trigger_logs)
    assert "Score gate not met" in text
    assert "Trigger fired event" in text
    assert leaks(text) == []


def test_no_key_in_task_instances_rendered_fields_or_xcoms(scenario: Scenario, api: AirflowAPI) -> None:
    found: dict[str, list[str]] = {}
    for run in scenario.runs.values():
        for ti in run.task_instances:
            label = f"{run.key} {ti_label(ti)}"
            if hits := leaks(json.dumps(ti)):
                found[label] = hits
            path = f"{api.ti_path(run.dag_id, run.run_id, ti['task_id'])}/xcomEntries"
            for entry in api.get(path, map_index=ti["map_index"])["xcom_entries"]:
                value: Any = api.get(f"{path}/{q(entry['key'])}", map_index=ti["map_index"], stringify="true")
                if hits := leaks(json.dumps(value)):
                    found[f"{label} xcom {entry['key']}"] = hits
    assert found == {}


def test_no_key_in_the_audit_log(api: AirflowAPI, connection: str, scenario: Scenario) -> None:
    """Every audit log entry (the REST calls that created and read the connection among them)."""
    created = api.get("/eventLogs", event="post_connection")["event_logs"]
    assert created
    assert all(json.loads(event["extra"])["password"] == "***" for event in created)
    events: list[dict[str, Any]] = []
    while page := api.get("/eventLogs", limit=100, offset=len(events), order_by="event_log_id")["event_logs"]:
        events += page
    assert len(events) > len(created)
    assert leaks(json.dumps(events)) == []
