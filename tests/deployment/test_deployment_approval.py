"""The approval gate in a real deployment: a person approves through the REST API, another run is rejected.

The rollout example's approval gate is triggered on ids that cannot all pass (one is not in the
organisation, and ``on_missing`` is ``"fail"``), whatever the simulator's drift by then: the task waits for a human
(``awaiting_input`` on Airflow 3.3, ``deferred`` before), its request (``hitlDetails``) carries the gate
report, and the answer sent through ``PATCH .../hitlDetails`` decides: Approve lets ``deploy`` run and the
``verdict`` XCom records the override; Reject fails the task and nothing downstream runs. The browser
screenshots the Required Actions page while a request waits.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

from tests.deployment.rest import AirflowAPI, AirflowAPIError, q
from tests.deployment.scenario import Deployment, Scenario
from tests.deployment.test_deployment_ui import browser, page

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = ["browser", "page"]  # the browser fixtures, shared with the UI tests

DAG_ID = "scorecards_gate_rollout"
TASK_ID = "approve_deploy"
CONF = {"service_id": "service:checkout-api,service:checkout-api-v2"}
WAITING = ("awaiting_input", "deferred")
SETTLE = 3.0
"""Seconds to let the scheduler take in the parked task before answering (see AIRFLOW3.md)."""
TIMEOUT = 180.0


def _ti(api: AirflowAPI, run_id: str, task_id: str) -> dict[str, Any]:
    return dict(api.get(api.ti_path(DAG_ID, run_id, task_id)))


def _wait(api: AirflowAPI, run_id: str, done: Any, what: str) -> Any:
    deadline = time.monotonic() + TIMEOUT
    while True:
        value = done()
        if value:
            return value
        if time.monotonic() > deadline:
            states = {ti["task_id"]: ti["state"] for ti in api.task_instances(DAG_ID, run_id)}
            pytest.fail(f"{what} not seen within {TIMEOUT:.0f} s; task states {states}")
        time.sleep(1.0)


def _hitl_path(api: AirflowAPI, run_id: str) -> str:
    return f"/dags/{q(DAG_ID)}/dagRuns/{q(run_id)}/taskInstances/{q(TASK_ID)}/-1/hitlDetails"


@pytest.fixture(scope="module")
def waiting_run(api: AirflowAPI, scenario: Scenario) -> Any:
    """Start runs of the rollout example whose approval gate must ask a person; return a starter.

    After the scenario (which unpaused the DAG): runs of ours started while it plays would be counted as
    runs Airflow started by itself.
    """

    def start(run_id: str) -> dict[str, Any]:
        api.trigger(DAG_ID, run_id, None, CONF)

        def asked_or_ended() -> str | None:
            state = str(_ti(api, run_id, TASK_ID)["state"])
            return state if state in (*WAITING, "failed", "success") else None

        state = _wait(api, run_id, asked_or_ended, "the approval request")
        assert state in WAITING, f"the approval gate ended {state} instead of asking; see its task log"
        time.sleep(SETTLE)
        return dict(api.get(_hitl_path(api, run_id)))

    return start


def _answer(api: AirflowAPI, run_id: str, body: dict[str, Any]) -> None:
    for _ in range(5):  # the scheduler may still be taking in the parked task: retry a refused answer
        try:
            api.patch(_hitl_path(api, run_id), body)
            return
        except AirflowAPIError:
            time.sleep(SETTLE)
    api.patch(_hitl_path(api, run_id), body)


def _finished(api: AirflowAPI, run_id: str) -> str | None:
    state = str(api.run(DAG_ID, run_id)["state"])
    return state if state in ("success", "failed") else None


def test_approve_through_rest_lets_the_deploy_run_and_records_the_override(
    api: AirflowAPI, waiting_run: Any, deployment: Deployment, page: Page
) -> None:
    run_id = "deployment__rollout_approved"
    request = waiting_run(run_id)
    assert request["options"] == ["Approve", "Reject"]
    assert request["subject"].startswith("Score gate not met: score >= 0.8 on by-entity")
    assert "service:checkout-api-v2: absent from the result" in request["body"]
    assert "comment" in request["params"]

    deployment.screenshots.mkdir(parents=True, exist_ok=True)
    page.goto(f"{deployment.airflow_url}/required_actions")
    page.get_by_text("Score gate not met").first.click()  # the request: its report and the answer form
    page.get_by_text("absent from the result").first.wait_for()
    page.screenshot(path=str(deployment.screenshots / "required-actions.png"))

    _answer(api, run_id, {"chosen_options": ["Approve"], "params_input": {"comment": "freeze exception"}})
    assert _wait(api, run_id, lambda: _finished(api, run_id), "the end of the run") == "success"
    verdict = api.xcom(DAG_ID, run_id, TASK_ID, key="verdict")
    assert verdict["met"] is False
    assert verdict["overridden"] is True
    assert verdict["comment"] == "freeze exception"
    assert verdict["by"]
    assert verdict["at"]
    assert "service:checkout-api-v2" in verdict["missing"]
    assert _ti(api, run_id, "deploy")["state"] == "success"


def test_reject_through_rest_fails_the_gate_and_nothing_downstream_runs(
    api: AirflowAPI, waiting_run: Any
) -> None:
    run_id = "deployment__rollout_rejected"
    waiting_run(run_id)
    _answer(api, run_id, {"chosen_options": ["Reject"], "params_input": {"comment": None}})
    assert _wait(api, run_id, lambda: _finished(api, run_id), "the end of the run") == "failed"
    gate = _ti(api, run_id, TASK_ID)
    assert gate["state"] == "failed"
    assert gate["try_number"] == 1  # no retries
    assert _ti(api, run_id, "deploy")["state"] == "upstream_failed"
    assert api.xcom(DAG_ID, run_id, TASK_ID, key="verdict")["overridden"] is False
