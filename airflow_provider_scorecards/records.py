"""Parse a JSON:API scores page and flatten each score into a plain record.

A record is what DAG authors want in XCom: one flat dict per score with the numbers and the related ids,
no nesting to dig through. A field the API did not send is ``None``, never invented.

Everything that is not a valid scores page raises :class:`ScorecardsResponseError`; nothing else escapes
the parser, whatever JSON it is fed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from airflow_provider_scorecards.errors import ScorecardsResponseError

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
    """One page of the answer: the raw score objects and the pagination metadata that was sent."""

    offset: int
    items: list[dict[str, Any]]
    total: int | None
    count: int

    @property
    def ids(self) -> list[str]:
        return [item["id"] for item in self.items]


def parse_page(payload: Any, offset: int) -> Page:
    """Check the shape of a decoded response body and wrap it as a :class:`Page`."""
    if not isinstance(payload, dict):
        raise ScorecardsResponseError(
            f"page at offset {offset}: expected a JSON object, got {_kind(payload)}"
        )
    data = payload.get("data")
    if not isinstance(data, list):
        raise ScorecardsResponseError(f"page at offset {offset}: 'data' is {_kind(data)}, expected a list")
    for position, item in enumerate(data):
        problem = _item_problem(item)
        if problem:
            raise ScorecardsResponseError(f"page at offset {offset}, item {position}: {problem}")
    meta = payload.get("meta")
    total: int | None = None
    if isinstance(meta, dict):
        raw_total = meta.get("total")
        if isinstance(raw_total, int) and not isinstance(raw_total, bool) and raw_total >= 0:
            total = raw_total
    elif meta is not None:
        raise ScorecardsResponseError(f"page at offset {offset}: 'meta' is {_kind(meta)}, expected an object")
    return Page(offset=offset, items=data, total=total, count=len(data))


def _item_problem(item: Any) -> str | None:
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
                isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
            ):
                return f"attribute {name!r} is {_kind(value)} {value!r:.40}, expected a finite number"
        aggregation = attributes.get("aggregation")
        if aggregation is not None and not isinstance(aggregation, str):
            return f"attribute 'aggregation' is {_kind(aggregation)}, expected a string"
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


def flatten(item: dict[str, Any]) -> Record:
    """One flat record from a score object already checked by :func:`parse_page`."""
    attributes = item.get("attributes") or {}
    relationships = item.get("relationships") or {}
    return {
        "id": item["id"],
        "aggregation": attributes.get("aggregation"),
        "score": attributes.get("score"),
        "numerator": attributes.get("numerator"),
        "denominator": attributes.get("denominator"),
        "level": attributes.get("level"),
        "total_entities": attributes.get("total_entities"),
        "total_pass": attributes.get("total_pass"),
        "total_fail": attributes.get("total_fail"),
        "total_skip": attributes.get("total_skip"),
        "total_no_data": attributes.get("total_no_data"),
        "entity_id": _related_id(relationships, "entity"),
        "rule_id": _related_id(relationships, "rule"),
        "scorecard_id": _related_id(relationships, "scorecard"),
        "service_id": _related_id(relationships, "service"),
        "team_id": _related_id(relationships, "team"),
    }


def _related_id(relationships: dict[str, Any], name: str) -> str | None:
    rel = relationships.get(name)
    if not rel:
        return None
    data = rel.get("data")
    if not data:
        return None
    value = data.get("id")
    return value if isinstance(value, str) else None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return type(value).__name__
