"""The simulator sends the sparse records the spec allows, by default, and everything downstream copes.

Every attribute and relationship of a score is optional in the API's spec and real answers use it. The
simulator sends one record in ``SPARSE_EVERY`` without relationships and with ``level`` and
``total_entities`` null, chosen by id, so the examples, reports, summaries and snapshot readers are
tested against the shapes a real deployment meets.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import airflow
import pendulum
import pytest

from airflow_provider_scorecards.client.pages import RELATIONSHIPS, flatten
from airflow_provider_scorecards.gate.condition import GateCondition
from airflow_provider_scorecards.operators.snapshots import load_baseline
from airflow_provider_scorecards.simulator import ScorecardsSimulator
from airflow_provider_scorecards.simulator.org import SPARSE_EVERY, Organisation
from tests.airflow_support import run_dag
from tests.conftest import CONN_ENV

AGGREGATIONS = ("by-entity", "by-rule", "by-team", "by-scorecard", "by-kind")


def _sparse_items(org: Organisation, aggregation: str, step: int = 0) -> list[dict[str, Any]]:
    return [item for item in org.scores(aggregation, step=step) if org.is_sparse(item["id"])]


def test_the_default_share_is_stated_and_holds() -> None:
    org = Organisation.generate(seed=7, entities=2000)
    assert org.sparse_every == SPARSE_EVERY == 8
    items = org.scores("by-entity")
    share = len(_sparse_items(org, "by-entity")) / len(items)
    assert 0.8 / SPARSE_EVERY < share < 1.2 / SPARSE_EVERY


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_a_sparse_record_has_no_relationships_and_null_details(aggregation: str) -> None:
    org = Organisation.generate(seed=7, entities=300)
    for item in _sparse_items(org, aggregation):
        assert "relationships" not in item
        assert item["attributes"]["level"] is None
        assert item["attributes"]["total_entities"] is None
        record = flatten(item)
        assert all(record[f"{name}_id"] is None for name in RELATIONSHIPS)
        assert record["score"] is not None  # the numbers a gate judges are still there


def test_sparse_records_are_the_same_for_every_step_and_run() -> None:
    one, two = Organisation.generate(seed=7, entities=300), Organisation.generate(seed=7, entities=300)
    ids = [i["id"] for i in _sparse_items(one, "by-entity")]
    assert ids == [i["id"] for i in _sparse_items(two, "by-entity")]
    assert ids == [i["id"] for i in _sparse_items(one, "by-entity", step=3)]
    assert Organisation.from_dict(json.loads(json.dumps(one.to_dict()))).is_sparse(ids[0])


def test_sparse_every_zero_sends_every_field() -> None:
    org = Organisation.generate(seed=7, entities=300, sparse_every=0)
    assert all("relationships" in item for item in org.scores("by-rule"))
    with pytest.raises(ValueError, match="sparse_every"):
        Organisation.generate(seed=7, entities=10, sparse_every=-1)


def test_the_default_simulator_serves_sparse_records(sim: ScorecardsSimulator) -> None:
    served = sim.expected_scores("by-rule")
    assert any("relationships" not in item for item in served)
    assert any("relationships" in item for item in served)


def test_a_gate_report_and_a_baseline_take_sparse_records(sim: ScorecardsSimulator, tmp_path: Path) -> None:
    records = [flatten(i) for i in sim.expected_scores("by-rule")]
    condition = GateCondition.build(field="level", min_value=1)  # null levels are missing data, named
    report = condition.evaluate(records).report()
    sparse = [r["id"] for r in records if r["level"] is None]
    assert sparse
    assert all(score_id in report for score_id in sparse[:3])
    path = tmp_path / "by-rule.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    baseline = load_baseline(str(path), field="level", aggregation="by-rule")
    assert baseline.records == records


@pytest.fixture
def sparse_sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScorecardsSimulator]:
    with ScorecardsSimulator(seed=7, entities=300) as simulator:
        monkeypatch.setenv(CONN_ENV, simulator.connection_uri())
        yield simulator


def test_the_export_report_names_what_is_missing(sparse_sim: ScorecardsSimulator, tmp_path: Path) -> None:
    rules = [flatten(i) for i in sparse_sim.expected_scores("by-rule")]
    assert any(r["scorecard_id"] is None for r in rules)
    result = run_dag(
        "scorecards_export",
        {"output_root": f"file://{tmp_path}", "lowest": len(rules)},
        logical_date=pendulum.today("UTC"),
    )
    assert result.state == "success", result.task_states
    report = result.xcom("report")
    assert len(report["lowest_rules"]) == len(rules)
    unknown = [row for row in report["lowest_rules"] if row["scorecard"] == "n/a"]
    assert unknown
    assert all(row["level"] == "?" for row in unknown)
    assert "L?" in report["text"]


@pytest.mark.skipif(
    tuple(int(part) for part in airflow.__version__.split(".")[:2]) < (3, 1),
    reason="Airflow 3.0's dag.test() cannot run mapped TaskFlow tasks "
    "(AssertionError: unexpected expand_input: DictOfListsExpandInput(value={})), a bug of its test harness",
)
def test_the_fanout_example_runs_on_sparse_records(sparse_sim: ScorecardsSimulator) -> None:
    result = run_dag("scorecards_team_fanout")
    assert result.state == "success", result.task_states
