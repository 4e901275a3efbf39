"""Airflow sees us as a provider: entry point, provider info, connection type, CLI listing."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from importlib.metadata import entry_points

from airflow_provider_scorecards.get_provider_info import get_provider_info


def test_entry_point_points_at_get_provider_info() -> None:
    (entry,) = [
        e
        for e in entry_points(group="apache_airflow_provider")
        if e.value.startswith("airflow_provider_scorecards")
    ]
    assert entry.load() is get_provider_info


def test_provider_info_is_consistent() -> None:
    info = get_provider_info()
    assert info["package-name"] == "airflow-provider-scorecards"
    (conn,) = info["connection-types"]
    assert conn["connection-type"] == "datadogscorecards"
    module, _, cls = conn["hook-class-name"].rpartition(".")
    hook = getattr(importlib.import_module(module), cls)
    assert hook.conn_type == "datadogscorecards"
    assert hook.default_conn_name == "datadog_scorecards_default"
    assert conn["conn-fields"]["app_key_secret"]["schema"]["format"] == "password"
    assert conn["conn-fields"]["bearer_token"]["schema"]["format"] == "password"
    for section in ("hooks", "operators", "sensors", "triggers"):
        for entry in info.get(section, []):
            for name in entry["python-modules"]:
                importlib.import_module(name)


def _airflow(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_airflow_cli_lists_provider_and_hook() -> None:
    assert "airflow-provider-scorecards" in _airflow("providers", "list", "--output", "plain")
    assert "datadogscorecards" in _airflow("providers", "hooks", "--output", "plain")


def test_every_secret_connection_field_is_hidden_by_airflows_own_rule() -> None:
    """Fields shown as passwords in our form are also names Airflow's redaction hides (REST API, extra JSON)."""
    try:
        from airflow._shared.secrets_masker import should_hide_value_for_key
    except ImportError:  # Airflow 3.0
        from airflow.sdk.execution_time.secrets_masker import should_hide_value_for_key

    (conn,) = get_provider_info()["connection-types"]
    secret_fields = [
        name for name, spec in conn["conn-fields"].items() if spec["schema"].get("format") == "password"
    ]
    assert sorted(secret_fields) == ["app_key_secret", "bearer_token"]
    for name in secret_fields:
        assert should_hide_value_for_key(name), name


def test_rest_api_connection_model_masks_both_keys() -> None:
    """What GET /api/v2/connections/{id} returns, through the REST API's own response model."""
    from airflow.api_fastapi.core_api.datamodels.connections import ConnectionResponse
    from airflow.models.connection import Connection

    from airflow_provider_scorecards.simulator import ScorecardsSimulator

    with ScorecardsSimulator(
        entities=5, api_key="api-key-rest-1", app_key="app-key-rest-2", bearer_token="token-rest-3"
    ) as sim:
        spec = sim.connection_dict()
    conn = Connection(
        conn_id="scorecards_rest", conn_type=spec["conn_type"], password=spec["password"], extra=spec["extra"]
    )
    body = ConnectionResponse.model_validate(conn).model_dump_json()
    for secret in ("api-key-rest-1", "app-key-rest-2", "token-rest-3"):
        assert secret not in body
    assert '\\"app_key_secret\\": \\"***\\"' in body
