"""Rule outcomes: Datadog's "List all rule outcomes" endpoint (``GET /api/v2/scorecard/outcomes``).

A score says how far a service is from its bar; its rule outcomes say why: one outcome per rule and
service, with a state (``pass``, ``fail``, ``skip``) and Datadog's remarks (text that may hold HTML links).
This module is the endpoint's query (:class:`OutcomesQuery`, validated, with its wire names) and its page
(:func:`decode_outcomes_page`, into :class:`OutcomesPage` of :class:`RuleOutcome`).

The answer's shape is the official clients' ``OutcomesResponse``: ``data`` (outcomes with ``attributes``
``state``/``remarks``/``service_name``/``created_at``/``modified_at`` and a ``rule`` relationship),
``included`` (the rules, with ``name`` and ``scorecard_name``, when ``include=rule`` is asked) and
``links.next``, which is present even on the last, empty page. There is no ``meta``: the end is a page
with fewer outcomes than ``page[size]``. Every field is optional and a missing one is ``None`` here,
never invented; anything that is not such a page is a :class:`ScorecardsResponseError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_scorecards.client.coercion import MAX_LIST_ITEMS, coerce_bool, coerce_int
from airflow_provider_scorecards.client.errors import InvalidParameterError, ScorecardsResponseError

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
        state_text = _optional_text("state", state)
        if state_text is not None:
            state_text = state_text.lower()
            if state_text not in OUTCOME_STATES:
                raise InvalidParameterError("state", state, f"expected one of {', '.join(OUTCOME_STATES)}")
        include = coerce_bool("include_rules", include_rules)
        return cls(
            service_name=_optional_text("service_name", service_name),
            state=state_text,
            rule_ids=_optional_ids("rule_ids", rule_ids),
            rule_name=_optional_text("rule_name", rule_name),
            rule_enabled=None if rule_enabled is None else coerce_bool("rule_enabled", rule_enabled),
            include_rules=True if include is None else include,
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
        params: dict[str, str] = {}
        if self.service_name is not None:
            params["filter[outcome][service_name]"] = self.service_name
        if self.state is not None:
            params["filter[outcome][state]"] = self.state
        if self.rule_ids is not None:
            params["filter[rule][id]"] = ",".join(self.rule_ids)
        if self.rule_name is not None:
            params["filter[rule][name]"] = self.rule_name
        if self.rule_enabled is not None:
            params["filter[rule][enabled]"] = "true" if self.rule_enabled else "false"
        if self.include_rules:
            params["include"] = "rule"
        params["page[size]"] = str(self.page_size)
        params["page[offset]"] = str(offset)
        return params


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


def decode_outcomes_page(body: bytes, offset: int, page_size: int) -> OutcomesPage:
    """Decode a response body into its page; see the module docstring for the shape.

    Valid pages are decoded by msgspec (``outcomes_wire.decode_outcomes``); anything it refuses is decoded
    again by ``json.loads`` and checked by :func:`parse_outcomes_page`, which names what is wrong.

    Raises ``ValueError`` for a body that is not JSON (a truncated answer, which the transport retries)
    and :class:`ScorecardsResponseError` for a body too large, too deeply nested, or of the wrong shape.
    """
    if len(body) > MAX_PAGE_BYTES:
        raise ScorecardsResponseError(
            f"outcomes page at offset {offset}: {len(body)} bytes, more than the {MAX_PAGE_BYTES} accepted"
        )
    from airflow_provider_scorecards.client.outcomes_wire import decode_outcomes

    page = decode_outcomes(body, offset, page_size)
    if page is not None:
        return page
    try:
        payload = json.loads(body)
    except RecursionError:
        raise ScorecardsResponseError(f"outcomes page at offset {offset}: JSON nested too deeply") from None
    return parse_outcomes_page(payload, offset, page_size)


def parse_outcomes_page(payload: Any, offset: int, page_size: int) -> OutcomesPage:
    """Check a decoded outcomes body and return its page; raises :class:`ScorecardsResponseError`."""
    where = f"outcomes page at offset {offset}"
    if not isinstance(payload, dict):
        raise ScorecardsResponseError(f"{where}: expected a JSON object, got {_kind(payload)}")
    data = _optional(payload, "data", list, where)
    included = _optional(payload, "included", list, where)
    links = _optional(payload, "links", dict, where)
    items = data or []
    if len(items) > page_size:
        raise ScorecardsResponseError(f"{where}: {len(items)} outcomes in answer to page[size]={page_size}")
    rules: dict[str, IncludedRule] = {}
    for position, item in enumerate(included or []):
        rule = _included_rule(item, f"{where}, included item {position}")
        if rule is not None:
            rules.setdefault(rule.id, rule)
    outcomes = [_outcome(item, rules, f"{where}, item {position}") for position, item in enumerate(items)]
    next_link = None
    if links is not None:
        next_link = _optional(links, "next", str, f"{where}, links")
    return OutcomesPage(offset, outcomes, rules, next_link, page_size)


def _outcome(item: Any, rules: Mapping[str, IncludedRule], where: str) -> RuleOutcome:
    if not isinstance(item, dict):
        raise ScorecardsResponseError(f"{where}: expected an outcome object, got {_kind(item)}")
    attributes = _optional(item, "attributes", dict, where) or {}
    relationships = _optional(item, "relationships", dict, where) or {}
    rule_id = _related_id(relationships, "rule", where)
    rule = rules.get(rule_id) if rule_id is not None else None
    return RuleOutcome(
        id=_optional(item, "id", str, where),
        rule_id=rule_id,
        state=_optional(attributes, "state", str, f"{where}, attributes"),
        remarks=_optional(attributes, "remarks", str, f"{where}, attributes"),
        service_name=_optional(attributes, "service_name", str, f"{where}, attributes"),
        created_at=_optional(attributes, "created_at", str, f"{where}, attributes"),
        modified_at=_optional(attributes, "modified_at", str, f"{where}, attributes"),
        rule_name=rule.name if rule else None,
        scorecard_name=rule.scorecard_name if rule else None,
    )


def _included_rule(item: Any, where: str) -> IncludedRule | None:
    """Read a rule from ``included`` (None for an item of another type, or one without an id)."""
    if not isinstance(item, dict):
        raise ScorecardsResponseError(f"{where}: expected an object, got {_kind(item)}")
    kind = _optional(item, "type", str, where)
    rule_id = _optional(item, "id", str, where)
    if (kind is not None and kind != "rule") or not rule_id:
        return None
    attributes = _optional(item, "attributes", dict, where) or {}
    return IncludedRule(
        id=rule_id,
        name=_optional(attributes, "name", str, f"{where}, attributes"),
        scorecard_name=_optional(attributes, "scorecard_name", str, f"{where}, attributes"),
    )


def _related_id(relationships: Mapping[str, Any], name: str, where: str) -> str | None:
    relationship = _optional(relationships, name, dict, f"{where}, relationships")
    if relationship is None:
        return None
    data = _optional(relationship, "data", dict, f"{where}, relationship {name!r}")
    if data is None:
        return None
    rule_id: str | None = _optional(data, "id", str, f"{where}, relationship {name!r}")
    return rule_id


_EXPECTED: dict[type[Any], str] = {list: "a list", dict: "an object", str: "a string"}


def _optional(container: Mapping[str, Any], key: str, kind: type[Any], where: str) -> Any:
    """``container[key]`` when it has the expected JSON type, None when absent or null; else an error."""
    value = container.get(key)
    if value is None or (isinstance(value, kind) and not isinstance(value, bool)):
        return value
    expected = _EXPECTED.get(kind, kind.__name__)
    raise ScorecardsResponseError(f"{where}: {key!r} is {_kind(value)}, expected {expected}")


def _optional_text(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidParameterError(name, value, "expected a string")
    text = value.strip()
    if not text:
        raise InvalidParameterError(name, value, "a filter that is given must not be blank; omit it for all")
    if len(text) > MAX_TEXT:
        raise InvalidParameterError(name, value, f"expected at most {MAX_TEXT} characters")
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
    if any(item is None for item in items):
        raise InvalidParameterError(name, value, "every id must be a string")
    ids = tuple(str(_optional_text(name, item)) for item in items)
    if not ids:
        raise InvalidParameterError(name, value, "a filter that is given must not be empty; omit it for all")
    if any("," in item for item in ids):
        raise InvalidParameterError(name, value, "an id must not contain a comma")
    return ids


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return type(value).__name__
