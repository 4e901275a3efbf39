"""The task classes without running them: parse-time validation, template fields, the argument dataclasses.

Nothing here needs the Airflow database or a server: a DAG file builds these objects at every parse, and
what they accept or refuse there, and what Airflow will render, is decided by the constructors alone.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from typing import Any

import pytest

from airflow_provider_scorecards.client.errors import InvalidParameterError
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.gate.condition import GateCondition
from airflow_provider_scorecards.hooks import DEFAULT_CONN_ID
from airflow_provider_scorecards.operators.base import GATE_ARGS, QUERY_ARGS, ROLLOUT_FIELDS, GateArguments
from airflow_provider_scorecards.operators.check import DatadogScoreCheckOperator
from airflow_provider_scorecards.operators.scores import DatadogScorecardScoresOperator, ExportArguments
from airflow_provider_scorecards.sensors.scores import DatadogScoreThresholdSensor
from tests.import_probe import loaded_by

TASK_CLASSES = (DatadogScorecardScoresOperator, DatadogScoreCheckOperator, DatadogScoreThresholdSensor)
PACKAGE = "airflow_provider_scorecards."
ARGUMENT_OF = {field: name for name, field in ROLLOUT_FIELDS.items()}
"""The constructor argument of each template field whose attribute has another name (``gate_dry_run``)."""


def build(cls: type[Any], **kwargs: Any) -> Any:
    gate = {} if cls is DatadogScorecardScoresOperator else {"min_score": 0.5}
    return cls(task_id="t", **{"aggregation": "by-team", **gate, **kwargs})


def own_classes(cls: type[Any]) -> list[type[Any]]:
    """The class and its bases defined in this package, most derived first."""
    return [c for c in cls.__mro__ if c.__module__.startswith(PACKAGE)]


def documented_params(cls: type[Any]) -> dict[str, str]:
    """Each ``:param name:`` of the class and its bases in this package, as the most derived one says it."""
    params: dict[str, str] = {}
    for klass in reversed(own_classes(cls)):
        doc = inspect.cleandoc(klass.__doc__ or "")
        for name, text in re.findall(r"^:param (\w+):(.*?)(?=^:param |^\s*$|\Z)", doc, re.M | re.S):
            params[name] = " ".join(text.split())
    return params


# -- parse-time validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"aggregation": "by-service"}, "aggregation"),
        ({"aggregation": "by-team", "sort": "-name"}, "sort"),
        ({"aggregation": "by-team", "page_limit": 1001}, "page_limit"),
        ({"aggregation": "by-team", "rule_levels": [0]}, "rule_levels"),
        ({"aggregation": "by-team", "is_custom": "sometimes"}, "is_custom"),
        ({"aggregation": "by-team", "max_results": 0}, "max_results"),
        ({"aggregation": "by-team", "concurrency": 64}, "concurrency"),
        ({"aggregation": "by-team", "datadog_conn_id": ""}, "datadog_conn_id"),
    ],
)
def test_static_invalid_arguments_fail_at_dag_parse(kwargs: dict[str, Any], parameter: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        DatadogScorecardScoresOperator(task_id="t", **kwargs)
    assert info.value.parameter == parameter


def test_templated_arguments_are_not_validated_at_parse() -> None:
    templated = {
        "aggregation": "{{ params.agg }}",
        "sort": "{{ params.sort }}",
        "page_limit": "{{ params.n }}",
    }
    operator = DatadogScorecardScoresOperator(task_id="t", **templated)
    assert {name: getattr(operator, name) for name in templated} == templated  # kept for rendering
    for name, value in templated.items():  # the same text without the braces is checked, and refused
        with pytest.raises(InvalidParameterError) as info:
            DatadogScorecardScoresOperator(task_id="t", **{**templated, name: value.strip("{} ")})
        assert info.value.parameter == name


def test_a_templated_required_argument_does_not_hide_a_bad_plain_one() -> None:
    with pytest.raises(InvalidParameterError) as info:
        DatadogScorecardScoresOperator(task_id="t", aggregation="{{ params.agg }}", sort="-name")
    assert info.value.parameter == "sort"


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"min_score": 1.5}, "min_score"),
        ({"field": "popularity", "min_value": 2}, "field"),
        ({"min_score": 0.5, "aggregation": "by-service"}, "aggregation"),
        ({"min_score": 0.5, "match": "most"}, "match"),
    ],
)
def test_invalid_sensor_arguments_fail_at_parse(kwargs: dict[str, Any], parameter: str) -> None:
    args = {"aggregation": "by-entity", **kwargs}
    with pytest.raises(InvalidParameterError) as info:
        DatadogScoreThresholdSensor(task_id="s", **args)
    assert info.value.parameter == parameter


@pytest.mark.parametrize("extra", [{}, {"score_ids": ["service:checkout"]}, {"field": "{{ params.f }}"}])
def test_a_sensor_without_any_bound_fails_at_parse(extra: dict[str, Any]) -> None:
    """No bound at all, not even a templated one, can never be met: refused when the DAG is parsed."""
    with pytest.raises(InvalidParameterError, match="needs a bound") as info:
        DatadogScoreThresholdSensor(task_id="s", aggregation="by-entity", **extra)
    assert info.value.parameter == "min_score"


def test_a_templated_bound_is_a_bound_at_parse() -> None:
    DatadogScoreThresholdSensor(task_id="s", aggregation="by-entity", min_score="{{ params.bar }}")


def test_bounds_wait_for_a_templated_field() -> None:
    """A bound's range depends on the field it bounds: with the field templated, it is checked at run time."""
    DatadogScoreThresholdSensor(task_id="s", aggregation="by-entity", field="{{ params.f }}", min_value=50)


