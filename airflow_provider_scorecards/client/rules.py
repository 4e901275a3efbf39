"""Custom rules and their outcomes: what the provider writes to Scorecards.

A custom rule lives in a scorecard and is judged outside Datadog: a task reports, per entity, ``pass``,
``fail`` or ``skip`` with remarks. :func:`parse_outcomes` reads such a report (a mapping, or its rendered
text) into :class:`OutcomeResult` before any request; the client lists and creates :class:`Rule`
(``/api/v2/scorecard/rules``) and posts results in batches (``POST /api/v2/scorecard/outcomes``), with
:class:`PartialPostError` when a batch fails after others were accepted. Here too: the request bodies and
the three answers' decoders (msgspec, every attribute optional; a malformed answer is a
:class:`ScorecardsResponseError` naming what is wrong).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

from airflow_provider_scorecards.client.coercion import (
    coerce_bool,
    coerce_choice,
    coerce_int,
    is_unset,
    mapping_from_text,
)
from airflow_provider_scorecards.client.errors import (
    InvalidParameterError,
    ScorecardsError,
    ScorecardsResponseError,
    named,
    refusal,
    render_id,
    shape_of,
    shape_problem,
)
from airflow_provider_scorecards.client.outcomes import OUTCOME_STATES, required_text
from airflow_provider_scorecards.client.query import RULE_LEVELS

__all__ = [
    "MAX_OUTCOMES_PER_REQUEST",
    "MAX_REMARKS_CHARS",
    "OUTCOME_STATES",
    "OutcomeResult",
    "PartialPostError",
    "Rule",
    "RuleNotFoundError",
    "parse_outcomes",
]

RULES_PATH = "/api/v2/scorecard/rules"
MAX_OUTCOMES_PER_REQUEST = 1000
"""Most results in one post: Datadog documents no limit for this endpoint, and 1,000 is its cap elsewhere."""
MAX_REMARKS_CHARS = 2000
"""Longest remarks of one result (characters); longer remarks are cut, ending ``... (cut)``."""
RULES_PAGE_SIZE = 100
"""``page[size]`` of the rules list: the largest Datadog accepts."""
MAX_RULES = 100_000
"""Most rules a list reads (1,000 pages); a longer list is refused, never cut short (a lookup would miss)."""
MAX_ANSWER_BYTES = 4 * 1024 * 1024
"""Largest answer of these endpoints read: a page of 100 rules with long descriptions fits many times."""
MAX_ENTITY_REFERENCE_CHARS = 500
"""Longest entity reference accepted (``service:checkout``)."""
MAX_OUTCOMES_TEXT_CHARS = 16 * 1024 * 1024
"""Longest text of an outcomes mapping read (a rendered template or XCom)."""
_CUT = "... (cut)"
_FORMS = (
    'expected a mapping of entity reference to "pass", "fail" or "skip", or to {"state": ..., "remarks": ...}'
)


RULE_FIELDS = ("name", "scorecard_name", "custom", "enabled", "level")
"""A rule's attributes: two copies of one rule id that differ in any of them mean the list moved."""


@dataclass(frozen=True)
class Rule:
    """A scorecard rule as the rules endpoint lists it; a field the API did not send is ``None``."""

    id: str
    name: str | None
    scorecard_name: str | None
    custom: bool | None
    enabled: bool | None
    level: int | None


@dataclass(frozen=True)
class OutcomeResult:
    """One entity's outcome of a rule: ``state`` is ``pass``, ``fail`` or ``skip``."""

    entity_reference: str
    state: str
    remarks: str | None = None


class RuleNotFoundError(ScorecardsError):
    """The custom rule of that name is not in that scorecard, and it was not to be created."""


class PartialPostError(ScorecardsError):
    """A batch of outcomes failed after earlier batches were accepted: ``posted`` went, ``unposted`` did not.

    ``unposted`` holds the entity references of every result not posted, in order; the error that stopped
    the post is the ``__cause__``. Posting the same outcomes again is harmless (the latest one counts).
    """

    def __init__(self, posted: int, unposted: tuple[str, ...], rule_id: str, cause: ScorecardsError) -> None:
        self.posted = posted
        self.unposted = unposted
        self.retryable = cause.retryable
        shown = ", ".join(render_id(ref) for ref in unposted[:10]) + (", ..." if len(unposted) > 10 else "")
        super().__init__(
            f"posted {posted} outcomes to rule '{render_id(rule_id)}', then a batch failed: {len(unposted)} "
            f"not posted ({shown}): {cause}"
        )


def parse_outcomes(name: str, value: Any, *, remarks: str | None = None) -> tuple[OutcomeResult, ...]:
    """Read outcomes, in the mapping's order, before any request; raise :class:`InvalidParameterError`.

    ``value`` maps each entity reference to ``"pass"``, ``"fail"`` or ``"skip"`` (any case, trimmed) or to
    ``{"state": ..., "remarks": ...}``; it may be the JSON or Python-literal text of such a mapping (a
    rendered template), with no key given twice. ``remarks`` is the default of the results without their
    own. Remarks are cut to :data:`MAX_REMARKS_CHARS`. ``name`` is the parameter named in errors.
    """
    default = _remarks(f"{name} remarks", remarks)
    mapping = _mapping(name, value)
    if not mapping:
        raise InvalidParameterError(name, value, f"{_FORMS}, with at least one entity")
    results: dict[str, OutcomeResult] = {}
    for key, spec in mapping.items():
        if not isinstance(key, str) or not key.strip():
            raise InvalidParameterError(
                name, {key: spec}, "every entity reference must be a non-blank string"
            )
        reference = key.strip()
        where = f"{name}[{reference!r}]"
        if len(reference) > MAX_ENTITY_REFERENCE_CHARS:
            raise InvalidParameterError(
                name, {key: spec}, f"expected at most {MAX_ENTITY_REFERENCE_CHARS} characters"
            )
        if reference in results:
            raise InvalidParameterError(name, {key: spec}, f"{reference!r} is given twice")
        own: Any = None
        state = spec
        if isinstance(spec, Mapping):
            if unknown := sorted(str(k) for k in spec if k not in ("state", "remarks")):
                raise InvalidParameterError(where, spec, f"unknown keys {unknown}; {_FORMS}")
            state, own = spec.get("state"), _remarks(f"{where} remarks", spec.get("remarks"))
        checked = coerce_choice(
            where, state, OUTCOME_STATES, hint=f"{_FORMS}; a state is one of {OUTCOME_STATES}"
        )
        results[reference] = OutcomeResult(reference, checked, own if own is not None else default)
    return tuple(results.values())


def _mapping(name: str, value: Any) -> Mapping[Any, Any]:
    if isinstance(value, Mapping):
        return value
    if not isinstance(value, str):
        raise InvalidParameterError(name, value, _FORMS)
    text = value.strip()
    if is_unset(text):
        raise InvalidParameterError(
            name, value, f"{_FORMS}; the text is empty (did a template render nothing?)"
        )
    return mapping_from_text(
        name, value, text, max_chars=MAX_OUTCOMES_TEXT_CHARS, forms=_FORMS, twice="is given twice"
    )


def _remarks(name: str, value: Any) -> str | None:
    """Remarks: text, trimmed and cut to :data:`MAX_REMARKS_CHARS`; unset or blank is ``None``."""
    if is_unset(value):
        return None
    if not isinstance(value, str):
        raise InvalidParameterError(name, value, "expected text")
    return cap_remarks(value.strip())


def cap_remarks(text: str) -> str:
    """Cut ``text`` to :data:`MAX_REMARKS_CHARS`, ending ``... (cut)`` when it was longer."""
    return text if len(text) <= MAX_REMARKS_CHARS else text[: MAX_REMARKS_CHARS - len(_CUT)] + _CUT


def checked_results(results: Any) -> tuple[OutcomeResult, ...]:
    """Refuse results that :func:`parse_outcomes` would not build, before any request."""
    if isinstance(results, str | Mapping) or not isinstance(results, Sequence):
        raise InvalidParameterError(
            "results", results, "expected a sequence of OutcomeResult (see parse_outcomes)"
        )
    for result in results:
        if not (
            isinstance(result, OutcomeResult)
            and result.state in OUTCOME_STATES
            and isinstance(result.entity_reference, str)
            and result.entity_reference.strip() == result.entity_reference != ""
            and isinstance(result.remarks, str | None)
        ):
            raise InvalidParameterError(
                "results",
                result,
                f"expected an OutcomeResult with a trimmed entity reference and a state of {OUTCOME_STATES}",
            )
    return tuple(results)


