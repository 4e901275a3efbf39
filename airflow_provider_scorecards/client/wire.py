"""A scores page as typed msgspec structs: decoded, checked and flattened into records at C speed.

This is the fast path of :func:`~airflow_provider_scorecards.client.pages.decode_page`. msgspec decodes
the body straight into the structs below, checking types and ranges while it reads (a score within 0..1,
counts and levels not negative, no NaN, no booleans or strings where numbers belong), and ignoring what a
scores page does not need (``links``, ``type``, unknown fields). Every attribute and relationship is
optional, as in the spec: a missing field decodes to ``None``.

It answers only for pages it fully accepts. Whenever msgspec refuses a body (malformed JSON, a wrong
type, a value out of range, nesting deeper than the interpreter's recursion limit), the body is not valid
UTF-8 (which msgspec does not check in the fields it skips), or a cross-field check fails (a numerator
above its denominator), :func:`decode_records` returns ``None`` and the caller decodes the body again
with the standard library, which names the problem (page offset, item position, id, field, value) or,
for what the typed decoder is strict about and the parser is not (``1.0`` for an integer, a negative
``meta.total``), accepts it with the same result.

The structs are never tracked by the garbage collector (``gc=False``: decoded trees have no cycles), and
the flat records hold only atomic values, so a fetch of many pages sets off no full collection.

Imported on the first page decoded, never when a DAG file imports the task classes.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from airflow_provider_scorecards.client.pages import DOMAINS, Page, Record, exceeds_denominator

# Numbers as json.loads gives them (an int stays an int), within the domain of their field (pages.DOMAINS).
# A whole number written as a float (``2.0``) is left to the careful parser, which accepts it alike.
Score = (
    Annotated[int, Meta(ge=DOMAINS["score"][0], le=DOMAINS["score"][1])]
    | Annotated[float, Meta(ge=float(DOMAINS["score"][0]), le=float(DOMAINS["score"][1]))]
)
Level = Annotated[int, Meta(ge=DOMAINS["level"][0], le=DOMAINS["level"][1])]
Count = Annotated[int, Meta(ge=DOMAINS["numerator"][0], le=DOMAINS["numerator"][1])]


class _RelationshipData(Struct, gc=False):
    id: str | None = None


class _Relationship(Struct, gc=False):
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
    total: object = None


class _Page(Struct, gc=False):
    data: list[_Score]
    meta: _Meta | None = None


_DECODER = msgspec.json.Decoder(_Page)
_NO_ATTRIBUTES = _Attributes()
_NO_RELATIONSHIPS = _Relationships()


def decode_records(body: bytes, offset: int) -> Page | None:
    """Decode ``body`` into flat records, or ``None`` when anything in it needs the careful parser."""
    try:
        body.decode()  # json.loads refuses invalid UTF-8 anywhere; msgspec only where it reads
        page = _DECODER.decode(body)
    except (UnicodeDecodeError, msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
        return None
    records: list[Record] = []
    append = records.append
    for score in page.data:
        a = score.attributes or _NO_ATTRIBUTES
        denominator = a.denominator
        if denominator is not None and exceeds_denominator(
            denominator, a.numerator, a.total_pass, a.total_fail
        ):
            return None
        r = score.relationships or _NO_RELATIONSHIPS
        append(
            {
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
        )
    meta = page.meta
    total = meta.total if meta is not None else None
    if type(total) is not int or total < 0:
        total = None
    return Page(offset=offset, items=records, total=total, count=len(records))
