"""Score page decoding (msgspec): one decoder, held to a small model of the documented rules.

``decode_page`` decodes with msgspec typed structs; the model below states docs/decoding.rst plainly,
without msgspec or ``pages.DOMAINS``. Valid pages give the model's records; every other page raises
``ScorecardsResponseError`` naming the item the model finds wrong first, and nothing else escapes.
A body that Python's json reads and RFC 8259 does not (``NaN``, ``Infinity``) is refused whole.
"""

from __future__ import annotations

import gc
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_scorecards.client.bounded_json import MAX_JSON_DEPTH
from airflow_provider_scorecards.client.errors import ScorecardsResponseError
from airflow_provider_scorecards.client.pages import (
    NON_NEGATIVE_FIELDS,
    NUMERIC_FIELDS,
    RECORD_FIELDS,
    RELATIONSHIPS,
    decode_page,
)
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


# -- the model: docs/decoding.rst, stated plainly ----------------------------------------------------------


class Refused(Exception):
    """The model refuses the page; ``where`` is how the decoder's error must begin."""

    def __init__(self, where: str) -> None:
        self.where = where


def possible(name: str, value: Any) -> bool:
    if type(value) not in (int, float):  # not a bool, a string, a list...
        return False
    highest = {"score": 1, "level": 3}.get(name, 2**63 - 1)
    return 0 <= value <= highest and (name == "score" or value % 1 == 0)  # NaN and infinity fail the range


def model_record(item: Any) -> dict[str, Any] | None:
    """The record of one score object, or None when it is not one."""
    if not isinstance(item, dict) or not isinstance(item.get("id"), str) or item["id"] == "":
        return None
    attributes = {} if item.get("attributes") is None else item["attributes"]
    relationships = {} if item.get("relationships") is None else item["relationships"]
    if not isinstance(attributes, dict) or not isinstance(relationships, dict):
        return None
    record = {"id": item["id"], "aggregation": attributes.get("aggregation")}
    if not isinstance(record["aggregation"], str | None):
        return None
    for name in NUMERIC_FIELDS:
        record[name] = attributes.get(name)
        if record[name] is not None and not possible(name, record[name]):
            return None
    for part in ("numerator", "total_pass", "total_fail"):
        if None not in (record[part], record["denominator"]) and record[part] > record["denominator"]:
            return None
    for name in RELATIONSHIPS:
        relationship = {} if relationships.get(name) is None else relationships[name]
        if not isinstance(relationship, dict):
            return None
        data = {} if relationship.get("data") is None else relationship["data"]
        if not isinstance(data, dict) or not isinstance(data.get("id"), str | None):
            return None
        record[f"{name}_id"] = data.get("id")
    return record


def model(payload: Any) -> tuple[list[dict[str, Any]], int | None]:
    """The records and the total of a valid page; raises Refused for any other."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise Refused("page at offset 300: ")
    meta = payload.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise Refused("page at offset 300: ")
    records = []
    for position, item in enumerate(payload["data"]):
        record = model_record(item)
        if record is None:
            raise Refused(f"page at offset 300, item {position}: ")
        records.append(record)
    total = (meta or {}).get("total")
    return records, total if type(total) is int and total >= 0 else None


def strict_json(body: bytes) -> Any:
    """The body as JSON (RFC 8259); ``NaN`` and ``Infinity``, which Python's json reads, are not."""

    def refuse(constant: str) -> Any:
        raise Refused("page at offset 300: ")

    return json.loads(body, parse_constant=refuse)


def expected(body: bytes) -> tuple[list[dict[str, Any]], int | None] | str:
    """The model's records and total for a body, or how the decoder's error must begin."""
    try:
        answer = model(json.loads(body))  # the first wrong item is named, NaN or not
        strict_json(body)  # a page of valid scores with NaN elsewhere (in "links") is not JSON
    except Refused as refused:
        return refused.where
    return answer


def typed(records: list[dict[str, Any]]) -> list[list[tuple[Any, type]]]:
    """Records with each value's type: ``2`` and ``2.0`` are equal, but a number keeps the type sent."""
    return [[(value, type(value)) for value in record.values()] for record in records]


# -- the decoder against the model -------------------------------------------------------------------------

