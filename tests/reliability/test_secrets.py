"""Keys and tokens never appear in task logs, XComs, rendered template fields, exceptions or simulator logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pendulum
import pytest

from airflow_provider_scorecards.simulator import ScorecardsSimulator
from tests.airflow_support import run_dag
from tests.conftest import CONN_ENV

API_KEY = "SECRETAPIKEY-4f1d2e3c"
APP_KEY = "SECRETAPPKEY-9a8b7c6d"
TOKEN = "SECRETTOKEN-0e1f2a3b"
SECRETS = (API_KEY, APP_KEY, TOKEN)


@pytest.fixture
def secret_sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScorecardsSimulator]:
    with ScorecardsSimulator(
        seed=7, entities=60, api_key=API_KEY, app_key=APP_KEY, bearer_token=TOKEN, improve_every_requests=2
    ) as sim:
        conn = sim.connection_dict()
        conn["extra"]["backoff_base"] = 0.01
        monkeypatch.setenv(CONN_ENV, json.dumps(conn))
        yield sim


def _all_xcoms_and_rendered_fields() -> str:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        xcoms = [repr(XComModel.deserialize_value(row)) for row in session.query(XComModel).all()]
        rendered = [repr(row.rendered_fields) for row in session.query(RenderedTaskInstanceFields).all()]
    return "\n".join(xcoms + rendered)


def test_no_secret_anywhere(
    secret_sim: ScorecardsSimulator,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: object,
) -> None:
    caplog.set_level(logging.DEBUG, logger="airflow_provider_scorecards.simulator")
    results = [
        run_dag(
            "scorecards_export", {"output_root": f"file://{tmp_path}"}, logical_date=pendulum.today("UTC")
        ),
        run_dag("scorecards_deploy_gate"),
        run_dag("scorecards_team_fanout"),
        run_dag(
            "gate_poke_timeout",
            {"score_ids": ["service:checkout-api"], "min_score": 1.0, "aggregation": "by-kind"},
        ),
    ]
    secret_sim.faults.inject("status", 1, status=403)
    results.append(run_dag("scores_from_params", {"aggregation": "by-team"}))
    states = [r.state for r in results]
    assert states[:2] == ["success", "success"]
    assert states[3:] == ["failed", "failed"]  # the sensor timed out; the API answered 403
    output = capfd.readouterr()
    haystacks = {
        "task logs (stdout)": output.out,
        "task logs (stderr)": output.err,
        "python logging": caplog.text,
        "XComs and rendered template fields": _all_xcoms_and_rendered_fields(),
        "simulator request log": repr(secret_sim.requests),
    }
    assert "SensorTimeout" in output.out
    assert "ScorecardsAuthError" in output.out
    for where, text in haystacks.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret[:12]}... found in {where}"
