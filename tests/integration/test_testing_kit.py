"""The test kit as a user gets it: a pytest plugin that is inert until used, and fixtures that run a DAG.

Each case runs pytest in a fresh process with none of this suite's Airflow environment, as a user's
own suite would; the user's test is the one the testing page shows (docs/examples/test_first_dag.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_scorecards.simulator import ScorecardsSimulator
from airflow_provider_scorecards.testing.simulator import SimulatorFixture

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"


def _pytest(folder: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DD_", "PYTEST"))}
    env["HOME"] = str(home)
    (folder / "pytest.ini").write_text("[pytest]\n")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,  # under the suite's 300 s per test: a hang fails here, with the child's output
        check=False,
    )


def test_the_plugin_is_loaded_and_inert(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text(
        "import os, sys\n"
        "def test_nothing_loaded(request):\n"
        "    assert request.config.pluginmanager.hasplugin('airflow_provider_scorecards')\n"
        "    heavy = [m for m in sys.modules if m == 'airflow' or m.startswith(('airflow.', 'airflow_provider_scorecards.simulator', 'requests'))]\n"
        "    assert heavy == []\n"
        "    assert not [k for k in os.environ if k.startswith('AIRFLOW')]\n"
    )
    result = _pytest(tmp_path, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


@pytest.mark.parametrize(
    "airflow_imported_first", [False, True], ids=["fresh", "airflow-imported-at-collection"]
)
def test_a_users_dag_test_passes(tmp_path: Path, airflow_imported_first: bool) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    for name in ("first_dag.py", "test_first_dag.py"):
        shutil.copy(EXAMPLES / name, suite / name)
    if airflow_imported_first:
        (suite / "test_aaa_imports_airflow.py").write_text("from airflow.sdk import DAG  # noqa: F401\n")
    result = _pytest(suite, tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "2 passed" in result.stdout
    assert not (tmp_path / "airflow" / "airflow.db").exists()  # the kit's database, never ~/airflow's


def test_expected_records_follow_the_filters_as_the_operator_takes_them() -> None:
    with ScorecardsSimulator(seed=3, entities=40) as simulator:
        kit = SimulatorFixture(simulator)
        loose = kit.expected_records(
            "by-rule", rule_levels="1,2", is_enabled="true", sort="-score", max_results=5
        )
        strict = kit.expected_records("by-rule", rule_levels=[1, 2], is_enabled=True, sort="-score")[:5]
        assert loose == strict
        assert len(loose) == 5
        assert all(r["level"] in (1, 2) for r in loose)
        assert [r["score"] for r in loose] == sorted((r["score"] for r in loose), reverse=True)


def test_set_score_pins_a_score_through_the_drift() -> None:
    with ScorecardsSimulator(seed=7, entities=20) as simulator:
        kit = SimulatorFixture(simulator)
        kit.set_score("service:checkout-api", 0.4)
        kit.advance(4)
        (record,) = [
            r
            for r in kit.expected_records("by-entity", scorecard_ids=["production-readiness"])
            if r["id"] == "service:checkout-api"
        ]
        assert (record["score"], record["numerator"], record["denominator"]) == (0.4, 2, 5)
        with pytest.raises(ValueError, match=re.escape("expected one of 0, 0.2, 0.4, 0.6, 0.8, 1")):
            kit.set_score("service:checkout-api", 0.5)


def _asset(*watchers: str, poll_interval: float = 300) -> Any:
    from airflow.sdk import Asset, AssetWatcher

    from airflow_provider_scorecards.triggers.scores import DatadogScoreEventTrigger

    trigger = DatadogScoreEventTrigger(
        aggregation="by-entity",
        scorecard_ids=["production-readiness"],
        score_ids=["service:checkout-api"],
        min_score=0.8,
        poll_interval=poll_interval,
    )
    return Asset("checkout_ready", watchers=[AssetWatcher(name=name, trigger=trigger) for name in watchers])


@pytest.fixture
def kit(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimulatorFixture]:
    with ScorecardsSimulator(seed=7, entities=20) as simulator:
        monkeypatch.setenv("AIRFLOW_CONN_DATADOG_SCORECARDS_DEFAULT", simulator.connection_uri())
        yield SimulatorFixture(simulator)


def test_watch_runs_the_watcher_past_its_baseline_until_it_fires(kit: SimulatorFixture) -> None:
    started = time.monotonic()
    payload = kit.watch(_asset("ready"), then=lambda: kit.set_score("service:checkout-api", 0.8))
    assert time.monotonic() - started < 10  # not the DAG's five-minute poll interval
    assert payload["status"] == "met"
    assert [r["id"] for r in payload["records"]] == ["service:checkout-api"]
    assert len(kit.score_requests) >= 2  # the baseline, then the crossing


def test_watch_fails_the_test_when_nothing_fires(kit: SimulatorFixture) -> None:
    kit.set_score("service:checkout-api", 1)  # met from the start: a baseline, which fires nothing
    with pytest.raises(AssertionError, match="yielded no event within 2 s"):
        kit.watch(_asset("ready"), timeout=2)
    assert len(kit.score_requests) > 2  # it kept looking, every poll_interval


def test_watch_needs_one_watcher(kit: SimulatorFixture) -> None:
    with pytest.raises(ValueError, match="2 watchers \\('a', 'b'\\): pass the AssetWatcher"):
        kit.watch(_asset("a", "b"))
    with pytest.raises(TypeError, match="expected an Asset, an AssetWatcher or a trigger, got str"):
        kit.watch("checkout_ready")


def test_the_kit_shows_the_rules_created_and_the_outcomes_posted(kit: SimulatorFixture) -> None:
    import requests

    headers = {"DD-API-KEY": kit.simulator.api_key, "DD-APPLICATION-KEY": kit.simulator.app_key}
    rule = {"name": "Data tests", "scorecard_name": "Production Readiness", "description": "dbt tests"}
    answer = requests.post(
        f"{kit.url}/api/v2/scorecard/rules",
        json={"data": {"type": "rule", "attributes": rule}},
        headers=headers,
        timeout=10,
    )
    assert answer.status_code == 201
    rule_id = answer.json()["data"]["id"]
    assert [(r["id"], r["name"], r["description"], r["level"]) for r in kit.rules] == [
        (rule_id, "Data tests", "dbt tests", 3)
    ]
    result = {
        "rule_id": rule_id,
        "entity_reference": "service:checkout-api",
        "state": "fail",
        "remarks": "2 failed",
    }
    body = {"data": {"type": "batched-outcome", "attributes": {"results": [result]}}}
    assert (
        requests.post(
            f"{kit.url}/api/v2/scorecard/outcomes", json=body, headers=headers, timeout=10
        ).status_code
        == 202
    )
    assert kit.posted_outcomes == [result]