numbers = (
    st.integers(min_value=-3, max_value=12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.floats(min_value=-0.5, max_value=1.5)
    | st.sampled_from(
        [0, 1, 0.0, 1.0, 2.0, 3, 4, 2.5, 1e308, -1e308, 10**30, 2**63 - 1, 2**63, True, False, "0.9", None]
    )
    | st.sampled_from([-0.0, 5e-324, 2.0**63, 2.0**63 - 1024, 3.0, 3.5])  # the edges of the float domains
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
        "data": st.none()
        | st.fixed_dictionaries({}, optional={"id": st.none() | st.text(max_size=4) | json_values})
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
def test_the_decoder_answers_as_the_model(payload: Any) -> None:
    body = body_of(payload)
    answer = expected(body)
    if isinstance(answer, str):
        for raw in (False, True):
            with pytest.raises(ScorecardsResponseError) as info:
                decode_page(body, 300, raw=raw)
            assert str(info.value).startswith(answer)
        return
    records, total = answer
    page = decode_page(body, 300)
    assert typed(page.items) == typed(records)
    assert [list(record) for record in page.items] == [list(RECORD_FIELDS)] * len(records)
    assert (page.total, page.count, page.offset) == (total, len(records), 300)
    assert decode_page(body, 300, raw=True).items == json.loads(body)["data"]


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


def test_valid_pages_keep_ints_as_ints_and_records_stay_out_of_the_gc() -> None:
    body = body_of(page_of(GOOD, {"score": 1, "level": 0}, {}))
    page = decode_page(body, 0)
    assert typed(page.items) == typed(model(json.loads(body))[0])
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
        {"entity": {"data": {"id": None}}},
        {"team": {"data": {"id": "team-a", "type": "team"}}, "rule": {"data": {"id": "r1"}}},
    ],
)
def test_sparse_relationships_are_missing_data_not_errors(relationships: Any) -> None:
    body = body_of({"data": [{"id": "a", "type": "score", "relationships": relationships}]})
    (record,) = decode_page(body, 0).items
    assert record == model(json.loads(body))[0][0]
    assert record["team_id"] == ("team-a" if relationships and "team" in relationships else None)
    bad = {"id": "b", "attributes": {"level": 9}}
    with pytest.raises(
        ScorecardsResponseError, match=r"^page at offset 0, item 1: impossible value in score 'b'"
    ):
        decode_page(body_of({"data": [json.loads(body)["data"][0], bad]}), 0)  # the sparse one is not blamed


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
    assert typed(decode_page(body, 0).items) == typed(model(json.loads(body))[0])


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


def test_raw_objects_deeper_than_the_bound_refuse_the_page_the_records_skip_them() -> None:
    """Raw objects are returned as sent, so all of them is read: an unknown field too deep refuses the page."""
    deep = [[[]]]
    for _ in range(MAX_JSON_DEPTH):
        deep = [deep]
    body = body_of(page_of({**GOOD, "unknown": deep}))
    assert decode_page(body, 0).count == 1
    with pytest.raises(ScorecardsResponseError, match="page at offset 0: JSON nested too deeply"):
        decode_page(body, 0, raw=True)


def test_a_truncated_body_is_a_value_error_for_the_transport_to_retry() -> None:
    body = body_of(page_of(GOOD))[:-7]
    with pytest.raises(json.JSONDecodeError) as info:  # a ValueError: the transport retries it
        decode_page(body, 0)
    assert not isinstance(info.value, ScorecardsResponseError)


def test_invalid_utf8_where_msgspec_does_not_look_is_a_decoding_error() -> None:
    body = b'{"data": [], "links": {"next": "\xff"}}'
    with pytest.raises(UnicodeDecodeError):  # a ValueError, as from json.loads: the transport retries it
        decode_page(body, 0)


def test_a_total_that_is_not_a_count_is_ignored_and_whole_floats_are_counts() -> None:
    for payload, total in (
        ({"data": [{"id": "a", "attributes": {"score": 0.5}}], "meta": {"total": "many"}}, None),
        ({"data": [], "meta": {"total": -1}}, None),
        ({"data": [], "meta": {"total": True}}, None),
        ({"data": [], "meta": {"total": 7}}, 7),
        ({"data": [{"id": "a", "attributes": {"total_fail": 2.0, "level": 3.0}}]}, None),
    ):
        body = body_of(payload)
        page = decode_page(body, 0)
        assert page.total == total
        assert typed(page.items) == typed(model(json.loads(body))[0])


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ({"total_entities": 2.0**63}, "9.223372036854776e+18, above 9223372036854775807 (the int64 maximum)"),
        ({"level": 3.5}, "3.5, above 3 (the highest level)"),
        ({"total_skip": 5e-324}, "5e-324, not a whole number"),
    ],
)
def test_floats_at_the_edge_of_a_domain_are_refused(bad: dict[str, Any], words: str) -> None:
    with pytest.raises(ScorecardsResponseError) as info:
        decode_page(body_of(page_of(bad)), 0)
    assert str(info.value).endswith(f"attribute '{next(iter(bad))}' is {words}")
    (record,) = decode_page(body_of(page_of({"total_entities": 2.0**63 - 1024})), 0).items
    assert record["total_entities"] == 2**63 - 1024


def test_infinity_outside_numbers_is_not_a_record_value() -> None:
    body = b'{"data": [{"id": "a", "attributes": {"total_pass": 1e999}}]}'
    with pytest.raises(ScorecardsResponseError, match="'total_pass' is float inf, expected a finite number"):
        decode_page(body, 0)
    assert math.isinf(json.loads(body)["data"][0]["attributes"]["total_pass"])


def test_msgspec_is_loaded_by_the_dag_processor_before_any_dag_file() -> None:
    """The decoders import msgspec at module level: at DAG parse it costs nothing Airflow has not paid."""
    processor = loaded_by(["airflow.dag_processing.processor"], ("msgspec",))
    ours = loaded_by(
        ["airflow_provider_scorecards.operators.scores", "airflow_provider_scorecards.gate"], ("msgspec",)
    )
    assert "msgspec.json" in processor
    assert set(ours) <= set(processor)
