"""A filter given but blank is an error before any request; only an omitted (or None) filter means "all".

A blank ``score_ids`` or query filter would silently widen what a gate watches to every score, so each
task class, both triggers and the Airflow-free layer refuse it, naming the argument and how to mean "all".
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airflow_provider_scorecards.client.coercion import coerce_filter_str, coerce_str_list
from airflow_provider_scorecards.client.errors import InvalidParameterError
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.gate.condition import GateCondition
from airflow_provider_scorecards.operators.scores import (
    DatadogScorecardScoresOperator,
    DatadogScoreCheckOperator,
)
from airflow_provider_scorecards.sensors.scores import DatadogScoreThresholdSensor
from airflow_provider_scorecards.simulator import ScorecardsSimulator
from airflow_provider_scorecards.triggers.events import DatadogScoreEventTrigger
from airflow_provider_scorecards.triggers.scores import DatadogScoreThresholdTrigger
from tests.airflow_support import run_dag

BLANKS: list[Any] = ["", " ", [], (), "[]", "  [ ]", [""], [" ", ""], ",", '[""]']
LIST_FILTERS = ("scorecard_ids", "rule_ids", "rule_levels")
QUERY_FILTERS = (*LIST_FILTERS, "rule_name")


def _assert_blank_error(info: pytest.ExceptionInfo[InvalidParameterError], name: str) -> None:
    assert info.value.parameter == name
    message = str(info.value)
    assert "blank" in message
    assert f"omit {name}" in message


@pytest.mark.parametrize("value", BLANKS, ids=repr)
def test_a_blank_list_filter_is_an_error(value: Any) -> None:
    with pytest.raises(InvalidParameterError) as info:
        coerce_str_list("score_ids", value)
    _assert_blank_error(info, "score_ids")


@pytest.mark.parametrize("value", [None, "None", "null", " None "], ids=repr)
def test_none_and_its_rendering_mean_no_filter(value: Any) -> None:
    assert coerce_str_list("score_ids", value) is None
    assert coerce_filter_str("rule_name", value) is None
    assert GateCondition.build(min_score=0.5, score_ids=value).score_ids is None


def test_blank_items_next_to_real_ones_are_dropped() -> None:
    assert coerce_str_list("rule_ids", "a,,b,") == ("a", "b")
    assert coerce_str_list("rule_ids", ["a", " "]) == ("a",)


@pytest.mark.parametrize("name", QUERY_FILTERS)
@pytest.mark.parametrize("value", ["", "  "], ids=repr)
def test_every_query_filter_refuses_blank(name: str, value: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        ScoresQuery.build("by-rule", **{name: value})
    _assert_blank_error(info, name)


@pytest.mark.parametrize("value", BLANKS[:5], ids=repr)
def test_gate_condition_refuses_blank_score_ids(value: Any) -> None:
    with pytest.raises(InvalidParameterError) as info:
        GateCondition.build(min_score=0.8, score_ids=value)
    _assert_blank_error(info, "score_ids")


# -- at DAG parse, when the value is plain ---------------------------------------------------------


def _operator(**kwargs: Any) -> Any:
    return DatadogScorecardScoresOperator(task_id="t", aggregation="by-rule", **kwargs)


def _check(**kwargs: Any) -> Any:
    return DatadogScoreCheckOperator(task_id="t", aggregation="by-entity", min_score=0.5, **kwargs)


def _sensor(**kwargs: Any) -> Any:
    return DatadogScoreThresholdSensor(task_id="t", aggregation="by-entity", min_score=0.5, **kwargs)


def _deferrable(**kwargs: Any) -> Any:
    return _sensor(deferrable=True, **kwargs)


def _event_trigger(**kwargs: Any) -> Any:
    return DatadogScoreEventTrigger(aggregation="by-entity", min_score=0.5, **kwargs)


BUILDERS = {
    "operator": (_operator, QUERY_FILTERS),
    "check": (_check, (*QUERY_FILTERS, "score_ids")),
    "sensor": (_sensor, (*QUERY_FILTERS, "score_ids")),
    "deferrable_sensor": (_deferrable, (*QUERY_FILTERS, "score_ids")),
    "event_trigger": (_event_trigger, (*QUERY_FILTERS, "score_ids")),
}
PARSE_CASES = [(kind, name) for kind, (_, names) in BUILDERS.items() for name in names]


@pytest.mark.parametrize(("kind", "name"), PARSE_CASES)
def test_each_task_class_refuses_a_plain_blank_filter_at_parse(kind: str, name: str) -> None:
    build, _ = BUILDERS[kind]
    value: Any = "" if name == "rule_name" else []
    with pytest.raises(InvalidParameterError) as info:
        build(**{name: value})
    _assert_blank_error(info, name)


def test_a_blank_score_ids_is_refused_at_parse_even_when_every_bound_is_templated() -> None:
    with pytest.raises(InvalidParameterError) as info:
        DatadogScoreThresholdSensor(
            task_id="t", aggregation="by-entity", min_score="{{ params.low }}", score_ids=""
        )
    _assert_blank_error(info, "score_ids")


def test_an_omitted_filter_still_means_all() -> None:
    sensor = _sensor(score_ids=None, rule_ids=None)
    assert sensor.gate_condition().score_ids is None
    assert sensor.scores_query().rule_ids is None


# -- the deferrable sensor's trigger, before any request ---------------------------------------------


@pytest.mark.parametrize("where", ["query", "condition"])
def test_the_threshold_trigger_refuses_blank_before_any_request(
    sim_conn: ScorecardsSimulator, where: str
) -> None:
    query = ScoresQuery.build("by-entity").describe()
    condition = GateCondition.build(min_score=0.5).describe()
    if where == "query":
        query["scorecard_ids"] = []
    else:
        condition["score_ids"] = []
    trigger = DatadogScoreThresholdTrigger(
        datadog_conn_id="datadog_scorecards_default", query=query, condition=condition, poke_interval=0.1
    )
    sim_conn.reset_log()

    async def first_event() -> Any:
        async for event in trigger.run():
            return event.payload
        return None

    event = asyncio.run(first_event())  # a trigger never dies: the wait ends with a typed error event
    assert event["status"] == "error"
    name = "scorecard_ids" if where == "query" else "score_ids"
    assert event["message"].startswith(f"InvalidParameterError: Invalid {name}=")
    assert "a blank filter would select every score" in event["message"]
    assert sim_conn.score_requests() == []


# -- rendered templates, through dag.test() ----------------------------------------------------------

DAG_CASES = [
    ("blank_filters_operator", "scorecard_ids", ""),
    ("blank_filters_operator", "rule_ids", " "),
    ("blank_filters_operator", "rule_levels", []),
    ("blank_filters_operator", "rule_name", ""),
    ("blank_filters_check", "score_ids", ""),
    ("blank_filters_check", "rule_ids", []),
    ("blank_filters_check", "rule_name", "  "),
    ("blank_filters_sensor", "score_ids", ""),
    ("blank_filters_sensor", "scorecard_ids", " "),
    ("blank_filters_sensor", "rule_levels", ""),
    ("blank_filters_deferrable", "score_ids", []),
    ("blank_filters_deferrable", "scorecard_ids", ""),
    ("blank_filters_deferrable", "rule_name", ""),
]


@pytest.mark.parametrize(("dag_id", "name", "value"), DAG_CASES)
def test_a_template_rendering_blank_fails_the_task_before_any_request(
    fresh_conn: ScorecardsSimulator, capfd: pytest.CaptureFixture[str], dag_id: str, name: str, value: Any
) -> None:
    fresh_conn.reset_log()
    result = run_dag(dag_id, {name: value})
    assert result.task_states["task"] == "failed"
    assert fresh_conn.score_requests() == []
    out, err = capfd.readouterr()
    assert f"Invalid {name}=" in out + err
    assert f"omit {name}" in out + err


def test_the_same_dags_run_when_the_filters_are_omitted(sim_conn: ScorecardsSimulator) -> None:
    result = run_dag("blank_filters_check")
    assert result.task_states["task"] == "success"
    assert len(result.xcom("task")) == len(sim_conn.expected_scores("by-entity"))


def test_the_deploy_gate_example_with_a_blanked_service_id_does_not_deploy(
    sim_conn: ScorecardsSimulator, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run_dag("scorecards_deploy_gate", {"service_id": ""})
    assert result.task_states["wait_for_readiness"] == "failed"
    assert result.task_states["observability_check"] == "failed"
    assert result.task_states["deploy"] == "upstream_failed"
    assert result.task_states["deploy_canary"] == "upstream_failed"
    out, err = capfd.readouterr()
    assert "Invalid score_ids=''" in out + err
