"""The response parser: valid pages become flat records; anything else raises our typed error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_scorecards.client.errors import ScorecardsResponseError
from airflow_provider_scorecards.client.pages import RECORD_FIELDS, flatten, parse_page

SPEC_EXAMPLE = {
    "data": [
        {
            "attributes": {
                "aggregation": "by-entity",
                "denominator": 4,
                "numerator": 3,
                "score": 0.75,
                "total_fail": 1,
                "total_no_data": 0,
                "total_pass": 3,
                "total_skip": 0,
            },
            "id": "service:my-service",
            "relationships": {"entity": {"data": {"id": "service:my-service", "type": "entity"}}},
            "type": "score",
        }
    ],
    "links": {"next": "/api/v2/scorecard/scores/by-entity?page[offset]=100&page[limit]=100"},
    "meta": {"count": 1, "limit": 100, "offset": 0, "total": 42},
}


def test_spec_example_flattens_with_missing_fields_as_none() -> None:
    page = parse_page(SPEC_EXAMPLE, offset=0)
    assert page.total == 42
    assert parse_page(SPEC_EXAMPLE, offset=0, raw=True).items == SPEC_EXAMPLE["data"]
    (record,) = page.items
    assert flatten(SPEC_EXAMPLE["data"][0]) == record
    assert list(record) == list(RECORD_FIELDS)
    assert record["score"] == 0.75
    assert record["entity_id"] == "service:my-service"
    # The example sends neither level nor total_entities nor a team: None, never invented.
    assert record["level"] is None
    assert record["total_entities"] is None
    assert record["team_id"] is None


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {"data": {"id": "x"}},
        {"data": [1]},
        {"data": [{"type": "score"}]},
        {"data": [{"id": "a", "attributes": []}]},
        {"data": [{"id": "a", "attributes": {"score": "high"}}]},
        {"data": [{"id": "a", "attributes": {"score": True}}]},
        {"data": [{"id": "a", "relationships": {"team": "x"}}]},
        {"data": [], "meta": "none"},
        {"data": [{"id": "a", "attributes": {"score": float("nan")}}]},
        {"data": [{"id": "a", "attributes": {"level": float("inf")}}]},
        {"data": [{"id": "a", "relationships": {"team": {"data": {"id": 3}}}}]},
    ],
)
def test_malformed_pages_raise_typed_error(payload: Any) -> None:
    with pytest.raises(ScorecardsResponseError):
        parse_page(payload, offset=0)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)
score_like = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=8) | json_values},
    optional={
        "attributes": st.dictionaries(
            st.sampled_from(["score", "level", "numerator", "aggregation", "x"]), json_values, max_size=4
        )
        | json_values,
        "relationships": st.dictionaries(
            st.sampled_from(["entity", "team", "rule"]),
            st.fixed_dictionaries({}, optional={"data": json_values}) | json_values,
            max_size=3,
        )
        | json_values,
        "type": json_values,
    },
)
pages = (
    st.fixed_dictionaries(
        {}, optional={"data": st.lists(score_like, max_size=5) | json_values, "meta": json_values}
    )
    | json_values
)


@settings(max_examples=400, deadline=None)
@given(pages)
def test_any_json_gives_records_or_our_error(payload: Any) -> None:
    try:
        page = parse_page(payload, offset=0)
    except ScorecardsResponseError:
        return
    for record in page.items:
        assert isinstance(record["id"], str)
        assert list(record) == list(RECORD_FIELDS)
        json.dumps(record, allow_nan=False)  # records are always XCom-serialisable, never NaN


@pytest.mark.parametrize("aggregation", ["by-entity", "by-rule", "by-team"])
def test_decoding_flattens_while_parsing_with_the_same_result(aggregation: str) -> None:
    """decode_page (flattening in json's object_hook) gives exactly parse_page(json.loads(body))."""
    import gc
    import json

    from airflow_provider_scorecards.client.pages import decode_page
    from airflow_provider_scorecards.simulator import ScorecardsSimulator

    with ScorecardsSimulator(seed=3, entities=40) as sim:
        items = sim.expected_scores(aggregation)
    body = json.dumps({"data": items, "meta": {"total": len(items)}, "links": {"next": "x"}}).encode()
    page = decode_page(body, offset=0)
    assert page == parse_page(json.loads(body), offset=0)
    assert decode_page(body, offset=0, raw=True) == parse_page(json.loads(body), offset=0, raw=True)
    assert not any(gc.is_tracked(record) for record in page.items)  # flat records never reach the GC


def test_decoding_reports_a_malformed_score_like_parsing() -> None:
    import json

    from airflow_provider_scorecards.client.errors import ScorecardsResponseError
    from airflow_provider_scorecards.client.pages import decode_page

    good = {"id": "a", "type": "score", "attributes": {"score": 0.5}}
    bad = {"id": "b", "type": "score", "attributes": {"score": "high"}}
    body = json.dumps({"data": [good, bad]}).encode()
    with pytest.raises(ScorecardsResponseError, match="item 1: attribute 'score' is str") as decoded:
        decode_page(body, offset=0)
    with pytest.raises(ScorecardsResponseError) as parsed:
        parse_page(json.loads(body), offset=0)
    assert str(decoded.value) == str(parsed.value)