def rule_attributes(
    name: Any, scorecard_name: Any, level: Any, owner: Any, description: Any, enabled: Any
) -> dict[str, Any]:
    """Return the ``attributes`` of a rule to create, every argument checked (owner, description optional)."""
    attributes: dict[str, Any] = {
        "name": required_text("name", name),
        "scorecard_name": required_text("scorecard_name", scorecard_name),
        "enabled": coerce_bool("enabled", enabled) is not False,
        "level": coerce_int("level", level, minimum=RULE_LEVELS[0], maximum=RULE_LEVELS[-1]),
    }
    for key, text in (("owner", owner), ("description", description)):
        if text is not None:
            if not isinstance(text, str):
                raise InvalidParameterError(key, text, "expected text")
            if text.strip():
                attributes[key] = text.strip()
    return attributes


def outcomes_body(
    rule_id: str, results: Sequence[OutcomeResult], scrub: Callable[[str], str]
) -> dict[str, Any]:
    """Return the body of one post: the results, their remarks scrubbed by ``scrub``, then cut."""
    wire = []
    for result in results:
        item = {"rule_id": rule_id, "entity_reference": result.entity_reference, "state": result.state}
        if result.remarks:
            item["remarks"] = cap_remarks(scrub(result.remarks))
        wire.append(item)
    return {"data": {"type": "batched-outcome", "attributes": {"results": wire}}}


# -- the answers: one decoder each -------------------------------------------------------------------------


class _RuleAttributes(Struct, gc=False):
    name: str | None = None
    scorecard_name: str | None = None
    custom: bool | None = None
    enabled: bool | None = None
    level: int | None = None


class _Rule(Struct, gc=False):
    id: Annotated[str, Meta(min_length=1)]
    attributes: _RuleAttributes | None = None


class _RulesPage(Struct, gc=False):
    data: list[_Rule]


class _RuleAnswer(Struct, gc=False):
    data: _Rule


class _AcceptedMeta(Struct, gc=False):
    total_received: Annotated[int, Meta(ge=0)] | None = None


class _Accepted(Struct, gc=False):
    meta: _AcceptedMeta | None = None


_RULES = msgspec.json.Decoder(_RulesPage)
_RULE = msgspec.json.Decoder(_RuleAnswer)
_ACCEPTED = msgspec.json.Decoder(_Accepted | None)
_NO_ATTRIBUTES = _RuleAttributes()


def _rule(item: _Rule) -> Rule:
    a = item.attributes or _NO_ATTRIBUTES
    return Rule(item.id, a.name, a.scorecard_name, a.custom, a.enabled, a.level)


def decode_rules(body: bytes, offset: int) -> list[Rule]:
    """Decode one page of the rules list (at most :data:`RULES_PAGE_SIZE` rules), in the server's order."""
    where = f"rules page at offset {offset}"
    try:
        page = _RULES.decode(body)
        if len(page.data) > RULES_PAGE_SIZE:
            raise msgspec.ValidationError(f"{len(page.data)} rules in answer to page[size]={RULES_PAGE_SIZE}")
    except (msgspec.DecodeError, RecursionError) as exc:
        raise refusal(body, where, exc, _rules_problem) from None
    return [_rule(item) for item in page.data]


def decode_rule(body: bytes) -> Rule:
    """Decode the answer to a rule's creation: the rule created."""
    try:
        return _rule(_RULE.decode(body).data)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise refusal(body, "created rule", exc, lambda payload: _data_problem(payload, dict)) from None


def decode_accepted(body: bytes) -> int | None:
    """Decode the answer to a post: ``meta.total_received`` (None when the answer does not say)."""
    if not body.strip():
        return None
    try:
        accepted = _ACCEPTED.decode(body)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise ScorecardsResponseError(f"answer to an outcomes post: {exc}") from None
    return accepted.meta.total_received if accepted and accepted.meta else None


def _rules_problem(payload: Any) -> str | None:
    if problem := _data_problem(payload, list):
        return problem
    for position, item in enumerate(payload["data"]):
        if problem := _item_problem(item):
            return f", item {position}{named(item)}: {problem}"
    return None


def _data_problem(payload: Any, kind: type) -> str | None:
    if problem := shape_problem(payload, {"data": {} if kind is dict else kind}, "a JSON object"):
        return f": {problem}"
    if payload.get("data") is None:
        return ": 'data' is missing"
    if kind is dict and (problem := _item_problem(payload["data"])):
        return f": rule{named(payload['data'])}: {problem}"
    return None


def _item_problem(item: Any) -> str | None:
    problem = shape_problem(item, shape_of(_Rule), "a rule object")
    return problem or (None if item.get("id") else "'id' is missing or blank")
