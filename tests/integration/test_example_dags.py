"""The example DAGs: they import cleanly, parse fast, and work end to end against the simulator."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import airflow
import pendulum
import pytest

from airflow_provider_scorecards.client.pages import flatten
from airflow_provider_scorecards.simulator import ScorecardsSimulator
from airflow_provider_scorecards.testing.simulator import SimulatorFixture
from tests.airflow_support import NO_LOGICAL_DATE, dagbag, run_dag
from tests.conftest import CONN_ENV, EXAMPLE_DAGS

EXAMPLE_FILES = sorted(p for p in EXAMPLE_DAGS.glob("*.py") if not p.name.startswith("_"))
EXAMPLE_IDS = [
    "scorecards_export",
    "scorecards_deploy_gate",
    "scorecards_team_fanout",
    "scorecards_snapshot_consumer",
    "scorecards_event_driven",
    "scorecards_gate_rollout",
    "scorecards_close_the_loop",
]


def test_every_example_is_found_without_import_errors() -> None:
    bag = dagbag()
    assert {path.name for path in EXAMPLE_FILES} == {f"{dag_id}.py" for dag_id in EXAMPLE_IDS}
    assert not {k: v for k, v in bag.import_errors.items() if "example_dags" in k or "scorecards_" in k}
    for dag_id in EXAMPLE_IDS:
        assert bag.get_dag(dag_id) is not None


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_imports_without_warnings_and_fast(path: Path) -> None:
    """Each file imports with no warning, in a fresh interpreter, well under a second beyond airflow.sdk."""
    code = (
        "import time, warnings, runpy\n"
        "warnings.simplefilter('error')\n"
        "import airflow.sdk\n"
        "from airflow.sdk import DAG, task, ObjectStoragePath\n"
        "start = time.perf_counter()\n"
        f"runpy.run_path({str(path)!r})\n"
        "print(time.perf_counter() - start)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert float(result.stdout.strip().splitlines()[-1]) < 1.0


@pytest.mark.parametrize("dag_id", EXAMPLE_IDS)
def test_structure_and_single_connection_id(dag_id: str) -> None:
    dag = dagbag().get_dag(dag_id)
    assert dag.doc_md
    assert len(dag.doc_md) > 100
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        order = dag.topological_sort()  # raises on a cycle
    assert len(order) == len(dag.tasks)
    source = Path(dag.fileloc).resolve().read_text()
    if dag_id == "scorecards_snapshot_consumer":  # reads asset events only: no Datadog task
        assert '"datadog_scorecards_default"' not in source
        return
    conn_ids = {getattr(t, "datadog_conn_id", None) for t in dag.tasks} - {None}
    for t in dag.tasks:  # mapped operators keep their arguments in partial_kwargs
        conn_ids |= {v for k, v in getattr(t, "partial_kwargs", {}).items() if k == "datadog_conn_id"}
    if dag_id != "scorecards_event_driven":  # its connection id is the watcher's, not a task's
        assert conn_ids == {"datadog_scorecards_default"}
    assert source.count('"datadog_scorecards_default"') == 1  # named once


@pytest.mark.parametrize("dag_id", EXAMPLE_IDS)
def test_nothing_runs_unless_asked(dag_id: str) -> None:
    """Airflow 3.3 loads the examples into a new user's Airflow (``load_examples``): each one appears paused,
    whatever ``dags_are_paused_at_creation`` says, and unpausing a timed one starts no backlog of runs."""
    dag = dagbag().get_dag(dag_id)
    assert dag.is_paused_upon_creation is True
    if type(dag.timetable).__name__ not in ("NullTimetable", "AssetTriggeredTimetable"):
        assert dag.catchup is False


@pytest.fixture
def demo_sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScorecardsSimulator]:
    with ScorecardsSimulator(seed=7, entities=300) as sim:
        monkeypatch.setenv(CONN_ENV, sim.connection_uri())
        yield sim


def test_export_writes_snapshots_and_reports_week_over_week(
    demo_sim: ScorecardsSimulator, tmp_path: Path
) -> None:
    root = f"file://{tmp_path}"
    today = pendulum.today("UTC").to_date_string()
    week_ago = pendulum.today("UTC").subtract(days=7).to_date_string()
    # A snapshot of a week ago, taken before the outcomes drifted.
    (tmp_path / week_ago).mkdir()
    teams_then = [flatten(i) for i in demo_sim.expected_scores("by-team")]
    (tmp_path / week_ago / "by-team.jsonl").write_text("\n".join(json.dumps(r) for r in teams_then) + "\n")
    demo_sim.advance(1)

    result = run_dag(
        "scorecards_export", {"output_root": root, "lowest": 3}, logical_date=pendulum.today("UTC")
    )
    assert result.state == "success", result.task_states
    for aggregation in ("by-team", "by-entity", "by-rule"):
        pushed = result.xcom(f"fetch_{aggregation.replace('-', '_')}")
        path = tmp_path / today / f"{aggregation}.jsonl"
        assert pushed == {
            "path": f"{root}/{today}/{aggregation}.jsonl",
            "count": len(demo_sim.expected_scores(aggregation)),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        }
        assert len(path.read_text().splitlines()) == pushed["count"]

    report = result.xcom("report")
    teams_now = sorted((flatten(i) for i in demo_sim.expected_scores("by-team")), key=lambda r: r["score"])
    assert [row["team"] for row in report["lowest_teams"]] == [r["id"] for r in teams_now[:3]]
    before = {r["id"]: r["score"] for r in teams_then}
    for row in report["lowest_teams"]:
        assert row["change"] == pytest.approx(row["score"] - before[row["team"]], abs=1e-4)
        assert row["change"] > 0  # drift only improves
    assert report["compared_with"] == week_ago
    rules_now = sorted((flatten(i) for i in demo_sim.expected_scores("by-rule")), key=lambda r: r["score"])
    assert [row["rule"] for row in report["lowest_rules"]] == [r["id"] for r in rules_now[:3]]
    assert "Lowest teams:" in report["text"]
    assert f"vs {week_ago}" in report["text"]


def test_export_runs_without_a_logical_date(demo_sim: ScorecardsSimulator, tmp_path: Path) -> None:
    """A manual trigger without a logical date (CLI, REST) has no {{ ds }}: the snapshot date is run_after's."""
    root = f"file://{tmp_path}"
    result = run_dag("scorecards_export", {"output_root": root, "lowest": 2}, logical_date=NO_LOGICAL_DATE)
    assert result.state == "success", result.task_states
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    pendulum.Date.fromisoformat(folder.name)  # a date, from run_after
    assert result.xcom("fetch_by_team")["path"] == f"{root}/{folder.name}/by-team.jsonl"
    assert result.xcom("report")["date"] == folder.name


