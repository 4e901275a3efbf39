"""DatadogScoreThresholdSensor: wait until scores satisfy a gate (poke, reschedule or deferrable).

Imported at every DAG parse: the hook (with ``requests``) and the trigger load only when the sensor runs.
"""

from __future__ import annotations

import time
from contextlib import suppress
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.configuration import conf
from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_scorecards._compat import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferralTimeout,
)
from airflow_provider_scorecards.client.coercion import coerce_int
from airflow_provider_scorecards.client.errors import ScorecardsError
from airflow_provider_scorecards.gate.condition import check_gate
from airflow_provider_scorecards.gate.rollout import decide, explain_ids, verdict_from_parts
from airflow_provider_scorecards.gate.verdict import decision_parts, dry_run_message
from airflow_provider_scorecards.gate.waivers import describe_waivers
from airflow_provider_scorecards.operators.base import (
    DatadogScorecardsGateBaseOperator,
    GateArguments,
    failing_fast,
    push_verdict,
    refusing_arguments,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_scorecards.gate.rollout import RolloutOptions
    from airflow_provider_scorecards.gate.waivers import WaivedResult

DEFERRAL_TIMEOUT_MARGIN = 300
"""Seconds the deferral may outlive ``timeout``: the trigger reports the timeout itself, with the report."""


class _GateEnded(Exception):
    """Raised to end the wait for good (poke or before deferring); execute() makes it AirflowFailException.

    Raised as a plain exception (not AirflowFailException) so that BaseSensorOperator's soft_fail handling,
    which turns AirflowFailException into a skip, never hides a failed gate or a misconfiguration.
    """


class DatadogScoreThresholdSensor(DatadogScorecardsGateBaseOperator, BaseSensorOperator):
    """Wait until Datadog Scorecards scores satisfy a threshold ("do not deploy until it is good enough").

    The query arguments, ``datadog_conn_id`` and the gate arguments are those of
    :class:`~airflow_provider_scorecards.operators.base.DatadogScorecardsGateBaseOperator`.

    :param on_missing: what an absent id or a score with denominator 0 means: ``"wait"`` (default),
        ``"fail"`` or ``"ignore"`` (templated).
    :param max_consecutive_failures: transient API failures (429, 5xx, timeouts) tolerated in a row, each
        after the hook's own retries, before the sensor fails with the last error.
    :param deferrable: hand the waiting to the triggerer (no worker slot held). Defaults to Airflow's
        ``[operators] default_deferrable``.

    Rolling it out: ``dry_run`` (the sensor returns after its first evaluation, whatever it says),
    ``waivers``, ``explain`` and ``explain_limit`` (see
    :class:`~airflow_provider_scorecards.operators.base.DatadogScorecardsGateBaseOperator`); the failing rules
    are explained in the timeout report, deferred or in poke mode (not in reschedule mode, where each poke
    is a new process). The ``verdict`` XCom is pushed when the wait ends: met, dry run, failed or timed
    out. A deferral that outlives ``timeout`` by 5 minutes (no triggerer ran it) ends with one last check.

    Outcomes: met → the records that met the condition are the return value. ``timeout`` →
    ``AirflowSensorTimeout`` whose message lists every failing id with its value and the bound (a skip with
    ``soft_fail=True``). A gate that cannot be met (``on_missing="fail"``), a configuration error and a
    400/401/403 fail at once with ``AirflowFailException``, never a skip.
    """

    @refusing_arguments
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
        self._warned_waivers = False
        self._decision: WaivedResult | None = None

    @cached_property
    def _gate(self) -> tuple[GateArguments, RolloutOptions]:
        """The query, condition and connection id, and the rollout options, from the rendered arguments.

        Built on first use so that ``poke()`` works on its own (users' unit tests call it without
        ``execute()``).
        """
        return self.gate_arguments(), self.rollout_options()

    def _publish(self, context: Context, decision: WaivedResult) -> dict[str, Any]:
        """Explain (when the gate failed) and push the ``verdict``; never raises for the explanations."""
        args, options = self._gate
        return self.publish_verdict(context, decision, options, args.query)

    def _check(self) -> WaivedResult:
        """Check the gate once and apply the waivers; the warnings are logged once per task run."""
        args, options = self._gate
        with self.hook as hook:
            self.scorecards_ui_url = hook.scorecards_ui_url
            result = check_gate(hook.get_conn(), args.query, args.condition)
        if not self._warned_absent and (warning := result.absent_warning()):
            self._warned_absent = True
            self.log.warning("%s", warning)
        decision = decide(result, options)
        if not self._warned_waivers and decision.warnings():
            self._warned_waivers = True
            for warning in decision.warnings():
                self.log.warning("%s", warning)
        self._decision = decision
        self._last_report = decision.report()
        return decision

    # -- execution ----------------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        """Wait for the gate: poke in the worker, or defer to the triggerer when ``deferrable``.

        Bad arguments fail the task before any request; a gate that cannot be met any more fails it
        without retries; a timeout names the last verdict (a skip instead under ``soft_fail``).
        """
        with failing_fast():  # configuration errors end the task here, before any request
            args, options = self._gate
        try:
            if self.deferrable:
                return self._execute_deferrable(args, options, context)
            return super().execute(context)
        except _GateEnded as exc:
            raise AirflowFailException(str(exc)) from None
        except AirflowSensorTimeout as exc:
            raise AirflowSensorTimeout(self._timeout_message(str(exc), context)) from exc
        except AirflowSkipException as exc:  # soft_fail: the timeout, as a skip that still says why
            raise AirflowSkipException(self._timeout_message(str(exc), context)) from exc

    def poke(self, context: Context) -> PokeReturnValue | bool:
        """Check the gate once; a transient API failure is one more poke, up to ``max_consecutive_failures``.

        When met, the passing records are the sensor's XCom value.
        """
        try:
            decision = self._check()
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
        if self._ended(context, decision):
            return PokeReturnValue(is_done=True, xcom_value=decision.result.passed_records)
        self.log.info("%s", self._last_report)
        return False

    def _ended(self, context: Context, decision: WaivedResult) -> bool:
        """Publish a decision that ends the wait (a dry run, met) and say so; a fatal one ends the gate."""
        _, options = self._gate
        if options.dry_run:
            self.log.warning("%s", dry_run_message(self._publish(context, decision)))
            return True
        if decision.met:
            self.log.info("%s", self._publish(context, decision)["report"])
            return True
        if decision.fatal:
            raise _GateEnded(self._publish(context, decision)["report"])
        return False

    def _execute_deferrable(self, args: GateArguments, options: RolloutOptions, context: Context) -> Any:
        from airflow_provider_scorecards.triggers.scores import DatadogScoreThresholdTrigger

        with failing_fast():
            decision = self._check()  # a gate already met costs no deferral
        if self._ended(context, decision):
            return decision.result.passed_records
        self.log.info("%s; deferring", self._last_report)
        self.defer(
            trigger=DatadogScoreThresholdTrigger(
                datadog_conn_id=args.conn_id,
                query=args.query.describe(),
                condition=args.condition.describe(),
                poke_interval=float(self.poke_interval),
                deadline=time.time() + float(self.timeout),
                max_consecutive_failures=self.max_consecutive_failures,
                waivers=describe_waivers(options.waivers),
                last_check={"report": self._last_report, "verdict": decision_parts(decision)},
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout) + DEFERRAL_TIMEOUT_MARGIN),
        )

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """Resume after the deferral; only the deferral's own timeout becomes the sensor's timeout."""
        # Past BaseSensorOperator's, which makes any AirflowException (a failed gate, a 403) a soft_fail skip.
        try:
            return super(BaseSensorOperator, self).resume_execution(next_method, next_kwargs, context)
        except TaskDeferralTimeout as exc:
            head = f"Deferral timed out ({exc}) before the trigger reported"
        try:  # no trigger ran in time: one last check decides, as a last poke would, and leaves its verdict
            if self._ended(context, decision := self._check()):
                return decision.result.passed_records
        except _GateEnded as exc:
            raise AirflowFailException(str(exc)) from None
        except ScorecardsError as exc:
            if not exc.retryable:  # a refusal or a bad connection fails, as in a poke: never a skip
                raise AirflowFailException(f"{type(exc).__name__}: {exc}") from None
            head = f"{head}; the last check failed: {type(exc).__name__}: {exc}"
        self._raise_timeout(head, context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Finish a deferred wait from the trigger's event: the passing records, a timeout or a failure."""
        with suppress(ScorecardsError):  # a new process: else the link shows Datadog's main site
            self.scorecards_ui_url = self.hook.scorecards_ui_url
        status = event.get("status")
        if status == "met":
            self.log.info("%s", self._publish_event(context, event)["report"])
            return event.get("records", [])
        if status == "timeout":
            self._last_report = self._publish_event(context, event)["report"]
            self._raise_timeout(f"Sensor timed out after {self.timeout}s")
        if status == "failed":
            raise AirflowFailException(self._publish_event(context, event)["report"])
        raise AirflowFailException(str(event.get("message") or event.get("report") or event))

    def _publish_event(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Push the verdict of a decision the trigger made, explained here when it failed."""
        args, options = self._gate
        parts = event.get("verdict") or {}
        failing = [] if parts.get("met") else list(parts.get("failing", []))
        explanations = explain_ids(failing, options, args.query, self._explainer)
        verdict = verdict_from_parts(parts, str(event.get("report") or ""), options, explanations, args.query)
        push_verdict(context, verdict)
        return verdict

    # -- timeout ------------------------------------------------------------------------------------

    def _timeout_message(self, head: str, context: Context | None = None) -> str:
        if context is not None and self._decision is not None:  # the last verdict, explained
            self._last_report = self._publish(context, self._decision)["report"]
        return f"{head}\n{self._last_report}" if self._last_report else head

    def _raise_timeout(self, head: str, context: Context | None = None) -> NoReturn:
        message = self._timeout_message(head, context)
        if self.soft_fail:
            raise AirflowSkipException(message)
        raise AirflowSensorTimeout(message)
