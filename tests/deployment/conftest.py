"""Tests against a real Airflow deployment, started by ``scripts/deployment.py test`` (``make test-deployment``).

The script exports where the deployment is (the variables below). Without them, as under plain
``make test``, every test here is skipped at collection, before anything slow is imported.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deployment.rest import AirflowAPI
from tests.deployment.scenario import CONN_ID, Deployment, Scenario, run_scenario

HERE = Path(__file__).parent
TEST_TIMEOUT = 1800
"""Seconds per test, fixtures included (the first test of a session starts the scenario's runs). By signal:
the tests are synchronous, and a timed-out test's finalizers still stop what it started."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip everything without a deployment, and a module's tests on legs it does not name.

    A test module may set ``LEGS = ("production",)`` (say): its tests then only run on those legs.
    """
    found = Deployment.from_env()
    skip = pytest.mark.skip(reason="needs a running deployment: `make test-deployment`")
    for item in items:
        if not item.path.is_relative_to(HERE):
            continue
        if found is None:
            item.add_marker(skip)
            continue
        item.add_marker(pytest.mark.timeout(TEST_TIMEOUT, method="signal"))
        legs = getattr(getattr(item, "module", None), "LEGS", None)
        if legs is not None and found.leg not in legs:
            item.add_marker(pytest.mark.skip(reason=f"runs on the {' and '.join(legs)} leg, not {found.leg}"))


@pytest.fixture(scope="session")
def deployment() -> Deployment:
    found = Deployment.from_env()
    assert found is not None  # the collection hook skipped every test otherwise
    return found


@pytest.fixture(scope="session")
def api(deployment: Deployment) -> Iterator[AirflowAPI]:
    client = AirflowAPI(deployment.airflow_url)
    yield client
    client.session.close()


@pytest.fixture(scope="session")
def connection(api: AirflowAPI, deployment: Deployment) -> str:
    """The default connection, of our type, pointing at the simulator: created through the REST API."""
    from airflow_provider_scorecards.simulator import DEFAULT_API_KEY, DEFAULT_APP_KEY

    body = {
        "connection_id": CONN_ID,
        "conn_type": "datadogscorecards",
        "password": DEFAULT_API_KEY,
        "extra": json.dumps({"api_url": deployment.simulator_url, "app_key_secret": DEFAULT_APP_KEY}),
    }
    api.post("/connections", body, expect=(201, 409))
    return CONN_ID


@pytest.fixture(scope="session")
def scenario(api: AirflowAPI, deployment: Deployment, connection: str) -> Scenario:
    """Every example DAG run once with and once without a logical date, waited for (see scenario.py).

    Its timeline is kept in ``.deployment/scenario-timeline.txt`` beside the logs, for a failure's story.
    """
    played = run_scenario(api, deployment)
    (deployment.directory / "scenario-timeline.txt").write_text("\n".join(played.timeline) + "\n")
    return played
