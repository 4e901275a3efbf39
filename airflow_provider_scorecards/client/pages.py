"""The scores page: its domains, its one decoder (msgspec) and its flat records.

A record is what DAG authors want in XCom: one flat dict per score with the numbers and the related ids.
A field the API did not send is ``None``, never invented. :func:`decode_page` decodes a body straight
into the typed structs below, whose constraints are built from :data:`DOMAINS`, and flattens them; a page
with any value no score can have is refused whole with a :class:`ScorecardsResponseError` naming the
page offset, the item, the score's id, the field and the value (docs/decoding.rst).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

from airflow_provider_scorecards.client.bounded_json import load_json
from airflow_provider_scorecards.client.errors import (
    ScorecardsResponseError,
    kind_of,
    refusal,
    render_id,
    shape_of,
    shape_problem,
)

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
score may hold: the decoder's constraints are built from it, :func:`domain_problem` checks it."""
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


def _constraints(name: str) -> tuple[Meta, Meta]:
    """Return a numeric attribute's domain (:data:`DOMAINS`) as msgspec constraints: an int's, a float's."""
    low, high, whole = DOMAINS[name]
    top = float(high) if float(high) <= high else math.nextafter(float(high), low)  # no float above high
    return Meta(ge=low, le=high), Meta(ge=float(low), le=top, multiple_of=1.0 if whole else None)


# A number keeps the type the server sent (``2.0`` for a count is accepted and stays a float).
_SCORE, _LEVEL, _COUNT = _constraints("score"), _constraints("level"), _constraints("numerator")
Score = Annotated[int, _SCORE[0]] | Annotated[float, _SCORE[1]]
Level = Annotated[int, _LEVEL[0]] | Annotated[float, _LEVEL[1]]
Count = Annotated[int, _COUNT[0]] | Annotated[float, _COUNT[1]]  # every count has the domain of numerator


class _RelationshipData(Struct, gc=False):
    id: str | None = None


class _Relationship(Struct, gc=False):  # outcomes.py's too
    data: _RelationshipData | None = None


class _Relationships(Struct, gc=False):
    entity: _Relationship | None = None
    rule: _Relationship | None = None
    scorecard: _Relationship | None = None
    service: _Relationship | None = None
    team: _Relationship | None = None


class _Attributes(Struct, gc=False):
    aggregation: str | None = None
    score: Score | None = None
    numerator: Count | None = None
    denominator: Count | None = None
    level: Level | None = None
    total_entities: Count | None = None
    total_pass: Count | None = None
    total_fail: Count | None = None
    total_skip: Count | None = None
    total_no_data: Count | None = None


class _Score(Struct, gc=False):
    id: Annotated[str, Meta(min_length=1)]
    attributes: _Attributes | None = None
    relationships: _Relationships | None = None


class _Meta(Struct, gc=False):
    total: object = None  # any JSON: a total that is not a count is ignored, not an error


class _Page(Struct, gc=False):
    data: list[_Score]
    meta: _Meta | None = None


_NO_ATTRIBUTES = _Attributes()
_NO_RELATIONSHIPS = _Relationships()
_NUMBERS_OF_RECORD = operator.itemgetter(*NUMERIC_FIELDS)
_NUMBER = (int, float)
_EMPTY: dict[str, Any] = {}
_NESTED = "JSON nested too deeply to decode; a scores page is four levels deep"


class _Impossible(Exception):
    """A part of what ``denominator`` counts is above it: the one check msgspec's constraints cannot say."""


