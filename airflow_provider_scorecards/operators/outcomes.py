"""DatadogScorecardOutcomesOperator: report Airflow's own checks to a custom Scorecards rule.

The rule lookup, the batches and the scrubbing are the client's
(:mod:`airflow_provider_scorecards.client.rules`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_scorecards.client.coercion import coerce_bool, coerce_int, coerce_optional_str
from airflow_provider_scorecards.client.errors import InvalidParameterError
from airflow_provider_scorecards.client.outcomes import required_text
from airflow_provider_scorecards.client.rules import OutcomeResult, parse_outcomes
from airflow_provider_scorecards.operators.base import (
    DatadogScorecardsConnectionBaseOperator,
    failing_fast,
    is_run_time_value,
    refusing_arguments,
)

if TYPE_CHECKING:
    from airflow.sdk import Context


def _create_rule(value: Any) -> bool:
    created = coerce_bool("create_rule", value)
    if created is None:
        raise InvalidParameterError("create_rule", value, "expected true or false")
    return created


OUTCOME_CHECKS: dict[str, Callable[[Any], Any]] = {
    "rule_name": lambda v: required_text("rule_name", v),
    "scorecard_name": lambda v: required_text("scorecard_name", v),
    "remarks": lambda v: coerce_optional_str("remarks", v),
    "create_rule": _create_rule,
    "rule_description": lambda v: coerce_optional_str("rule_description", v),
    "rule_level": lambda v: coerce_int("rule_level", v, minimum=1, maximum=3),
    "rule_owner": lambda v: coerce_optional_str("rule_owner", v),
}
"""Coercers of the operator's arguments other than ``outcomes``, at parse when plain and after rendering."""


def parse_results(outcomes: Any, remarks: Any) -> tuple[OutcomeResult, ...]:
    """Validate ``outcomes`` (with ``remarks`` as every result's default); raises naming the parameter."""
    if isinstance(outcomes, dict) and (templated := [k for k in outcomes if is_run_time_value(k)]):
        raise InvalidParameterError(
            "outcomes",
            templated[0],
            "Airflow renders a mapping's values, not its keys: template the whole mapping",
        )
    return parse_outcomes("outcomes", outcomes, remarks=OUTCOME_CHECKS["remarks"](remarks))


class DatadogScorecardOutcomesOperator(DatadogScorecardsConnectionBaseOperator):
    """Post pass/fail/skip outcomes per entity to a custom rule of a scorecard, creating the rule once.

    The rule is the custom rule named ``rule_name`` in ``scorecard_name``; it is created when missing (and
    ``create_rule``), never twice, not even when two runs race. The return value (XCom) is
    ``{"rule_id": ..., "posted": <outcomes Datadog accepted>}``; Datadog shows them a moment later.

    :param rule_name: the custom rule's name (templated).
    :param scorecard_name: the scorecard it belongs to, by name (templated).
    :param outcomes: ``{"service:checkout": "pass", "service:search": {"state": "fail", "remarks": "..."}}``,
        states ``pass``/``fail``/``skip``; its JSON text, or an XComArg, works too (templated).
    :param remarks: the remarks of every outcome that has none of its own (templated).
    :param create_rule: create the rule when it is missing (default); otherwise fail (templated).
    :param rule_description: the new rule's description, used only when creating it (templated).
    :param rule_level: the new rule's level, 1-3 (templated; default 1).
    :param rule_owner: the new rule's owner, used only when creating it (templated).
    :param datadog_conn_id: the Airflow connection to use; writes need ``apm_service_catalog_write``.
    """

    template_fields: Sequence[str] = (
        *DatadogScorecardsConnectionBaseOperator.template_fields,
        "outcomes",
        *OUTCOME_CHECKS,
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"outcomes": "json"}

    @refusing_arguments
    def __init__(
        self,
        *,
        rule_name: str,
        scorecard_name: str,
        outcomes: Any,
        remarks: str | None = None,
        create_rule: bool | str = True,
        rule_description: str | None = None,
        rule_level: int | str = 1,
        rule_owner: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.rule_name = rule_name
        self.scorecard_name = scorecard_name
        self.outcomes = outcomes
        self.remarks = remarks
        self.create_rule = create_rule
        self.rule_description = rule_description
        self.rule_level = rule_level
        self.rule_owner = rule_owner
        self.validate_plain(OUTCOME_CHECKS)
        if not is_run_time_value(outcomes) and not is_run_time_value(remarks):
            parse_results(outcomes, remarks)

    def execute(self, context: Context) -> dict[str, Any]:
        """Find or create the rule, post the outcomes; return ``{"rule_id", "posted"}``."""
        with failing_fast():  # the rendered arguments, validated before any request
            own = {
                name: check(getattr(self, name))
                for name, check in OUTCOME_CHECKS.items()
                if name != "remarks"
            }
            results = parse_results(self.outcomes, self.remarks)
            with self.hook as hook:
                self.scorecards_ui_url = hook.scorecards_ui_url
                client = hook.get_conn()
                rule = client.find_or_create_rule(
                    name=own["rule_name"],
                    scorecard_name=own["scorecard_name"],
                    create=own["create_rule"],
                    level=own["rule_level"],
                    owner=own["rule_owner"],
                    description=own["rule_description"],
                )
                self.log.info(
                    "Posting %d outcomes to rule %r (%s) of scorecard %r",
                    len(results),
                    own["rule_name"],
                    rule.id,
                    own["scorecard_name"],
                )
                # A half-posted run fails naming the entities not posted (PartialPostError): no retry
                # when its cause is final, Airflow's retries when not (posting again is harmless).
                posted = client.post_outcomes(rule.id, results)
        self.log.info("Datadog accepted %d outcomes; the scorecard shows them shortly", posted)
        return {"rule_id": rule.id, "posted": posted}
