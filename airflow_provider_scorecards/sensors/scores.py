"""DatadogScoreThresholdSensor: wait until scores satisfy a gate (poke, reschedule or deferrable).

Imported at every DAG parse: the hook, the trigger and ``requests`` load only when the sensor runs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import suppress
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.configuration import conf
from airflow.sdk import BaseOperator, BaseSensorOperator, PokeReturnValue

from airflow_provider_scorecards._compat import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferralTimeout,
)
from airflow_provider_scorecards.client.coercion import coerce_int
from airflow_provider_scorecards.client.errors import ScorecardsError
from airflow_provider_scorecards.task_base import (
    DatadogScorecardsGateBaseOperator,
    GateArguments,
    failing_fast,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_scorecards.gate import GateResult

DEFERRAL_TIMEOUT_MARGIN = 300
"""Seconds the deferral may outlive ``timeout``: the trigger reports the timeout itself, with the report."""


class _GateEnded(Exception):
    """Raised inside poke() to end the wait for good; execute() turns it into AirflowFailException.

    Raised as a plain exception (not AirflowFailException) so that BaseSensorOperator's soft_fail handling,
    which turns AirflowFailException into a skip, never hides a failed gate or a misconfiguration.
    """


class DatadogScoreThresholdSensor(DatadogScorecardsGateBaseOperator, BaseSensorOperator):
    """Wait until Datadog Scorecards scores satisfy a threshold ("do not deploy until it is good enough").

    The query arguments, ``datadog_conn_id`` and the gate arguments are those of
    :class:`~airflow_provider_scorecards.task_base.DatadogScorecardsGateBaseOperator`.

    :param on_missing: what an absent id or a score with denominator 0 means: ``"wait"`` (default),
        ``"fail"`` or ``"ignore"`` (templated).
    :param max_consecutive_failures: transient API failures (429, 5xx, timeouts) tolerated in a row, each
        after the hook's own retries, before the sensor fails with the last error.
    :param deferrable: hand the waiting to the triggerer (no worker slot held). Defaults to Airflow's
        ``[operators] default_deferrable``.

    Outcomes: met → the records that met the condition are the return value. ``timeout`` →
    ``AirflowSensorTimeout`` whose message lists every failing id with its value and the bound (a skip with
    ``soft_fail=True``). A gate that cannot be met (``on_missing="fail"``), a configuration error and a
    400/401/403 fail at once with ``AirflowFailException``, never a skip.
    """

    template_fields: Sequence[str] = DatadogScorecardsGateBaseOperator.template_fields

    def __init__(
        self,
        *,
        on_missing: str = "wait",
        max_consecutive_failures: int = 3,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(on_missing=on_missing, **kwargs)
        self.max_consecutive_failures = coerce_int(
            "max_consecutive_failures", max_consecutive_failures, minimum=1, maximum=100
        )
        self.deferrable = deferrable
        self.validate_plain_arguments()
        self._consecutive_failures = 0
        self._last_report: str | None = None
        self._warned_absent = False
        self._arguments: GateArguments | None = None

    def _gate(self) -> GateArguments:
        """Return the query, condition and connection id, built from the rendered arguments once.

        Built on first use so that ``poke()`` works on its own (users' unit tests call it without
        ``execute()``).
        """
        if self._arguments is None:
            self._arguments = self.gate_arguments()
        return self._arguments

    def _check(self) -> GateResult:
        from airflow_provider_scorecards.gate import check_gate
        from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook

        args = self._gate()
        with DatadogScorecardsHook(args.conn_id) as hook:
            self.scorecards_ui_url = hook.scorecards_ui_url
            result = check_gate(hook.get_conn(), args.query, args.condition)
        if not self._warned_absent:
            warning = result.absent_warning()
            if warning:
                self._warned_absent = True
                self.log.warning("%s", warning)
        return result

    # -- execution ----------------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        """Wait for the gate: poke in the worker, or defer to the triggerer when ``deferrable``.

        Bad arguments fail the task before any request; a gate that cannot be met any more fails it
        without retries; a timeout names the last verdict (a skip instead under ``soft_fail``).
        """
        with failing_fast():  # configuration errors end the task here, before any request
            args = self._gate()
        if self.deferrable:
            return self._execute_deferrable(args)
        try:
            return super().execute(context)
        except _GateEnded as exc:
            raise AirflowFailException(str(exc)) from None
        except AirflowSensorTimeout as exc:
            raise AirflowSensorTimeout(self._timeout_message(str(exc))) from exc
        except AirflowSkipException as exc:  # soft_fail: the timeout, as a skip that still says why
            raise AirflowSkipException(self._timeout_message(str(exc))) from exc

    def poke(self, context: Context) -> PokeReturnValue | bool:
        """Check the gate once; a transient API failure is one more poke, up to ``max_consecutive_failures``.

        When met, the passing records are the sensor's XCom value.
        """
        try:
            result = self._check()
        except ScorecardsError as exc:
            if not exc.retryable:
                raise _GateEnded(f"{type(exc).__name__}: {exc}") from exc
            self._consecutive_failures += 1
            if self._consecutive_failures >= self.max_consecutive_failures:
                self.log.error(
                    "Giving up after %d consecutive transient failures", self._consecutive_failures
                )
                raise
            self.log.warning(
                "Transient failure %d of %d, waiting for the next poke: %s",
                self._consecutive_failures,
                self.max_consecutive_failures,
                exc,
            )
            return False
        self._consecutive_failures = 0
        self._last_report = result.report()
        if result.met:
            self.log.info("%s", self._last_report)
            return PokeReturnValue(is_done=True, xcom_value=result.passed_records)
        if result.fatal:
            raise _GateEnded(self._last_report)
        self.log.info("%s", self._last_report)
        return False

    def _execute_deferrable(self, args: GateArguments) -> Any:
        from airflow_provider_scorecards.triggers.scores import DatadogScoreThresholdTrigger

        with failing_fast():
            result = self._check()  # a gate already met costs no deferral
        self._last_report = result.report()
        if result.met:
            self.log.info("%s", self._last_report)
            return result.passed_records
        if result.fatal:
            raise AirflowFailException(self._last_report)
        self.log.info("%s; deferring", self._last_report)
        self.defer(
            trigger=DatadogScoreThresholdTrigger(
                datadog_conn_id=args.conn_id,
                query=args.query.describe(),
                condition=args.condition.describe(),
                poke_interval=float(self.poke_interval),
                deadline=time.time() + float(self.timeout),
                max_consecutive_failures=self.max_consecutive_failures,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout) + DEFERRAL_TIMEOUT_MARGIN),
        )

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """Resume after the deferral; only the deferral's own timeout becomes the sensor's timeout."""
        # BaseSensorOperator.resume_execution would turn any AirflowException (a failed gate, a 403) into a
        # skip under soft_fail; soft_fail must only ever cover the timeout, which execute_complete handles.
        try:
            return BaseOperator.resume_execution(self, next_method, next_kwargs, context)
        except TaskDeferralTimeout as exc:
            self._raise_timeout(f"Deferral timed out ({exc}) before the trigger reported")

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Finish a deferred wait from the trigger's event: the passing records, a timeout or a failure."""
        self._remember_ui_url()
        status = event.get("status")
        if status == "met":
            self.log.info("%s", event.get("report"))
            return event.get("records", [])
        if status == "timeout":
            self._last_report = event.get("report")
            self._raise_timeout(f"Sensor timed out after {self.timeout}s")
        raise AirflowFailException(str(event.get("message") or event.get("report") or event))

    def _remember_ui_url(self) -> None:
        """Where the extra link points after resuming from the triggerer (a new process: nothing kept)."""
        from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook

        with suppress(ScorecardsError):  # else the link shows Datadog's main site; the event decides
            self.scorecards_ui_url = DatadogScorecardsHook(self.connection_id()).scorecards_ui_url

    # -- timeout ------------------------------------------------------------------------------------

    def _timeout_message(self, head: str) -> str:
        return f"{head}\n{self._last_report}" if self._last_report else head

    def _raise_timeout(self, head: str) -> None:
        message = self._timeout_message(head)
        if self.soft_fail:
            raise AirflowSkipException(message)
        raise AirflowSensorTimeout(message)
