"""Typed page decoding (msgspec): the same records and errors as the careful parser, impossible values refused.

``decode_page`` decodes with msgspec and falls back to ``json.loads`` + ``parse_page`` for anything msgspec
refuses; these tests hold the two to the same answers, and check the fail-closed rules for values no
score can have.
"""

from __future__ import annotations

import gc
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_scorecards.client.errors import ScorecardsResponseError
from airflow_provider_scorecards.client.pages import (
    NON_NEGATIVE_FIELDS,
    NUMERIC_FIELDS,
    RECORD_FIELDS,
    decode_page,
    parse_page,
)
from airflow_provider_scorecards.client.wire import decode_records
from tests.import_probe import loaded_by


def body_of(payload: Any) -> bytes:
    return json.dumps(payload).encode()  # NaN and Infinity as Python's json writes them


def page_of(*attributes: dict[str, Any], ids: list[str] | None = None) -> dict[str, Any]:
    ids = ids or [f"service:s{i}" for i in range(len(attributes))]
    data = [
        {"id": item_id, "type": "score", "attributes": attrs, "relationships": {}}
        for item_id, attrs in zip(ids, attributes, strict=True)
    ]
    return {"data": data, "meta": {"total": len(data)}, "links": {"next": "x"}}


GOOD = {"score": 0.75, "numerator": 3, "denominator": 4, "total_pass": 3, "total_fail": 1, "total_skip": 0}


def outcome(decode: Any) -> tuple[str, Any]:
    try:
        return "page", decode()
    except ScorecardsResponseError as exc:
        return "error", str(exc)


# -- the same answers as the careful parser ---------------------------------------------------------------

numbers = (
    st.integers(min_value=-3, max_value=12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.floats(min_value=-0.5, max_value=1.5)
    | st.sampled_from(
        [0, 1, 0.0, 1.0, 2.0, 3, 4, 2.5, 1e308, -1e308, 10**30, 2**63 - 1, 2**63, True, False, "0.9", None]
    )
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=20,
)
attributes = st.dictionaries(st.sampled_from([*NUMERIC_FIELDS, "aggregation", "other"]), numbers, max_size=8)
relationship = st.fixed_dictionaries(
    {},
    optional={
        "data": st.none() | st.fixed_dictionaries({}, optional={"id": st.text(max_size=4) | json_values})
    },
)
score_objects = st.fixed_dictionaries(
    {"id": st.text(max_size=6) | json_values},
    optional={
        "type": st.just("score") | json_values,
        "attributes": attributes | json_values,
        "relationships": st.dictionaries(
            st.sampled_from(["entity", "rule", "scorecard", "service", "team", "x"]),
            relationship | json_values,
        )
        | json_values,
    },
)
payloads = (
    st.fixed_dictionaries(
        {},
        optional={
            "data": st.lists(score_objects, max_size=5) | json_values,
            "meta": st.fixed_dictionaries({}, optional={"total": numbers | json_values}) | json_values,
            "links": json_values,
        },
    )
    | json_values
)


@settings(max_examples=600, deadline=None)
@given(payloads)
def test_typed_decoding_answers_exactly_as_the_careful_parser(payload: Any) -> None:
    body = body_of(payload)
    assert outcome(lambda: decode_page(body, 300)) == outcome(lambda: parse_page(json.loads(body), 300))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries({"id": st.text(min_size=1, max_size=6)}, optional={"attributes": attributes}),
        max_size=6,
    )
)
def test_any_record_that_passes_holds_only_possible_values(items: list[dict[str, Any]]) -> None:
    try:
        page = decode_page(body_of({"data": items}), 0)
    except ScorecardsResponseError:
        return
    for record in page.items:
        assert list(record) == list(RECORD_FIELDS)
        json.dumps(record, allow_nan=False)
        score = record["score"]
        assert score is None or 0 <= score <= 1
        assert all(record[name] is None or record[name] >= 0 for name in NON_NEGATIVE_FIELDS)
        if record["denominator"] is not None:
            for name in ("numerator", "total_pass", "total_fail"):
                assert record[name] is None or record[name] <= record["denominator"]


