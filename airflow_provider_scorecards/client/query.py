"""The query model: what a "List all scores" request asks for, validated, and its wire format.

This is the one place that knows the endpoint's parameters (``filter[rule][id]``, ``sort``,
``page[limit]``...). Operators, sensors, triggers and the hook all build a :class:`ScoresQuery` and
never write a query string themselves.

Values often arrive from Jinja templates as strings (``"true"``, ``"1,2"``, ``"['a', 'b']"``), so each
field is coerced from the forms people actually produce, and anything that cannot be coerced is rejected
with an :class:`InvalidParameterError` naming the parameter, before any request is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from airflow_provider_scorecards.client.coercion import (
    blank_filter_error,
    coerce_bool,
    coerce_choice,
    coerce_filter_str,
    coerce_int,
    coerce_str_list,
    is_none,
    is_unset,
)
from airflow_provider_scorecards.client.errors import InvalidParameterError

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
_AGGREGATIONS = f"expected one of {', '.join(AGGREGATIONS)}"
RULE_LEVELS: tuple[int, ...] = (1, 2, 3)
MAX_CONCURRENCY = 16
"""Most pages fetched at once for one query (more only adds pressure on Datadog's rate limit); here, not in
``pagination``, so that the export checks its ``concurrency`` at DAG parse without loading the pager."""
MAX_PAGE_LIMIT = 1000
"""Largest ``page[limit]`` the API accepts."""
DEFAULT_PAGE_LIMIT = MAX_PAGE_LIMIT
"""Our default (the API's own is 100): the fewest requests for a whole result."""


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
            aggregation=coerce_choice("aggregation", aggregation, AGGREGATIONS, hint=_AGGREGATIONS),
            rule_ids=coerce_str_list("rule_ids", rule_ids),
            rule_name=coerce_filter_str("rule_name", rule_name),
            rule_levels=None if levels is None else tuple(_level(v) for v in levels),
            scorecard_ids=coerce_str_list("scorecard_ids", scorecard_ids),
            is_custom=_flag("is_custom", is_custom),
            is_enabled=_flag("is_enabled", is_enabled),
            sort=coerce_sort(sort),
            page_limit=coerce_int("page_limit", page_limit, minimum=1, maximum=MAX_PAGE_LIMIT),
        )

    def to_params(self, offset: int = 0, limit: int | None = None) -> dict[str, str]:
        """Query-string parameters for one page, with the API's wire names and value formats."""
        filters = {
            "filter[rule][id]": self.rule_ids,
            "filter[rule][name]": self.rule_name,
            "filter[rule][level]": self.rule_levels,
            "filter[rule][scorecard_id]": self.scorecard_ids,
            "filter[rule][is_custom]": self.is_custom,
            "filter[rule][is_enabled]": self.is_enabled,
            "sort": self.sort,
        }
        params = {name: wire_value(value) for name, value in filters.items() if value or value is False}
        return params | {
            "page[offset]": str(offset),
            "page[limit]": str(self.page_limit if limit is None else limit),
        }

    @property
    def path(self) -> str:
        """The request path of this query's aggregation, appended to the site's API base URL."""
        return f"/api/v2/scorecard/scores/{self.aggregation}"

    def describe(self) -> dict[str, Any]:
        """Return a JSON-serialisable description (for summaries, logs and trigger kwargs)."""
        return {
            key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()
        }

    @classmethod
    def from_description(cls, data: Mapping[str, Any]) -> ScoresQuery:
        """Inverse of :meth:`describe` (validates again: the data may have travelled)."""
        return cls.build(**dict(data))


def _flag(name: str, value: Any) -> bool | None:
    """Read a boolean filter: None (or ``"None"``) leaves it out; blank is refused, as for every filter."""
    if is_unset(value) and not is_none(value):
        raise blank_filter_error(name, value)
    return coerce_bool(name, value)


def coerce_sort(value: Any) -> str | None:
    """Return the sort (a field, ``-`` first for descending) or None when unset; unknown fields fail."""
    if is_unset(value):
        return None
    text = value.strip() if isinstance(value, str) else ""
    if text.removeprefix("-") not in SORT_FIELDS:
        allowed = f"expected one of {', '.join(SORT_FIELDS)}, optionally prefixed with '-' for descending"
        raise InvalidParameterError("sort", value, allowed)
    return text


def wire_value(value: str | bool | tuple[str | int, ...]) -> str:
    """Spell a filter's value as the API takes it: a list comma-separated, a boolean ``true`` or ``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else ",".join(map(str, value))


def _level(value: str) -> int:
    return coerce_int("rule_levels", value, minimum=min(RULE_LEVELS), maximum=max(RULE_LEVELS))
