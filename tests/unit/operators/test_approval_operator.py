"""DatadogScoreApprovalOperator: a clear error on Airflow 3.0, and what an answer does on 3.1+.

The answer is handed to ``execute_complete`` as Airflow's human-in-the-loop machinery hands it (the
event), with a stand-in for the task instance's XCom calls; the full round trip through Required Actions
and the REST API is the deployment tier's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airflow_provider_scorecards._compat import AirflowFailException
from airflow_provider_scorecards.operators.approval import HITL_UNAVAILABLE, DatadogScoreApprovalOperator


class _TaskInstanceXCom:
    """The two XCom calls the operator makes on its task instance."""

    map_index = -1

    def __init__(self, verdict: dict[str, Any]) -> None:
        self.store: dict[str, Any] = {"verdict": verdict}

    def xcom_pull(self, *, task_ids: str, key: str, map_indexes: int) -> Any:
        return self.store.get(key)

    def xcom_push(self, *, key: str, value: Any) -> None:
        self.store[key] = value


def _event(option: str, comment: str | None = "hotfix for an outage") -> dict[str, Any]:
    return {
        "chosen_options": [option],
        "params_input": {"comment": comment},
        "responded_at": datetime(2026, 12, 2, 9, 30, tzinfo=UTC),
        "responded_by_user": {"id": "7", "name": "ana"},
    }


needs_hitl = pytest.mark.skipif(HITL_UNAVAILABLE is not None, reason="human-in-the-loop needs Airflow 3.1+")


@pytest.mark.skipif(HITL_UNAVAILABLE is None, reason="Airflow 3.1+ has human-in-the-loop")
def test_on_airflow_3_0_it_is_a_clear_error_naming_the_version() -> None:
    with pytest.raises(RuntimeError, match=r"needs Airflow 3\.1 or later .* this is Airflow 3\.0"):
        DatadogScoreApprovalOperator(task_id="approve", aggregation="by-entity", min_score=0.8)


@needs_hitl
def test_approve_records_the_override_in_the_verdict() -> None:
    operator = DatadogScoreApprovalOperator(task_id="approve", aggregation="by-entity", min_score=0.8)
    ti = _TaskInstanceXCom({"met": False, "failing": ["service:checkout-api"]})
    verdict = operator.execute_complete({"ti": ti}, _event("Approve"))  # type: ignore[arg-type]
    expected = {
        "met": False,
        "failing": ["service:checkout-api"],
        "overridden": True,
        "by": "ana",
        "at": "2026-12-02T09:30:00+00:00",
        "comment": "hotfix for an outage",
    }
    assert verdict == expected
    assert ti.store["verdict"] == expected


@needs_hitl
def test_reject_fails_without_retries() -> None:
    operator = DatadogScoreApprovalOperator(task_id="approve", aggregation="by-entity", min_score=0.8)
    ti = _TaskInstanceXCom({"met": False})
    with pytest.raises(AirflowFailException, match="Rejected by ana"):
        operator.execute_complete({"ti": ti}, _event("Reject", None))  # type: ignore[arg-type]
    assert ti.store["verdict"]["overridden"] is False


@needs_hitl
def test_no_answer_in_time_fails_without_retries() -> None:
    operator = DatadogScoreApprovalOperator(task_id="approve", aggregation="by-entity", min_score=0.8)
    event = {"error": "timed out", "error_type": "timeout"}
    with pytest.raises(AirflowFailException, match="No approval"):
        operator.execute_complete({"ti": _TaskInstanceXCom({})}, event)  # type: ignore[arg-type]


@needs_hitl
def test_a_bad_argument_fails_at_parse() -> None:
    with pytest.raises(ValueError, match="on_missing"):
        DatadogScoreApprovalOperator(task_id="a", aggregation="by-entity", min_score=0.8, on_missing="wait")
    with pytest.raises(ValueError, match="waivers"):
        DatadogScoreApprovalOperator(
            task_id="b", aggregation="by-entity", min_score=0.8, waivers={"service:x": "soon"}
        )


@needs_hitl
def test_the_request_has_a_comment_field_and_approve_reject() -> None:
    operator = DatadogScoreApprovalOperator(task_id="approve", aggregation="by-entity", min_score=0.8)
    assert operator.options == ["Approve", "Reject"]
    assert list(operator.serialized_params) == ["comment"]


@needs_hitl
def test_a_pendulum_duration_becomes_a_plain_timedelta() -> None:
    import pendulum

    operator = DatadogScoreApprovalOperator(
        task_id="approve", aggregation="by-entity", min_score=0.8, response_timeout=pendulum.duration(hours=4)
    )
    assert type(operator.response_timeout) is timedelta
    assert operator.response_timeout == timedelta(hours=4)


def test_the_body_is_a_fenced_block_wrapped_to_the_pane() -> None:
    """The Required Actions pane shows about 80 columns: long report lines wrap under their indent, and
    text from the server stays inside the fence (no link, no image, no closing fence of its own)."""
    from airflow_provider_scorecards.operators.approval import BODY_COLUMNS, _markdown

    report = (
        "Score gate failed (score >= 0.8, match=all, on_missing=fail): 1 passing, 0 failing, 1 missing of 2"
        " watched\n  service:checkout-api-v2: absent from the result; closest ids that exist: "
        "service:checkout-api, service:checkout-web\n  service:x```![img](http://evil.example/p.png): 0.1"
    )
    body = _markdown(report)
    lines = body.splitlines()
    assert lines[0] == "```text"
    assert lines[-1] == "```"
    assert body.count("```") == 2  # the server's fence is broken
    assert all(len(line) <= BODY_COLUMNS for line in lines[1:-1])
    assert lines[1].startswith("Score gate failed")
    assert lines[2].startswith("    ")
    assert any(line.startswith("  service:checkout-api-v2: absent from the result") for line in lines)
    assert " ".join(" ".join(lines[1:-1]).split()) == " ".join(report.replace("```", "'''").split())
