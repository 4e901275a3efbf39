"""Why a gate failed: the failing rules of the first failing entities, with Datadog's remarks.

When a by-entity gate fails, the rule outcomes endpoint is asked about up to ``limit`` failing entities,
narrowed by the gate query's rule filters. Explanations never change or hold up a verdict: one request per
entity with no retries and a short timeout (:func:`explanation_settings`), a shared time budget, and any
failure reported as "explanations unavailable" with the reason. Remarks keep their links as
``text (url)``, lose other markup, and are scrubbed and rendered like all server text.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_scorecards.client.errors import (
    MAX_ID_CHARS,
    ScorecardsAuthError,
    ServerText,
    render_id,
)

if TYPE_CHECKING:
    from airflow_provider_scorecards.client.client import ScorecardsClient
    from airflow_provider_scorecards.client.query import ScoresQuery
    from airflow_provider_scorecards.client.settings import ClientSettings

DEFAULT_EXPLAIN_LIMIT = 5
MAX_EXPLAIN_LIMIT = 20
"""Most entities explained for one verdict (one request each)."""
MAX_RULES_SHOWN = 20
"""Most failing rules listed per entity."""
MAX_REMARKS = 300
"""Longest remarks text kept per rule."""
MAX_REASON = 300
"""Longest "unavailable" reason kept."""
EXPLAIN_TIMEOUT = 5.0
"""Timeout of one explanation request (seconds); it is never retried."""
EXPLAIN_BUDGET = 15.0
"""No explanation request starts later than this many seconds after the first."""
UNSCOPED_FILTERS = ("scorecard_ids", "rule_levels", "is_custom")
"""Query filters the outcomes endpoint cannot apply: explanations may name rules outside them."""


@dataclass(frozen=True, slots=True)
class RuleExplanation:
    """One failing rule of an entity: its id, its name and Datadog's remarks (each may be unknown)."""

    rule_id: str | None
    rule_name: str | None
    remarks: str | None


@dataclass(frozen=True, slots=True)
class Explanation:
    """The failing rules of one entity, or why they could not be had (``unavailable``)."""

    id: str
    rules: tuple[RuleExplanation, ...] = ()
    unavailable: str | None = None
    more: int = 0
    """Failing rules left out of ``rules`` (beyond :data:`MAX_RULES_SHOWN`)."""
    complete: bool = True
    """False when the answer's page was full: more failing rules may be on pages not asked for."""


@dataclass(frozen=True)
class Explanations:
    """The explanations of one verdict, in the report's order."""

    items: tuple[Explanation, ...]
    not_explained: int = 0
    """Failing ids beyond the limit, not asked about."""
    limit: int = DEFAULT_EXPLAIN_LIMIT
    unscoped: tuple[str, ...] = ()
    """Filters of the gate query that the outcomes endpoint could not apply."""
    requests: int = 0
    """Requests made (at most one per explained id)."""

    def as_dict(self) -> dict[str, list[dict[str, str | None]]]:
        """``{id: [{"rule_id", "rule_name", "remarks"}, ...]}`` for every id that could be explained."""
        return {
            render_id(item.id): [dataclasses.asdict(rule) for rule in item.rules]
            for item in self.items
            if item.unavailable is None
        }

    def report_lines(self) -> list[str]:
        """Write the explanations as report lines (none when there was nothing to explain)."""
        if not self.items:
            return []
        lines = [f"Failing rules with Datadog's remarks, for {len(self.items)} failing id(s):"]
        if self.unscoped:
            lines.append(
                f"  (not narrowed by {', '.join(self.unscoped)}: the outcomes endpoint has no such filter)"
            )
        for item in self.items:
            shown = render_id(item.id)
            if item.unavailable is not None:
                lines.append(f"  {shown}: explanations unavailable: {item.unavailable}")
                continue
            if not item.rules:
                lines.append(f"  {shown}: no failing rule outcome reported")
                continue
            lines.append(f"  {shown}:")
            for rule in item.rules:
                name = rule.rule_name or rule.rule_id or "rule not named"
                lines.append(f"    - {name}: {rule.remarks or 'no remarks'}")
            if item.more:
                lines.append(f"    ... and {item.more} more failing rule(s)")
            if not item.complete:
                lines.append("    ... and possibly more on further pages (not asked for: one request per id)")
        if self.not_explained:
            lines.append(
                f"  ... {self.not_explained} more failing id(s) not explained (explain_limit={self.limit})"
            )
        return lines


