"""Rule outcomes decoding (msgspec): one decoder, held to a small model of the documented rules.

The model below states docs/decoding.rst plainly, without msgspec: every field is optional and of one
JSON type; an included item is a rule when its type is ``rule`` or absent and it has an id, the first copy
of a rule names the outcomes; at most ``page[size]`` outcomes. Valid pages give the model's page; every
other page raises ``ScorecardsResponseError`` naming the item the model finds wrong first.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from airflow_provider_scorecards.client.errors import ScorecardsResponseError
from airflow_provider_scorecards.client.outcomes import OutcomesPage, decode_outcomes_page

PAGE_SIZE = 3
WHERE = "outcomes page at offset 200"
TEXT_FIELDS = ("state", "remarks", "service_name", "created_at", "modified_at")


# -- the model: docs/decoding.rst, stated plainly ----------------------------------------------------------


class Refused(Exception):
    """The model refuses the page; ``where`` is how the decoder's error must begin."""

    def __init__(self, where: str) -> None:
        self.where = where


def member(container: dict[str, Any], key: str, kind: type, where: str) -> Any:
    """``container[key]`` if it is absent, null or a ``kind``; a missing object reads as an empty one."""
    value = container.get(key)
    if value is not None and not isinstance(value, kind):
        raise Refused(where)
    return {} if value is None and kind is dict else value


def model(payload: Any) -> tuple[list[tuple[Any, ...]], dict[str, tuple[Any, ...]], Any]:
    """The outcomes, the included rules and the next link of a valid page; raises Refused for any other."""
    if not isinstance(payload, dict):
        raise Refused(WHERE)
    data = member(payload, "data", list, WHERE) or []
    included = member(payload, "included", list, WHERE) or []
    next_link = member(member(payload, "links", dict, WHERE), "next", str, WHERE)
    rules: dict[str, tuple[Any, ...]] = {}
    for position, item in enumerate(included):
        where = f"{WHERE}, included item {position}"
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str | None) for k in ("id", "type")):
            raise Refused(where)
        if item.get("type") in (None, "rule") and item.get("id"):
            attributes = member(item, "attributes", dict, where)
            rule = tuple(member(attributes, name, str, where) for name in ("name", "scorecard_name"))
            rules.setdefault(item["id"], rule)
    outcomes = []
    for position, item in enumerate(data):
        where = f"{WHERE}, item {position}"
        if not isinstance(item, dict):
            raise Refused(where)
        attributes = member(item, "attributes", dict, where)
        related = member(
            member(member(item, "relationships", dict, where), "rule", dict, where), "data", dict, where
        )
        rule_id = member(related, "id", str, where)
        texts = tuple(member(attributes, name, str, where) for name in TEXT_FIELDS)
        outcomes.append((member(item, "id", str, where), rule_id, *texts, *rules.get(rule_id, (None, None))))
    if len(outcomes) > PAGE_SIZE:
        raise Refused(WHERE)
    return outcomes, rules, next_link


def expected(body: bytes) -> tuple[list[tuple[Any, ...]], dict[str, tuple[Any, ...]], Any] | str:
    """The model's answer for a body, or how the decoder's error must begin."""

    def refuse(constant: str) -> Any:
        raise Refused(WHERE)  # NaN and Infinity, which Python's json reads, are not JSON (RFC 8259)

    try:
        answer = model(json.loads(body))  # the first wrong item is named, NaN or not
        json.loads(body, parse_constant=refuse)
    except Refused as refused:
        return refused.where
    return answer


def seen(page: OutcomesPage) -> tuple[list[tuple[Any, ...]], dict[str, tuple[Any, ...]], Any]:
    outcomes = [
        (o.id, o.rule_id, *(getattr(o, name) for name in TEXT_FIELDS), o.rule_name, o.scorecard_name)
        for o in page.outcomes
    ]
    rules = {rule_id: (rule.name, rule.scorecard_name) for rule_id, rule in page.rules.items()}
    assert all(rule_id == rule.id for rule_id, rule in page.rules.items())
    return outcomes, rules, page.next_link


# -- the decoder against the model -------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
    lambda children: (
        st.lists(children, max_size=2) | st.dictionaries(st.text(max_size=4), children, max_size=2)
    ),
    max_leaves=8,
)
# Mostly what a valid page holds, sometimes anything at all (NaN and Infinity included).
odd = json_values
texts = st.none() | st.text(max_size=5) | st.sampled_from(["", "r1", "r2", "rule"])
rule_ids = st.sampled_from(["r1", "r2", "", "r3"]) | st.none()
relationships = st.fixed_dictionaries(
    {},
    optional={
        "rule": st.none()
        | st.fixed_dictionaries(
            {}, optional={"data": st.none() | st.fixed_dictionaries({}, optional={"id": rule_ids}) | odd}
        )
        | odd,
        "service": odd,
    },
)
outcomes = st.fixed_dictionaries(
    {},
    optional={
        "id": texts | odd,
        "type": st.just("outcome") | odd,
        "attributes": st.none()
        | st.fixed_dictionaries({}, optional={name: texts | odd for name in TEXT_FIELDS})
        | odd,
        "relationships": st.none() | relationships | odd,
    },
)
included = st.fixed_dictionaries(
    {},
    optional={
        "id": rule_ids | odd,
        "type": st.sampled_from(["rule", "team"]) | st.none() | odd,
        "attributes": st.none()
        | st.fixed_dictionaries({}, optional={"name": texts | odd, "scorecard_name": texts | odd})
        | odd,
    },
)
payloads = (
    st.fixed_dictionaries(
        {},
        optional={
            "data": st.none() | st.lists(outcomes, max_size=PAGE_SIZE + 1) | odd,
            "included": st.none() | st.lists(included, max_size=4) | odd,
            "links": st.none() | st.fixed_dictionaries({}, optional={"next": texts | odd}) | odd,
            "meta": odd,
        },
    )
    | odd
)


