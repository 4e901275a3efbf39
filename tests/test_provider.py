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
    assert conn["connection-type"] == "datadog_scorecards"
    module, _, cls = conn["hook-class-name"].rpartition(".")
    hook = getattr(importlib.import_module(module), cls)
    assert hook.conn_type == "datadog_scorecards"
    assert hook.default_conn_name == "datadog_scorecards_default"
    assert conn["conn-fields"]["app_key"]["schema"]["format"] == "password"
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
    assert "datadog_scorecards" in _airflow("providers", "hooks", "--output", "plain")
