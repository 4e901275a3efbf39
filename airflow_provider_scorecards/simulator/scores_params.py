"""The scores endpoint's query string, validated as the API validates it: rule filters, sort and paging.

Why this is its own module: what a request asks for is decided before any fault, page or header, and
the simulator's own answer key (``ScorecardsSimulator.expected_scores``) must read the filters exactly as
the handler does. A malformed value is a :class:`BadRequest`, which the handler answers with 400 and its
message. Standard library only, like the rest of the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_scorecards.simulator.org import AGGREGATIONS, SORT_FIELDS, RuleFilter
from airflow_provider_scorecards.simulator.params import comma_set, int_param

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
FILTER_PARAMS = (
    "filter[rule][id]",
    "filter[rule][name]",
    "filter[rule][level]",
    "filter[rule][scorecard_id]",
    "filter[rule][is_custom]",
    "filter[rule][is_enabled]",
)
"""The rule filters the endpoint takes (and carries into ``links.next``)."""


class BadRequest(Exception):
    """A malformed request parameter: the handler answers 400 with its message, as the API does."""


@dataclass(frozen=True)
class ScoresRequest:
    """One scores request, parsed: which scores, in which order, which page."""

    aggregation: str
    rule_filter: RuleFilter
    sort: str | None
    offset: int
    limit: int


def parse_scores_request(aggregation: str, params: dict[str, str]) -> ScoresRequest:
    """Parse ``GET .../scores/{aggregation}?...``; raise :class:`BadRequest` for what the API refuses."""
    if aggregation not in AGGREGATIONS:
        raise BadRequest(f"invalid aggregation {aggregation!r}: expected one of {', '.join(AGGREGATIONS)}")
    rule_filter = parse_filter(params)
    sort = params.get("sort") or None
    if sort is not None and sort.lstrip("-") not in SORT_FIELDS:
        raise BadRequest(f"invalid sort field {sort!r}: expected one of {', '.join(SORT_FIELDS)}")
    offset = int_param(params, "page[offset]", 0, 0, None, BadRequest)
    limit = int_param(params, "page[limit]", DEFAULT_LIMIT, 1, MAX_LIMIT, BadRequest)
    return ScoresRequest(aggregation, rule_filter, sort, offset, limit)


def parse_filter(params: dict[str, str]) -> RuleFilter:
    """Parse the rule filters of a request, validated like the API does (400 on a malformed value)."""

    def flag(name: str) -> bool | None:
        raw = params.get(name)
        if raw is None or raw == "":
            return None
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise BadRequest(f"invalid value {raw!r} for {name}: expected true or false")

    levels: frozenset[int] | None = None
    raw_levels = comma_set(params.get("filter[rule][level]"))
    if raw_levels is not None:
        try:
            levels = frozenset(int(v) for v in raw_levels)
        except ValueError:
            raise BadRequest(f"invalid filter[rule][level] {params['filter[rule][level]']!r}") from None
    return RuleFilter(
        rule_ids=comma_set(params.get("filter[rule][id]")),
        rule_name=params.get("filter[rule][name]") or None,
        levels=levels,
        scorecard_ids=comma_set(params.get("filter[rule][scorecard_id]")),
        is_custom=flag("filter[rule][is_custom]"),
        is_enabled=flag("filter[rule][is_enabled]"),
    )
