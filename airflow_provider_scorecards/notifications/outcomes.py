"""DatadogScorecardOutcomeNotifier: how a task or a DAG run ended, posted as one custom rule outcome.

For ``on_success_callback`` / ``on_failure_callback`` (task or DAG) and, on Airflow 3.1+, a
``DeadlineAlert``'s ``AsyncCallback``. A notifier never breaks the callback path: whatever goes wrong is
one log line, and the task's or run's state stays as it was.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.configuration import conf

from airflow_provider_scorecards.client.coercion import coerce_choice, coerce_optional_str, is_unset
from airflow_provider_scorecards.client.outcomes import required_text
from airflow_provider_scorecards.client.rules import OUTCOME_STATES, parse_outcomes
from airflow_provider_scorecards.hooks import DEFAULT_CONN_ID, coerce_conn_id
from airflow_provider_scorecards.operators.base import check_plain, scorecards_hook

try:
    from airflow.sdk import BaseNotifier
except ImportError:  # Airflow 3.0
    from airflow.sdk.bases.notifier import BaseNotifier  # type: ignore[no-redef,unused-ignore]

if TYPE_CHECKING:
    from airflow.sdk import Context

CHECKS = {
    "rule_name": lambda v: required_text("rule_name", v),
    "scorecard_name": lambda v: required_text("scorecard_name", v),
    "entity": lambda v: required_text("entity", v),
    "state": lambda v: None if is_unset(v) else coerce_choice("state", v, OUTCOME_STATES),
    "remarks": lambda v: coerce_optional_str("remarks", v),
    "datadog_conn_id": coerce_conn_id,
}
"""The notifier's arguments, checked at parse when plain and again after rendering; all templated."""

TASK_STATES = {"success": "pass", "failed": "fail", "up_for_retry": "fail", "skipped": "skip"}
"""A task instance's final state → the outcome it reports."""


def ended_state(context: Any) -> str | None:
    """``pass``, ``fail`` or ``skip`` for how the callback's task or DAG run ended; None if it cannot tell.

    A DAG run's callback has a ``reason`` (``"success"`` or why it failed); a task's callback has the task
    instance's final state (3.3) or ``exception`` (3.1+). Airflow 3.0's task callbacks say neither.
    """
    if "reason" in context:
        return "pass" if context["reason"] == "success" else "fail"
    state = getattr(context.get("ti"), "state", None)
    if (found := TASK_STATES.get(str(getattr(state, "value", state)))) is not None:
        return found
    if "exception" in context:
        return "pass" if context["exception"] is None else "fail"
    return None


def default_remarks(context: Any, state: str) -> str:
    """One line naming the DAG, the run and the task (when there is one) with a link to it in Airflow."""
    run = context.get("dag_run")
    if isinstance(run, dict):  # a deadline alert's context: the run as the REST API shows it
        dag_id, run_id = run.get("dag_id"), run.get("dag_run_id") or run.get("run_id")
    else:
        dag = context.get("dag")
        dag_id, run_id = getattr(dag, "dag_id", None), context.get("run_id") or getattr(run, "run_id", None)
    ti = context.get("ti") if "reason" not in context else None  # a DAG callback's ti is only the last one
    task_id = getattr(ti, "task_id", None)
    base_url = str(conf.get("api", "base_url", fallback="http://localhost:8080")).rstrip("/")
    link = f"{base_url}/dags/{quote(str(dag_id))}/runs/{quote(str(run_id), safe='')}"
    where = f"DAG {dag_id}, run {run_id}" + (f", task {task_id}" if task_id else "")
    if task_id:
        link += f"/tasks/{quote(str(task_id))}"
    how = {"pass": "succeeded", "skip": "was skipped"}.get(state, "failed")
    if "deadline" in context:
        how = "missed its deadline"
    return f"Airflow: {where} {how}. {link}"


class DatadogScorecardOutcomeNotifier(BaseNotifier):
    """Post how a task or DAG run ended to a custom rule of a scorecard, for one entity.

    The rule is found, or created when missing, as :class:`~airflow_provider_scorecards.operators.outcomes.
    DatadogScorecardOutcomesOperator` does. Posting is best effort: a failure is logged, never raised.

    :param rule_name: the custom rule's name (templated).
    :param scorecard_name: the scorecard it belongs to, by name (templated).
    :param entity: the entity reference, ``"service:checkout"`` (templated).
    :param state: ``pass``, ``fail`` or ``skip``; by default ``pass`` on success, ``fail`` on failure (and
        for a missed deadline), ``skip`` for a skipped task (templated). On Airflow 3.0 a task callback
        does not say how the task ended: give it.
    :param remarks: by default a line naming the DAG, the run and the task, with a link (templated).
    :param datadog_conn_id: the Airflow connection to use; writes need ``apm_service_catalog_write``.
    """

    template_fields: Sequence[str] = tuple(CHECKS)

    def __init__(
        self,
        *,
        rule_name: str,
        scorecard_name: str,
        entity: str,
        state: str | None = None,
        remarks: str | None = None,
        datadog_conn_id: str = DEFAULT_CONN_ID,
        context: Context | None = None,
    ) -> None:
        super().__init__()
        self.context = context or {}  # a deadline alert's AsyncCallback passes it (Airflow 3.1+)
        self.rule_name = rule_name
        self.scorecard_name = scorecard_name
        self.entity = entity
        self.state = state
        self.remarks = remarks
        self.datadog_conn_id = datadog_conn_id
        check_plain(self, CHECKS)  # a plain bad value fails the DAG's parse, not the callback

    def get_template_env(self, dag: Any = None) -> Any:
        """Airflow's environment of ``dag``; a plain one if ``dag`` has none (dag.test()'s serialized DAG)."""
        return super().get_template_env(dag=dag if hasattr(dag, "get_template_env") else None)

    def notify(self, context: Context) -> None:
        """Post the outcome of what just ended (a task or DAG callback); log one line if that fails."""
        self._post_logged(context, ended_state(context) if is_unset(self.state) else self.state)

    async def async_notify(self, context: Context) -> None:
        """Post a missed deadline's outcome (``fail`` unless ``state`` says otherwise), off the event loop."""
        await asyncio.to_thread(self._post_logged, context, "fail" if is_unset(self.state) else self.state)

    def _post_logged(self, context: Any, state: str | None) -> None:
        what = f"{self.entity!r} on rule {self.rule_name!r} of scorecard {self.scorecard_name!r}"
        try:
            if state is None:
                raise ValueError("the callback does not say how the task ended (Airflow 3.0): give state=")
            self._post(context, state)
        except Exception as exc:  # never break the callback path: one line, no traceback
            self.log.error("Could not post the outcome of %s: %s: %s", what, type(exc).__name__, exc)
        else:
            self.log.info("Posted %s for %s", state, what)

    def _post(self, context: Any, state: str) -> None:
        checked: dict[str, Any] = {name: check(getattr(self, name)) for name, check in CHECKS.items()}
        state = coerce_choice("state", state, OUTCOME_STATES)
        remarks = checked["remarks"] or default_remarks(context, state)
        results = parse_outcomes("entity", {checked["entity"]: state}, remarks=remarks)
        with scorecards_hook(checked["datadog_conn_id"]) as hook:
            client = hook.get_conn()
            rule = client.find_or_create_rule(
                name=checked["rule_name"], scorecard_name=checked["scorecard_name"]
            )
            client.post_outcomes(rule.id, results)
