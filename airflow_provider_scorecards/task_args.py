"""Query arguments shared by the operator, the check operator, the sensor and the trigger.

Task arguments may be Jinja templates or XComArgs that only have a value at run time. This module turns
them into a :class:`ScoresQuery` after rendering, and, at DAG parse, validates the ones that are already
plain values, so a typo such as ``aggregation="by-service"`` fails when the DAG is loaded rather than at
3 a.m. when the task runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from airflow_provider_scorecards.errors import InvalidParameterError
from airflow_provider_scorecards.gate import GateCondition
from airflow_provider_scorecards.query import DEFAULT_PAGE_LIMIT, ScoresQuery, coerce_optional_str

DEFAULT_CONN_ID = "datadog_scorecards_default"
"""The connection every task class uses unless told otherwise (the hook's ``default_conn_name``)."""
DATADOG_PURPLE = "#632ca6"
"""``ui_color`` of every task class of the provider."""

QUERY_ARGS: tuple[str, ...] = (
    "aggregation",
    "rule_ids",
    "rule_name",
    "rule_levels",
    "scorecard_ids",
    "is_custom",
    "is_enabled",
    "sort",
    "page_limit",
)
"""Names of the query arguments, in the order they are documented; all are template fields."""

QUERY_DEFAULTS: dict[str, Any] = {
    "rule_ids": None,
    "rule_name": None,
    "rule_levels": None,
    "scorecard_ids": None,
    "is_custom": None,
    "is_enabled": None,
    "sort": None,
    "page_limit": DEFAULT_PAGE_LIMIT,
}


GATE_ARGS: tuple[str, ...] = (
    "score_ids",
    "min_score",
    "max_score",
    "field",
    "min_value",
    "max_value",
    "match",
    "on_missing",
)
"""Names of the gate arguments (sensor, trigger, check operator); all are template fields."""


def set_task_args(task: object, names: tuple[str, ...], values: Mapping[str, Any]) -> None:
    """Store each named argument on the task under its own name (what ``template_fields`` render).

    Called as ``set_task_args(self, QUERY_ARGS, locals())`` so the three task classes that take the query
    (and gate) arguments do not each repeat the same assignments.
    """
    for name in names:
        setattr(task, name, values[name])


def is_deferred_value(value: Any) -> bool:
    """True for what only has a value at run time: a Jinja template or an XComArg-like object."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, list | tuple | set):
        return any(is_deferred_value(item) for item in value)
    if isinstance(value, dict):
        return any(is_deferred_value(item) for item in value.values())
    return value is not None and not isinstance(value, int | float | bool)


def query_from_args(values: Mapping[str, Any]) -> ScoresQuery:
    """Build (coerce and validate) the query from rendered argument values."""
    return ScoresQuery.build(**{name: values.get(name, QUERY_DEFAULTS.get(name)) for name in QUERY_ARGS})


def coerce_conn_id(value: Any) -> str:
    text = coerce_optional_str("datadog_conn_id", value)
    if not text:
        raise InvalidParameterError("datadog_conn_id", value, "expected a connection id")
    return text


def gate_settings(values: Mapping[str, Any]) -> tuple[ScoresQuery, GateCondition, str]:
    """Query, condition and connection id of a gate task, from its rendered arguments."""
    return query_from_args(values), gate_from_args(values), coerce_conn_id(values.get("datadog_conn_id"))


def gate_from_args(values: Mapping[str, Any]) -> GateCondition:
    """Build (coerce and validate) the gate condition from rendered argument values."""
    return GateCondition.build(
        **{name: values.get(name) for name in GATE_ARGS if values.get(name) is not None}
    )


def validate_static_gate(values: Mapping[str, Any]) -> None:
    """Validate at DAG parse the gate arguments that are plain values (a threshold of 1.5, a bad field)."""
    if is_deferred_value(values.get("field")):
        return  # bounds can only be range-checked against a known field
    plain = {name: None if is_deferred_value(values.get(name)) else values.get(name) for name in GATE_ARGS}
    if all(plain[name] is None for name in ("min_score", "max_score", "min_value", "max_value")):
        return  # every bound comes from a template
    gate_from_args(plain)


def validate_static(
    values: Mapping[str, Any], checks: Mapping[str, Callable[[Any], Any]] | None = None
) -> None:
    """Validate at DAG parse the arguments that are plain values; leave templated ones for run time.

    A templated aggregation is replaced by a valid placeholder so the other fields are still checked.
    ``checks`` validates further arguments (name → coercer) the same way.
    """
    plain = {name: values.get(name, QUERY_DEFAULTS.get(name)) for name in QUERY_ARGS}
    for name, value in list(plain.items()):
        if is_deferred_value(value):
            plain[name] = "by-entity" if name == "aggregation" else QUERY_DEFAULTS.get(name)
    ScoresQuery.build(**plain)
    for name, coerce in (checks or {}).items():
        value = values.get(name)
        if not is_deferred_value(value):
            coerce(value)