def test_check_operator_refuses_to_wait() -> None:
    with pytest.raises(InvalidParameterError, match="on_missing"):
        DatadogScoreCheckOperator(task_id="c", aggregation="by-team", min_score=0.5, on_missing="wait")


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"min_score": 0.5, "baseline": "file:///tmp/last.jsonl"}, "max_drop"),
        ({"max_drop": 0.05}, "baseline"),
        ({"max_drop": -0.1, "baseline": "file:///tmp/last.jsonl"}, "max_drop"),
        ({"min_score": 0.5, "on_missing_baseline": "maybe"}, "on_missing_baseline"),
    ],
)
def test_check_operator_comparison_arguments_fail_at_parse(kwargs: dict[str, Any], parameter: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        DatadogScoreCheckOperator(task_id="c", aggregation="by-team", **kwargs)
    assert info.value.parameter == parameter


def test_sensor_has_the_extra_link_and_follows_default_deferrable() -> None:
    sensor = DatadogScoreThresholdSensor(task_id="linked", aggregation="by-team", min_score=0.5)
    assert [link.name for link in sensor.operator_extra_links] == ["Datadog Scorecards"]
    assert sensor.deferrable is False  # Airflow's [operators] default_deferrable, default False


# -- template fields --------------------------------------------------------------------------------


def test_template_fields_of_each_task_class() -> None:
    shared = (*QUERY_ARGS, "datadog_conn_id")
    assert tuple(DatadogScorecardScoresOperator.template_fields) == (
        *shared,
        "max_results",
        "concurrency",
        "output_path",
    )
    rollout = tuple(ROLLOUT_FIELDS.values())
    assert tuple(DatadogScoreThresholdSensor.template_fields) == (*shared, *GATE_ARGS, *rollout)
    assert tuple(DatadogScoreCheckOperator.template_fields) == (
        *shared,
        *GATE_ARGS,
        *rollout,
        "max_drop",
        "baseline",
        "on_missing_baseline",
    )


@pytest.mark.parametrize("cls", TASK_CLASSES)
def test_every_template_field_is_an_attribute_holding_its_argument(cls: type[Any]) -> None:
    """Airflow renders ``getattr(task, name)`` for each template field: each must hold what was passed."""
    marker = "{{ params.x }}"
    fields = set(cls.template_fields) - {"aggregation"}
    task = build(cls, **{ARGUMENT_OF.get(name, name): marker for name in fields})
    assert {
        name: getattr(task, name) for name in cls.template_fields if name != "aggregation"
    } == dict.fromkeys(fields, marker)


@pytest.mark.parametrize("cls", TASK_CLASSES)
def test_docstrings_say_templated_for_exactly_the_template_fields(cls: type[Any]) -> None:
    params = documented_params(cls)
    templated = {name for name, text in params.items() if "(templated" in text or "templated;" in text}
    assert templated == {ARGUMENT_OF.get(name, name) for name in cls.template_fields}


@pytest.mark.parametrize("cls", TASK_CLASSES)
def test_airflows_dry_run_previews_every_template_field(
    cls: type[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """``BaseOperator.dry_run()``, what Airflow 3.0's ``airflow tasks test --dry-run`` calls, is not shadowed."""
    gate = {} if cls is DatadogScorecardScoresOperator else {"dry_run": "{{ params.shadow }}"}
    task = build(cls, sort="{{ params.sort }}", **gate)
    if not hasattr(task, "dry_run"):
        pytest.skip("this Airflow's task SDK BaseOperator has no dry_run() (3.0.x)")
    task.dry_run()
    previewed = re.findall(r"Rendering template for (\w+)", capsys.readouterr().out)
    assert {"sort", *(["gate_dry_run"] if gate else [])} <= set(previewed)
    if gate:
        task.gate_dry_run = "true"  # as rendered: the dry_run argument still drives the rollout
        assert task.rollout_options().dry_run is True


@pytest.mark.parametrize("cls", TASK_CLASSES)
def test_one_param_per_constructor_argument(cls: type[Any]) -> None:
    arguments = {
        name
        for klass in own_classes(cls)
        for name, p in inspect.signature(klass.__init__).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    assert set(documented_params(cls)) == arguments
    for klass in own_classes(cls):  # and each class names a parameter once
        names = re.findall(r":param (\w+):", klass.__doc__ or "")
        assert len(names) == len(set(names)), klass


# -- the frozen argument dataclasses ------------------------------------------------------------------


def test_export_arguments_are_the_rendered_values_coerced() -> None:
    task = build(DatadogScorecardScoresOperator)
    # What Airflow leaves on the task after rendering templates: text, whatever the target type.
    task.page_limit, task.max_results, task.concurrency, task.output_path = "50", "10", "2", " "
    args = task.export_arguments()
    assert args == ExportArguments(
        query=ScoresQuery.build(aggregation="by-team", page_limit=50),
        conn_id=DEFAULT_CONN_ID,
        max_results=10,
        concurrency=2,
        raw=False,
        output_path=None,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        args.concurrency = 8  # type: ignore[misc]


def test_gate_arguments_are_the_rendered_values_coerced() -> None:
    sensor = build(DatadogScoreThresholdSensor)
    sensor.min_score, sensor.score_ids, sensor.datadog_conn_id = "0.8", "team-a,team-b", "other"
    args = sensor.gate_arguments()
    assert args == GateArguments(
        query=ScoresQuery.build(aggregation="by-team"),
        condition=GateCondition.build(min_score=0.8, score_ids=["team-a", "team-b"], on_missing="wait"),
        conn_id="other",
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        args.conn_id = "another"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("cls", "name", "rendered"),
    [
        (DatadogScorecardScoresOperator, "sort", "name"),
        (DatadogScorecardScoresOperator, "concurrency", "0"),
        (DatadogScorecardScoresOperator, "datadog_conn_id", ""),
        (DatadogScoreThresholdSensor, "min_score", "1.5"),
        (DatadogScoreCheckOperator, "match", "most"),
    ],
)
def test_a_bad_rendered_value_is_refused_with_its_parameter(cls: type[Any], name: str, rendered: str) -> None:
    task = build(cls)
    setattr(task, name, rendered)
    builder = task.export_arguments if cls is DatadogScorecardScoresOperator else task.gate_arguments
    with pytest.raises(InvalidParameterError) as info:
        builder()
    assert info.value.parameter == name


def test_a_dag_file_parse_loads_no_client_machinery() -> None:
    """What ``benchmarks/import_cost.py`` measures: the gate and export classes load no HTTP, hook or
    outcomes code (a gate's explanations load the outcomes endpoint's when a gate is explained)."""
    heavy = (
        "requests",
        "urllib3",
        "airflow_provider_scorecards.hooks.scorecards",
        "airflow_provider_scorecards.client.transport",
        "airflow_provider_scorecards.client.outcomes",
    )
    task_classes = [f"airflow_provider_scorecards.{name}" for name in ("operators.scores", "sensors.scores")]
    assert loaded_by(task_classes, heavy) == []
