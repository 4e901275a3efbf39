"""Query arguments shared by the operator, the check operator, the sensor and the trigger.

Task arguments may be Jinja templates or XComArgs that only have a value at run time. This module turns
them into a :class:`ScoresQuery` after rendering, and, at DAG parse, validates the ones that are already
plain values, so a typo such as ``aggregation="by-service"`` fails when the DAG is loaded rather than at
3 a.m. when the task runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from airflow_provider_scorecards.query import DEFAULT_PAGE_LIMIT, ScoresQuery

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
