"""The base classes of the provider's task classes: one home for the arguments they share.

Every task class takes ``datadog_conn_id`` (:class:`DatadogScorecardsConnectionBaseOperator`); the export,
the check and the sensor the nine query arguments (:class:`DatadogScorecardsBaseOperator`), the last two the
gate arguments (:class:`DatadogScorecardsGateBaseOperator`). As in common.sql's ``BaseSQLOperator``, each
base assigns its arguments and declares their template fields. Plain values are validated at DAG parse,
templated ones after rendering, before any request; ``requests`` is imported when a task runs.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator, BaseOperatorLink

from airflow_provider_scorecards._compat import AirflowFailException
from airflow_provider_scorecards.client.coercion import coerce_choice, coerce_str_list
from airflow_provider_scorecards.client.errors import (
    InvalidParameterError,
    ScorecardsConfigError,
    ScorecardsError,
)
from airflow_provider_scorecards.client.query import DEFAULT_PAGE_LIMIT, ScoresQuery
from airflow_provider_scorecards.gate.condition import GateCondition, check_gate
from airflow_provider_scorecards.gate.explain import DEFAULT_EXPLAIN_LIMIT, explanation_settings
from airflow_provider_scorecards.gate.rollout import ROLLOUT_ARGS, RolloutOptions, decide, explain_decision
from airflow_provider_scorecards.gate.rollout import verdict as rollout_verdict
from airflow_provider_scorecards.hooks import DEFAULT_CONN_ID, coerce_conn_id
from airflow_provider_scorecards.operators.links import ScorecardsLink

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_scorecards.client.client import ScorecardsClient
    from airflow_provider_scorecards.client.pages import Record
    from airflow_provider_scorecards.gate.waivers import WaivedResult
    from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook

QUERY_ARGS: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(ScoresQuery))
"""The query arguments (``ScoresQuery``'s fields), in the order they are documented; all templated."""

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
"""The gate arguments (sensor, check operator, event trigger); all are template fields."""

ROLLOUT_FIELDS: dict[str, str] = {
    name: "gate_dry_run" if name == "dry_run" else name for name in ROLLOUT_ARGS
}
"""Each rollout argument's attribute, which Airflow renders as a template field: ``dry_run`` is kept as
``gate_dry_run``, because ``dry_run`` is ``BaseOperator.dry_run()`` (what ``airflow tasks test --dry-run``
calls on Airflow 3.0) and a template field must be named as its attribute."""

BOUND_ARGS: tuple[str, ...] = ("min_score", "max_score", "min_value", "max_value")
"""The gate arguments that bound a value: a gate needs at least one of them."""

_PLACEHOLDERS: dict[str, Any] = {"aggregation": "by-entity", "page_limit": DEFAULT_PAGE_LIMIT}
"""Valid stand-ins for required query arguments that are templated, so the others are still checked."""


@dataclass(frozen=True)
class GateArguments:
    """A gate task's rendered arguments, coerced and validated: what it fetches, judges, and where."""

    query: ScoresQuery
    condition: GateCondition
    conn_id: str


class InvalidTaskArgument(InvalidParameterError, AirflowFailException):
    """An argument refused as its task is built (at parse; at run time for a mapped task): never retried."""


def refusing_arguments(init: Callable[..., None]) -> Callable[..., None]:
    """Wrap a task class's ``__init__``: an ``InvalidParameterError`` becomes :class:`InvalidTaskArgument`."""

    @functools.wraps(init)
    def checked(*args: Any, **kwargs: Any) -> None:
        try:
            init(*args, **kwargs)
        except InvalidParameterError as exc:
            if isinstance(exc, InvalidTaskArgument):
                raise
            raise InvalidTaskArgument(exc.parameter, exc.value, exc.allowed) from None

    return checked


class DatadogScorecardsConnectionBaseOperator(BaseOperator):
    """The connection, the colours and the extra link of every task class.

    :param datadog_conn_id: the Airflow connection to use (templated).
    """

    template_fields: Sequence[str] = ("datadog_conn_id",)
    ui_color = "#632ca6"  # Datadog purple
    ui_fgcolor = "#ffffff"
    operator_extra_links: Collection[BaseOperatorLink] = (ScorecardsLink(),)

    def __init__(self, *, datadog_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.datadog_conn_id = datadog_conn_id

    def connection_id(self) -> str:
        """Return the rendered ``datadog_conn_id``, checked."""
        return coerce_conn_id(self.datadog_conn_id)

    def hook_concurrency(self) -> int:
        """Return the size of the hook's connection pool (the export's is its rendered ``concurrency``)."""
        return 4

    @cached_property
    def hook(self) -> DatadogScorecardsHook:
        """The hook of the rendered ``datadog_conn_id``, built on first use (at run time, never at parse)."""
        return scorecards_hook(self.connection_id(), self.hook_concurrency())

    def validate_plain(self, checks: Mapping[str, Callable[[Any], Any]]) -> None:
        """Apply each coercer (name → coercer) to its argument and ``datadog_conn_id`` when plain values.

        Templated values and XComArgs are checked after rendering, before any request.
        """
        check_plain(self, {"datadog_conn_id": coerce_conn_id, **checks})


class DatadogScorecardsBaseOperator(DatadogScorecardsConnectionBaseOperator):
    """The query arguments of every task class that reads scores, and the connection.

    :param aggregation: ``by-entity``, ``by-rule``, ``by-scorecard``, ``by-team`` or ``by-kind``
        (templated).
    :param rule_ids: only scores of these rules, a list or a comma-separated string (templated).
    :param rule_name: only scores of the rule with this name (templated).
    :param rule_levels: only rules of these levels, 1-3 (templated).
    :param scorecard_ids: only rules of these scorecards (templated).
    :param is_custom: only custom (True) or only built-in (False) rules (templated).
    :param is_enabled: only enabled (True) or only disabled (False) rules (templated).
    :param sort: ``score``, ``numerator``, ``denominator``, ``total_pass``, ``total_fail``,
        ``total_skip`` or ``total_no_data``; prefix ``-`` for descending (templated).
    :param page_limit: scores per request, 1-1000 (templated; default 1000: fewest requests).
    :param datadog_conn_id: the Airflow connection to use (templated).
    """

    template_fields: Sequence[str] = (*QUERY_ARGS, "datadog_conn_id")
    template_fields_renderers: ClassVar[dict[str, str]] = dict.fromkeys(
        ("rule_ids", "rule_levels", "scorecard_ids", "score_ids"), "py"
    )  # the list arguments, in every task class that reads scores

    def __init__(
        self,
        *,
        aggregation: str,
        rule_ids: list[str] | str | None = None,
        rule_name: str | None = None,
        rule_levels: list[int] | str | None = None,
        scorecard_ids: list[str] | str | None = None,
        is_custom: bool | str | None = None,
        is_enabled: bool | str | None = None,
        sort: str | None = None,
        page_limit: int | str = DEFAULT_PAGE_LIMIT,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.aggregation = aggregation
        self.rule_ids = rule_ids
        self.rule_name = rule_name
        self.rule_levels = rule_levels
        self.scorecard_ids = scorecard_ids
        self.is_custom = is_custom
        self.is_enabled = is_enabled
        self.sort = sort
        self.page_limit = page_limit

    def scores_query(self) -> ScoresQuery:
        """Build the query of this task from its rendered arguments; raises before any request."""
        return ScoresQuery.build(**{name: getattr(self, name) for name in QUERY_ARGS})

    def validate_plain_arguments(self, checks: Mapping[str, Callable[[Any], Any]] | None = None) -> None:
        """Validate at DAG parse the arguments that are plain values; leave templated ones for run time.

        A templated required query argument is replaced by a valid placeholder so the other fields are
        still checked. ``checks`` validates further arguments (name → coercer) the same way.
        """
        plain = {
            name: _PLACEHOLDERS.get(name) if is_run_time_value(value) else value
            for name in QUERY_ARGS
            if (value := getattr(self, name)) is not None or name in _PLACEHOLDERS
        }
        ScoresQuery.build(**plain)
        self.validate_plain(checks or {})


class DatadogScorecardsGateBaseOperator(DatadogScorecardsBaseOperator):
    """The gate and rollout arguments of the task classes that gate on scores (sensor, check, approval).

    :param score_ids: ids to watch (e.g. ``["service:checkout"]`` for by-entity); None means every score
        returned (templated).
    :param min_score: inclusive lower bound on ``score``, 0-1 (templated).
    :param max_score: inclusive upper bound on ``score``, 0-1 (templated).
    :param field: another numeric field to bound instead (``level``, ``total_fail``...) (templated).
    :param min_value: inclusive lower bound on ``field`` (templated).
    :param max_value: inclusive upper bound on ``field`` (templated).
    :param match: ``"all"`` (default) or ``"any"`` watched score must pass (templated).
    :param on_missing: what an absent id or a score with denominator 0 means; each task class says which
        values it takes and its default (templated).
    :param dry_run: evaluate and report the gate as usual, but never block on its verdict; the log says
        what would have happened (templated; errors such as a 403 still fail).
    :param waivers: ``{id: "YYYY-MM-DD"}`` or ``{id: {"until": "YYYY-MM-DD", "reason": "..."}}``: a waived
        id that fails its bound does not fail the gate until the end of that day, UTC (templated; see
        :mod:`airflow_provider_scorecards.gate.waivers`).
    :param explain: when a by-entity gate fails, list the failing rules of the first failing entities
        with Datadog's remarks (templated; default True).
    :param explain_limit: how many failing entities to explain, 1-20, one request each (templated;
        default 5).

    Every verdict is pushed as the ``verdict`` XCom (see :mod:`airflow_provider_scorecards.gate.verdict`).
    """

    template_fields: Sequence[str] = (
        *DatadogScorecardsBaseOperator.template_fields,
        *GATE_ARGS,
        *ROLLOUT_FIELDS.values(),
    )

    def __init__(
        self,
        *,
        score_ids: list[str] | str | None = None,
        min_score: float | str | None = None,
        max_score: float | str | None = None,
        field: str | None = None,
        min_value: float | str | None = None,
        max_value: float | str | None = None,
        match: str = "all",
        on_missing: str = "wait",
        dry_run: bool | str = False,
        waivers: Mapping[str, Any] | str | None = None,
        explain: bool | str = True,
        explain_limit: int | str = DEFAULT_EXPLAIN_LIMIT,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.gate_dry_run = dry_run  # not self.dry_run: that is BaseOperator.dry_run() (see ROLLOUT_FIELDS)
        self.waivers = waivers
        self.explain = explain
        self.explain_limit = explain_limit
        self.score_ids = score_ids
        self.min_score = min_score
        self.max_score = max_score
        self.field = field
        self.min_value = min_value
        self.max_value = max_value
        self.match = match
        self.on_missing = on_missing

    bound_replaced_by_comparison: ClassVar[bool] = False
    """True where another argument may stand for a bound (the check's ``max_drop``): that class checks it."""

    def gate_values(self) -> dict[str, Any]:
        """Return the rendered gate arguments that are set, by name, for ``GateCondition.build``."""
        return {name: value for name in GATE_ARGS if (value := getattr(self, name)) is not None}

    def gate_condition(self) -> GateCondition:
        """Build the gate condition of this task from its rendered arguments; raises before any request."""
        return GateCondition.build(**self.gate_values())

    def gate_arguments(self) -> GateArguments:
        """Build the query, the condition and the connection id; raises before any request."""
        return GateArguments(self.scores_query(), self.gate_condition(), self.connection_id())

    def rollout_values(self) -> dict[str, Any]:
        """Return the rendered rollout arguments by argument name, for ``RolloutOptions.build``."""
        return {name: getattr(self, field) for name, field in ROLLOUT_FIELDS.items()}

    def rollout_options(self) -> RolloutOptions:
        """Build the rollout options from the rendered arguments; raises before any request."""
        return RolloutOptions.build(**self.rollout_values())

    def publish_verdict(
        self, context: Context, decision: WaivedResult, options: RolloutOptions, query: ScoresQuery
    ) -> dict[str, Any]:
        """Explain a failed decision (bounded, never raising), push the ``verdict`` XCom, and return it."""
        explanations = explain_decision(decision, options, query, self._explainer)
        verdict = rollout_verdict(decision, options, explanations, query)
        push_verdict(context, verdict)
        return verdict

    def _explainer(self) -> ScorecardsClient:
        # the connection's settings, no retries, a short deadline; a raise here reads "unavailable"
        from airflow_provider_scorecards.client.client import ScorecardsClient

        try:
            settings = self.hook.settings
        except ScorecardsError:
            raise ScorecardsConfigError("no connection settings to ask with") from None
        return ScorecardsClient(explanation_settings(settings), concurrency=1, log=self.log)

    def check_once(
        self, context: Context, read_baseline: Callable[[GateArguments], list[Record] | None] | None = None
    ) -> tuple[GateArguments, RolloutOptions, WaivedResult, dict[str, Any]]:
        """Check the gate once (check, approval): one fetch, the decision, its ``verdict`` pushed.

        Bad arguments, and a baseline that is not a snapshot, fail the task before any request.
        """
        with failing_fast():
            args, options = self.gate_arguments(), self.rollout_options()
            coerce_once_on_missing(args.condition.on_missing)
            baseline = None if read_baseline is None else read_baseline(args)
            with self.hook as hook:
                self.scorecards_ui_url = hook.scorecards_ui_url
                result = check_gate(hook.get_conn(), args.query, args.condition, baseline)
        decision = decide(result, options)
        for warning in decision.warnings():
            self.log.warning("%s", warning)
        return args, options, decision, self.publish_verdict(context, decision, options, args.query)

    def validate_plain_arguments(self, checks: Mapping[str, Callable[[Any], Any]] | None = None) -> None:
        """Validate the plain query and rollout arguments, then the bounds once their field is known."""
        super().validate_plain_arguments(checks)
        plain_rollout = {n: v for n, v in self.rollout_values().items() if not is_run_time_value(v)}
        RolloutOptions.build(**plain_rollout)  # a malformed waiver date fails at DAG parse
        if not is_run_time_value(self.score_ids):  # a blank score_ids is refused even if bounds are templated
            coerce_str_list("score_ids", self.score_ids)
        plain = {name: value for name, value in self.gate_values().items() if not is_run_time_value(value)}
        bounded = any(name in self.gate_values() for name in BOUND_ARGS)
        if not bounded and not self.bound_replaced_by_comparison:
            GateCondition.build(**plain)  # no bound given, not even a templated one: refused by name
        if bounded and not is_run_time_value(self.field) and any(name in plain for name in BOUND_ARGS):
            GateCondition.build(**plain)  # the plain bounds, checked against a known field


def coerce_once_on_missing(value: Any) -> str:
    """Read ``on_missing`` of a task that decides once: ``"fail"`` or ``"ignore"``."""
    return coerce_choice(
        "on_missing",
        value,
        ("fail", "ignore"),  # a task that decides once has nothing to wait for
        hint="this task decides once: 'fail' or 'ignore' (DatadogScoreThresholdSensor can wait)",
    )


def push_verdict(context: Context, verdict: dict[str, Any]) -> None:
    """Push the ``verdict`` XCom (a task called without a task instance, as in a bare poke(), skips it)."""
    if (ti := context.get("ti")) is not None:
        ti.xcom_push(key="verdict", value=verdict)


def scorecards_hook(conn_id: str, concurrency: int = 4) -> DatadogScorecardsHook:
    """Build the hook of ``conn_id`` for a task, trigger or notifier: at run time (it brings ``requests``)."""
    from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook

    return DatadogScorecardsHook(conn_id, concurrency=concurrency)


def check_plain(task: Any, checks: Mapping[str, Callable[[Any], Any]]) -> None:
    """Apply each coercer (name → coercer) to the attribute of ``task`` by that name, when a plain value."""
    for name, coerce in checks.items():
        if not is_run_time_value(value := getattr(task, name)):
            coerce(value)


def is_run_time_value(value: Any) -> bool:
    """Tell whether ``value`` only has a value at run time: a Jinja template or an XComArg-like object."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, list | tuple | set):
        return any(is_run_time_value(item) for item in value)
    if isinstance(value, dict):
        return any(is_run_time_value(item) for item in value.values())
    return value is not None and not isinstance(value, int | float | bool)


@contextmanager
def failing_fast() -> Iterator[None]:
    """Turn errors that no retry can fix into ``AirflowFailException``; 429, 5xx and drops propagate.

    No retry fixes a bad parameter or connection, a 400/401/403/404, or an answer that is not a page.
    """
    try:
        yield
    except ScorecardsError as exc:
        if exc.retryable:
            raise
        raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc
