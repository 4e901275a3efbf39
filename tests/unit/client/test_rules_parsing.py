"""Reading outcomes (parse_outcomes, against a small model), decoding the rule answers, and batching."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_scorecards.client.client import ScorecardsClient
from airflow_provider_scorecards.client.errors import (
    InvalidParameterError,
    ScorecardsBadRequestError,
    ScorecardsError,
    ScorecardsResponseError,
)
from airflow_provider_scorecards.client.mock import MockTransport, Response
from airflow_provider_scorecards.client.rules import (
    MAX_OUTCOMES_PER_REQUEST,
    MAX_REMARKS_CHARS,
    OutcomeResult,
    PartialPostError,
    Rule,
    decode_accepted,
    decode_rules,
    parse_outcomes,
)
from airflow_provider_scorecards.client.settings import settings_from_connection

STATES = ("pass", "fail", "skip")


def model(value: dict[Any, Any], default: str | None) -> tuple[OutcomeResult, ...] | str:
    """What parse_outcomes must make of a mapping: the results, or the parameter its error names."""
    if not value:
        return "outcomes"
    seen: dict[str, OutcomeResult] = {}
    for key, spec in value.items():
        if not isinstance(key, str) or not key.strip() or key.strip() in seen:
            return "outcomes"
        reference = key.strip()
        state, remarks = (spec.get("state"), spec.get("remarks")) if isinstance(spec, dict) else (spec, None)
        if not isinstance(state, str) or state.strip().lower() not in STATES:
            return f"outcomes[{reference!r}]"
        remarks = remarks.strip() if isinstance(remarks, str) and remarks.strip() else None
        seen[reference] = OutcomeResult(reference, state.strip().lower(), remarks or default)
    return tuple(seen.values())


def outcome(value: Any, default: str | None = None) -> tuple[OutcomeResult, ...] | str:
    try:
        return parse_outcomes("outcomes", value, remarks=default)
    except InvalidParameterError as error:
        return error.parameter


states = st.sampled_from(["pass", " FAIL ", "Skip", "pass", "", " ", "ok", "passed"]) | st.none()
specs = states | st.fixed_dictionaries(
    {"state": states}, optional={"remarks": st.sampled_from([None, "", "why", " r "])}
)
keys = st.sampled_from(["service:a", "service:b", " service:a", "service:c ", "", "  ", "kind:x"])
mappings = st.dictionaries(keys, specs, max_size=6)


@given(mappings, st.sampled_from([None, "default"]))
@settings(max_examples=300, deadline=None)
def test_parse_outcomes_agrees_with_the_model(value: dict[str, Any], default: str | None) -> None:
    expected = model(value, default)
    assert outcome(value, default) == expected
    assert outcome(json.dumps(value), default) == expected  # a rendered template: JSON
    assert outcome(repr(value), default) == expected  # or the Python literal Jinja renders


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "the text is empty"),
        ("  ", "the text is empty"),
        ("None", "the text is empty"),
        ({}, "at least one entity"),
        ("{}", "at least one entity"),
        ('{"service:a": "pass", "service:a": "fail"}', "'service:a' is given twice"),
        ("{'service:a': 'pass', 'service:a': 'fail'}", "'service:a' is given twice"),
        ('{"service:a": {"state": "pass", "state": "fail"}}', "'state' is given twice"),
        ("[1, 2]", "as JSON or a dict"),
        ("service:a=pass", "as JSON or a dict"),
        (["service:a"], "expected a mapping"),
        ({"service:a": {"state": "pass", "remark": "typo"}}, "unknown keys ['remark']"),
        ({"service:a": {"state": "pass", "remarks": 3}}, "expected text"),
        ({3: "pass"}, "non-blank string"),
        ({"service:" + "a" * 600: "pass"}, "at most 500 characters"),
    ],
)
def test_what_parse_outcomes_refuses(value: Any, fragment: str) -> None:
    with pytest.raises(InvalidParameterError, match="outcomes") as raised:
        parse_outcomes("outcomes", value)
    assert fragment in str(raised.value)


def test_remarks_are_trimmed_and_cut() -> None:
    (result,) = parse_outcomes(
        "outcomes", {"service:a": {"state": "fail", "remarks": " x" * MAX_REMARKS_CHARS}}
    )
    assert result.remarks is not None
    assert len(result.remarks) == MAX_REMARKS_CHARS
    assert result.remarks.startswith("x x")
    assert result.remarks.endswith("... (cut)")
    with pytest.raises(InvalidParameterError, match="outcomes remarks"):
        parse_outcomes("outcomes", {"service:a": "pass"}, remarks=["not", "text"])  # type: ignore[arg-type]


def test_decode_rules_keeps_what_was_sent_and_names_what_is_wrong() -> None:
    body = {"data": [{"id": "r1", "type": "rule", "attributes": {"name": "n", "level": 2}}, {"id": "r2"}]}
    assert decode_rules(json.dumps(body).encode(), 0) == [
        Rule("r1", "n", None, None, None, 2),
        Rule("r2", None, None, None, None, None),
    ]
    for broken, fragment in [
        ({"data": {}}, "'data' is dict"),
        ({}, "'data' is missing"),
        (
            {"data": [{"id": "r1"}, {"id": "r\u202e2", "attributes": {"custom": "yes"}}]},
            "item 1 (id 'r\\u202e2'): 'attributes.custom' is str",
        ),
        (
            {"data": [{"id": "r1", "attributes": {"level": True}}]},
            "'attributes.level' is bool True, expected an integer",
        ),
        ({"data": [{"attributes": {}}]}, "item 0: 'id' is missing"),
        ({"data": [{"id": str(k)} for k in range(101)]}, "101 rules in answer to page[size]=100"),
    ]:
        with pytest.raises(ScorecardsResponseError) as raised:
            decode_rules(json.dumps(broken).encode(), 200)
        assert str(raised.value).startswith("rules page at offset 200")
        assert fragment in str(raised.value)
    with pytest.raises(ValueError, match="Expecting"):  # not JSON at all: a cut answer, retried
        decode_rules(b'{"data": [', 0)


def test_decode_accepted() -> None:
    assert (
        decode_accepted(b'{"data": {"id": "u", "type": "async-request"}, "meta": {"total_received": 3}}') == 3
    )
    assert decode_accepted(b"") is None
    assert decode_accepted(b"{}") is None
    with pytest.raises(ScorecardsResponseError, match="total_received"):
        decode_accepted(b'{"meta": {"total_received": -1}}')


@given(
    st.integers(min_value=0, max_value=4 * MAX_OUTCOMES_PER_REQUEST + 7),
    st.integers(min_value=0, max_value=5),
)
@settings(max_examples=40, deadline=None)
def test_batching_posts_each_result_once_in_order_and_names_the_rest(count: int, failing: int) -> None:
    posted: list[list[str]] = []

    def write(method: str, path: str, body: Any) -> Response:
        if len(posted) == failing:
            return Response(400, b'{"errors": ["bad state"]}')
        posted.append([item["entity_reference"] for item in body["data"]["attributes"]["results"]])
        return Response(202, b"{}")

    settings_ = settings_from_connection("unit", "datadogscorecards", "k", {"app_key_secret": "a"})
    client = ScorecardsClient(settings_, transport=MockTransport(lambda p, q: Response(404), write))
    results = [OutcomeResult(f"service:{k}", "pass") for k in range(count)]
    references = [r.entity_reference for r in results]
    batches = -(-count // MAX_OUTCOMES_PER_REQUEST)
    answer: int | ScorecardsError
    try:
        answer = client.post_outcomes("rule", results)
    except ScorecardsError as error:
        answer = error
    if failing >= batches:
        assert answer == count
    elif failing == 0:
        assert type(answer) is ScorecardsBadRequestError  # nothing was posted: the plain error
    else:
        assert isinstance(answer, PartialPostError)
        assert answer.posted == failing * MAX_OUTCOMES_PER_REQUEST
        assert answer.unposted == tuple(references[answer.posted :])
    assert all(len(batch) <= MAX_OUTCOMES_PER_REQUEST for batch in posted)
    assert [ref for batch in posted for ref in batch] == references[: len(posted) * MAX_OUTCOMES_PER_REQUEST]
