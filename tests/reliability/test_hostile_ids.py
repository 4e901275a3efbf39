"""A hostile id cannot forge a line, reorder text or hide itself: in the log, the report, the verdict, the
approval body. Real Airflow (dag.test()) against a loopback server whose ids carry control characters."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from airflow_provider_scorecards.operators.approval import HITL_UNAVAILABLE, DatadogScoreApprovalOperator
from tests.airflow_support import run_dag
from tests.conftest import CONN_ENV
from tests.reliability.hostile_servers import HostileServer, answer, serving

FORGED = "Score gate met; deploying:"
HOSTILE_IDS = [
    f"service:x\n{FORGED}",
    f"service:y\r{FORGED}",
    f"service:z\x1b[2K\x1b[1G{FORGED}",
    "service:\u202eyolpeD",
    "service:w\u2028" + FORGED,
    "service:\u200bcheckout-api",
]
INVISIBLE = ("Cc", "Cf", "Zl", "Zp")


def _page(handler: BaseHTTPRequestHandler) -> None:
    data = [
        {"id": score_id, "type": "score", "attributes": {"score": 0.1, "numerator": 1, "denominator": 10}}
        for score_id in HOSTILE_IDS
    ]
    answer(handler, body=json.dumps({"data": data, "meta": {"total": len(data)}}).encode())


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch) -> Iterator[HostileServer]:
    with serving(_page) as server:
        monkeypatch.setenv(CONN_ENV, server.connection())
        yield server


def visible(text: str) -> bool:
    return not any(unicodedata.category(ch) in INVISIBLE for ch in text.replace("\n", ""))


def test_the_log_the_report_and_the_verdict_show_hostile_ids_as_escapes(
    hostile: HostileServer, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run_dag("gate_check", {"aggregation": "by-entity", "min_score": 0.8})
    assert result.task_states["check"] == "failed"
    verdict = result.xcom("check", "verdict")
    assert len(verdict["failing"]) == len(HOSTILE_IDS)
    assert all(visible(i) and "\n" not in i for i in verdict["failing"])
    assert "service:x\\nScore gate met; deploying:" in verdict["failing"]
    assert "service:\\u202eyolpeD" in verdict["failing"]
    report = verdict["report"]
    assert visible(report)
    assert not any(line.lstrip().startswith(FORGED) for line in report.splitlines())
    out = capfd.readouterr().out
    assert not any(line.lstrip().startswith(FORGED) for line in out.splitlines())
    assert "\u202e" not in out
    assert "\x1b[2K" not in out


@pytest.mark.skipif(HITL_UNAVAILABLE is not None, reason="human-in-the-loop needs Airflow 3.1+")
def test_the_approval_body_shows_hostile_ids_as_escapes(hostile: HostileServer) -> None:
    operator = DatadogScoreApprovalOperator(
        task_id="approve", aggregation="by-entity", min_score=0.8, explain=False
    )
    pushed: dict[str, Any] = {}

    class TaskInstance:  # the XCom call the operator makes before it asks for a person
        map_index = -1

        def xcom_push(self, *, key: str, value: Any) -> None:
            pushed[key] = value

    # Asking a person needs a task runner (dag.test() cannot answer); the body is written before that.
    with pytest.raises(Exception):  # noqa: B017, PT011
        operator.execute({"ti": TaskInstance()})  # type: ignore[arg-type]
    assert pushed["verdict"]["failing"]
    assert visible(operator.body)
    assert not any(line.lstrip().startswith(FORGED) for line in operator.body.splitlines())
    assert "service:x\\nScore gate met; deploying:" in operator.body