def decode_page(body: bytes, offset: int, *, raw: bool = False) -> Page:
    """Decode a response body and return its page (flat records, or the raw objects with ``raw``).

    Raises ``ValueError`` for a body that is not JSON or not UTF-8 (a truncated answer, which the
    transport retries) and :class:`ScorecardsResponseError` for a wrong shape, an impossible value, or
    JSON nested too deeply to decode.
    """
    body.decode()  # msgspec checks UTF-8 only where it reads
    try:
        page = msgspec.json.decode(body, type=_Page)
        records = [_record(score) for score in page.data]
        items = load_json(body)["data"] if raw else records  # the objects as sent, once they are known valid
    except (ValueError, RecursionError, _Impossible) as exc:  # msgspec's errors, and raw JSON Python refuses
        raise refusal(body, f"page at offset {offset}", exc, _page_problem, nested=_NESTED) from None
    total = page.meta.total if page.meta is not None else None
    if type(total) is not int or total < 0:
        total = None
    return Page(offset=offset, items=items, total=total, count=len(records))


def _record(score: _Score) -> Record:
    a = score.attributes or _NO_ATTRIBUTES
    denominator = a.denominator
    if denominator is not None and exceeds_denominator(denominator, a.numerator, a.total_pass, a.total_fail):
        raise _Impossible("a part of a score above its 'denominator'")
    r = score.relationships or _NO_RELATIONSHIPS
    return {
        "id": score.id,
        "aggregation": a.aggregation,
        "score": a.score,
        "numerator": a.numerator,
        "denominator": denominator,
        "level": a.level,
        "total_entities": a.total_entities,
        "total_pass": a.total_pass,
        "total_fail": a.total_fail,
        "total_skip": a.total_skip,
        "total_no_data": a.total_no_data,
        "entity_id": (x := r.entity) and (d := x.data) and d.id,
        "rule_id": (x := r.rule) and (d := x.data) and d.id,
        "scorecard_id": (x := r.scorecard) and (d := x.data) and d.id,
        "service_id": (x := r.service) and (d := x.data) and d.id,
        "team_id": (x := r.team) and (d := x.data) and d.id,
    }


def flatten(item: dict[str, Any]) -> Record:
    """One flat record from one JSON:API score object; raises ScorecardsResponseError if malformed."""
    try:
        return _record(msgspec.convert(item, _Score))
    except (msgspec.ValidationError, _Impossible) as exc:
        raise ScorecardsResponseError(f"malformed score object: {_item_problem(item) or exc}") from None


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
        if not _finite_number(value):
            return f"{name!r} is {value!r:.40}, expected a number"
    return domain_problem(numbers)


def nothing_evaluated(record: Record) -> str | None:
    """Say why a valid record holds no judgement at all (``denominator`` 0: nothing was evaluated), or None.

    The gate treats such a record as missing data whatever field it judges: a level or a count of nothing
    evaluated says nothing about the entity.
    """
    return NOTHING_EVALUATED if record.get("denominator") == 0 else None


# -- the error path: what msgspec refused, named -----------------------------------------------------------


def _page_problem(payload: Any) -> str | None:
    if problem := shape_problem(payload, shape_of(_Page), "a JSON object"):
        return f": {problem}"
    if payload.get("data") is None:
        return ": 'data' is missing"
    for position, item in enumerate(payload["data"]):
        if problem := _item_problem(item):
            return f", item {position}: {problem}"
    return None


def _item_problem(item: Any) -> str | None:
    """Why a score object is not one, in words; None when nothing is found."""
    if problem := shape_problem(item, shape_of(_Score), "a score object"):
        return problem
    if not item.get("id"):
        return "'id' is missing or blank"
    numbers = tuple((item.get("attributes") or _EMPTY).get(name) for name in NUMERIC_FIELDS)
    for name, value in zip(NUMERIC_FIELDS, numbers, strict=True):
        if not _finite_number(value):
            return f"attribute {name!r} is {kind_of(value)} {value!r:.40}, expected a finite number"
    if impossible := domain_problem(numbers):
        return f"impossible value in score '{render_id(item['id'])}': {impossible}"
    return None


def _finite_number(value: Any) -> bool:
    """Whether a decoded value is None or a finite int or float (not a bool, a string, NaN or infinity)."""
    return value is None or (type(value) in _NUMBER and value - value == 0)