def test_the_fast_path_takes_valid_pages_and_keeps_ints_as_ints() -> None:
    body = body_of(page_of(GOOD, {"score": 1, "level": 0}, {}))
    page = decode_records(body, 0)
    assert page is not None  # msgspec answered; no fallback
    assert page == parse_page(json.loads(body), 0)
    assert type(page.items[1]["score"]) is int
    assert page.items[2] == dict.fromkeys(RECORD_FIELDS) | {"id": "service:s2"}
    assert not any(gc.is_tracked(record) for record in page.items)


@pytest.mark.parametrize(
    "relationships",
    [
        None,
        {},
        {"entity": None},
        {"entity": {}},
        {"entity": {"data": None}},
        {"entity": {"data": {"type": "entity"}}},
        {"team": {"data": {"id": "team-a", "type": "team"}}, "rule": {"data": {"id": "r1"}}},
    ],
)
def test_sparse_relationships_are_missing_data_not_errors(relationships: Any) -> None:
    body = body_of({"data": [{"id": "a", "type": "score", "relationships": relationships}]})
    page = decode_records(body, 0)
    assert page is not None
    assert page == parse_page(json.loads(body), 0)


# -- impossible values fail closed ------------------------------------------------------------------

IMPOSSIBLE: list[tuple[dict[str, Any], str, str]] = [
    ({"score": 7.5}, "score", "7.5, outside 0..1"),
    ({"score": 1e308}, "score", "1e+308, outside 0..1"),
    ({"score": -0.01}, "score", "-0.01, outside 0..1"),
    ({"score": 2}, "score", "2, outside 0..1"),
    *(({name: -5}, name, "-5, below 0") for name in NON_NEGATIVE_FIELDS),
    ({"numerator": 5, "denominator": 4}, "numerator", "5, above its 'denominator' 4"),
    ({"total_pass": 9, "denominator": 4}, "total_pass", "9, above its 'denominator' 4"),
    ({"total_fail": 5.0, "denominator": 4}, "total_fail", "5.0, above its 'denominator' 4"),
    ({"level": 4}, "level", "4, above 3 (the highest level)"),
    ({"level": 99}, "level", "99, above 3 (the highest level)"),
    ({"level": 1.5}, "level", "1.5, not a whole number"),
    ({"total_fail": 0.5}, "total_fail", "0.5, not a whole number"),
    (
        {"total_fail": 10**400, "denominator": None},
        "total_fail",
        f"{str(10**400)[:40]}, above 9223372036854775807 (the int64 maximum)",
    ),
    (
        {"total_entities": 2**63},
        "total_entities",
        "9223372036854775808, above 9223372036854775807 (the int64 maximum)",
    ),
    ({"total_skip": 1e300}, "total_skip", "1e+300, above 9223372036854775807 (the int64 maximum)"),
]


@pytest.mark.parametrize(
    ("bad", "field", "words"), IMPOSSIBLE, ids=[f"{f}={w[:20]}" for _, f, w in IMPOSSIBLE]
)
@pytest.mark.parametrize("raw", [False, True], ids=["records", "raw"])
def test_impossible_values_refuse_the_page_naming_offset_item_id_field_and_value(
    bad: dict[str, Any], field: str, words: str, raw: bool
) -> None:
    body = body_of(page_of(GOOD, {**GOOD, **bad}, ids=["service:fine", "service:odd\n"]))
    with pytest.raises(ScorecardsResponseError) as info:
        decode_page(body, 2000, raw=raw)
    assert str(info.value) == (
        f"page at offset 2000, item 1: impossible value in score 'service:odd\\n': attribute {field!r} is {words}"
    )
    with pytest.raises(ScorecardsResponseError) as parsed:
        parse_page(json.loads(body), 2000)
    assert str(parsed.value) == str(info.value)


