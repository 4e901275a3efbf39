"""A rule outcomes page as typed msgspec structs: the fast path of :func:`.outcomes.decode_outcomes_page`.

msgspec decodes the body straight into the structs below, checking every type while it reads and
skipping what an outcomes page does not need (``meta``, unknown fields, the relationships other than
``rule``). Every attribute and relationship is optional, as in the spec: a missing field decodes to
``None``.

It answers only for pages it fully accepts, with exactly the page the careful parser
(:func:`.outcomes.parse_outcomes_page`) would build. Whenever msgspec refuses a body (malformed JSON, a
wrong type, nesting too deep), the body is not valid UTF-8 (which msgspec does not check in the fields it
skips), or the page holds more outcomes than were asked for, :func:`decode_outcomes` returns ``None`` and
the caller decodes the body again with the standard library, which names the problem. An included item
of another type than ``rule`` whose attributes msgspec cannot type takes that path too, and the careful
parser, which ignores such an item, answers with the same page.

Imported on the first outcomes page decoded, never when a DAG file imports the task classes.
"""

from __future__ import annotations

import msgspec
from msgspec import Struct

from airflow_provider_scorecards.client.outcomes import IncludedRule, OutcomesPage, RuleOutcome


class _RelatedRuleData(Struct, gc=False):
    id: str | None = None


class _RelatedRule(Struct, gc=False):
    data: _RelatedRuleData | None = None


class _Relationships(Struct, gc=False):
    rule: _RelatedRule | None = None


class _OutcomeAttributes(Struct, gc=False):
    state: str | None = None
    remarks: str | None = None
    service_name: str | None = None
    created_at: str | None = None
    modified_at: str | None = None


class _Outcome(Struct, gc=False):
    id: str | None = None
    attributes: _OutcomeAttributes | None = None
    relationships: _Relationships | None = None


class _RuleAttributes(Struct, gc=False):
    name: str | None = None
    scorecard_name: str | None = None


class _Included(Struct, gc=False):
    id: str | None = None
    type: str | None = None
    attributes: _RuleAttributes | None = None


class _Links(Struct, gc=False):
    next: str | None = None


class _OutcomesBody(Struct, gc=False):
    data: list[_Outcome] | None = None
    included: list[_Included] | None = None
    links: _Links | None = None


_DECODER = msgspec.json.Decoder(_OutcomesBody)
_NO_ATTRIBUTES = _OutcomeAttributes()
_NO_RULE_ATTRIBUTES = _RuleAttributes()


def decode_outcomes(body: bytes, offset: int, page_size: int) -> OutcomesPage | None:
    """Decode ``body`` into its page, or ``None`` when anything in it needs the careful parser."""
    try:
        body.decode()  # json.loads refuses invalid UTF-8 anywhere; msgspec only where it reads
        decoded = _DECODER.decode(body)
    except (UnicodeDecodeError, msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
        return None
    items = decoded.data or []
    if len(items) > page_size:
        return None
    rules: dict[str, IncludedRule] = {}
    for item in decoded.included or ():
        rule_id = item.id
        if not rule_id or (item.type is not None and item.type != "rule") or rule_id in rules:
            continue  # not a rule, or one already included: the first one wins
        attributes = item.attributes or _NO_RULE_ATTRIBUTES
        rules[rule_id] = IncludedRule(rule_id, attributes.name, attributes.scorecard_name)
    outcomes: list[RuleOutcome] = []
    append = outcomes.append
    for outcome in items:
        a = outcome.attributes or _NO_ATTRIBUTES
        related = outcome.relationships
        rule_id = None
        if related is not None and related.rule is not None and related.rule.data is not None:
            rule_id = related.rule.data.id
        rule = rules.get(rule_id) if rule_id else None
        append(
            RuleOutcome(
                outcome.id,
                rule_id,
                a.state,
                a.remarks,
                a.service_name,
                a.created_at,
                a.modified_at,
                rule.name if rule else None,
                rule.scorecard_name if rule else None,
            )
        )
    links = decoded.links
    return OutcomesPage(offset, outcomes, rules, links.next if links else None, page_size)
