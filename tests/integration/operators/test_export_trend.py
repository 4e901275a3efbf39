"""The export example: the regression check and the trend picture, through real runs."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pendulum
import pytest

from airflow_provider_scorecards.operators.snapshots import (
    read_snapshot,
    snapshot_history,
)
from airflow_provider_scorecards.operators.trend import (
    PLOT_EXTRA,
    PlotExtraMissing,
    lowest_team_trend,
    render_trend_png,
)
from airflow_provider_scorecards.simulator import ScorecardsSimulator
from tests.airflow_support import run_dag
from tests.conftest import EXAMPLE_DAGS
from tests.history_support import rec, teams, write_jsonl

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


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


def test_an_id_with_matplotlib_markup_is_drawn_as_text() -> None:
    day = pendulum.date(2026, 1, 1)
    trend = lowest_team_trend([(day, [rec("team-$\\alpha_$", 0.5), rec("cost$\\frac{$x", 0.4)])], 5)
    assert png_size(render_trend_png(trend)) == (1100, 600)


def test_history_reads_only_folders_named_yyyy_mm_dd(tmp_path: Path) -> None:
    for folder in ("2024-01-05", "20240105", "2024-W01-5", "2024-02-30", "notes"):
        write_jsonl(tmp_path / folder / "by-team.jsonl", [rec("a", 0.5)])
    assert [day for day, _ in snapshot_history(f"file://{tmp_path}", "by-team.jsonl")] == [
        pendulum.date(2024, 1, 5)
    ]


def test_parsing_a_dag_never_imports_matplotlib_or_the_history_modules() -> None:
    code = (
        "import sys, runpy\n"
        "import airflow_provider_scorecards.operators.scores, airflow_provider_scorecards.sensors.scores\n"
        f"runpy.run_path({str(EXAMPLE_DAGS / 'scorecards_export.py')!r})\n"
        f"runpy.run_path({str(EXAMPLE_DAGS / 'scorecards_snapshot_consumer.py')!r})\n"
        "print(sorted(m for m in sys.modules if m.startswith('matplotlib') or m in "
        "('airflow_provider_scorecards.operators.trend', 'airflow_provider_scorecards.operators.snapshots')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
