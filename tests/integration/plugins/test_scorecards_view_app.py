"""The Scorecards view (the plugin) in Airflow's real api-server app, with real tokens and real verdicts.

Verdicts come from dag.test() runs of gates against the simulator; requests go through Airflow's own app
(the plugin mounted from its entry point) with tokens of Airflow's simple auth manager.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from airflow import __version__ as airflow_version
from packaging.version import Version

from airflow_provider_scorecards.simulator import ScorecardsSimulator
from tests.airflow_support import init_db, run_dag
from tests.conftest import CONN_ENV

pytestmark = pytest.mark.skipif(
    Version(airflow_version).release < (3, 1), reason="UI plugins need Airflow 3.1+"
)
CHECKOUT, SEARCH, PAYMENTS = "service:checkout-api", "service:search-indexer", "service:payments-gateway"
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    init_db()
    with TestClient(create_app()) as test_client:
        yield test_client


def token(role: str | None) -> dict[str, str]:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    user = SimpleAuthManagerUser(username=role or "nobody", role=role)
    return {"Authorization": f"Bearer {get_auth_manager().generate_jwt(user)}"}


def tab(
    client: Any, result: Any, task_id: str, map_index: str = "{MAP_INDEX}", role: str | None = "viewer"
) -> Any:
    params = {"dag_id": result.dag_id, "run_id": result.run_id, "task_id": task_id, "map_index": map_index}
    return client.get("/scorecards/verdict", params=params, headers=token(role))


def run_gate(sim: ScorecardsSimulator, dag_id: str, conf: dict[str, Any] | None = None) -> Any:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CONN_ENV, sim.connection_uri())
        return run_dag(dag_id, conf)


@pytest.fixture(scope="module")
def failed(sim: ScorecardsSimulator) -> Any:
    return run_gate(sim, "rollout_check", {"score_ids": [CHECKOUT, SEARCH, HOSTILE]})


@pytest.fixture(scope="module")
def mapped(sim: ScorecardsSimulator, failed: Any) -> Any:
    return run_gate(sim, "ui_view_mapped")


def test_the_plugin_is_registered_by_its_entry_point(client: Any) -> None:
    plugins = client.get("/api/v2/plugins", headers=token("admin")).json()["plugins"]
    (ours,) = [p for p in plugins if p["name"] == "scorecards"]
    assert {v["destination"] for v in ours["external_views"]} == {"task_instance", "nav"}


def test_the_tab_shows_the_failing_ids_with_values_bounds_rules_and_remarks(client: Any, failed: Any) -> None:
    answer = tab(client, failed, "check")
    assert answer.status_code == 200, answer.text
    page = answer.text
    verdict = failed.xcom("check", "verdict")
    assert "not met" in page
    for score_id in (CHECKOUT, SEARCH):
        assert score_id in page
        assert f"{verdict['scores'][score_id]['value']:g}" in page
        for rule in verdict["explanations"][score_id]:
            assert rule["rule_name"] in page
    assert ">= 0.8" in page or "0.8" in page
    assert "aggregation=by-entity" in page
    assert 'href="http' in page  # the Scorecards link the task pushed
    assert "Content-Security-Policy" in answer.headers


def test_a_hostile_id_is_text_never_markup(client: Any, failed: Any) -> None:
    page = tab(client, failed, "check").text
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert len(re.findall("<script>", page)) == 1  # the theme script only


def test_a_task_without_a_verdict_is_not_a_gate(client: Any, failed: Any) -> None:
    answer = tab(client, failed, "no_such_task")
    assert answer.status_code == 200
    assert "not a Scorecards gate" in answer.text


def test_a_verdict_xcom_of_another_shape_is_not_a_gate(client: Any, failed: Any) -> None:
    """A user's own task pushing a ``verdict`` key is neither listed nor an error."""
    foreign = run_dag("ui_view_foreign")
    for task_id in ("not_a_gate", "ids_not_text"):
        answer = tab(client, foreign, task_id)
        assert answer.status_code == 200
        assert "not a Scorecards gate" in answer.text
    listed = client.get("/scorecards/gates", headers=token("viewer"))
    assert listed.status_code == 200
    assert "ui_view_foreign" not in listed.text
    assert failed.dag_id in listed.text


def test_nothing_is_served_without_a_token_or_the_right_to_read(client: Any, failed: Any) -> None:
    params = {"dag_id": failed.dag_id, "run_id": failed.run_id, "task_id": "check"}
    assert client.get("/scorecards/verdict", params=params).status_code == 401
    assert client.get("/scorecards/gates").status_code == 401
    bad = {"Authorization": "Bearer not-a-token"}
    assert client.get("/scorecards/verdict", params=params, headers=bad).status_code in (401, 403)
    assert tab(client, failed, "check", role=None).status_code == 403
    listed = client.get("/scorecards/gates", headers=token(None))
    assert listed.status_code == 200
    assert failed.dag_id not in listed.text


def test_the_gates_page_lists_the_latest_verdict_per_gate_newest_first(
    client: Any, failed: Any, mapped: Any
) -> None:
    page = client.get("/scorecards/gates", headers=token("viewer")).text
    assert page.index("ui_view_mapped") < page.index("rollout_check")
    assert failed.run_id in page
    filtered = client.get(
        "/scorecards/gates", params={"dag_id": "rollout_check"}, headers=token("viewer")
    ).text
    assert "ui_view_mapped" not in filtered
    assert mapped.run_id not in filtered


def test_each_map_index_shows_its_own_verdict(client: Any, mapped: Any) -> None:
    first, second = (tab(client, mapped, "gate", map_index=str(i)).text for i in (0, 1))
    assert "not met" in first
    assert CHECKOUT in first
    assert "Watched scores" in second  # a met gate shows what it watched, with the score
    assert f"<code>{PAYMENTS}</code>" in second
    assert "not met" not in second
    assert ">met<" in second
    assert "not a Scorecards gate" in tab(client, mapped, "gate").text  # the unmapped index: none


def test_a_deferred_sensors_verdict_carries_the_scores_and_the_query(sim: ScorecardsSimulator) -> None:
    result = run_gate(sim, "rollout_sensor_deferrable", {"score_ids": [CHECKOUT]})
    verdict = result.xcom("gate", "verdict")
    assert verdict["scores"][CHECKOUT]["bound"] == "score >= 0.8"
    assert verdict["scores"][CHECKOUT]["value"] < 0.8
    assert verdict["query"]["aggregation"] == "by-entity"
