"""Scores over time: snapshots as Asset events, the regression gate (max_drop against a baseline), and the
trend picture. Real Airflow runs (dag.test() on SQLite), real HTTP against the simulator."""

from __future__ import annotations

import hashlib
import json
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import airflow
import pendulum
import pytest

from airflow_provider_scorecards.client.errors import InvalidParameterError
from airflow_provider_scorecards.client.pages import flatten
from airflow_provider_scorecards.gate import GateCondition
from airflow_provider_scorecards.simulator import ScorecardsSimulator
from airflow_provider_scorecards.snapshots import (
    InvalidSnapshotError,
    load_baseline,
    read_snapshot,
    snapshot_history,
)
from airflow_provider_scorecards.trend import (
    PLOT_EXTRA,
    PlotExtraMissing,
    lowest_team_trend,
    render_trend_png,
)
from tests.airflow_support import get_dag, run_dag
from tests.conftest import CONN_ENV, EXAMPLE_DAGS

AIRFLOW_VERSION = tuple(int(part) for part in airflow.__version__.split(".")[:2])
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def rec(score_id: str, score: float | None, denominator: int = 4, **extra: Any) -> dict[str, Any]:
    return {"id": score_id, "score": score, "denominator": denominator, **extra}


@pytest.fixture
def history_sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScorecardsSimulator]:
    """A simulator of our own: its drift step is this test's business only."""
    with ScorecardsSimulator(seed=7, entities=200) as sim:
        monkeypatch.setenv(CONN_ENV, sim.connection_uri())
        yield sim


def teams(sim: ScorecardsSimulator) -> list[dict[str, Any]]:
    """The by-team records the API answers now, lowest score first."""
    return sorted((flatten(i) for i in sim.expected_scores("by-team")), key=lambda r: r["score"])


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


# -- the gate: max_drop against a baseline (no Airflow) ------------------------------------------------


def test_regression_names_both_values_the_drop_and_the_allowance() -> None:
    now = [rec("team-payments", 0.50), rec("team-search", 0.448), rec("team-web", 0.90)]
    then = [rec("team-payments", 0.62), rec("team-search", 0.50), rec("team-web", 0.91)]
    result = GateCondition.build(max_drop=0.05).evaluate(now, then)
    assert not result.met
    assert [c.id for c in result.regressed] == ["team-payments", "team-search"]
    report = result.report()
    assert report.startswith(
        "Score gate not met (score drop <= 0.05 since the baseline, match=all, on_missing=wait): "
        "1 passing, 2 failing, 0 missing of 3 watched; compared with a baseline of 3 scores: "
        "2 dropped more than 0.05, 0 new"
    )
    assert "  team-payments: score 0.62 -> 0.50 (-0.12), allowed drop 0.05" in report
    # two decimals would show -0.05 and look allowed: as many as it takes to show it is not
    assert "  team-search: score 0.50 -> 0.45 (-0.052), allowed drop 0.05" in report
    assert "team-web" not in report.splitlines()[1:]


def test_a_drop_of_exactly_max_drop_passes_and_rises_always_pass() -> None:
    now = [rec("a", 0.57), rec("b", 0.99)]
    then = [rec("a", 0.62), rec("b", 0.10)]  # 0.62 - 0.57 is 0.05000000000000004 in floats
    result = GateCondition.build(max_drop=0.05).evaluate(now, then)
    assert result.met, result.report()
    assert not GateCondition.build(max_drop=0.049).evaluate(now, then).met


def test_other_fields_compare_in_their_own_units() -> None:
    result = GateCondition.build(field="total_pass", max_drop=2).evaluate(
        [rec("x", 0.5, total_pass=5), rec("y", 0.5, total_pass=8)],
        [rec("x", 0.5, total_pass=9), rec("y", 0.5, total_pass=10)],
    )
    assert [c.id for c in result.failing] == ["x"]
    assert "  x: total_pass 9 -> 5 (-4), allowed drop 2" in result.report()


