"""Parse a JSON:API scores page and flatten each score into a plain record.

A record is what DAG authors want in XCom: one flat dict per score with the numbers and the related ids,
no nesting to dig through. A field the API did not send is ``None``, never invented.

Everything that is not a valid scores page raises :class:`ScorecardsResponseError`; nothing else escapes
the parser, whatever JSON it is fed. That includes impossible values, which would otherwise reach a gate
as if they were scores: a score outside 0..1, a negative count or level, a numerator (``numerator``,
``total_pass``, ``total_fail``) above its ``denominator``. The whole page is refused and the error names
the page offset, the item position, the score's id, the field and the value (docs/decoding.rst).

:func:`decode_page` decodes with msgspec (``client/wire.py``, loaded on the first page) and falls back to the
standard library's decoder and :func:`parse_page`, which name what is wrong, for any body msgspec refuses.
"""

from __future__ import annotations

import json
import math
import operator
from dataclasses import dataclass
from typing import Any

from airflow_provider_scorecards.client.errors import ScorecardsResponseError, render_id

NUMERIC_FIELDS: tuple[str, ...] = (
    "score",
    "numerator",
    "denominator",
    "level",
    "total_entities",
    "total_pass",
    "total_fail",
    "total_skip",
    "total_no_data",
)
NON_NEGATIVE_FIELDS: tuple[str, ...] = NUMERIC_FIELDS[1:]
"""Counts and the level: never below zero (``score`` has its own range, 0..1)."""
BOUNDED_BY_DENOMINATOR: tuple[str, ...] = ("numerator", "total_pass", "total_fail")
"""Fields that count part of what ``denominator`` counts (score = numerator / denominator, passes over
passes + fails), so never above it."""
INT64_MAX = 2**63 - 1
"""The spec types every count as int64."""
MAX_LEVEL = 3
"""Datadog's rules have levels 1 to 3, so a score's level is 0 (no level reached) to 3."""
DOMAINS: dict[str, tuple[int, int, bool]] = {
    "score": (0, 1, False),
    "level": (0, MAX_LEVEL, True),
    **{name: (0, INT64_MAX, True) for name in NUMERIC_FIELDS if name not in ("score", "level")},
}
"""Each numeric attribute's domain: (lowest, highest, whole numbers only). The one statement of what a
score may hold: the careful parser checks it (:func:`domain_problem`) and the typed decoder's constraints
(``client/wire.py``) are built from it."""
NOTHING_EVALUATED = "no data (denominator is 0)"
RELATIONSHIPS: tuple[str, ...] = ("entity", "rule", "scorecard", "service", "team")
RECORD_FIELDS: tuple[str, ...] = (
    "id",
    "aggregation",
    *NUMERIC_FIELDS,
    *(f"{name}_id" for name in RELATIONSHIPS),
)
"""Keys of every flat record, in order."""

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the answer: its scores (flat records, or the raw JSON:API objects) and metadata.

    ``count`` is the number of scores the server sent; after deduplication ``items`` may hold fewer.
    """

    offset: int
    items: list[dict[str, Any]]
    total: int | None
    count: int


class _Malformed(Exception):
    pass


_EMPTY: dict[str, Any] = {}
_NUMBERS_OF_RECORD = operator.itemgetter(*NUMERIC_FIELDS)
_NUMBER = (int, float)


def decode_page(body: bytes, offset: int, *, raw: bool = False) -> Page:
    """Decode a response body and return its page (flat records, or the raw objects with ``raw``).

    Valid pages are decoded by msgspec into typed structs, checked and flattened in one pass
    (``wire.decode_records``); anything it refuses is decoded again by ``json.loads`` and checked by
    :func:`parse_page`, so the result and the errors are exactly ``parse_page(json.loads(body), offset)``'s.
    Raises ``ValueError`` for a body that is not JSON (a truncated answer, which the transport retries)
    and :class:`ScorecardsResponseError` for a wrong shape, an impossible value, or JSON nested too deeply
    to decode.
    """
    if not raw:
        from airflow_provider_scorecards.client.wire import decode_records

        page = decode_records(body, offset)
        if page is not None:
            return page
    try:
        payload = json.loads(body)
    except RecursionError:
        raise ScorecardsResponseError(
            f"page at offset {offset}: JSON nested too deeply to decode; a scores page is four levels deep"
        ) from None
    return parse_page(payload, offset, raw=raw)


def parse_page(payload: Any, offset: int, *, raw: bool = False) -> Page:
    """Check a decoded response body and return its scores as flat records (or raw objects with ``raw``).

    Checking and flattening happen in one pass over each score, with exact type checks, which is all that
    decoded JSON needs; only once something is known to be wrong is the first problem found and named.
    """
    if type(payload) is not dict:
        raise ScorecardsResponseError(
            f"page at offset {offset}: expected a JSON object, got {_kind(payload)}"
        )
    data = payload.get("data")
    if type(data) is not list:
        raise ScorecardsResponseError(f"page at offset {offset}: 'data' is {_kind(data)}, expected a list")
    meta = payload.get("meta")
    total: int | None = None
    if type(meta) is dict:
        raw_total = meta.get("total")
        if type(raw_total) is int and raw_total >= 0:
            total = raw_total
    elif meta is not None:
        raise ScorecardsResponseError(f"page at offset {offset}: 'meta' is {_kind(meta)}, expected an object")
    try:
        records = [_flatten_checked(item) for item in data]
    except _Malformed:
        position, problem = _first_problem(data)
        raise ScorecardsResponseError(f"page at offset {offset}, item {position}: {problem}") from None
    return Page(offset=offset, items=data if raw else records, total=total, count=len(data))


def _flatten_checked(item: Any) -> Record:
    if type(item) is not dict:
        raise _Malformed
    item_id = item.get("id")
    if type(item_id) is not str or not item_id:
        raise _Malformed
    attributes = item.get("attributes")
    if attributes is None:
        attributes = _EMPTY
    elif type(attributes) is not dict:
        raise _Malformed
    get = attributes.get
    numbers = (
        get("score"),
        get("numerator"),
        get("denominator"),
        get("level"),
        get("total_entities"),
        get("total_pass"),
        get("total_fail"),
        get("total_skip"),
        get("total_no_data"),
    )
    for value in numbers:
        if value is not None and (type(value) not in _NUMBER or value - value != 0):  # bool, str, nan, inf
            raise _Malformed
    if domain_problem(numbers) is not None:
        raise _Malformed
    aggregation = get("aggregation")
    if aggregation is not None and type(aggregation) is not str:
        raise _Malformed
    relationships = item.get("relationships")
    if relationships is None:
        related: tuple[str | None, ...] = (None, None, None, None, None)
    elif type(relationships) is dict:
        related = tuple(_related_id(relationships.get(name)) for name in RELATIONSHIPS)
    else:
        raise _Malformed
    return {
        "id": item_id,
        "aggregation": aggregation,
        "score": numbers[0],
        "numerator": numbers[1],
        "denominator": numbers[2],
        "level": numbers[3],
        "total_entities": numbers[4],
        "total_pass": numbers[5],
        "total_fail": numbers[6],
        "total_skip": numbers[7],
        "total_no_data": numbers[8],
        "entity_id": related[0],
        "rule_id": related[1],
        "scorecard_id": related[2],
        "service_id": related[3],
        "team_id": related[4],
    }


def domain_problem(numbers: tuple[Any, ...]) -> str | None:
    """Say why finite numbers, in :data:`NUMERIC_FIELDS` order, cannot be one score's; None when they can.

    The one check of the domains (:data:`DOMAINS`) and of the parts of a denominator that exceed it.
    """
    for name, value in zip(NUMERIC_FIELDS, numbers, strict=True):
        if value is None:
            continue
        low, high, whole = DOMAINS[name]
        if name == "score" and not low <= value <= high:
            return f"attribute 'score' is {value!r:.40}, outside 0..1"
        if value < low:
            return f"attribute {name!r} is {value!r:.40}, below {low}"
        if value > high:
            limit = "the highest level" if name == "level" else "the int64 maximum"
            return f"attribute {name!r} is {value!r:.40}, above {high} ({limit})"
        if whole and value != int(value):
            return f"attribute {name!r} is {value!r:.40}, not a whole number"
    denominator = numbers[2]
    if denominator is not None and exceeds_denominator(denominator, numbers[1], numbers[5], numbers[6]):
        for name in BOUNDED_BY_DENOMINATOR:
            value = numbers[NUMERIC_FIELDS.index(name)]
            if value is not None and value > denominator:
                return f"attribute {name!r} is {value!r:.40}, above its 'denominator' {denominator!r:.40}"
    return None


def exceeds_denominator(denominator: Any, numerator: Any, passed: Any, failed: Any) -> bool:
    """Tell whether a part of what ``denominator`` counts (numerator, passes, fails) is above it."""
    return (
        (numerator is not None and numerator > denominator)
        or (passed is not None and passed > denominator)
        or (failed is not None and failed > denominator)
    )


def score_numbers(item: dict[str, Any]) -> tuple[Any, ...]:
    """Return the numbers of a flat record or a raw score object, in :data:`NUMERIC_FIELDS` order.

    Two copies of one id with equal numbers say the same; different numbers mean the result moved.
    """
    try:
        numbers: tuple[Any, ...] = _NUMBERS_OF_RECORD(item)
        return numbers
    except KeyError:  # a raw JSON:API object (its attributes), or a record with fields left out
        fields = (item.get("attributes") or _EMPTY) if "attributes" in item else item
        return tuple(fields.get(name) for name in NUMERIC_FIELDS)


def record_problem(record: dict[str, Any]) -> str | None:
    """Say why a flat record (read back from a snapshot or a baseline) is not a valid score; None if it is."""
    numbers = tuple(record.get(name) for name in NUMERIC_FIELDS)
    for name, value in zip(NUMERIC_FIELDS, numbers, strict=True):
        if value is not None and (type(value) not in _NUMBER or value - value != 0):  # bool, str, nan, inf
            return f"{name!r} is {value!r:.40}, expected a number"
    return domain_problem(numbers)


def nothing_evaluated(record: Record) -> str | None:
    """Say why a valid record holds no judgement at all (``denominator`` 0: nothing was evaluated), or None.

    The gate treats such a record as missing data whatever field it judges: a level or a count of nothing
    evaluated says nothing about the entity.
    """
    return NOTHING_EVALUATED if record.get("denominator") == 0 else None


def _related_id(relationship: Any) -> str | None:
    if relationship is None:
        return None
    if type(relationship) is not dict:
        raise _Malformed
    data = relationship.get("data")
    if data is None:
        return None
    if type(data) is not dict:
        raise _Malformed
    value = data.get("id")
    if value is not None and type(value) is not str:
        raise _Malformed
    return value


def flatten(item: dict[str, Any]) -> Record:
    """One flat record from one JSON:API score object; raises ScorecardsResponseError if malformed."""
    try:
        return _flatten_checked(item)
    except _Malformed:
        raise ScorecardsResponseError(f"malformed score object: {_item_problem(item)}") from None


def _first_problem(data: list[Any]) -> tuple[int, str]:
    for position, item in enumerate(data):
        problem = _item_problem(item)
        if problem:
            return position, problem
    return -1, "malformed score object"


def _item_problem(item: Any) -> str | None:
    """Why a score object is malformed, in words (only computed once something is known to be wrong)."""
    if not isinstance(item, dict):
        return f"expected a score object, got {_kind(item)}"
    if not isinstance(item.get("id"), str) or not item["id"]:
        return "'id' is missing or not a string"
    attributes = item.get("attributes")
    if attributes is not None:
        if not isinstance(attributes, dict):
            return f"'attributes' is {_kind(attributes)}, expected an object"
        for name in NUMERIC_FIELDS:
            value = attributes.get(name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or (isinstance(value, float) and not math.isfinite(value))
            ):
                return f"attribute {name!r} is {_kind(value)} {value!r:.40}, expected a finite number"
        aggregation = attributes.get("aggregation")
        if aggregation is not None and not isinstance(aggregation, str):
            return f"attribute 'aggregation' is {_kind(aggregation)}, expected a string"
        impossible = domain_problem(tuple(attributes.get(name) for name in NUMERIC_FIELDS))
        if impossible:
            return f"impossible value in score '{render_id(item['id'])}': {impossible}"
    relationships = item.get("relationships")
    if relationships is not None:
        if not isinstance(relationships, dict):
            return f"'relationships' is {_kind(relationships)}, expected an object"
        for name in RELATIONSHIPS:
            rel = relationships.get(name)
            if rel is None:
                continue
            if not isinstance(rel, dict):
                return f"relationship {name!r} is {_kind(rel)}, expected an object"
            rel_data = rel.get("data")
            if rel_data is not None and (
                not isinstance(rel_data, dict) or not isinstance(rel_data.get("id", ""), str)
            ):
                return f"relationship {name!r} has malformed 'data'"
    return None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return type(value).__name__
