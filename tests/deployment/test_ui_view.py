"""The Scorecards view (the provider's Airflow plugin) in a real deployment.

On both legs, through the restricted api-server (real logins, ``outsider`` refused the gate's DAG):
nothing served without a valid token, a refused user refused and not listed, each map index its own
verdict, a hostile id escaped. On the standalone leg, in Chromium: the tab opened from the failed gate's
task-instance page (its screenshot is docs/images/ui-view.png) and the hostile id shown as text.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tests.deployment import test_deployment_ui
from tests.deployment.dags.ui_view_gates import HOSTILE, SCORE_IDS
from tests.deployment.rest import AirflowAPI, q
from tests.deployment.scenario import Deployment, Scenario
from tests.deployment.ui_view_auth import HIDDEN_DAG, OUTSIDER, READER

if TYPE_CHECKING:
    from playwright.sync_api import Page

GATES_DAG = "ui_view_gates"
GATES_RUN = "deployment__ui_view_gates"
FAILED_TASK = "observability_check"  # the gate-fail-fast run's failing check
RESTRICTED_URL_ENV = "SCORECARDS_DEPLOYMENT_RESTRICTED_URL"  # set by scripts/deployment.py
browser = test_deployment_ui.browser  # the browser fixtures of the UI tests
chromium_page = test_deployment_ui.page


@pytest.fixture(scope="module")
def restricted(deployment: Deployment) -> str:
    """The restricted api-server's URL, once it answers."""
    url = os.environ[RESTRICTED_URL_ENV]
    deadline = time.monotonic() + 120
    while True:
        try:
            if requests.get(f"{url}/api/v2/monitor/health", timeout=5).ok:
                return url
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
        time.sleep(1)