@pytest.mark.parametrize(("on_missing", "met"), [("fail", False), ("ignore", True), ("wait", False)])
def test_new_ids_pass_and_vanished_ids_follow_on_missing(on_missing: str, met: bool) -> None:
    now = [rec("team-a", 0.80), rec("team-new", 0.10)]
    then = [rec("team-a", 0.80), rec("team-gone", 0.70)]
    result = GateCondition.build(max_drop=0.05, on_missing=on_missing).evaluate(now, then)
    assert result.met is met
    assert {c.id for c in result.passing} == {"team-a", "team-new"}  # new since the baseline: passes
    (gone,) = result.missing
    assert gone.id == "team-gone"
    assert "  team-gone: gone since the baseline (score was 0.70)" in result.report()
    assert "1 new" in result.report()
    assert result.absent == []  # not a typo: no "closest ids" warning for a team that went away


def test_watched_ids_compare_only_themselves() -> None:
    now = [rec("a", 0.10), rec("b", 0.80)]
    then = [rec("a", 0.90), rec("b", 0.80), rec("c", 0.50)]
    result = GateCondition.build(max_drop=0.05, score_ids=["b"], on_missing="fail").evaluate(now, then)
    assert result.met  # a dropped and c vanished, but only b is watched
    typo = GateCondition.build(max_drop=0.05, score_ids=["bb"], on_missing="fail").evaluate(now, then)
    assert typo.fatal
    assert "bb: absent from the result; closest ids that exist: b" in typo.report()


def test_bounds_and_max_drop_must_both_hold() -> None:
    condition = GateCondition.build(min_score=0.6, max_drop=0.05)
    now = [rec("steady-but-low", 0.50), rec("high-but-fell", 0.80), rec("fine", 0.70)]
    then = [rec("steady-but-low", 0.50), rec("high-but-fell", 0.95), rec("fine", 0.70)]
    result = condition.evaluate(now, then)
    assert [c.id for c in result.failing] == ["steady-but-low", "high-but-fell"]
    report = result.report()
    assert "(score >= 0.6, score drop <= 0.05 since the baseline," in report
    assert "  steady-but-low: score=0.5, needs score >= 0.6" in report
    assert "  high-but-fell: score 0.95 -> 0.80 (-0.15), allowed drop 0.05" in report
    both = condition.evaluate([rec("x", 0.40)], [rec("x", 0.70)]).report()
    assert "  x: score=0.4, needs score >= 0.6; score 0.70 -> 0.40 (-0.30), allowed drop 0.05" in both


def test_without_a_baseline_on_missing_baseline_decides() -> None:
    now = [rec("a", 0.50)]
    passing = GateCondition.build(max_drop=0.05).evaluate(now, None)
    assert passing.met
    assert passing.baseline_missing
    assert "no baseline to compare with, drops not checked (on_missing_baseline=pass)" in passing.report()
    failing = GateCondition.build(max_drop=0.05, on_missing_baseline="fail").evaluate(now, None)
    assert not failing.met
    assert failing.fatal
    assert "no baseline to compare with and on_missing_baseline=fail" in failing.report()
    # the bounds still apply when there is nothing to compare with
    assert not GateCondition.build(max_drop=0.05, min_score=0.6).evaluate(now, None).met
    # an empty result never opens a gate, baseline or not
    assert not GateCondition.build(max_drop=0.05).evaluate([], None).met
    assert not GateCondition.build(max_drop=0.05, on_missing="ignore").evaluate([], [rec("a", 0.5)]).met


def test_an_empty_baseline_is_a_baseline_where_everything_is_new() -> None:
    result = GateCondition.build(max_drop=0.05, on_missing_baseline="fail").evaluate([rec("a", 0.5)], [])
    assert result.met
    assert "compared with a baseline of 0 scores: 0 dropped more than 0.05, 1 new" in result.report()