def test_deploy_gate_waits_then_deploys(demo_sim: ScorecardsSimulator) -> None:
    demo_sim.improve_every_requests = 2  # outcomes improve while the gate waits
    result = run_dag("scorecards_deploy_gate")
    assert result.state == "success", result.task_states
    assert result.task_states["deploy"] == "success"
    (gate_record,) = result.xcom("wait_for_readiness")
    assert gate_record["id"] == "service:checkout-api"
    assert gate_record["score"] >= 0.8
    assert result.xcom("deploy").startswith("Deploying service:checkout-api (score ")
    fetched = result.xcom("fetch_scores")
    assert next(r for r in fetched if r["id"] == "service:checkout-api")["score"] < 0.8  # it had to wait
    gate_checks = [
        r
        for r in demo_sim.score_requests()
        if r.params.get("filter[rule][scorecard_id]") == "production-readiness"
    ]
    assert len(gate_checks) >= 3
    assert result.xcom("deploy_canary") == "Canary for service:checkout-api (observability 0.67)"


def test_deploy_gate_fail_fast_path_blocks_the_canary(demo_sim: ScorecardsSimulator) -> None:
    result = run_dag("scorecards_deploy_gate", {"service_id": "service:search-indexer", "min_score": 0.0})
    assert result.task_states["observability_check"] == "failed"
    assert result.task_states["deploy_canary"] == "upstream_failed"
    assert result.task_states["deploy"] == "success"


@pytest.mark.skipif(
    tuple(int(part) for part in airflow.__version__.split(".")[:2]) < (3, 1),
    reason="Airflow 3.0's dag.test() cannot run mapped TaskFlow tasks "
    "(AssertionError: unexpected expand_input: DictOfListsExpandInput(value={})), a bug of its test harness",
)
def test_team_fanout_maps_over_teams(demo_sim: ScorecardsSimulator) -> None:
    result = run_dag("scorecards_team_fanout", {"max_teams": 4})
    assert result.state == "success", result.task_states
    teams = [flatten(i) for i in demo_sim.expected_scores("by-team", sort="score")][:4]
    per_team = result.xcom("failing_rules")
    assert [row["team"] for row in per_team] == [t["id"] for t in teams]
    enabled = {r.id for r in demo_sim.org.rules if r.is_enabled}
    summary: list[dict[str, Any]] = result.xcom("summary")
    assert [row["team"] for row in summary] == [t["id"] for t in teams]
    assert [row["failing_rules"] for row in summary] == [
        [f["rule_id"] for f in row["failing_rules"]] for row in per_team
    ]
    for row in per_team:
        assert {f["rule_id"] for f in row["failing_rules"]} <= enabled
        assert row["failing_rules"], "the lowest teams fail some rule"
    # check one team's failing rules against the organisation itself
    team = teams[0]["id"]
    members = [i for i, e in enumerate(demo_sim.org.entities) if e.team == team]
    expected = {
        rule.id
        for r_index, rule in enumerate(demo_sim.org.rules)
        if rule.is_enabled and any(demo_sim.org.outcome(e, r_index, demo_sim.step) == "fail" for e in members)
    }
    assert set(summary[0]["failing_rules"]) == expected


def test_close_the_loop_posts_and_its_gate_reads_what_it_posted(monkeypatch: pytest.MonkeyPatch) -> None:
    with ScorecardsSimulator(seed=7, entities=300, outcome_delay=0) as sim:  # writes: a simulator of its own
        monkeypatch.setenv(CONN_ENV, sim.connection_uri())
        result = run_dag("scorecards_close_the_loop")
        assert result.state == "success", result.task_states
        kit = SimulatorFixture(sim)
        rules = {rule["name"]: rule["id"] for rule in kit.rules}
        checks, pipeline = rules["Data quality checks pass"], rules["Data quality pipeline succeeds"]
        assert len(kit.rules) == 2
        assert result.xcom("report") == {"rule_id": checks, "posted": 3}
        posted = {(o["rule_id"], o["entity_reference"]): o["state"] for o in kit.posted_outcomes}
        assert posted == {
            (checks, "service:checkout-api"): "pass",
            (checks, "service:payments-gateway"): "pass",
            (checks, "service:search-indexer"): "fail",
            (pipeline, "service:identity-service"): "pass",  # the DAG's own outcome, by its notifier
        }
        (gate_record,) = result.xcom("gate")
        assert (gate_record["id"], gate_record["score"]) == ("service:checkout-api", 1.0)
        assert result.xcom("deploy").startswith("Deploying service:checkout-api")
