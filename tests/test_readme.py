"""Every code block of the README does what it says (the shell ones are run by CI and `make demo`)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook
from airflow_provider_scorecards.simulator import ScorecardsSimulator
from tests.conftest import CONN_ENV

README = (Path(__file__).parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"```(\w*)\n(.*?)```", README, flags=re.S)
PYTHON = [code for lang, code in BLOCKS if lang == "python"]


def test_the_readme_has_the_two_commands() -> None:
    shell = "\n".join(code for lang, code in BLOCKS if lang == "bash")
    assert "make demo" in shell
    assert "make test" in shell


@pytest.mark.parametrize("code", PYTHON, ids=lambda c: c.strip().splitlines()[-1][:40])
def test_python_blocks_run(code: str, sim_conn: ScorecardsSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # operators are built, the hook really fetches
    if "test_my_dag" in namespace:
        namespace["test_my_dag"](monkeypatch)


def test_connection_json_block_is_what_the_hook_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    (line,) = [ln for ln in README.splitlines() if ln.startswith(f"export {CONN_ENV}=")]
    value = json.loads(line.split("=", 1)[1].strip("'"))
    monkeypatch.setenv(CONN_ENV, json.dumps(value))
    config = DatadogScorecardsHook().settings
    assert config.base_url == "https://api.datadoghq.eu"
    assert (config.api_key, config.app_key) == ("<DD_API_KEY>", "<DD_APP_KEY>")


def test_report_example_matches_the_real_report_format() -> None:
    from airflow_provider_scorecards.gate import GateCondition

    report = (
        GateCondition.build(min_score=0.8, score_ids=["service:checkout-api"])
        .evaluate([{"id": "service:checkout-api", "score": 0.62, "denominator": 8}])
        .report()
    )
    assert report in README


def test_regression_report_example_matches_the_real_report_format() -> None:
    from airflow_provider_scorecards.gate import GateCondition

    teams = [f"team-{n:02d}" for n in range(15)]
    before = [{"id": t, "score": 0.7, "denominator": 10} for t in teams]
    before.append({"id": "team-payments", "score": 0.62, "denominator": 10})
    now = [{**r, "score": 0.5 if r["id"] == "team-payments" else r["score"]} for r in before]
    report = GateCondition.build(max_drop=0.05, on_missing="fail").evaluate(now, baseline=before).report()
    assert report in README
