"""The writes of :class:`~airflow_provider_scorecards.client.client.ScorecardsClient`: custom rules, outcomes.

Which write may be sent again is decided here, per endpoint, and carried out by the one transport:
posting outcomes again is harmless (the latest outcome per rule and entity wins), so a post is retried
like a read; creating a rule twice is not, so a create is sent again only after the rule was looked for
(``before_resend``), and a conflict is resolved by finding the rule. The shapes are in :mod:`.rules`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from airflow_provider_scorecards.client.coercion import coerce_bool
from airflow_provider_scorecards.client.errors import (
    ScorecardsConflictError,
    ScorecardsError,
    ScorecardsResponseError,
    ScorecardsServerError,
    ScorecardsTransportError,
    render_id,
)
from airflow_provider_scorecards.client.outcomes import OUTCOMES_PATH, required_text
from airflow_provider_scorecards.client.pages import Page
from airflow_provider_scorecards.client.pagination import FetchStats, paginate
from airflow_provider_scorecards.client.rules import (
    MAX_ANSWER_BYTES,
    MAX_OUTCOMES_PER_REQUEST,
    MAX_RULES,
    RULE_FIELDS,
    RULES_PAGE_SIZE,
    RULES_PATH,
    OutcomeResult,
    PartialPostError,
    Rule,
    RuleNotFoundError,
    checked_results,
    decode_accepted,
    decode_rule,
    decode_rules,
    outcomes_body,
    rule_attributes,
)

if TYPE_CHECKING:
    from airflow_provider_scorecards.client.transport import Logger, Transport


class RuleWrites:
    """List and create custom rules, post their outcomes (mixed into ``ScorecardsClient``)."""

    log: Logger

    if TYPE_CHECKING:

        @property
        def transport(self) -> Transport:
            """The client's transport."""

    def list_rules(self, *, name: str | None = None, custom: bool | None = None) -> list[Rule]:
        """Every rule (of that ``name``, ``custom`` or not, as Datadog filters them), page after page.

        Paged by :func:`~.pagination.paginate`, as scores are: a rule listed twice alike is kept once,
        twice with different attributes is a :class:`~.pagination.ResultMovedError`.
        """
        params = {"page[size]": str(RULES_PAGE_SIZE)}
        if name is not None:
            params["filter[rule][name]"] = required_text("name", name)
        if custom is not None:
            params["filter[rule][custom]"] = "true" if coerce_bool("custom", custom) else "false"

        def fetch(offset: int, limit: int) -> Page:
            if offset >= MAX_RULES:
                raise ScorecardsResponseError(f"{RULES_PATH}: more than {MAX_RULES} rules; refused")
            rules: list[Rule] = self.transport.request(
                "GET",
                RULES_PATH,
                {**params, "page[offset]": str(offset)},
                lambda body: decode_rules(body, offset),
                max_bytes=MAX_ANSWER_BYTES,
            )
            return Page(offset, [dataclasses.asdict(rule) for rule in rules], None, len(rules))

        pages = paginate(fetch, FetchStats(), page_limit=RULES_PAGE_SIZE, fields=RULE_FIELDS)
        return [Rule(**item) for page in pages for item in page.items]

    def create_rule(
        self,
        *,
        name: str,
        scorecard_name: str,
        level: int = 1,
        owner: str | None = None,
        description: str | None = None,
        enabled: bool = True,
    ) -> Rule:
        """Create a custom rule in a scorecard (an unknown scorecard is Datadog's 400; a duplicate, a 409).

        Never sent twice blindly: after an answer the server may have acted on (a 5xx, a lost answer),
        the rule is looked for first, and returned if it is there.
        """
        attributes = rule_attributes(name, scorecard_name, level, owner, description, enabled)
        rule: Rule = self.transport.request(
            "POST",
            RULES_PATH,
            decode=decode_rule,
            body={"data": {"type": "rule", "attributes": attributes}},
            max_bytes=MAX_ANSWER_BYTES,
            before_resend=lambda: self._find_rule(attributes["name"], attributes["scorecard_name"]),
        )
        return rule

    def find_or_create_rule(
        self,
        *,
        name: str,
        scorecard_name: str,
        create: bool = True,
        level: int = 1,
        owner: str | None = None,
        description: str | None = None,
    ) -> Rule:
        """Return the custom rule of exactly that name in that scorecard, created when missing and ``create``.

        Never a duplicate: a conflict on create (another run created it first), or a create that failed
        after the server may have acted, is resolved by finding the rule again. Missing and not
        ``create``: :class:`~.rules.RuleNotFoundError`.
        """
        rule_name, scorecard = required_text("name", name), required_text("scorecard_name", scorecard_name)
        if (found := self._find_rule(rule_name, scorecard)) is not None:
            return found
        if not create:
            raise RuleNotFoundError(
                f"no custom rule '{render_id(rule_name)}' in scorecard '{render_id(scorecard)}', and it is "
                "not to be created"
            )
        try:
            return self.create_rule(
                name=rule_name, scorecard_name=scorecard, level=level, owner=owner, description=description
            )
        except (ScorecardsConflictError, ScorecardsServerError, ScorecardsTransportError):
            if (found := self._find_rule(rule_name, scorecard)) is None:
                raise
            return found

    def _find_rule(self, name: str, scorecard_name: str) -> Rule | None:
        """Return the custom rule of that exact name in that scorecard (the lowest id of several), or None."""
        matches = sorted(
            (
                rule
                for rule in self.list_rules(name=name, custom=True)
                if rule.name == name and rule.scorecard_name == scorecard_name and rule.custom is not False
            ),
            key=lambda rule: rule.id,
        )
        if len(matches) > 1:
            self.log.warning(
                "Scorecard '%s' has %d custom rules named '%s'; using the one of id '%s'",
                render_id(scorecard_name),
                len(matches),
                render_id(name),
                render_id(matches[0].id),
            )
        return matches[0] if matches else None

    def post_outcomes(self, rule_id: str, results: Sequence[OutcomeResult]) -> int:
        """Post results to a rule, in order, in batches of at most ``MAX_OUTCOMES_PER_REQUEST``.

        Remarks are scrubbed of the connection's secrets, then cut to ``MAX_REMARKS_CHARS``. Returns how
        many results were accepted. A batch failing after others were accepted raises
        :class:`~.rules.PartialPostError` naming the entities not posted; an unknown rule id is a
        :class:`~.errors.ScorecardsConflictError` (Datadog's 409).
        """
        rule, checked = required_text("rule_id", rule_id), checked_results(results)
        posted = 0
        for start in range(0, len(checked), MAX_OUTCOMES_PER_REQUEST):
            batch = checked[start : start + MAX_OUTCOMES_PER_REQUEST]
            try:
                received = self.transport.request(
                    "POST",
                    OUTCOMES_PATH,
                    decode=decode_accepted,
                    body=outcomes_body(rule, batch, self.transport.scrub),
                    max_bytes=MAX_ANSWER_BYTES,
                )
                if received is not None and received != len(batch):
                    raise ScorecardsResponseError(
                        f"POST {OUTCOMES_PATH}: {received} outcomes received of the {len(batch)} sent"
                    )
            except ScorecardsError as error:
                if not posted:
                    raise
                unposted = tuple(result.entity_reference for result in checked[start:])
                raise PartialPostError(posted, unposted, rule, error) from error
            posted += len(batch)
        return posted
