r"""The simulator's "List all rule outcomes" endpoint (``GET /api/v2/scorecard/outcomes``).

Served from the outcomes the scores are computed from, at the same drift step, so the two endpoints agree;
like the scores, an independent reading of the API, with no import of the provider's client. As Datadog:
ids ``<rule id>\<service name>``, ``links.next`` on every page, no ``meta``, ``include=rule`` and
``fields[...]``. Where its docs are silent, as unkind as the spec allows: ``filter[outcome][service_name]``
is exact; ``no_data`` outcomes are not listed; failing outcomes carry remarks; some outcomes lack
timestamps or relationships, some rules ``scorecard_name``; ``page[size]`` is 1 to 100 (10 by default),
ordered by entity, then rule.
"""

from __future__ import annotations

import json
import time
import zlib
from typing import TYPE_CHECKING, Any

from airflow_provider_scorecards.simulator.model import Rule
from airflow_provider_scorecards.simulator.org import Organisation, RuleFilter
from airflow_provider_scorecards.simulator.params import choice, comma_set, flag, int_param, page_links

if TYPE_CHECKING:
    from airflow_provider_scorecards.simulator import ScorecardsSimulator

OUTCOMES_PATH = "/api/v2/scorecard/outcomes"
STATES = ("pass", "fail", "skip")
_EPOCH = 1_780_000_000  # 2026-05-28: a fixed instant, so answers are the same on every run

_FAILURE_REMARKS: dict[str, str] = {
    "Has on-call": (
        'No on-call schedule is linked to {name}. See <a href="https://app.datadoghq.com/on-call">On-Call</a>.'
    ),
    "Has runbook": "No runbook link in the service definition of {name}.",
    "Has SLOs defined": "{name} has no SLO defined.",
    "Has deployment tracking": "No deployments of {name} were tracked in the last 30 days.",
    "Has multi-zone failover": "{name} runs in a single availability zone.",
    "Has monitors": "No monitor is scoped to service:{name}.",
    "Has logs": "No logs with service:{name} in the last 7 days.",
    "Has APM traces": "No APM traces from {name} in the last 7 days.",
    "Has profiling enabled": "Continuous Profiler is not enabled for {name}.",
    "Has owner team": "The service definition of {name} names no team.",
    "Has docs link": "The service definition of {name} has no docs link.",
    "Has repository link": (
        'No repository link for {name}. See <a href="https://docs.datadoghq.com/">the docs</a>.'
    ),
    "Dependencies scanned": "The dependencies of {name} have not been scanned in 14 days.",
    "No critical vulnerabilities": "{name} has critical vulnerabilities open.",
    "Secrets in vault": "Secrets of {name} were found outside the vault.",
}


def outcomes_body(sim: ScorecardsSimulator, params: dict[str, str], fault_kind: str | None) -> bytes:
    """Build the JSON body of one outcomes page for a request's parameters, at the current drift step."""
    size = int_param(params, "page[size]", 10, 1, 100)
    offset = int_param(params, "page[offset]", 0, 0)
    include_rules = choice(params, "include", ("rule",)) is not None
    page = list_outcomes(sim.org, sim.step, params)[offset : offset + size]
    if fault_kind == "bad_shape":
        return json.dumps({"data": {"unexpected": page[:1]}, "links": []}).encode()
    payload: dict[str, Any] = {"data": [_fields(o, comma_set(params.get("fields[outcome]"))) for o in page]}
    if include_rules:
        by_id = {rule.id: index for index, rule in enumerate(sim.org.rules)}
        names = {scorecard.id: scorecard.name for scorecard in sim.org.scorecards}
        seen = dict.fromkeys(o["relationships"]["rule"]["data"]["id"] for o in page if "relationships" in o)
        rule_fields = comma_set(params.get("fields[rule]"))
        payload["included"] = [
            _fields(_rule_item(by_id[rule_id], sim.org.rules[by_id[rule_id]], names), rule_fields)
            for rule_id in seen
        ]
    # As recorded: the page is given both as page[limit] and page[size].
    payload["links"] = page_links(OUTCOMES_PATH, params, size, offset, with_size=True)
    return json.dumps(payload).replace("&", "\\u0026").encode()


def list_outcomes(org: Organisation, step: int, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Every outcome object a request's parameters select (all pages joined), in the endpoint's order.

    The parameters are validated as the API does (400 on a malformed value).
    """
    params = params or {}
    service_name = params.get("filter[outcome][service_name]") or None
    wanted = choice(params, "filter[outcome][state]", STATES)
    rule_filter = RuleFilter(
        rule_ids=comma_set(params.get("filter[rule][id]")),
        rule_name=params.get("filter[rule][name]") or None,
        is_enabled=flag(params, "filter[rule][enabled]"),
    )
    items = []
    for entity_index, entity in enumerate(org.entities):
        if service_name is not None and entity.name != service_name:
            continue
        for rule_index, rule in enumerate(org.rules):
            if not rule_filter.matches(rule):
                continue
            state = org.outcome(entity_index, rule_index, step)
            if state not in STATES or (wanted is not None and state != wanted):
                continue
            remarks = org.remarks.get((entity_index, rule_index))
            items.append(_outcome_item(entity.name, entity.kind, rule, state, step, remarks))
    return items


def failing_rules(org: Organisation, entity_id: str, step: int) -> list[Rule]:
    """Return the rules an entity fails at a drift step: what its outcomes with state ``fail`` name."""
    index = next(i for i, entity in enumerate(org.entities) if entity.id == entity_id)
    return [rule for r, rule in enumerate(org.rules) if org.outcome(index, r, step) == "fail"]


def _outcome_item(
    service: str, kind: str, rule: Rule, state: str, step: int, remarks: str | None = None
) -> dict[str, Any]:
    outcome_id = f"{rule.id}\\{service}"
    draw = zlib.crc32(outcome_id.encode())
    attributes: dict[str, Any] = {"service_name": service, "state": state}
    if remarks is not None:  # as posted
        attributes["remarks"] = remarks
    elif state == "fail":
        template = _FAILURE_REMARKS.get(rule.name, f"{rule.name}: not met by {{name}}.")
        attributes["remarks"] = template.format(name=service)
    elif state == "skip":
        attributes["remarks"] = f"Not evaluated: the rule does not apply to this {kind}."
    elif draw % 7 == 0:
        attributes["remarks"] = ""
    if draw % 5 != 0:
        attributes["created_at"] = _timestamp(draw % 86_400)
        attributes["modified_at"] = _timestamp(86_400 + step * 3_600 + draw % 3_600)
    item: dict[str, Any] = {"id": outcome_id, "type": "outcome", "attributes": attributes}
    if state != "pass" or draw % 6 != 0:
        item["relationships"] = {"rule": {"data": {"id": rule.id, "type": "rule"}}}
    return item


def _rule_item(index: int, rule: Rule, scorecard_names: dict[str, str]) -> dict[str, Any]:
    attributes: dict[str, Any] = {"name": rule.name}
    if index % 4 != 3:
        attributes["scorecard_name"] = scorecard_names.get(rule.scorecard_id, rule.scorecard_id)
    return {"id": rule.id, "type": "rule", "attributes": attributes}


def _fields(item: dict[str, Any], keep: frozenset[str] | None) -> dict[str, Any]:
    if keep is None:
        return item
    attributes = {k: v for k, v in item["attributes"].items() if k in keep}
    return {"id": item["id"], "type": item["type"], "attributes": attributes}  # as recorded: no relationships


def _timestamp(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(_EPOCH + seconds))