@pytest.mark.parametrize(
    "fine",
    [
        {"score": 0},
        {"score": 1.0},
        {"score": 0.0, "numerator": 0, "denominator": 0},
        {"numerator": 4, "denominator": 4, "total_pass": 4, "total_fail": 0},
        {"numerator": 7},  # no denominator: nothing to compare with
        {"denominator": 0, "total_skip": 12, "total_no_data": 3, "total_entities": 50},
        {"level": 0},
        {"score": None, "numerator": None, "denominator": None},
    ],
)
def test_boundary_and_missing_values_are_accepted(fine: dict[str, Any]) -> None:
    body = body_of(page_of(fine))
    page = decode_records(body, 0)
    assert page is not None
    assert page == parse_page(json.loads(body), 0)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (float("nan"), "float nan"),
        (float("inf"), "float inf"),
        (float("-inf"), "float -inf"),
        (True, "bool True"),
        ("0.9", "str '0.9'"),
        ([0.9], "list [0.9]"),
    ],
)
def test_numbers_that_are_not_finite_numbers_keep_their_error(value: Any, words: str) -> None:
    body = body_of(page_of({"score": value}))
    with pytest.raises(ScorecardsResponseError) as info:
        decode_page(body, 0)
    assert (
        str(info.value) == f"page at offset 0, item 0: attribute 'score' is {words}, expected a finite number"
    )


# -- what is not JSON, or too deep ----------------------------------------------------------------------


@pytest.mark.parametrize("where", ["links", "data", "attributes", "meta"])
def test_deeply_nested_json_gives_the_typed_error_not_recursion_error(where: str) -> None:
    deep = "[" * 200_000 + "]" * 200_000
    page = {
        "links": '{"data": [], "links": %s}',
        "data": '{"data": %s}',
        "attributes": '{"data": [{"id": "a", "attributes": {"score": %s}}]}',
        "meta": '{"data": [], "meta": {"total": %s}}',
    }[where]
    with pytest.raises(ScorecardsResponseError, match="page at offset 100: JSON nested too deeply"):
        decode_page((page % deep).encode(), 100)


def test_a_truncated_body_is_a_value_error_for_the_transport_to_retry() -> None:
    body = body_of(page_of(GOOD))[:-7]
    with pytest.raises(json.JSONDecodeError) as info:  # a ValueError: the transport retries it
        decode_page(body, 0)
    assert not isinstance(info.value, ScorecardsResponseError)


def test_invalid_utf8_where_msgspec_does_not_look_is_the_same_decoding_error() -> None:
    body = b'{"data": [], "links": {"next": "\xff"}}'
    assert decode_records(body, 0) is None
    with pytest.raises(UnicodeDecodeError):  # a ValueError, as from json.loads: the transport retries it
        decode_page(body, 0)


def test_pages_that_only_the_careful_parser_accepts_give_the_same_records() -> None:
    """What the typed decoder is strict about and the parser is not: the fallback answers, same result."""
    for payload in (
        {"data": [{"id": "a", "attributes": {"score": 0.5}}], "meta": {"total": "many"}},
        {"data": [], "meta": {"total": -1}},
        {"data": [{"id": "a", "attributes": {"total_fail": 2.0, "level": 3.0}}]},
    ):
        body = body_of(payload)
        assert decode_page(body, 0) == parse_page(json.loads(body), 0)


def test_infinity_outside_numbers_is_not_a_record_value() -> None:
    body = b'{"data": [{"id": "a", "attributes": {"total_pass": 1e999}}]}'
    with pytest.raises(ScorecardsResponseError, match="'total_pass' is float inf, expected a finite number"):
        decode_page(body, 0)
    assert math.isinf(json.loads(body)["data"][0]["attributes"]["total_pass"])


def test_msgspec_loads_with_the_first_page_not_when_a_dag_file_imports_the_task_classes() -> None:
    imports = ["operators.scores", "sensors.scores", "triggers.scores", "gate"]
    wire = "airflow_provider_scorecards.client.wire"
    assert loaded_by([f"airflow_provider_scorecards.{name}" for name in imports], (wire,)) == []