def login(deployment: Deployment, url: str, username: str) -> dict[str, str]:
    """A bearer token from the api-server's own login (its passwords file, generated at its start)."""
    passwords = json.loads((deployment.airflow_home / "restricted-passwords.json").read_text())
    answer = requests.post(
        f"{url}/auth/token", json={"username": username, "password": passwords[username]}, timeout=30
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def view(url: str, path: str, headers: dict[str, str] | None = None, **params: Any) -> requests.Response:
    return requests.get(f"{url}/scorecards/{path}", params=params, headers=headers or {}, timeout=30)


@pytest.fixture(scope="module")
def mapped(api: AirflowAPI, scenario: Scenario) -> dict[str, Any]:
    """The mapped gate's run (after the scenario, so it does not compete with it), finished."""
    deadline = time.monotonic() + 240
    while api.request("GET", f"/dags/{GATES_DAG}", expect=(200, 404)).status_code == 404:
        assert time.monotonic() < deadline, "the tests' bundle was not parsed"
        time.sleep(1)
    api.patch(f"/dags/{GATES_DAG}", {"is_paused": False})
    api.trigger(GATES_DAG, GATES_RUN, None, {})
    while (run := api.run(GATES_DAG, GATES_RUN))["state"] not in ("success", "failed"):
        assert time.monotonic() < deadline, run
        time.sleep(1)
    return run


def fail_fast(scenario: Scenario) -> dict[str, str]:
    run = scenario.runs["gate-fail-fast"]
    return {"dag_id": run.dag_id, "run_id": run.run_id, "task_id": FAILED_TASK}


def test_nothing_is_served_without_a_valid_token(restricted: str, scenario: Scenario) -> None:
    for headers in (None, {"Authorization": "Bearer not-a-token"}):
        assert view(restricted, "verdict", headers, **fail_fast(scenario)).status_code in (401, 403)
        assert view(restricted, "gates", headers).status_code in (401, 403)


def test_a_user_who_may_not_read_the_dag_is_refused_and_not_listed(
    deployment: Deployment, restricted: str, scenario: Scenario
) -> None:
    reader, outsider = (login(deployment, restricted, user) for user in (READER, OUTSIDER))
    assert fail_fast(scenario)["dag_id"] == HIDDEN_DAG
    shown = view(restricted, "verdict", reader, **fail_fast(scenario))
    assert shown.status_code == 200
    assert "not met" in shown.text
    assert view(restricted, "verdict", outsider, **fail_fast(scenario)).status_code == 403
    assert HIDDEN_DAG in view(restricted, "gates", reader).text
    listed = view(restricted, "gates", outsider)
    assert listed.status_code == 200
    assert HIDDEN_DAG not in listed.text
    filtered = view(restricted, "gates", outsider, dag_id=HIDDEN_DAG).text  # the filter field echoes it
    assert "No gate verdict in the DAGs you may read" in filtered


def test_each_map_index_shows_its_own_verdict_and_a_hostile_id_as_text(
    deployment: Deployment, restricted: str, mapped: dict[str, Any]
) -> None:
    reader = login(deployment, restricted, READER)
    ids = [ids[0] for ids in SCORE_IDS]
    for index, score_id in enumerate(ids):
        shown = view(
            restricted, "verdict", reader, dag_id=GATES_DAG, run_id=GATES_RUN, task_id="gate", map_index=index
        )
        assert shown.status_code == 200
        others = [other for other in ids if other != score_id]
        if score_id != HOSTILE:  # each index's own id, met or not, with its score
            assert f"<code>{score_id}</code>" in shown.text, index
            assert not any(other in shown.text for other in others), index
    hostile = view(
        restricted, "verdict", reader, dag_id=GATES_DAG, run_id=GATES_RUN, task_id="gate", map_index=2
    )
    assert HOSTILE not in hostile.text
    assert "&lt;img src=x onerror=" in hostile.text
    assert "script-src 'sha256-" in hostile.headers["Content-Security-Policy"]


def _tab(tab: Page, deployment: Deployment, dag_id: str, run_id: str, task: str) -> Any:
    """Open a task instance's page, then its Scorecards tab; return the tab's frame."""
    tab.goto(f"{deployment.airflow_url}/dags/{dag_id}/runs/{q(run_id)}/tasks/{task}")
    tab.get_by_role("link", name="Scorecards", exact=True).click()
    frame = tab.frame_locator("iframe")
    frame.locator("h1").wait_for()
    return frame


def test_the_tab_on_the_failed_gates_page_shows_the_failing_ids_and_remarks(
    chromium_page: Page, deployment: Deployment, api: AirflowAPI, scenario: Scenario
) -> None:
    page = chromium_page
    if deployment.leg != "standalone":
        pytest.skip("the browser checks run on the standalone leg")
    where = fail_fast(scenario)
    verdict = api.xcom(where["dag_id"], where["run_id"], FAILED_TASK, "verdict")
    frame = _tab(page, deployment, where["dag_id"], where["run_id"], FAILED_TASK)
    text = frame.locator("body").inner_text()
    assert "not met" in text
    for score_id in verdict["failing"]:
        assert score_id in text
        for rule in verdict["explanations"].get(score_id, []):
            assert rule["remarks"] in text
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(deployment.screenshots / "ui-view.png"))


def test_a_hostile_id_is_shown_as_text_and_runs_nothing(
    chromium_page: Page, deployment: Deployment, mapped: dict[str, Any]
) -> None:
    page = chromium_page
    if deployment.leg != "standalone":
        pytest.skip("the browser checks run on the standalone leg")
    page.goto(f"{deployment.airflow_url}/dags/{GATES_DAG}/runs/{q(GATES_RUN)}/tasks/gate/mapped/2")
    page.get_by_role("link", name="Scorecards", exact=True).click()
    frame = page.frame_locator("iframe")
    frame.get_by_text(HOSTILE).first.wait_for()
    assert frame.locator("img").count() == 0
    assert "pwned" not in page.title()
    assert page.frames[-1].title() != "pwned"


def test_the_gates_page_in_the_browse_menu_lists_the_latest_verdicts(
    chromium_page: Page, deployment: Deployment, mapped: dict[str, Any]
) -> None:
    if deployment.leg != "standalone":
        pytest.skip("the browser checks run on the standalone leg")
    page = chromium_page
    page.goto(f"{deployment.airflow_url}/")
    page.get_by_role("button", name="Browse").click()
    page.get_by_role("menuitem", name="Scorecards gates").click()
    frame = page.frame_locator("iframe")
    frame.locator("table").wait_for()
    rows = frame.locator("tr").filter(has_text=GATES_DAG)
    assert rows.count() == len(SCORE_IDS)  # one row per map index, each its latest verdict
    assert frame.get_by_text(HIDDEN_DAG).first.is_visible()  # the admin of this api-server reads every DAG
