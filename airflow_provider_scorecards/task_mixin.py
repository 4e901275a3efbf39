"""ScorecardsTaskMixin: what the provider's task classes share, and how their errors become outcomes.

The operator, the check operator and the sensor take the same query arguments (and the last two the same
gate arguments). Each class assigns its arguments explicitly in ``__init__``, as Airflow's own operators
do; this mixin turns the rendered attributes into a validated
:class:`~airflow_provider_scorecards.client.ScoresQuery` and
:class:`~airflow_provider_scorecards.gate.GateCondition`, and validates at DAG parse the arguments that
are already plain values, so ``aggregation="by-service"`` fails when the DAG is loaded rather than at
3 a.m. when the task runs. Templated values and XComArgs are checked after rendering, before any request.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from airflow.sdk import BaseOperatorLink

from airflow_provider_scorecards._compat import AirflowFailException
from airflow_provider_scorecards.client.errors import ScorecardsError
from airflow_provider_scorecards.client.query import DEFAULT_PAGE_LIMIT, ScoresQuery
from airflow_provider_scorecards.gate import GateCondition
from airflow_provider_scorecards.hooks import coerce_conn_id
from airflow_provider_scorecards.links import ScorecardsLink

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
"""The query arguments, in the order they are documented; all are template fields."""

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
"""The gate arguments (sensor, check operator); all are template fields."""

BOUNDS: tuple[str, ...] = ("min_score", "max_score", "min_value", "max_value")

LIST_RENDERERS: dict[str, str] = {
    "rule_ids": "py",
    "rule_levels": "py",
    "scorecard_ids": "py",
    "score_ids": "py",
}
"""``template_fields_renderers`` of the list arguments, shared by every task class."""


class ScorecardsTaskMixin:
    """Colours, the extra link, and the query/gate arguments of the provider's task classes."""

    ui_color = "#632ca6"  # Datadog purple
    ui_fgcolor = "#ffffff"
    operator_extra_links: Collection[BaseOperatorLink] = (ScorecardsLink(),)

    def scores_query(self) -> ScoresQuery:
        """The query of this task, from its (rendered) arguments; raises before any request."""
        values = vars(self)
        return ScoresQuery.build(**{name: values.get(name) for name in QUERY_ARGS})

    def gate_condition(self) -> GateCondition:
        """The gate condition of this task, from its (rendered) arguments; raises before any request."""
        values = vars(self)
        return GateCondition.build(
            **{name: values[name] for name in GATE_ARGS if values.get(name) is not None}
        )

    def connection_id(self) -> str:
        return coerce_conn_id(vars(self).get("datadog_conn_id"))

    def validate_plain_arguments(
        self, *, gate: bool = False, checks: Mapping[str, Callable[[Any], Any]] | None = None
    ) -> None:
        """Validate at DAG parse the arguments that are plain values; leave templated ones for run time.

        A templated aggregation is replaced by a valid placeholder so the other fields are still checked.
        ``checks`` validates further arguments (name → coercer) the same way.
        """
        values = vars(self)
        plain = {name: values.get(name) for name in QUERY_ARGS}
        for name, value in list(plain.items()):
            if is_deferred_value(value):
                plain[name] = {"aggregation": "by-entity", "page_limit": DEFAULT_PAGE_LIMIT}.get(name)
        ScoresQuery.build(**plain)
        for name, coerce in {"datadog_conn_id": lambda _: self.connection_id(), **(checks or {})}.items():
            if not is_deferred_value(values.get(name)):
                coerce(values.get(name))
        if gate and not is_deferred_value(values.get("field")):  # bounds are checked against a known field
            gate_values = {
                name: None if is_deferred_value(values.get(name)) else values.get(name) for name in GATE_ARGS
            }
            if any(gate_values[name] is not None for name in BOUNDS):  # else every bound is templated
                GateCondition.build(**{k: v for k, v in gate_values.items() if v is not None})


def is_deferred_value(value: Any) -> bool:
    """True for what only has a value at run time: a Jinja template or an XComArg-like object."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, list | tuple | set):
        return any(is_deferred_value(item) for item in value)
    if isinstance(value, dict):
        return any(is_deferred_value(item) for item in value.values())
    return value is not None and not isinstance(value, int | float | bool)


@contextmanager
def failing_fast() -> Iterator[None]:
    """Turn errors that no retry can fix, raised inside the block, into ``AirflowFailException``.

    A bad parameter, missing credentials, 400/401/403/404 or a response that is not a scores page fail the
    task at once, so Airflow does not spend the task's retries on them. Errors a later attempt may fix
    (429, 5xx, dropped connections, timeouts that outlasted the client's own retries) propagate unchanged
    and Airflow's ``retries`` apply.
    """
    try:
        yield
    except ScorecardsError as exc:
        if exc.retryable:
            raise
        raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc
