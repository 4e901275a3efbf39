"""The deferred sensor's resumption: ``soft_fail`` turns only the timeout into a skip, never a failed gate.

The trigger's event is handed to ``resume_execution`` as the task runner hands it after a deferral.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_scorecards._compat import AirflowFailException
from airflow_provider_scorecards.sensors.scores import DatadogScoreThresholdSensor


def _sensor(**kwargs: Any) -> DatadogScoreThresholdSensor:
    return DatadogScoreThresholdSensor(
        task_id="gate", aggregation="by-team", min_score=0.8, datadog_conn_id="absent", **kwargs
    )


def _resume(sensor: DatadogScoreThresholdSensor, next_method: str, next_kwargs: dict[str, Any]) -> Any:
    return sensor.resume_execution(next_method, next_kwargs, {})  # type: ignore[arg-type]


def test_a_failed_gate_after_a_deferral_fails_even_with_soft_fail() -> None:
    event = {"status": "failed", "report": "team-a: score=0.1, needs score >= 0.8", "verdict": {}}
    with pytest.raises(AirflowFailException, match="team-a"):
        _resume(_sensor(soft_fail=True, explain=False), "execute_complete", {"event": event})


@pytest.mark.parametrize("soft_fail", [False, True])
def test_a_deferral_timeout_whose_last_check_cannot_run_fails_even_with_soft_fail(soft_fail: bool) -> None:
    operator = pytest.importorskip("airflow.sdk.bases.operator")
    if not hasattr(operator, "TriggerFailureReason"):
        pytest.skip("this Airflow reports a trigger's timeout another way")
    timeout = operator.TriggerFailureReason.TRIGGER_TIMEOUT
    with pytest.raises(AirflowFailException, match="absent"):  # the connection is missing: never a skip
        _resume(_sensor(soft_fail=soft_fail), operator.TRIGGER_FAIL_REPR, {"error": timeout})