@pytest.mark.parametrize(
    ("kwargs", "parameter", "fragment"),
    [
        ({}, "min_score", "or max_drop with a baseline"),
        ({"max_drop": 1.5}, "max_drop", "from 0.0 to 1.0"),
        ({"max_drop": -0.1}, "max_drop", "from 0.0 to 1.0"),
        ({"max_drop": "lots"}, "max_drop", "a number"),
        ({"field": "total_fail", "max_drop": -1}, "max_drop", "at least 0"),
        ({"max_drop": 0.05, "on_missing_baseline": "maybe"}, "on_missing_baseline", "'pass' or 'fail'"),
    ],
)
def test_invalid_comparisons(kwargs: dict[str, Any], parameter: str, fragment: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        GateCondition.build(**kwargs)
    assert info.value.parameter == parameter
    assert fragment in str(info.value)


def test_max_drop_alone_is_a_valid_condition_and_travels() -> None:
    condition = GateCondition.build(max_drop="0.05", on_missing_baseline="FAIL", on_missing="ignore")
    assert (condition.max_drop, condition.on_missing_baseline) == (0.05, "fail")
    assert GateCondition.from_description(json.loads(json.dumps(condition.describe()))) == condition
    # a gate without a comparison describes itself as before (trigger kwargs and their hash unchanged)
    assert set(GateCondition.build(min_score=0.5).describe()) == {
        "field",
        "min_value",
        "max_value",
        "match",
        "on_missing",
        "score_ids",
    }


# -- reading baselines ---------------------------------------------------------------------------------


def test_baseline_forms(tmp_path: Path) -> None:
    records = [rec("team-a", 0.5, aggregation="by-team"), rec("team-b", None, aggregation="by-team")]
    as_list = load_baseline(records, aggregation="by-team")
    assert as_list.records == records
    assert load_baseline(json.dumps(records)).records == records
    assert load_baseline(str(records)).records == records  # what Jinja renders of a list without native mode
    path = write_jsonl(tmp_path / "2026-01-01" / "by-team.jsonl", records)
    loaded = load_baseline(f"file://{path}", aggregation="by-team")
    assert (loaded.records, loaded.source) == (records, f"file://{path}")
    (tmp_path / "list.json").write_text(json.dumps(records, indent=2))
    assert load_baseline(str(tmp_path / "list.json")).records == records
    assert load_baseline(f"file://{tmp_path}/nothing-here.jsonl").records is None
    for unset in (None, "", "None"):
        assert load_baseline(unset).records is None


@pytest.mark.parametrize(
    ("lines", "fragment"),
    [
        (
            ['{"id": "a", "score": 0.5}', '{"id": "b", "score": 0.5', ""],
            "line 2 is not valid JSON (Expecting",
        ),
        (['{"id": "a", "score": 0.5}', "", '["b", 0.5]'], "line 3 is a list, expected a record object"),
        (['{"id": "a", "score": 0.5}', '{"score": 0.5}'], "line 2 has no 'id'"),
        (['{"id": "a", "score": 0.5}', '{"id": "b", "level": 2}'], "line 2 (b) has no 'score'"),
        (['{"id": "a", "score": "0.5"}'], "line 1 (a): 'score' is a string '0.5', expected a number"),
        (['{"id": "a", "score": true}'], "line 1 (a): 'score' is a boolean True, expected a number"),
        (
            ['{"id": "a", "score": 0.5, "aggregation": "by-entity"}'],
            "line 1 (a) is a by-entity score but the query is by-team",
        ),
    ],
)
def test_a_corrupt_baseline_names_the_path_and_the_line(
    tmp_path: Path, lines: list[str], fragment: str
) -> None:
    path = tmp_path / "by-team.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InvalidSnapshotError) as info:
        load_baseline(f"file://{path}", aggregation="by-team")
    message = str(info.value)
    assert f"file://{path}" in message
    assert fragment in message
    assert "a baseline is a snapshot written by output_path" in message
    assert isinstance(info.value, InvalidParameterError)
    assert not info.value.retryable  # the task fails at once, retries cannot fix a file


def test_a_corrupt_baseline_text_or_value_is_refused() -> None:
    with pytest.raises(InvalidSnapshotError, match="not valid JSON"):
        load_baseline('[{"id": "a", "score": 0.5},')
    with pytest.raises(InvalidSnapshotError, match="record 2 has no 'id'"):
        load_baseline([{"id": "a", "score": 0.5}, {"score": 0.4}])
    with pytest.raises(InvalidSnapshotError, match="expected a path, a list of records"):
        load_baseline({"path": "x"})


def test_a_folder_is_not_a_baseline(tmp_path: Path) -> None:
    with pytest.raises(InvalidSnapshotError, match="is a folder, not a snapshot file"):
        load_baseline(f"file://{tmp_path}")


def test_snapshot_history_lists_dated_snapshots_oldest_first(tmp_path: Path) -> None:
    for day in ("2026-01-15", "2026-01-01", "2026-01-08", "2026-01-22"):
        write_jsonl(tmp_path / day / "by-team.jsonl", [rec("a", 0.5)])
    (tmp_path / "2026-01-05").mkdir()  # a date without the snapshot
    (tmp_path / "not-a-date").mkdir()
    root = f"file://{tmp_path}"
    found = snapshot_history(root, "by-team.jsonl", until="2026-01-15")
    assert [str(day) for day, _ in found] == ["2026-01-01", "2026-01-08", "2026-01-15"]
    assert found[0][1] == f"{root}/2026-01-01/by-team.jsonl"
    assert [str(d) for d, _ in snapshot_history(root, "by-team.jsonl", last=2)] == [
        "2026-01-15",
        "2026-01-22",
    ]
    assert snapshot_history(f"file://{tmp_path}/missing", "by-team.jsonl") == []


# -- the check operator with a baseline, through real runs ---------------------------------------------


def check(conf: dict[str, Any]) -> Any:
    return run_dag("history_check", conf)


def test_check_fails_on_a_regression_without_retries_naming_each_team(
    history_sim: ScorecardsSimulator, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    now = teams(history_sim)
    then = [dict(r) for r in now]
    then[0]["score"] = round(now[0]["score"] + 0.12, 6)  # the lowest team fell by 0.12
    then[1]["score"] = round(now[1]["score"] + 0.03, 6)  # another one by 0.03: allowed
    path = write_jsonl(tmp_path / "week-ago" / "by-team.jsonl", then)
    result = check({"baseline": f"file://{path}"})
    assert result.state == "failed"
    assert result.task_states["check"] == "failed"  # not up_for_retry although retries=3
    assert len(history_sim.score_requests()) == 1
    out = capfd.readouterr().out
    assert "AirflowFailException" in out
    assert (
        f"{now[0]['id']}: score {then[0]['score']:.2f} -> {now[0]['score']:.2f} (-0.12), allowed drop 0.05"
        in out
    )
    assert f"{now[1]['id']}: score" not in out
    assert f"compared with a baseline of {len(now)} scores: 1 dropped more than 0.05, 0 new" in out


def test_check_passes_when_nothing_dropped_and_new_teams_pass(
    history_sim: ScorecardsSimulator, tmp_path: Path
) -> None:
    before = teams(history_sim)
    history_sim.advance(1)  # drift only improves
    path = write_jsonl(tmp_path / "by-team.jsonl", before[1:])  # the lowest team is new since then
    result = check({"baseline": f"file://{path}"})
    assert result.state == "success", result.task_states
    assert {r["id"] for r in result.xcom("check")} == {r["id"] for r in teams(history_sim)}


def test_check_with_records_as_the_baseline(history_sim: ScorecardsSimulator) -> None:
    now = teams(history_sim)
    then = [{"id": r["id"], "score": r["score"]} for r in now]
    then[-1]["score"] = 1.0
    result = check({"baseline": then, "max_drop": 0.01})  # rendered as the text of a Python list
    assert result.state == "failed"
    assert run_dag("history_check", {"baseline": json.dumps(then[:-1]), "max_drop": 0.01}).state == "success"


def test_a_team_gone_since_the_baseline_follows_on_missing(
    history_sim: ScorecardsSimulator, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = write_jsonl(tmp_path / "by-team.jsonl", [*teams(history_sim), rec("team-dissolved", 0.7)])
    failed = check({"baseline": f"file://{path}", "on_missing": "fail"})
    assert failed.state == "failed"
    assert "team-dissolved: gone since the baseline (score was 0.70)" in capfd.readouterr().out
    assert check({"baseline": f"file://{path}", "on_missing": "ignore"}).state == "success"


def test_a_missing_baseline_passes_with_a_warning_or_fails(
    history_sim: ScorecardsSimulator, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    missing = f"file://{tmp_path}/2020-01-01/by-team.jsonl"
    first_run = check({"baseline": missing})
    assert first_run.state == "success", first_run.task_states
    out = capfd.readouterr().out
    assert f"No baseline to compare with ({missing})" in out
    assert "drops not checked (on_missing_baseline=pass)" in out
    refused = check({"baseline": missing, "on_missing_baseline": "fail"})
    assert refused.state == "failed"
    assert refused.task_states["check"] == "failed"
    assert "no baseline to compare with and on_missing_baseline=fail" in capfd.readouterr().out


def test_a_corrupt_baseline_fails_before_any_request(
    history_sim: ScorecardsSimulator, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = write_jsonl(tmp_path / "by-team.jsonl", teams(history_sim)[:2])
    with path.open("a") as handle:
        handle.write('{"id": "team-x", "score": 0.5\n')
    result = check({"baseline": f"file://{path}"})
    assert result.state == "failed"
    assert result.task_states["check"] == "failed"  # no retries
    assert history_sim.score_requests() == []  # refused before asking the API anything
    out = capfd.readouterr().out
    assert f"Invalid baseline='file://{path}': line 3 is not valid JSON" in out


def test_check_arguments_are_validated_at_parse() -> None:
    from airflow_provider_scorecards.operators.scores import DatadogScoreCheckOperator

    def build(**kwargs: Any) -> Any:
        return DatadogScoreCheckOperator(task_id="c", aggregation="by-team", **kwargs)

    assert build(baseline="file:///s/by-team.jsonl", max_drop=0.05).gate_condition().max_drop == 0.05
    with pytest.raises(InvalidParameterError, match="max_drop compares with a baseline"):
        build(max_drop=0.05)
    with pytest.raises(InvalidParameterError, match="a baseline is only compared with max_drop"):
        build(baseline="file:///s/by-team.jsonl", min_score=0.5)
    with pytest.raises(InvalidParameterError, match="needs a bound"):
        build()
    with pytest.raises(InvalidParameterError, match=r"from 0\.0 to 1\.0"):
        build(baseline="x", max_drop=5)
    with pytest.raises(InvalidParameterError, match="on_missing_baseline"):
        build(baseline="x", max_drop=0.05, on_missing_baseline="skip")
    build(baseline="{{ params.baseline }}", max_drop="{{ params.max_drop }}")  # decided after rendering


# -- snapshots as Asset events -------------------------------------------------------------------------


def asset_events(dag_id: str) -> list[tuple[str, Any]]:
    """(asset uri, event) of the latest run of ``dag_id``, read back from Airflow's database."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run_id = session.scalars(
            select(DagRun.run_id).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).limit(1)
        ).one()
        rows = session.execute(
            select(AssetModel.uri, AssetEvent)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetEvent.source_dag_id == dag_id, AssetEvent.source_run_id == run_id)
            .order_by(AssetModel.uri)
        ).all()
        session.expunge_all()
        return [(uri, event) for uri, event in rows]


def test_asset_events_carry_the_snapshot_summary(history_sim: ScorecardsSimulator, tmp_path: Path) -> None:
    target = f"file://{tmp_path}/teams.jsonl"
    result = run_dag("history_snapshot", {"output_path": target})
    assert result.state == "success", result.task_states
    events = dict(asset_events("history_snapshot"))
    assert set(events) == {
        "datadog-scorecards://history-test/by-kind",
        "datadog-scorecards://history-test/by-team",
    }
    for uri, task_id, path in (
        ("datadog-scorecards://history-test/by-team", "snapshot_teams", target),
        ("datadog-scorecards://history-test/by-kind", "fetch_kinds", None),
    ):
        event = events[uri]
        summary = result.xcom(task_id, "summary")
        assert event.source_task_id == task_id
        expected = {
            k: summary[k] for k in ("count", "mean_score", "min_score", "max_score", "fetched_at", "query")
        }
        if path:
            expected["path"] = path
            expected["sha256"] = hashlib.sha256(Path(path.removeprefix("file://")).read_bytes()).hexdigest()
        assert event.extra == expected  # exactly: nothing else, "path" and "sha256" only with output_path
        assert json.loads(json.dumps(event.extra)) == event.extra
    teams_extra = events["datadog-scorecards://history-test/by-team"].extra
    assert teams_extra["count"] == len(teams(history_sim))
    assert teams_extra["min_score"] == teams(history_sim)[0]["score"]
    assert teams_extra["query"]["aggregation"] == "by-team"


def queued_for(dag_id: str, *, delete: bool = False) -> int:
    """How many asset changes wait to start a run of ``dag_id`` (AssetDagRunQueue rows); ``delete`` drops them."""
    from airflow.models.asset import AssetDagRunQueue

    from tests.airflow_support import init_db

    init_db()
    from airflow.utils.session import create_session
    from sqlalchemy import delete as sql_delete
    from sqlalchemy import func, select

    with create_session() as session:
        count = session.scalar(
            select(func.count()).select_from(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == dag_id)
        )
        if delete:
            session.execute(sql_delete(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == dag_id))
        return int(count or 0)


def run_asset_triggered(dag_id: str) -> Any:
    """Let the scheduler's own code create the asset-triggered run of ``dag_id`` (with the asset events it
    consumes), then run its tasks in process the way dag.test() does. Returns its id and final state."""
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.sdk.definitions.dag import _run_task
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from sqlalchemy import select

    dag = get_dag(dag_id)
    runner = SchedulerJobRunner(job=Job(), num_runs=1)  # type: ignore[no-untyped-call,unused-ignore]
    with create_session() as session:
        model = DagModel.get_dagmodel(dag_id, session=session)
        assert model is not None
        runner._create_dag_runs_asset_triggered(dag_models=[model], session=session)
    with create_session() as session:
        run = session.scalars(
            select(DagRun)
            .where(DagRun.dag_id == dag_id, DagRun.run_type == "asset_triggered")
            .order_by(DagRun.id.desc())
            .limit(1)
        ).one()
        run.dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
        run.state = DagRunState.RUNNING
        session.commit()
        for _ in range(len(dag.tasks) + 2):
            session.expire_all()
            schedulable, _ = run.update_state(session=session)
            if run.state != DagRunState.RUNNING:
                break
            for ti in schedulable:
                ti.try_number += 1
                ti.state = TaskInstanceState.SCHEDULED
            session.commit()
            for ti in schedulable:
                _run_task(ti=ti, task=dag.task_dict[ti.task_id])
        run_id = run.run_id
    with create_session() as session:
        state = session.scalars(select(DagRun.state).where(DagRun.run_id == run_id)).one()
    return SimpleNamespace(dag_id=dag_id, run_id=run_id, state=state)


def xcom_of(run: Any, task_id: str) -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter(
                XComModel.dag_id == run.dag_id,
                XComModel.run_id == run.run_id,
                XComModel.task_id == task_id,
                XComModel.key == "return_value",
            )
            .one()
        )
        return XComModel.deserialize_value(row)


def test_export_snapshots_are_asset_events_that_the_consumer_reads(
    history_sim: ScorecardsSimulator, tmp_path: Path
) -> None:
    root = f"file://{tmp_path}"
    today = pendulum.today("UTC")
    # A running scheduler would have turned earlier snapshots (other tests' exports) into runs already.
    queued_for("scorecards_snapshot_consumer", delete=True)
    result = run_dag("scorecards_export", {"output_root": root}, logical_date=today)
    assert result.state == "success", result.task_states
    if AIRFLOW_VERSION >= (3, 1):  # 3.0's dag.test() registers only the DAG it runs, not its consumers
        assert queued_for("scorecards_snapshot_consumer") == 1  # the by-team asset queued a consumer run
    events = dict(asset_events("scorecards_export"))
    assert set(events) == {f"datadog-scorecards://snapshots/{a}" for a in ("by-entity", "by-rule", "by-team")}
    for aggregation in ("by-team", "by-entity", "by-rule"):
        extra = events[f"datadog-scorecards://snapshots/{aggregation}"].extra
        assert extra["path"] == f"{root}/{today.to_date_string()}/{aggregation}.jsonl"
        assert extra["count"] == len(history_sim.expected_scores(aggregation))
        assert extra["query"]["aggregation"] == aggregation
    by_team = events["datadog-scorecards://snapshots/by-team"]

    if AIRFLOW_VERSION < (3, 1):
        pytest.skip(
            "3.0's dag.test() runs tasks outside the task SDK: no asset-event accessors in the context"
        )
    # Triggered by hand, the consumer takes the latest event of the asset (from the database).
    manual = run_dag("scorecards_snapshot_consumer")
    assert manual.state == "success", manual.task_states
    digest = manual.xcom("digest")
    assert digest["source"] == "latest event"
    assert digest["snapshot"] == by_team.extra
    assert digest["producer"] == f"scorecards_export/{by_team.source_run_id}"
    assert f"{len(teams(history_sim))} teams" in digest["text"]

    if AIRFLOW_VERSION < (3, 3):
        pytest.skip("the asset-triggered half drives the scheduler's private API as of Airflow 3.3")
    # Scheduled on the asset, the scheduler starts it with the events it consumes.
    triggered = run_asset_triggered("scorecards_snapshot_consumer")
    assert triggered.state == "success"
    digest = xcom_of(triggered, "digest")
    assert digest["source"] == "triggering event"
    assert digest["snapshot"] == by_team.extra  # the latest triggering event: this export's snapshot
    assert digest["producer"] == f"scorecards_export/{by_team.source_run_id}"


# -- the export example: regression check and trend picture --------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def weekly_exports(sim: ScorecardsSimulator, root: str, weeks: int, **conf: Any) -> list[Any]:
    """The export for ``weeks`` logical dates a week apart, ending today, a drift step between each."""
    today = pendulum.today("UTC")
    results = []
    for week in range(weeks - 1, -1, -1):
        results.append(
            run_dag(
                "scorecards_export", {"output_root": root, **conf}, logical_date=today.subtract(weeks=week)
            )
        )
        if week:
            sim.advance(1)
    return results


def test_export_draws_the_trend_and_finds_no_regression(
    history_sim: ScorecardsSimulator, tmp_path: Path
) -> None:
    root = f"file://{tmp_path}"
    results = weekly_exports(history_sim, root, 3, lowest=4)
    for result in results:
        assert result.state == "success", result.task_states
        assert result.task_states["no_regression_since_last_week"] == "success"
    report = results[-1].xcom("report")
    today = pendulum.today("UTC").to_date_string()
    assert report["trend"] == f"{root}/{today}/trend.png"
    data = (tmp_path / today / "trend.png").read_bytes()
    assert png_size(data) == (1100, 600)
    assert len(data) > 20_000  # lines, labels and a legend, not an empty canvas
    assert f"Trend of the 4 lowest teams over 3 snapshots: {report['trend']}" in report["text"]
    # the series behind the picture: the lowest teams now, improving week after week (drift only improves)
    history = [(day, read_snapshot(path) or []) for day, path in snapshot_history(root, "by-team.jsonl")]
    trend = lowest_team_trend(history, 4)
    assert list(trend.teams) == [r["id"] for r in teams(history_sim)[:4]]
    for series in trend.teams.values():
        assert None not in series
        assert series == sorted(v for v in series if v is not None)
    assert not (tmp_path / today / "trend.png.partial").exists()


def test_export_flags_a_team_that_dropped_since_last_week(
    history_sim: ScorecardsSimulator, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    week_ago = pendulum.today("UTC").subtract(days=7).to_date_string()
    then = teams(history_sim)
    then[2] = {**then[2], "score": round(then[2]["score"] + 0.2, 6)}
    write_jsonl(tmp_path / week_ago / "by-team.jsonl", then)
    result = run_dag(
        "scorecards_export", {"output_root": f"file://{tmp_path}"}, logical_date=pendulum.today("UTC")
    )
    assert result.state == "failed"
    assert result.task_states["no_regression_since_last_week"] == "failed"
    assert {t: s for t, s in result.task_states.items() if t != "no_regression_since_last_week"} == {
        "fetch_by_team": "success",
        "fetch_by_entity": "success",
        "fetch_by_rule": "success",
        "report": "success",  # the snapshots and the report are still there to look at
    }
    now = teams(history_sim)[2]["score"]
    line = f"{then[2]['id']}: score {then[2]['score']:.2f} -> {now:.2f} (-0.20), allowed drop 0.05"
    assert line in capfd.readouterr().out


def test_without_matplotlib_the_report_says_how_to_install_the_extra(
    history_sim: ScorecardsSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what `import matplotlib` meets when absent
    with pytest.raises(PlotExtraMissing) as info:
        render_trend_png(lowest_team_trend([], 3))
    assert PLOT_EXTRA in str(info.value)
    assert PLOT_EXTRA == "pip install 'airflow-provider-scorecards[plot]'"
    result = run_dag(
        "scorecards_export", {"output_root": f"file://{tmp_path}"}, logical_date=pendulum.today("UTC")
    )
    assert result.state == "success", result.task_states
    report = result.xcom("report")
    assert report["trend"] is None
    assert (
        f"Trend picture skipped: the trend picture needs matplotlib, which is not installed: {PLOT_EXTRA}"
        in (report["text"])
    )
    assert not list(tmp_path.glob("*/trend.png"))


def test_trend_of_one_snapshot_and_of_gaps() -> None:
    day = pendulum.date(2026, 1, 1)
    single = lowest_team_trend([(day, [rec("a", 0.5), rec("b", 0.7), rec("idle", 0.0, denominator=0)])], 5)
    assert list(single.teams) == ["a", "b"]  # nothing evaluated is no score, not the lowest one
    assert single.mean == [pytest.approx(0.6)]
    assert png_size(render_trend_png(single)) == (1100, 600)
    gaps = lowest_team_trend(
        [
            (day, [rec("a", 0.5)]),
            (day.add(days=7), [rec("b", 0.2)]),
            (day.add(days=14), [rec("a", 0.6), rec("b", 0.3)]),
        ],
        2,
    )
    assert gaps.teams == {"b": [None, 0.2, 0.3], "a": [0.5, None, 0.6]}
    assert png_size(render_trend_png(gaps, title="gaps")) == (1100, 600)


def test_parsing_a_dag_never_imports_matplotlib_or_the_history_modules() -> None:
    code = (
        "import sys, runpy\n"
        "import airflow_provider_scorecards.operators.scores, airflow_provider_scorecards.sensors.scores\n"
        f"runpy.run_path({str(EXAMPLE_DAGS / 'scorecards_export.py')!r})\n"
        f"runpy.run_path({str(EXAMPLE_DAGS / 'scorecards_snapshot_consumer.py')!r})\n"
        "print(sorted(m for m in sys.modules if m.startswith('matplotlib') or m in "
        "('airflow_provider_scorecards.trend', 'airflow_provider_scorecards.snapshots')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
