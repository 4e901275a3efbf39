"""Typed outcomes decoding (msgspec): the same page and the same errors as the careful parser.

``decode_outcomes_page`` decodes with msgspec and falls back to ``json.loads`` + ``parse_outcomes_page``
for anything msgspec refuses; these tests hold the two to the same answers.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_scorecards.client.errors import ScorecardsResponseError
from airflow_provider_scorecards.client.outcomes import decode_outcomes_page, parse_outcomes_page
from airflow_provider_scorecards.client.outcomes_wire import decode_outcomes
from tests.import_probe import loaded_by

PAGE_SIZE = 3


def outcome_of(decode: Any) -> tuple[str, Any]:
    try:
        return "page", decode()
    except ScorecardsResponseError as exc:
        return "error", str(exc)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=4),
    lambda children: (
        st.lists(children, max_size=2) | st.dictionaries(st.text(max_size=4), children, max_size=2)
    ),
    max_leaves=8,
)
# Mostly what a valid page holds, sometimes anything at all: the fast path must answer for the first and
# hand the second to the careful parser, and both must then agree.
texts = st.none() | st.text(max_size=5) | st.sampled_from(["", "r1", "r2", "rule"])
odd = json_values
rule_ids = st.sampled_from(["r1", "r2", "", "r3"]) | st.none()
relationships = st.fixed_dictionaries(
    {},
    optional={
        "rule": st.none()
        | st.fixed_dictionaries(
            {}, optional={"data": st.none() | st.fixed_dictionaries({}, optional={"id": rule_ids})}
        )
        | odd,
        "service": odd,
    },
)
outcomes = st.fixed_dictionaries(
    {},
    optional={
        "id": texts,
        "type": st.just("outcome"),
        "attributes": st.none()
        | st.fixed_dictionaries(
            {},
            optional={
                name: texts | (odd if name == "remarks" else st.nothing())
                for name in ("state", "remarks", "service_name", "created_at", "modified_at")
            },
        ),
        "relationships": st.none() | relationships,
    },
)
included = st.fixed_dictionaries(
    {},
    optional={
        "id": rule_ids,
        "type": st.sampled_from(["rule", "team"]) | st.none(),
        "attributes": st.none()
        | st.fixed_dictionaries({}, optional={"name": texts, "scorecard_name": texts | odd}),
    },
)
payloads = (
    st.fixed_dictionaries(
        {},
        optional={
            "data": st.none() | st.lists(outcomes, max_size=PAGE_SIZE + 1),
            "included": st.none() | st.lists(included, max_size=4),
            "links": st.none() | st.fixed_dictionaries({}, optional={"next": texts | odd}),
            "meta": odd,
        },
    )
    | odd
)


@settings(max_examples=800, deadline=None)
@given(payloads)
def test_typed_decoding_answers_exactly_as_the_careful_parser(payload: Any) -> None:
    body = json.dumps(payload).encode()
    fast = outcome_of(lambda: decode_outcomes_page(body, 200, PAGE_SIZE))
    assert fast == outcome_of(lambda: parse_outcomes_page(json.loads(body), 200, PAGE_SIZE))


def test_the_fast_path_answers_for_a_valid_page_and_the_first_included_rule_wins() -> None:
    payload = {
        "data": [
            {
                "id": "r1\\svc",
                "attributes": {"state": "fail", "remarks": "<a>x</a>"},
                "relationships": {"rule": {"data": {"id": "r1", "type": "rule"}}},
            },
            {"id": "r2\\svc", "relationships": {"rule": {"data": {"id": "r2"}}}},
        ],
        "included": [
            {"id": "r1", "type": "rule", "attributes": {"name": "Has runbook", "scorecard_name": "PR"}},
            {"id": "r1", "type": "rule", "attributes": {"name": "Later"}},
            {"id": "r2", "type": "team", "attributes": {"name": "Not a rule"}},
        ],
        "links": {"next": "/next"},
    }
    body = json.dumps(payload).encode()
    page = decode_outcomes(body, 0, 100)
    assert page is not None  # msgspec answered; no fallback
    assert page == parse_outcomes_page(payload, 0, 100)
    assert page.outcomes[0].rule_name == "Has runbook"
    assert page.outcomes[1].rule_name is None


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"data": [{}] * 4}).encode(),  # more outcomes than page[size]
        b'{"data": [], "meta": "\xff"}',  # invalid UTF-8 where msgspec does not look
        b'{"data": [{"attributes": {"state": 1}}]}',
    ],
    ids=["too-many", "invalid-utf8", "wrong-type"],
)
def test_what_the_careful_parser_must_judge_is_left_to_it(body: bytes) -> None:
    assert decode_outcomes(body, 0, 3) is None
    with pytest.raises((ScorecardsResponseError, ValueError)):  # typed, or for the transport to retry
        decode_outcomes_page(body, 0, 3)


def test_deeply_nested_json_gives_the_typed_error() -> None:
    deep = "[" * 200_000 + "]" * 200_000
    for page in ('{"data": [], "meta": %s}', '{"data": [{"attributes": {"remarks": %s}}]}'):
        with pytest.raises(
            ScorecardsResponseError, match="outcomes page at offset 0: JSON nested too deeply"
        ):
            decode_outcomes_page((page % deep).encode(), 0, 3)


def test_msgspec_structs_load_with_the_first_page_not_at_dag_parse() -> None:
    imports = ["operators.scores", "sensors.scores", "client.outcomes", "gate.explain"]
    wire = "airflow_provider_scorecards.client.outcomes_wire"
    assert loaded_by([f"airflow_provider_scorecards.{name}" for name in imports], (wire,)) == []