def explanation_settings(settings: ClientSettings, timeout: float = EXPLAIN_TIMEOUT) -> ClientSettings:
    """Derive an explanation client's settings: the same site and keys, no retries, a short deadline."""
    bound = min(settings.timeout, timeout)
    # request_deadline bounds the whole request (connect, headers, body), which a read timeout does not
    return dataclasses.replace(
        settings, max_retries=0, timeout=bound, request_deadline=min(settings.request_deadline, bound)
    )


def service_name(entity_id: str) -> str:
    """Return the service name of a by-entity id: ``service:checkout-api`` -> ``checkout-api``."""
    kind, sep, name = entity_id.partition(":")
    return name if sep and kind and name else entity_id


def explain_failures(
    client: ScorecardsClient,
    failing_ids: Sequence[str],
    *,
    query: ScoresQuery | None = None,
    limit: int = DEFAULT_EXPLAIN_LIMIT,
    budget: float = EXPLAIN_BUDGET,
    clock: Callable[[], float] = time.monotonic,
) -> Explanations:
    """Explain up to ``limit`` failing ids with one request each; never raises for what a server does.

    ``client`` should be built with :func:`explanation_settings` so that no request is retried or waits
    long. ``query`` is the gate's query, whose rule filters narrow the outcomes asked for.
    """
    chosen = list(dict.fromkeys(failing_ids))[:limit]
    text = ServerText(client.settings.secrets)
    started = clock()
    stop_reason: str | None = None
    requests = 0
    items: list[Explanation] = []
    for entity_id in chosen:
        if stop_reason is None and requests and clock() - started >= budget:
            stop_reason = f"the {budget:g} s explanation budget was spent"
        if stop_reason is not None:
            items.append(Explanation(entity_id, unavailable=stop_reason))
            continue
        requests += 1
        try:
            items.append(_explain_one(client, entity_id, query, text))
        except Exception as exc:  # an explanation must never fail the gate, whatever went wrong
            reason = text.clean(f"{type(exc).__name__}: {exc}", MAX_REASON)
            items.append(Explanation(entity_id, unavailable=reason))
            if isinstance(exc, ScorecardsAuthError):
                stop_reason = reason  # the next requests would be refused the same way
    return Explanations(
        tuple(items),
        not_explained=max(0, len(dict.fromkeys(failing_ids)) - len(chosen)),
        limit=limit,
        unscoped=tuple(n for n in UNSCOPED_FILTERS if query is not None and getattr(query, n) is not None),
        requests=requests,
    )


def _explain_one(
    client: ScorecardsClient, entity_id: str, query: ScoresQuery | None, text: ServerText
) -> Explanation:
    # The outcomes endpoint's query and decoder: loaded when a gate is explained, not at a DAG's parse.
    from airflow_provider_scorecards.client.outcomes import MAX_PAGE_SIZE, OutcomesQuery

    outcomes_query = OutcomesQuery.build(
        service_name=service_name(entity_id),
        state="fail",
        rule_ids=None if query is None else query.rule_ids,
        rule_name=None if query is None else query.rule_name,
        rule_enabled=None if query is None else query.is_enabled,
        page_size=MAX_PAGE_SIZE,
    )
    page = client.get_outcomes(outcomes_query)
    failing = [o for o in page.outcomes if o.state in ("fail", None)]  # None: answered to state=fail
    rules = tuple(
        RuleExplanation(
            rule_id=text.clean(o.rule_id, MAX_ID_CHARS) if o.rule_id else None,
            rule_name=text.clean(o.rule_name, MAX_ID_CHARS) if o.rule_name else None,
            remarks=text.clean(" ".join(remarks_text(o.remarks).split()), MAX_REMARKS) if o.remarks else None,
        )
        for o in failing[:MAX_RULES_SHOWN]
    )
    return Explanation(entity_id, rules, more=max(0, len(failing) - MAX_RULES_SHOWN), complete=page.last)


def remarks_text(remarks: str) -> str:
    """Return the plain text of Datadog's remarks (which may hold HTML links): links as ``text (url)``."""
    if "<" not in remarks and "&" not in remarks:
        return remarks
    from html.parser import HTMLParser  # only for remarks with markup: not at every DAG parse

    parts: list[str] = []
    links: list[str | None] = []

    class TextOfHTML(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "a":
                links.append(dict(attrs).get("href"))
            elif tag in ("br", "p", "li", "div"):
                parts.append(" ")

        def handle_endtag(self, tag: str) -> None:
            if tag == "a" and links:
                href = links.pop()
                if href:
                    parts.append(f" ({href})")

        def handle_data(self, data: str) -> None:
            parts.append(data)

    parser = TextOfHTML(convert_charrefs=True)
    parser.feed(remarks[: MAX_REMARKS * 20])
    parser.close()
    return "".join(parts)
