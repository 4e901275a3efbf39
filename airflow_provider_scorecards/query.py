"""The query model: what a "List all scores" request asks for, validated, and its wire format.

This is the one place that knows the endpoint's parameters (``filter[rule][id]``, ``sort``,
``page[limit]``...). Operators, sensors, triggers and the hook all build a :class:`ScoresQuery` and
never write a query string themselves.

Values often arrive from Jinja templates as strings (``"true"``, ``"1,2"``, ``"['a', 'b']"``), so each
field is coerced from the forms people actually produce, and anything that cannot be coerced is rejected
with an :class:`InvalidParameterError` naming the parameter, before any request is sent.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from airflow_provider_scorecards.errors import InvalidParameterError

AGGREGATIONS: tuple[str, ...] = ("by-entity", "by-rule", "by-scorecard", "by-team", "by-kind")
SORT_FIELDS: tuple[str, ...] = (
    "score",
    "numerator",
    "denominator",
    "total_pass",
    "total_fail",
    "total_skip",
    "total_no_data",
)
RULE_LEVELS: tuple[int, ...] = (1, 2, 3)
MAX_PAGE_LIMIT = 1000
API_DEFAULT_PAGE_LIMIT = 100
DEFAULT_PAGE_LIMIT = MAX_PAGE_LIMIT
MAX_CONCURRENCY = 16
"""Most pages fetched at once by one task (more only adds pressure on Datadog's rate limit)."""
MAX_LIST_ITEMS = 500
"""Longest list filter accepted: beyond this the URL outgrows what proxies and servers take."""

_TRUE = frozenset({"true", "1", "yes", "y", "on"})
_FALSE = frozenset({"false", "0", "no", "n", "off"})


@dataclass(frozen=True, slots=True)
class ScoresQuery:
    """A validated "List all scores" query (everything but the page offset).

    Build it with :meth:`build`, which coerces loose inputs; the constructor trusts its arguments.
    """

    aggregation: str
    rule_ids: tuple[str, ...] | None = None
    rule_name: str | None = None
    rule_levels: tuple[int, ...] | None = None
    scorecard_ids: tuple[str, ...] | None = None
    is_custom: bool | None = None
    is_enabled: bool | None = None
    sort: str | None = None
    page_limit: int = DEFAULT_PAGE_LIMIT

    @classmethod
    def build(
        cls,
        aggregation: Any,
        *,
        rule_ids: Any = None,
        rule_name: Any = None,
        rule_levels: Any = None,
        scorecard_ids: Any = None,
        is_custom: Any = None,
        is_enabled: Any = None,
        sort: Any = None,
        page_limit: Any = DEFAULT_PAGE_LIMIT,
    ) -> ScoresQuery:
        """Coerce and validate every field; raise :class:`InvalidParameterError` on the first bad one."""
        levels = coerce_str_list("rule_levels", rule_levels)
        return cls(
            aggregation=coerce_aggregation(aggregation),
            rule_ids=coerce_str_list("rule_ids", rule_ids),
            rule_name=coerce_optional_str("rule_name", rule_name),
            rule_levels=None if levels is None else tuple(_level(v) for v in levels),
            scorecard_ids=coerce_str_list("scorecard_ids", scorecard_ids),
            is_custom=coerce_bool("is_custom", is_custom),
            is_enabled=coerce_bool("is_enabled", is_enabled),
            sort=coerce_sort(sort),
            page_limit=coerce_int("page_limit", page_limit, minimum=1, maximum=MAX_PAGE_LIMIT),
        )

    def to_params(self, offset: int = 0, limit: int | None = None) -> dict[str, str]:
        """Query-string parameters for one page, with the API's wire names and value formats."""
        params: dict[str, str] = {}
        if self.rule_ids:
            params["filter[rule][id]"] = ",".join(self.rule_ids)
        if self.rule_name:
            params["filter[rule][name]"] = self.rule_name
        if self.rule_levels:
            params["filter[rule][level]"] = ",".join(str(v) for v in self.rule_levels)
        if self.scorecard_ids:
            params["filter[rule][scorecard_id]"] = ",".join(self.scorecard_ids)
        if self.is_custom is not None:
            params["filter[rule][is_custom]"] = "true" if self.is_custom else "false"
        if self.is_enabled is not None:
            params["filter[rule][is_enabled]"] = "true" if self.is_enabled else "false"
        if self.sort:
            params["sort"] = self.sort
        params["page[offset]"] = str(offset)
        params["page[limit]"] = str(self.page_limit if limit is None else limit)
        return params

    @property
    def path(self) -> str:
        return f"/api/v2/scorecard/scores/{self.aggregation}"

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable description (for summaries, logs and trigger kwargs)."""
        data = asdict(self)
        for key in ("rule_ids", "rule_levels", "scorecard_ids"):
            if data[key] is not None:
                data[key] = list(data[key])
        return data

    @classmethod
    def from_description(cls, data: Mapping[str, Any]) -> ScoresQuery:
        """Inverse of :meth:`describe` (validates again: the data may have travelled)."""
        return cls.build(**dict(data))


def is_unset(value: Any) -> bool:
    """``None``, or what Jinja makes of it in a string template (``"None"``), or an empty string."""
    return value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null"))


def coerce_aggregation(value: Any) -> str:
    text = value.strip().lower() if isinstance(value, str) else value
    if text not in AGGREGATIONS:
        raise InvalidParameterError("aggregation", value, f"expected one of {', '.join(AGGREGATIONS)}")
    return str(text)


def coerce_sort(value: Any) -> str | None:
    if is_unset(value):
        return None
    if not isinstance(value, str):
        raise InvalidParameterError("sort", value, _sort_allowed())
    text = value.strip()
    field = text[1:] if text.startswith("-") else text
    if field not in SORT_FIELDS:
        raise InvalidParameterError("sort", value, _sort_allowed())
    return text


def _sort_allowed() -> str:
    return f"expected one of {', '.join(SORT_FIELDS)}, optionally prefixed with '-' for descending"


def coerce_bool(name: str, value: Any) -> bool | None:
    """``None``/``""`` → no filter; booleans, 0/1 and the usual words (``"true"``, ``"no"``) → bool."""
    if is_unset(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise InvalidParameterError(name, value, "expected true or false (or leave unset for no filter)")


def coerce_int(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An int from an int or a numeric string (as Jinja renders it), within ``[minimum, maximum]``."""
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            number = None
    allowed = _range_text(minimum, maximum, "an integer")
    if number is None:
        raise InvalidParameterError(name, value, f"expected {allowed}")
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise InvalidParameterError(name, value, f"expected {allowed}")
    return number


def coerce_optional_int(
    name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    if is_unset(value):
        return None
    return coerce_int(name, value, minimum=minimum, maximum=maximum)


def coerce_float(
    name: str, value: Any, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    """A finite float from a number or numeric string, within ``[minimum, maximum]``."""
    number: float | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    allowed = _range_text(minimum, maximum, "a number")
    if number is None or number != number or number in (float("inf"), float("-inf")):
        raise InvalidParameterError(name, value, f"expected {allowed}")
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise InvalidParameterError(name, value, f"expected {allowed}")
    return number


def coerce_optional_float(
    name: str, value: Any, *, minimum: float | None = None, maximum: float | None = None
) -> float | None:
    if is_unset(value):
        return None
    return coerce_float(name, value, minimum=minimum, maximum=maximum)


def coerce_optional_str(name: str, value: Any) -> str | None:
    if is_unset(value):
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise InvalidParameterError(name, value, "expected a string")
    text = str(value).strip()
    return text or None


def coerce_str_list(name: str, value: Any) -> tuple[str, ...] | None:
    """A tuple of non-empty strings from a list, a comma-separated string or a rendered list literal.

    ``None``, ``""`` and an empty list mean "no filter". Jinja renders a Python list as ``"['a', 'b']"``
    and a JSON dump as ``'["a", "b"]'``; both are read back as lists.
    """
    if is_unset(value):
        return None
    items: list[Any]
    if isinstance(value, str):
        text = value.strip()
        if text == "[]":
            return None
        # A rendered literal (or garbage that looks like one), else a comma-separated string.
        items = _parse_list_literal(name, value, text) if text[0] in "[({" else text.split(",")
    elif isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        items = [value]
    else:
        raise InvalidParameterError(name, value, "expected a list or a comma-separated string")
    if len(items) > MAX_LIST_ITEMS:
        raise InvalidParameterError(
            name, f"<list of {len(items)} items>", f"expected at most {MAX_LIST_ITEMS} items"
        )
    result: list[str] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise InvalidParameterError(name, value, "every item must be a string or an integer")
        text_item = str(item).strip()
        if not text_item:
            continue
        if "," in text_item:
            raise InvalidParameterError(name, value, "an item must not contain a comma")
        result.append(text_item)
    return tuple(result) or None


def _parse_list_literal(name: str, original: Any, text: str) -> list[Any]:
    try:
        parsed = json.loads(text)
    except ValueError:
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise InvalidParameterError(
                name, original, 'expected a list literal such as ["a", "b"] or a comma-separated string'
            ) from None
    if not isinstance(parsed, list | tuple):
        raise InvalidParameterError(name, original, "expected a list")
    return list(parsed)


def _level(value: str) -> int:
    return coerce_int("rule_levels", value, minimum=min(RULE_LEVELS), maximum=max(RULE_LEVELS))


def _range_text(minimum: float | None, maximum: float | None, kind: str) -> str:
    if minimum is not None and maximum is not None:
        return f"{kind} from {minimum} to {maximum}"
    if minimum is not None:
        return f"{kind} of at least {minimum}"
    if maximum is not None:
        return f"{kind} of at most {maximum}"
    return kind
