"""The scores decoder: valid pages become flat records; anything else raises our typed error."""

from __future__ import annotations

import gc
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_scorecards.client.errors import ScorecardsResponseError
from airflow_provider_scorecards.client.pages import RECORD_FIELDS, decode_page, flatten
from airflow_provider_scorecards.simulator import ScorecardsSimulator


def body_of(payload: Any) -> bytes:
    return json.dumps(payload).encode()


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
    page = decode_page(body_of(SPEC_EXAMPLE), offset=0)
    assert page.total == 42
    assert decode_page(body_of(SPEC_EXAMPLE), offset=0, raw=True).items == SPEC_EXAMPLE["data"]
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
        decode_page(body_of(payload), offset=0)


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
        page = decode_page(body_of(payload), offset=0)
    except ScorecardsResponseError:
        return
    for record in page.items:
        assert isinstance(record["id"], str)
        assert list(record) == list(RECORD_FIELDS)
        json.dumps(record, allow_nan=False)  # records are always XCom-serialisable, never NaN


@pytest.mark.parametrize("aggregation", ["by-entity", "by-rule", "by-team"])
def test_a_page_decodes_to_the_records_of_its_scores(aggregation: str) -> None:
    with ScorecardsSimulator(seed=3, entities=40) as sim:
        items = sim.expected_scores(aggregation)
    body = json.dumps({"data": items, "meta": {"total": len(items)}, "links": {"next": "x"}}).encode()
    page = decode_page(body, offset=0)
    assert page.items == [flatten(item) for item in items]
    assert decode_page(body, offset=0, raw=True).items == items
    assert not any(gc.is_tracked(record) for record in page.items)  # flat records never reach the GC


def test_a_malformed_score_is_named_by_its_position_field_and_value() -> None:
    good = {"id": "a", "type": "score", "attributes": {"score": 0.5}}
    bad = {"id": "b", "type": "score", "attributes": {"score": "high"}}
    with pytest.raises(ScorecardsResponseError) as info:
        decode_page(json.dumps({"data": [good, bad]}).encode(), offset=0)
    assert (
        str(info.value)
        == "page at offset 0, item 1: attribute 'score' is str 'high', expected a finite number"
    )
    with pytest.raises(ScorecardsResponseError) as single:
        flatten(bad)
    assert (
        str(single.value)
        == "malformed score object: attribute 'score' is str 'high', expected a finite number"
    )
