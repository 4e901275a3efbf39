"""The query model: coercion of loose (templated) values, validation, wire format."""

from __future__ import annotations

import pytest

from airflow_provider_scorecards.client.coercion import MAX_LIST_ITEMS
from airflow_provider_scorecards.client.errors import InvalidParameterError
from airflow_provider_scorecards.client.query import ScoresQuery


def test_wire_names_and_formats() -> None:
    query = ScoresQuery.build(
        "by-rule",
        rule_ids=["r1", "r2"],
        rule_name="Has runbook",
        rule_levels="1,3",
        scorecard_ids=("production-readiness",),
        is_custom="false",
        is_enabled=True,
        sort="-score",
        page_limit="250",
    )
    assert query.path == "/api/v2/scorecard/scores/by-rule"
    assert query.to_params(offset=500) == {
        "filter[rule][id]": "r1,r2",
        "filter[rule][name]": "Has runbook",
        "filter[rule][level]": "1,3",
        "filter[rule][scorecard_id]": "production-readiness",
        "filter[rule][is_custom]": "false",
        "filter[rule][is_enabled]": "true",
        "sort": "-score",
        "page[offset]": "500",
        "page[limit]": "250",
    }


def test_unset_filters_are_not_sent() -> None:
    assert ScoresQuery.build("by-team").to_params() == {"page[offset]": "0", "page[limit]": "1000"}


def test_a_set_filter_is_sent_even_when_its_text_is_empty() -> None:
    """The constructor trusts its arguments, but never widens a query by dropping a filter that was set."""
    query = ScoresQuery("by-entity", rule_ids=("",), scorecard_ids=("",), rule_name="", is_custom=False)
    assert query.to_params(offset=0, limit=0) == {
        "filter[rule][id]": "",
        "filter[rule][scorecard_id]": "",
        "filter[rule][is_custom]": "false",
        "page[offset]": "0",
        "page[limit]": "0",
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a,b", ("a", "b")),
        (" a , b ,", ("a", "b")),
        ("['a', 'b']", ("a", "b")),  # how Jinja renders a Python list
        ('["a", "b"]', ("a", "b")),  # a JSON dump
        (["a", 2], ("a", "2")),
        ("None", None),
        (None, None),
    ],
)
def test_list_coercion(raw: object, expected: object) -> None:
    assert ScoresQuery.build("by-rule", rule_ids=raw).rule_ids == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(True, True), ("true", True), ("False", False), ("0", False), (1, True), ("None", None), (None, None)],
)
def test_bool_coercion(raw: object, expected: object) -> None:
    assert ScoresQuery.build("by-rule", is_custom=raw).is_custom is expected


@pytest.mark.parametrize(
    ("kwargs", "parameter", "fragment"),
    [
        ({"aggregation": "by-service"}, "aggregation", "by-entity, by-rule, by-scorecard, by-team, by-kind"),
        ({"sort": "name"}, "sort", "total_no_data"),
        ({"sort": "--score"}, "sort", "prefixed with '-'"),
        ({"page_limit": 1001}, "page_limit", "from 1 to 1000"),
        ({"page_limit": 0}, "page_limit", "from 1 to 1000"),
        ({"page_limit": "lots"}, "page_limit", "integer"),
        ({"page_limit": True}, "page_limit", "integer"),
        ({"is_enabled": "maybe"}, "is_enabled", "true or false"),
        ({"is_enabled": ""}, "is_enabled", "a blank filter would select every score"),
        ({"is_custom": " "}, "is_custom", "a blank filter would select every score"),
        ({"rule_levels": "1,4"}, "rule_levels", "from 1 to 3"),
        ({"rule_levels": "high"}, "rule_levels", "integer"),
        ({"rule_ids": "[1, 2"}, "rule_ids", "comma"),
        ({"rule_ids": "{'a': 1}"}, "rule_ids", "list"),
        ({"rule_ids": [{"a": 1}]}, "rule_ids", "string or an integer"),
        ({"rule_ids": ["a,b"]}, "rule_ids", "comma"),
        ({"rule_ids": 3.5}, "rule_ids", "comma-separated"),
        ({"rule_name": ["x"]}, "rule_name", "string"),
    ],
)
def test_invalid_values_name_parameter_value_and_allowed(
    kwargs: dict[str, object], parameter: str, fragment: str
) -> None:
    args = {"aggregation": "by-rule", **kwargs}
    aggregation = args.pop("aggregation")
    with pytest.raises(InvalidParameterError) as info:
        ScoresQuery.build(aggregation, **args)
    assert info.value.parameter == parameter
    assert parameter in str(info.value)
    assert fragment in str(info.value)


def test_huge_list_is_refused_without_dumping_it() -> None:
    with pytest.raises(InvalidParameterError) as info:
        ScoresQuery.build("by-rule", rule_ids=[f"id{i}" for i in range(MAX_LIST_ITEMS + 1)])
    assert f"at most {MAX_LIST_ITEMS}" in str(info.value)
    assert len(str(info.value)) < 300


def test_description_round_trip() -> None:
    query = ScoresQuery.build("by-entity", rule_levels=[1, 2], is_custom=False, sort="score", page_limit=10)
    assert ScoresQuery.from_description(query.describe()) == query
