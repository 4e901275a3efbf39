"""Every code sample of the docs runs as a reader copies it: exactly the text the page shows
(``tests/docs_samples.py``), run the way the page means it (``Sample.how``).

A test file runs under ``pytest`` in a fresh process, beside the other files the docs show (each as shown),
with the environment of a new shell; a DAG file is parsed from the DAG folder, then each of its DAGs runs
with ``dag.test()`` against the simulator, as ``airflow dags test`` does; a script runs as it is against
the simulator; a value is a Python literal; JSON parses; a shell block is valid ``bash``. A sample cut off
from a definition it needs fails here, not in a reader's hands.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import airflow
import pendulum
import pytest

from airflow_provider_scorecards.simulator import ScorecardsSimulator
from tests.airflow_support import init_db
from tests.conftest import CONN_ENV
from tests.docs_samples import DOCS, PYTHON, Sample, every_sample

SAMPLES = every_sample()


def _of(how: str) -> list[Sample]:
    return [sample for sample in SAMPLES if sample.how == how]


def _id(sample: Sample) -> str:
    return sample.where


def test_the_docs_show_code_of_every_kind() -> None:
    kinds = {sample.how for sample in SAMPLES}
    assert {"pytest", "dag", "script", "value", "json", "bash"} <= kinds
    assert len(_of("dag")) + len(_of("script")) >= 10


@pytest.mark.parametrize("sample", _of("script"), ids=_id)
def test_a_script_runs(sample: Sample, sim_conn: ScorecardsSimulator) -> None:
    exec(compile(sample.text, sample.where, "exec"), {"__name__": "__main__"})


@pytest.fixture
def writable_conn(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScorecardsSimulator]:
    """A simulator of the test's own, for a sample that writes: the shared one stays as generated."""
    with ScorecardsSimulator(seed=7, entities=300, outcome_delay=0) as sim:
        monkeypatch.setenv(CONN_ENV, sim.connection_uri())
        yield sim


@pytest.mark.parametrize("sample", _of("dag"), ids=_id)
def test_a_dag_file_parses_and_runs(sample: Sample, request: pytest.FixtureRequest) -> None:
    request.getfixturevalue("writable_conn" if "Outcome" in sample.text else "sim_conn")
    from airflow import settings

    from airflow_provider_scorecards.testing.airflow_env import _run_loaded

    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.0
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]
    init_db()
    name = re.sub(r"\W", "_", sample.where)
    # The folder of Airflow's dags-folder bundle, where dag.test() parses the DAG from.
    path = Path(settings.DAGS_FOLDER) / f"docs_sample_{name}.py"
    path.write_text(sample.text, encoding="utf-8")
    try:
        bag = DagBag(str(path))
        assert not bag.import_errors, f"{sample.where}: {bag.import_errors}"
        assert bag.dag_ids, f"{sample.where}: no DAG"
        if "triggering_asset_events" in sample.text and airflow.__version__.startswith("3.0."):
            pytest.skip("3.0's dag.test() runs tasks outside the task SDK: no asset-event accessors")
        for dag_id in bag.dag_ids:
            result = _run_loaded(bag.get_dag(dag_id), {}, pendulum.now("UTC"))  # as `airflow dags test`
            assert result.state == "success", f"{sample.where}: {dag_id} {result.task_states}"
    finally:
        path.unlink()


@pytest.mark.parametrize("sample", _of("pytest"), ids=_id)
def test_a_test_file_passes_under_pytest(sample: Sample, tmp_path: Path) -> None:
    assert sample.source is not None
    shown: dict[str, str] = {}
    for other in SAMPLES:  # what the docs show of each file, side by side as a reader copies them
        if other.source is not None and other.language in PYTHON:
            assert shown.setdefault(other.source.name, other.text) == other.text, (
                f"{other.where}: the docs show {other.source.name} in two ways"
            )
            (tmp_path / other.source.name).write_text(other.text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DD_", "SCORECARDS_"))}
    env["HOME"] = str(tmp_path)  # Airflow imported without AIRFLOW_HOME writes ~/airflow
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", sample.source.name]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, f"{sample.where}:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"


@pytest.mark.parametrize("sample", _of("value"), ids=_id)
def test_a_value_is_a_python_literal(sample: Sample) -> None:
    ast.literal_eval(sample.text)


@pytest.mark.parametrize("sample", _of("json"), ids=_id)
def test_json_parses(sample: Sample) -> None:
    json.loads(sample.text)


@pytest.mark.parametrize("sample", _of("bash"), ids=_id)
def test_a_shell_block_is_valid_bash(sample: Sample) -> None:
    result = subprocess.run(["bash", "-n"], input=sample.text, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, f"{sample.where}: {result.stderr}"


def test_the_report_examples_are_what_the_gate_says() -> None:
    from airflow_provider_scorecards.gate.condition import GateCondition

    page = (DOCS / "check.rst").read_text(encoding="utf-8")
    report = (
        GateCondition.build(min_score=0.8, score_ids=["service:checkout-api"])
        .evaluate([{"id": "service:checkout-api", "score": 0.62, "denominator": 8}])
        .report()
    )
    teams = [f"team-{n:02d}" for n in range(15)]
    before = [{"id": t, "score": 0.7, "denominator": 10} for t in teams]
    before.append({"id": "team-payments", "score": 0.62, "denominator": 10})
    now = [{**r, "score": 0.5 if r["id"] == "team-payments" else r["score"]} for r in before]
    regression = GateCondition.build(max_drop=0.05, on_missing="fail").evaluate(now, baseline=before).report()
    for text in (report, regression):
        assert "\n".join("   " + line for line in text.splitlines()) in page


def test_the_first_dag_page_shows_what_the_simulator_prints() -> None:
    from airflow_provider_scorecards.simulator.cli import _banner

    (shown,) = [s.text for s in SAMPLES if s.text.startswith("Scorecards simulator on")]
    with ScorecardsSimulator() as sim:  # the command's defaults
        printed = _banner(sim, "127.0.0.1").replace(str(sim.port), "8765")  # the page's --port 8765
    pattern = re.escape(shown.strip()).replace(re.escape("..."), ".*?")  # "..." elides the keys' tails
    assert re.fullmatch(pattern, printed.strip()), printed
