"""The simulator reads a scores request's query string as the API does: defaults, lists, flags, refusals."""

from __future__ import annotations

import pytest

from airflow_provider_scorecards.simulator.params import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    BadRequest,
    parse_scores_request,
)


def test_an_empty_query_string_is_every_rule_by_id_first_page() -> None:
    request = parse_scores_request("by-team", {})
    assert (request.sort, request.offset, request.limit) == (None, 0, DEFAULT_LIMIT)
    assert request.rule_filter.rule_ids is None
    assert request.rule_filter.is_custom is None


def test_filters_are_trimmed_lists_and_flags_and_blank_means_unset() -> None:
    request = parse_scores_request(
        "by-entity",
        {
            "filter[rule][id]": " r1, r2 ,,",
            "filter[rule][level]": "1,3",
            "filter[rule][is_custom]": "TRUE",
            "filter[rule][is_enabled]": "",
            "filter[rule][name]": "",
            "sort": "-score",
            "page[offset]": "20",
            "page[limit]": str(MAX_LIMIT),
        },
    )
    rule_filter = request.rule_filter
    assert rule_filter.rule_ids == frozenset({"r1", "r2"})
    assert rule_filter.levels == frozenset({1, 3})
    assert (rule_filter.is_custom, rule_filter.is_enabled, rule_filter.rule_name) == (True, None, None)
    assert (request.sort, request.offset, request.limit) == ("-score", 20, MAX_LIMIT)


@pytest.mark.parametrize(
    ("aggregation", "params", "fragment"),
    [
        ("by-service", {}, "invalid aggregation"),
        ("by-team", {"sort": "name"}, "invalid sort"),
        ("by-team", {"page[limit]": str(MAX_LIMIT + 1)}, "page[limit]"),
        ("by-team", {"page[limit]": "0"}, "page[limit]"),
        ("by-team", {"page[offset]": "-1"}, "page[offset]"),
        ("by-team", {"filter[rule][is_enabled]": "yes"}, "is_enabled"),
        ("by-team", {"filter[rule][level]": "1,two"}, "level"),
    ],
)
def test_what_the_api_refuses_is_a_bad_request(
    aggregation: str, params: dict[str, str], fragment: str
) -> None:
    with pytest.raises(BadRequest, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        parse_scores_request(aggregation, params)
