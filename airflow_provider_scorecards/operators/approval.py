"""DatadogScoreApprovalOperator: a score gate with a break-glass path, a person who can say yes.

It checks the gate like :class:`~airflow_provider_scorecards.operators.check.DatadogScoreCheckOperator`.
Met: it succeeds at once, and no one is asked. Not met: it asks for a decision in Airflow's Required
Actions view (the standard provider's human-in-the-loop operator, Airflow 3.1+), with the gate report and
the explanations as the body, a comment field and the options Approve / Reject. Approve: the task
succeeds and its ``verdict`` XCom records who overrode the gate, when, and why. Reject, or no answer within
``response_timeout``: the task fails without retries and nothing downstream runs.

On Airflow 3.0, which has no human-in-the-loop operators, using it is an error when the DAG is parsed.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import airflow
from airflow.sdk import Param
from airflow.sdk.definitions.param import ParamsDict

from airflow_provider_scorecards._compat import AirflowFailException
from airflow_provider_scorecards.operators.base import (
    DatadogScorecardsGateBaseOperator,
    coerce_once_on_missing,
    refusing_arguments,
)

try:
    from airflow.providers.standard.operators.hitl import HITLOperator

    HITL_UNAVAILABLE: str | None = None
except Exception as exc:  # Airflow 3.0 (the provider raises its own "needs 3.1+" error), or no provider
    from airflow.sdk import BaseOperator as HITLOperator  # type: ignore[assignment]

    HITL_UNAVAILABLE = f"{type(exc).__name__}: {exc}"

if TYPE_CHECKING:
    from airflow.sdk import Context

APPROVE = "Approve"
REJECT = "Reject"
COMMENT = "comment"


class DatadogScoreApprovalOperator(DatadogScorecardsGateBaseOperator, HITLOperator):  # type: ignore[misc,valid-type]
    """Check a score gate once; when it is not met, let a person approve or reject going on anyway.

    The query arguments, ``datadog_conn_id``, the gate arguments and the rollout arguments (``waivers``,
    ``explain``, ``explain_limit``, ``dry_run``) are those of
    :class:`~airflow_provider_scorecards.operators.base.DatadogScorecardsGateBaseOperator`.

    :param subject: the headline of the request (templated; default: the gate's bound, the number of
        failing ids and the task).
    :param on_missing: ``"fail"`` (default) or ``"ignore"`` (templated), as for the check operator.
    :param assigned_users: who may answer (``{"id": ..., "name": ...}`` or a list of them); anyone with
        access when None.
    :param response_timeout: how long to wait for an answer; no answer in time fails the task.
    :param notifiers: notifiers called when the request is made (for example a Slack message).

    Needs Airflow 3.1 or later.
    """

    template_fields: Sequence[str] = (*DatadogScorecardsGateBaseOperator.template_fields, "subject")

    @refusing_arguments
    def __init__(
        self,
        *,
        subject: str | None = None,
        on_missing: str = "fail",
        assigned_users: Any = None,
        response_timeout: timedelta | None = None,
        notifiers: Any = None,
        **kwargs: Any,
    ) -> None:
        if HITL_UNAVAILABLE is not None:
            raise RuntimeError(
                "DatadogScoreApprovalOperator needs Airflow 3.1 or later (the standard provider's "
                f"human-in-the-loop operators); this is Airflow {airflow.__version__} ({HITL_UNAVAILABLE})"
            )
        given = kwargs.pop("params", None)  # the DAG's params and the task's, merged by Airflow
        params = given if isinstance(given, ParamsDict) else ParamsDict(given or {})
        comment = Param("", type=["null", "string"], title="Comment", description="Why")
        comment.source = "task"  # a field of this request's form, not a DAG run parameter
        params[COMMENT] = comment
        self._default_subject = subject is None
        super().__init__(
            subject=subject or "Score gate",  # until the gate is checked; the default then names it
            options=[APPROVE, REJECT],
            multiple=False,
            params=params,
            assigned_users=assigned_users,
            # A plain timedelta: Airflow sends it to the supervisor as msgpack, which refuses subclasses
            # such as pendulum's Duration.
            response_timeout=None
            if response_timeout is None
            else timedelta(seconds=response_timeout.total_seconds()),
            notifiers=notifiers,
            on_missing=on_missing,
            **kwargs,
        )
        self.validate_plain_arguments({"on_missing": coerce_once_on_missing})

    def execute(self, context: Context) -> Any:
        """Check the gate; met: return its verdict; else ask a person (the task waits for the answer)."""
        args, options, decision, verdict = self.check_once(context)
        if decision.met or options.dry_run:
            self.log.info("%s", verdict["report"])
            return verdict
        if self._default_subject:
            failing = len(decision.failing_ids) + len(decision.missing_ids)
            self.subject = (
                f"Score gate not met: {args.condition.rule} on {args.query.aggregation}, "
                f"{failing} failing or missing ({self.dag_id}.{self.task_id}). Approve anyway?"
            )
        self.body = _markdown(verdict["report"])
        self.log.info("%s\nAsking for a decision in Required Actions", verdict["report"])
        return HITLOperator.execute(self, context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Take the answer: Approve -> the verdict with the override; Reject or none -> fail, no retries."""
        try:
            answer = HITLOperator.execute_complete(self, context, event)
        except Exception as exc:  # a timeout, or an answer that is not one of the options
            raise AirflowFailException(f"No approval ({type(exc).__name__}): the gate stays closed") from exc
        ti = context["ti"]
        verdict = ti.xcom_pull(task_ids=self.task_id, key="verdict", map_indexes=ti.map_index) or {}
        user = answer.get("responded_by_user") or {}
        by = user.get("name") or user.get("id")
        at = answer.get("responded_at")
        comment = (answer.get("params_input") or {}).get(COMMENT) or None
        chosen = answer["chosen_options"][0] if answer.get("chosen_options") else None
        override = {
            "overridden": chosen == APPROVE,
            "by": by,
            "at": at.isoformat() if hasattr(at, "isoformat") else at,
            "comment": comment,
        }
        verdict = {**verdict, **override}
        ti.xcom_push(key="verdict", value=verdict)
        if chosen != APPROVE:
            raise AirflowFailException(f"Rejected by {by or 'someone'}: the gate stays closed")
        self.log.info("Gate overridden by %s at %s: %s", by, override["at"], comment or "no comment")
        return verdict


BODY_COLUMNS = 80
"""Where the body's lines wrap: the Required Actions pane shows about 80 monospace columns, no more."""


def _markdown(report: str) -> str:
    """Write the report as a Markdown body: a fenced block, long lines wrapped under their indent.

    The fence keeps the alignment, and text from the server cannot become a link or an image (inner
    fences are broken).
    """
    lines: list[str] = []
    for line in report.replace("```", "'''").splitlines():
        indent = line[: len(line) - len(line.lstrip())]
        wrapped = textwrap.wrap(
            line,
            BODY_COLUMNS,
            subsequent_indent=indent + "    ",
            break_long_words=False,
            break_on_hyphens=False,
        )
        lines.extend(wrapped or [""])
    return "```text\n" + "\n".join(lines) + "\n```"
