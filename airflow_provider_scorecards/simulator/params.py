"""The query strings of the simulator's endpoints, validated as the API validates them, and its errors.

Every endpoint refuses a malformed value the same way: a :class:`BadRequest`, which the handler answers
with a 400 JSON:API error naming the parameter, the value and what is allowed. The scores request is
parsed here too, because the simulator's own answer key (``ScorecardsSimulator.expected_scores``) must
read the filters exactly as the handler does. Standard library only, like the rest of the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from http.client import responses
from urllib.parse import quote

from airflow_provider_scorecards.simulator.org import AGGREGATIONS, SORT_FIELDS, RuleFilter

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
FILTER_PARAMS = tuple(
    f"filter[rule][{name}]" for name in ("id", "name", "level", "scorecard_id", "is_custom", "is_enabled")
)
"""The rule filters the scores endpoint takes (and carries into ``links.next``)."""


class ApiError(Exception):
    """An error answer: its status and a JSON:API error object (``detail`` omitted when None).

    The title is the status's reason phrase unless given.
    """

    def __init__(self, status: int, detail: str | None = None, title: str | None = None) -> None:
        super().__init__(detail or title)
        error = {"status": str(status), "title": title or responses.get(status, "Error")}
        self.status, self.body = status, {"errors": [error | ({} if detail is None else {"detail": detail})]}


class BadRequest(ApiError):
    """A malformed request parameter or body: a 400 with its message, as the API answers it."""

    def __init__(self, detail: str) -> None:
        super().__init__(400, detail)


def int_param(params: dict[str, str], name: str, default: int, low: int, high: int | None = None) -> int:
    """Read integer parameter ``name`` (``default`` when absent or empty), refusing values out of range."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"invalid {name} {raw!r}: expected an integer") from None
    if value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise BadRequest(f"invalid {name} {value}: expected an integer {bound}")
    return value


def flag(params: dict[str, str], name: str) -> bool | None:
    """Read a ``true``/``false`` parameter, in any case (None when absent or empty)."""
    raw = params.get(name)
    if not raw:
        return None
    if raw.lower() not in ("true", "false"):
        raise BadRequest(f"invalid {name} {raw!r}: expected true or false")
    return raw.lower() == "true"


def choice(params: dict[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    """Read a parameter that takes one of ``allowed`` (None when absent or empty)."""
    raw = params.get(name) or None
    if raw is not None and raw not in allowed:
        raise BadRequest(f"invalid {name} {raw!r}: expected one of {', '.join(allowed)}")
    return raw


def comma_set(raw: str | None) -> frozenset[str] | None:
    """Read a comma-separated list parameter as a set (None when absent or empty; blank parts dropped)."""
    if not raw:
        return None
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def page_link(path: str, params: dict[str, str]) -> str:
    """Write a ``links`` URL as Datadog does: parameters in sorted order, percent-encoded but for commas."""
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe=',')}" for k, v in sorted(params.items()))
    return f"{path}?{query}"


def page_links(path: str, params: dict[str, str], size: int, offset: int, with_size: bool) -> dict[str, str]:
    """Return ``links``: ``next`` on every page, the last one too, and ``previous`` past the first.

    They carry the request's parameters, the page as ``page[limit]`` and ``page[offset]``, and
    ``page[size]`` too when ``with_size``.
    """
    kept = {k: v for k, v in params.items() if not k.startswith("page[")}
    kept |= {"page[limit]": str(size)} | ({"page[size]": str(size)} if with_size else {})
    links = {"next": page_link(path, {**kept, "page[offset]": str(offset + size)})}
    if offset:
        links["previous"] = page_link(path, {**kept, "page[offset]": str(max(0, offset - size))})
    return links


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
    offset = int_param(params, "page[offset]", 0, 0)
    limit = int_param(params, "page[limit]", DEFAULT_LIMIT, 1, MAX_LIMIT)
    return ScoresRequest(aggregation, rule_filter, sort, offset, limit)


def parse_filter(params: dict[str, str]) -> RuleFilter:
    """Parse the rule filters of a scores request, validated like the API does (400 on a malformed value)."""
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
        is_custom=flag(params, "filter[rule][is_custom]"),
        is_enabled=flag(params, "filter[rule][is_enabled]"),
    )
