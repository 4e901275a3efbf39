"""Rule outcomes: Datadog's "List all rule outcomes" endpoint (``GET /api/v2/scorecard/outcomes``).

A score says how far a service is from its bar; its rule outcomes say why: one outcome per rule and
service, with a state (``pass``, ``fail``, ``skip``) and Datadog's remarks (text that may hold HTML links).
This module is the endpoint's query (:class:`OutcomesQuery`, validated, with its wire names) and its one
decoder, msgspec's (:func:`decode_outcomes_page`, into :class:`OutcomesPage` of :class:`RuleOutcome`).
Every field of the answer is optional and a missing one is ``None``, never invented; a page of any other
shape is refused whole with a :class:`ScorecardsResponseError` naming the item, the outcome's id, the
field and the value (docs/decoding.rst).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from msgspec import Struct

from airflow_provider_scorecards.client.coercion import MAX_LIST_ITEMS, coerce_bool, coerce_choice, coerce_int
from airflow_provider_scorecards.client.errors import (
    InvalidParameterError,
    ScorecardsResponseError,
    named,
    refusal,
    shape_of,
    shape_problem,
)
from airflow_provider_scorecards.client.pages import _Relationship
from airflow_provider_scorecards.client.query import wire_value

OUTCOMES_PATH = "/api/v2/scorecard/outcomes"
OUTCOME_STATES: tuple[str, ...] = ("pass", "fail", "skip")
"""The states of a rule outcome (the official clients' ``State``)."""
MAX_PAGE_SIZE = 100
"""Largest ``page[size]`` the endpoint accepts."""
MAX_TEXT = 200
"""Longest filter value accepted (a service or rule name)."""
MAX_PAGE_BYTES = 4 * 1024 * 1024
"""Largest outcomes page decoded: 100 outcomes with remarks and their rules fit many times over."""


@dataclass(frozen=True, slots=True)
class OutcomesQuery:
    """A validated "List all rule outcomes" query (everything but the page offset).

    Build it with :meth:`build`, which coerces and checks loose inputs; the constructor trusts its
    arguments. ``None`` means "no filter"; a filter that is given but blank is an error, never "all".
    """

    service_name: str | None = None
    state: str | None = None
    rule_ids: tuple[str, ...] | None = None
    rule_name: str | None = None
    rule_enabled: bool | None = None
    include_rules: bool = True
    page_size: int = MAX_PAGE_SIZE

    @classmethod
    def build(
        cls,
        *,
        service_name: Any = None,
        state: Any = None,
        rule_ids: Any = None,
        rule_name: Any = None,
        rule_enabled: Any = None,
        include_rules: Any = True,
        page_size: Any = MAX_PAGE_SIZE,
    ) -> OutcomesQuery:
        """Coerce and validate every field; raise :class:`InvalidParameterError` on the first bad one."""
        return cls(
            service_name=None if service_name is None else required_text("service_name", service_name),
            state=None if state is None else coerce_choice("state", state, OUTCOME_STATES),
            rule_ids=_optional_ids("rule_ids", rule_ids),
            rule_name=None if rule_name is None else required_text("rule_name", rule_name),
            rule_enabled=None if rule_enabled is None else coerce_bool("rule_enabled", rule_enabled),
            include_rules=coerce_bool("include_rules", include_rules) is not False,
            page_size=coerce_int("page_size", page_size, minimum=1, maximum=MAX_PAGE_SIZE),
        )

    @property
    def path(self) -> str:
        """The endpoint's path."""
        return OUTCOMES_PATH

    def to_params(self, offset: int = 0) -> dict[str, str]:
        """Query-string parameters for one page, with the endpoint's wire names.

        Several rule ids are sent comma-separated, as the scores endpoint takes them; Datadog's reference
        types ``filter[rule][id]`` as one string and does not say more.
        """
        params = {
            "filter[outcome][service_name]": self.service_name,
            "filter[outcome][state]": self.state,
            "filter[rule][id]": None if self.rule_ids is None else wire_value(self.rule_ids),
            "filter[rule][name]": self.rule_name,
            "filter[rule][enabled]": None if self.rule_enabled is None else wire_value(self.rule_enabled),
            "include": "rule" if self.include_rules else None,
            "page[size]": str(self.page_size),
            "page[offset]": str(offset),
        }
        return {name: value for name, value in params.items() if value is not None}


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """One rule's outcome for one service, flat; a field the API did not send is ``None``.

    ``rule_name`` and ``scorecard_name`` come from the included rule (``include=rule``) when the answer
    has it. ``remarks`` is Datadog's text as sent (it may hold HTML links).
    """

    id: str | None
    rule_id: str | None
    state: str | None
    remarks: str | None
    service_name: str | None
    created_at: str | None
    modified_at: str | None
    rule_name: str | None
    scorecard_name: str | None


@dataclass(frozen=True, slots=True)
class IncludedRule:
    """A rule as the outcomes endpoint includes it: its id, name and scorecard's name (each optional)."""

    id: str
    name: str | None
    scorecard_name: str | None


@dataclass(frozen=True, slots=True)
class OutcomesPage:
    """One page of outcomes, in the server's order, with the rules it included and its next link.

    ``last`` is true when the page holds fewer outcomes than were asked for: the endpoint has no
    ``meta.total``, and its ``links.next`` is there even on the last page.
    """

    offset: int
    outcomes: list[RuleOutcome]
    rules: dict[str, IncludedRule]
    next_link: str | None
    page_size: int

    @property
    def last(self) -> bool:
        """Whether this page ends the listing (fewer outcomes than ``page[size]``)."""
        return len(self.outcomes) < self.page_size


class _Relationships(Struct, gc=False):
    rule: _Relationship | None = None  # the others (``service``...) are skipped


class _Attributes(Struct, gc=False):
    state: str | None = None
    remarks: str | None = None
    service_name: str | None = None
    created_at: str | None = None
    modified_at: str | None = None


class _Outcome(Struct, gc=False):
    id: str | None = None
    attributes: _Attributes | None = None
    relationships: _Relationships | None = None


class _RuleAttributes(Struct, gc=False):
    name: str | None = None
    scorecard_name: str | None = None


class _Included(Struct, gc=False):
    id: str | None = None
    type: str | None = None
    attributes: msgspec.Raw = msgspec.Raw()  # typed only for a rule: another type's attributes are its own


class _Links(Struct, gc=False):
    next: str | None = None


class _Body(Struct, gc=False):
    data: list[_Outcome] | None = None
    included: list[_Included] | None = None
    links: _Links | None = None


_NO_ATTRIBUTES = _Attributes()
_NO_RULE_ATTRIBUTES = _RuleAttributes()
_NO_RULE = IncludedRule("", None, None)


def decode_outcomes_page(body: bytes, offset: int, page_size: int) -> OutcomesPage:
    """Decode a response body into its page; a rule included twice is named by its first copy.

    Raises ``ValueError`` for a body that is not JSON or not UTF-8 (a truncated answer, which the
    transport retries) and :class:`ScorecardsResponseError` for a body too large, too deeply nested, of
    the wrong shape, or with more outcomes than ``page_size``.
    """
    where = f"outcomes page at offset {offset}"
    if len(body) > MAX_PAGE_BYTES:
        raise ScorecardsResponseError(f"{where}: {len(body)} bytes, more than the {MAX_PAGE_BYTES} accepted")
    body.decode()  # msgspec checks UTF-8 only where it reads
    try:
        page = msgspec.json.decode(body, type=_Body)
        if len(items := page.data or []) > page_size:
            raise msgspec.ValidationError(f"{len(items)} outcomes in answer to page[size]={page_size}")
        rules: dict[str, IncludedRule] = {}
        for item in page.included or ():
            if item.id and item.type in (None, "rule"):  # every copy is checked; the first one names it
                raw = item.attributes
                named = (raw and msgspec.json.decode(raw, type=_RuleAttributes | None)) or _NO_RULE_ATTRIBUTES
                rules.setdefault(item.id, IncludedRule(item.id, named.name, named.scorecard_name))
    except (msgspec.DecodeError, RecursionError) as exc:  # ValidationError is a DecodeError
        raise refusal(body, where, exc, _page_problem) from None
    outcomes = []
    for outcome in items:
        r = outcome.relationships
        rule_id = r.rule.data.id if r and r.rule and r.rule.data else None
        rule = rules.get(rule_id or "", _NO_RULE)
        a = outcome.attributes or _NO_ATTRIBUTES
        texts = (a.state, a.remarks, a.service_name, a.created_at, a.modified_at)
        outcomes.append(RuleOutcome(outcome.id, rule_id, *texts, rule.name, rule.scorecard_name))
    return OutcomesPage(offset, outcomes, rules, page.links.next if page.links else None, page_size)


def required_text(name: str, value: Any) -> str:
    """Read a non-blank string of at most ``MAX_TEXT`` characters, trimmed (a filter, a rule's name)."""
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > MAX_TEXT:
        raise InvalidParameterError(
            name, value, f"expected a non-blank string of at most {MAX_TEXT} characters"
        )
    return text


def _optional_ids(name: str, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise InvalidParameterError(name, value, "expected a list of ids")
    if len(items) > MAX_LIST_ITEMS:
        raise InvalidParameterError(
            name, f"<list of {len(items)} items>", f"expected at most {MAX_LIST_ITEMS} items"
        )
    ids = tuple(required_text(name, item) for item in items)
    if not ids:
        raise InvalidParameterError(name, value, "a filter that is given must not be empty; omit it for all")
    if any("," in item for item in ids):
        raise InvalidParameterError(name, value, "an id must not contain a comma")
    return ids


# -- the error path: what msgspec refused, named -----------------------------------------------------------


def _page_problem(payload: Any) -> str | None:
    if problem := shape_problem(payload, shape_of(_Body), "a JSON object"):
        return f": {problem}"
    for position, item in enumerate(payload.get("included") or ()):
        problem = shape_problem(item, shape_of(_Included), "an object")
        if problem is None and item.get("type") in (None, "rule") and item.get("id"):  # a rule: typed
            problem = shape_problem(item, {"attributes": shape_of(_RuleAttributes)}, "an object")
        if problem:
            return f", included item {position}{named(item)}: {problem}"
    for position, item in enumerate(payload.get("data") or ()):
        if problem := shape_problem(item, shape_of(_Outcome), "an outcome object"):
            return f", item {position}{named(item)}: {problem}"
    return None