@example({"included": [{"id": "r1"}, {"id": "r1", "attributes": {"name": []}}]})  # a bad second copy
@settings(max_examples=1000, deadline=None)
@given(payloads)
def test_the_decoder_answers_as_the_model(payload: Any) -> None:
    body = json.dumps(payload).encode()
    answer = expected(body)
    if isinstance(answer, str):
        with pytest.raises(ScorecardsResponseError) as info:
            decode_outcomes_page(body, 200, PAGE_SIZE)
        assert re.match(re.escape(answer) + r"( \(id '.*?'\))?: \S", str(info.value)), str(info.value)
        return
    page = decode_outcomes_page(body, 200, PAGE_SIZE)
    assert seen(page) == answer
    assert (page.offset, page.page_size, page.last) == (200, PAGE_SIZE, len(answer[0]) < PAGE_SIZE)


def test_a_valid_page_and_the_first_included_rule_wins() -> None:
    payload = {
        "data": [
            {
                "id": "r1\\svc",
                "attributes": {"state": "fail", "remarks": "<a>x</a>"},
                "relationships": {"rule": {"data": {"id": "r1", "type": "rule"}}, "service": 7},
            },
            {"id": "r2\\svc", "relationships": {"rule": {"data": {"id": "r2"}}}},
        ],
        "included": [
            {"id": "r1", "type": "rule", "attributes": {"name": "Has runbook", "scorecard_name": "PR"}},
            {"id": "r1", "type": "rule", "attributes": {"name": "Later"}},
            {"id": "r2", "type": "team", "attributes": {"name": ["not", "a", "rule's"]}},
        ],
        "links": {"next": "/next"},
        "meta": {"anything": [1.5]},
    }
    page = decode_outcomes_page(json.dumps(payload).encode(), 0, 100)
    assert seen(page) == model(payload)
    assert (page.outcomes[0].rule_name, page.outcomes[0].remarks) == ("Has runbook", "<a>x</a>")
    assert page.outcomes[1].rule_name is None
    assert list(page.rules) == ["r1"]


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ([], ": expected a JSON object, got list"),
        ({"data": {}}, ": 'data' is dict {}, expected a list"),
        ({"data": [1]}, ", item 0: expected an outcome object, got int"),
        (
            {"data": [{"id": "r1\\svc\n", "attributes": {"state": 1}}]},
            r", item 0 (id 'r1\svc\n'): 'attributes.state' is int 1, expected a string",
        ),
        (
            {"data": [{"attributes": {"remarks": True}}]},
            ", item 0: 'attributes.remarks' is bool True, expected a string",
        ),
        (
            {"data": [{"relationships": {"rule": {"data": ["x\u202e"]}}}]},
            r", item 0: 'relationships.rule.data' is list ['x\u202e'], expected an object",
        ),
        ({"data": [], "included": [{"id": 3}]}, ", included item 0: 'id' is int 3, expected a string"),
        (
            {"data": [], "included": [{"id": "r9", "attributes": {"name": ["x" * 60]}}]},
            f", included item 0 (id 'r9'): 'attributes.name' is list ['{'x' * 38}... (cut), expected a string",
        ),
        ({"data": [], "links": {"next": 5}}, ": 'links.next' is int 5, expected a string"),
        ({"data": [{}] * 3}, ": 3 outcomes in answer to page[size]=2"),
    ],
)
def test_a_malformed_page_is_refused_naming_item_id_field_and_value(payload: Any, problem: str) -> None:
    with pytest.raises(ScorecardsResponseError) as info:
        decode_outcomes_page(json.dumps(payload).encode(), 0, 2)
    assert str(info.value) == f"outcomes page at offset 0{problem}"


def test_invalid_utf8_where_msgspec_does_not_look_is_a_decoding_error() -> None:
    with pytest.raises(UnicodeDecodeError):  # a ValueError, as from json.loads: the transport retries it
        decode_outcomes_page(b'{"data": [], "meta": "\xff"}', 0, 3)


def test_nan_outside_the_fields_is_not_json() -> None:
    with pytest.raises(ScorecardsResponseError, match=r"^outcomes page at offset 0: JSON is malformed"):
        decode_outcomes_page(b'{"data": [], "meta": NaN}', 0, 3)


def test_deeply_nested_json_gives_the_typed_error() -> None:
    deep = "[" * 200_000 + "]" * 200_000
    for page in (
        '{"data": [], "meta": %s}',
        '{"data": [{"attributes": {"remarks": %s}}]}',
        '{"included": [{"id": "r1", "attributes": %s}]}',
    ):
        with pytest.raises(
            ScorecardsResponseError, match=r"^outcomes page at offset 0: JSON nested too deeply$"
        ):
            decode_outcomes_page((page % deep).encode(), 0, 3)
