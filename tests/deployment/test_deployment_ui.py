"""The UI in a real headless browser: the connection form of our type, and the operator's extra link.

Debian's ``chromium`` driven by ``playwright`` (the ``deployment`` extra; playwright's own browser download
is not used). Without chromium these tests skip with how to install it, except under CI (``CI=true``),
where a skipped browser check would be a silent hole, so they fail instead.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_scorecards.get_provider_info import get_provider_info
from airflow_provider_scorecards.simulator import DEFAULT_API_KEY, DEFAULT_APP_KEY
from tests.deployment.rest import AirflowAPI, q
from tests.deployment.scenario import CONN_ID, Deployment, Scenario

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
UI_CONN_ID = "datadog_scorecards_ui"
# The UI is the same on both legs; the production leg spends its minutes on what differs there.
LEGS = ("standalone",)
SECRETS = (DEFAULT_API_KEY, DEFAULT_APP_KEY)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"{reason} (CI=true: the browser checks must run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.access(executable, os.X_OK):
        _unavailable("no chromium to drive: install it with `sudo apt-get install chromium` (Debian/Ubuntu)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is missing: pip install -e '.[deployment]'")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1600})
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


def conn_fields() -> dict[str, Any]:
    """The extra fields our connection type declares (what the form must show)."""
    (conn_type,) = get_provider_info()["connection-types"]
    return dict(conn_type["conn-fields"])


def is_secret(schema: dict[str, Any]) -> bool:
    return schema.get("format") == "password"


def open_connection_dialog(
    page: Page, deployment: Deployment, button: str, row: str | None = None
) -> Locator:
    """The add form (a modal without a URL) or the edit form of ``row``."""
    page.goto(f"{deployment.airflow_url}/connections")
    if row is None:
        page.get_by_role("button", name=button).click()
    else:
        page.get_by_role("row").filter(has_text=row).get_by_role("button", name=button).click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    return dialog


def open_section(dialog: Locator, name: str) -> None:
    """The form's sections are an accordion that keeps one open."""
    dialog.get_by_role("button", name=name, exact=True).click()
    dialog.page.wait_for_timeout(300)


def wait_for_text(locator: Locator, needle: str, timeout: float = 15.0) -> str:
    """The locator's text once it contains ``needle`` (or at the timeout), with the editor's no-break
    spaces made plain."""
    deadline = time.monotonic() + timeout
    while True:
        text = locator.inner_text().replace("\xa0", " ")
        if needle in text or time.monotonic() > deadline:
            return text
        time.sleep(0.2)


def test_add_connection_form_shows_every_field_and_masks_the_secrets(
    page: Page, deployment: Deployment, api: AirflowAPI
) -> None:
    dialog = open_connection_dialog(page, deployment, "Add Connection")
    dialog.locator("input[name=connection_id]").fill(UI_CONN_ID)
    dialog.get_by_role("combobox").first.fill("Datadog Score")
    page.get_by_role("option", name="Datadog Scorecards").click()

    # Standard fields: only the API key (relabelled, masked); host, login, schema and port are hidden.
    assert dialog.get_by_text("API key", exact=True).is_visible()
    api_key = dialog.locator("input[name=password]")
    assert api_key.get_attribute("type") == "password"
    assert api_key.get_attribute("placeholder") == "Datadog API key"
    for hidden in ("host", "login", "schema", "port"):
        assert dialog.locator(f"[name={hidden}]").count() == 0, hidden
    api_key.fill(DEFAULT_API_KEY)

    open_section(dialog, "Extra Fields")
    for name, spec in conn_fields().items():
        assert dialog.get_by_text(spec["label"], exact=True).is_visible(), name
        field = dialog.locator(f"[name=element_{name}]")
        assert field.count() == 1, name
        if is_secret(spec["schema"]):
            assert field.get_attribute("type") == "password", name
    dialog.locator("input[name=element_app_key_secret]").fill(DEFAULT_APP_KEY)
    dialog.locator("input[name=element_api_url]").fill(deployment.simulator_url)
    dialog.screenshot(path=str(deployment.screenshots / "connection-form.png"))
    assert not any(secret in dialog.inner_text() for secret in SECRETS)

    dialog.get_by_role("button", name="Save").click()
    dialog.wait_for(state="detached")
    saved = api.get(f"/connections/{q(UI_CONN_ID)}")
    extra = json.loads(saved["extra"])
    assert saved["conn_type"] == "datadogscorecards"
    assert saved["password"] == "***"
    assert extra["app_key_secret"] == "***"  # saved under the name the hook reads, and redacted
    assert extra["api_url"] == deployment.simulator_url


@pytest.mark.parametrize("conn_id", [CONN_ID, UI_CONN_ID], ids=["created-by-rest", "created-by-form"])
def test_edit_connection_form_masks_the_secrets(
    page: Page, deployment: Deployment, connection: str, conn_id: str
) -> None:
    """The edit form never receives a key: both secrets come as ``***``, in the fields and the JSON."""
    dialog = open_connection_dialog(page, deployment, "Edit Connection", row=conn_id)
    api_key = dialog.locator("input[name=password]")
    assert api_key.get_attribute("type") == "password"
    assert api_key.input_value() == "***"
    open_section(dialog, "Extra Fields")
    app_key = dialog.locator("input[name=element_app_key_secret]")
    assert app_key.get_attribute("type") == "password"
    assert app_key.input_value() == "***"
    if conn_id == UI_CONN_ID:  # saved from the form, so every field is in its extra and shown
        for name, spec in conn_fields().items():
            assert dialog.get_by_text(spec["label"], exact=True).is_visible(), name
        dialog.screenshot(path=str(deployment.screenshots / "connection-edit-form.png"))
    open_section(dialog, "Extra Fields JSON")
    editor_text = wait_for_text(dialog, '"app_key_secret"')  # the JSON editor renders a moment later
    assert '"app_key_secret": "***"' in editor_text
    assert not any(secret in page.content() for secret in SECRETS)


def test_extra_link_on_the_task_details_tab(page: Page, scenario: Scenario) -> None:
    run = scenario.runs["gate-waits"]
    deployment = scenario.deployment
    page.goto(f"{deployment.airflow_url}/dags/{run.dag_id}/runs/{q(run.run_id)}/tasks/fetch_scores")
    page.get_by_role("link", name="Details", exact=True).click()
    link = page.get_by_role("link", name="Datadog Scorecards", exact=True)
    link.wait_for()
    assert page.get_by_text("Extra Links").is_visible()
    assert link.get_attribute("href") == f"{deployment.simulator_url}/software/scorecards"
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=str(deployment.screenshots / "extra-link.png"))
    with page.context.expect_page() as opened:
        link.click()  # target=_blank: a new tab
    target = opened.value
    target.wait_for_load_state()
    assert target.title() == "Scorecards (simulator)"
    assert target.get_by_role("heading", level=1).inner_text().startswith("Datadog Scorecards")
