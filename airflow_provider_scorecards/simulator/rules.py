"""The simulator's rules list and writes: ``GET``/``POST /api/v2/scorecard/rules``, ``POST .../outcomes``.

As Datadog (its client's recorded answers): 201 with the rule, ``custom: true``, level 3 by default; an
unknown scorecard is a 400 ``attribute "scorecard_id" failed scorecard lookup``; outcomes answer 202 with an
``async-request`` and ``meta.total_received``; an unknown rule id is a 409 titled ``Invalid rule_id`` with no
detail; a bad state a 400. Where its docs are silent, as unkind as the spec allows: posted outcomes count
``outcome_delay`` seconds later; a result for an unknown entity is received and never shown; the rules list
is ordered by id (a new rule shifts the pages), name and description filters match any part, ignoring case;
some of Datadog's own rules lack ``scorecard_name``; a name twice in one scorecard is a 409; an injected
``status`` or ``drop`` fault on a write is acted out after the write, as an answer lost on its way back.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import replace
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from airflow_provider_scorecards.simulator.model import NO_DATA, Rule
from airflow_provider_scorecards.simulator.org import Organisation
from airflow_provider_scorecards.simulator.outcomes import STATES, _fields, _timestamp
from airflow_provider_scorecards.simulator.params import (
    ApiError,
    BadRequest,
    choice,
    comma_set,
    flag,
    int_param,
    page_links,
)
from airflow_provider_scorecards.simulator.score_items import relationship

if TYPE_CHECKING:
    from airflow_provider_scorecards.simulator import ScorecardsSimulator

RULES_PATH = "/api/v2/scorecard/rules"
MAX_BODY_BYTES = 4 * 1024 * 1024
"""The largest request body read (1,000 results with long remarks fit); larger is a 413."""
MAX_CUSTOM_RULES = 500
"""Custom rules an organisation can be given through the API; one more is a 400."""
MAX_POSTED = 100_000
"""Outcome results the log keeps (the oldest go first), and the most waiting to count."""
BODY_SECONDS = 10.0
"""How long a body may take to arrive once its headers have."""
LATE_FAULTS = ("status", "drop")
"""Fault kinds a write suffers after it is done: the client cannot tell whether it happened."""


class Writes:
    """The organisation as clients change it: created rules, posted outcomes (counted once due), their logs.

    Thread-safe: one re-entrant lock (the simulator's) serialises every change; a new rule swaps in a new
    :class:`Organisation`, so a request computing scores from the previous one never sees half a change.
    """

    def __init__(self, org: Organisation, delay: float) -> None:
        if delay < 0:
            raise ValueError(f"outcome_delay must be 0 (at once) or more seconds, got {delay!r}")
        self.lock = threading.RLock()
        self.delay = delay
        self.version = 0  # bumped by every change the scores see
        self._org = org
        self._pending: deque[tuple[float, int, int | None, str, str]] = deque()
        self._posted: deque[dict[str, Any]] = deque(maxlen=MAX_POSTED)
        self.created: dict[str, dict[str, Any]] = {}  # rule id -> its JSON:API item

    def current(self) -> Organisation:
        """Return the organisation now, the posted outcomes that are due counted."""
        if self._pending:  # a look without the lock first: most requests find nothing waiting
            with self.lock:
                while self._pending and self._pending[0][0] <= time.monotonic():
                    self._count(self._pending.popleft())
        return self._org

    def posted_outcomes(self) -> list[dict[str, Any]]:
        """Return the results accepted so far, in order: rule_id, entity_reference, state, remarks."""
        with self.lock:
            return [dict(result) for result in self._posted]

    def created_rules(self) -> list[dict[str, Any]]:
        """Return the custom rules created through the API, in order: ``id`` and their attributes."""
        with self.lock:
            return [{"id": item["id"], **item["attributes"]} for item in self.created.values()]

    def add_rule(self, attributes: dict[str, Any], scorecard_id: str, scorecard_name: str) -> dict[str, Any]:
        """Create a custom rule (a 409 if its scorecard has one of that name) and return its item."""
        with self.lock:
            org = self.current()
            name = attributes["name"]
            if any(r.name == name and r.scorecard_id == scorecard_id for r in org.rules):
                raise ApiError(409, f"a rule named {name!r} exists in scorecard {scorecard_name!r}")
            if len(self.created) >= MAX_CUSTOM_RULES:
                raise BadRequest(
                    f"the organisation has {MAX_CUSTOM_RULES} custom rules, the most it can have"
                )
            rule = Rule(
                str(uuid.uuid4()), name, scorecard_id, attributes["level"], True, attributes["enabled"]
            )
            now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
            attributes = {**attributes, "category": scorecard_name, "scorecard_name": scorecard_name}
            item = _item(rule, attributes | {"custom": True, "created_at": now, "modified_at": now})
            # Every entity gets no data on the new rule; the rows are copied, never changed under a reader.
            new = replace(
                org,
                rules=[*org.rules, rule],
                outcomes=[row + bytes([NO_DATA]) for row in org.outcomes],
                fix_steps_by_entity=[fix + b"\0" for fix in org.fix_steps_by_entity],
            )
            new.remarks = dict(org.remarks)
            self._org, self.created[rule.id] = new, item
            self.version += 1
            return item

    def post(self, results: list[dict[str, Any]]) -> int:
        """Accept checked results (an unknown or Datadog-evaluated rule id is a 409); they count once due."""
        with self.lock:
            org = self.current()
            rules = {rule.id: index for index, rule in enumerate(org.rules) if rule.is_custom}
            if any(result["rule_id"] not in rules for result in results):
                raise ApiError(409, title="Invalid rule_id")
            entities = {entity.id: index for index, entity in enumerate(org.entities)}
            due = time.monotonic() + self.delay
            for result in results:
                self._posted.append(result)
                entity = entities.get(result["entity_reference"])
                self._pending.append(
                    (due, rules[result["rule_id"]], entity, result["state"], result["remarks"] or "")
                )
                if len(self._pending) > MAX_POSTED or not self.delay:
                    self._count(self._pending.popleft())
            return len(results)

    def _count(self, pending: tuple[float, int, int | None, str, str]) -> None:
        _, rule, entity, state, remarks = pending
        if entity is not None:  # an unknown entity's outcome was received, and is never shown
            self._org.pin_outcome(entity, rule, state)
            self._org.remarks[(entity, rule)] = remarks
            self.version += 1


def read_body(handler: BaseHTTPRequestHandler) -> bytes | ApiError:
    """Read a request's body by its ``Content-Length`` (at most :data:`MAX_BODY_BYTES`), or say why not.

    Unread, the body would be taken for the next request: the connection is closed after the answer.
    """
    length = handler.headers.get("Content-Length")
    if length is None or not length.isdigit():
        handler.close_connection = True
        return ApiError(411, "a request body needs a Content-Length")
    if int(length) > MAX_BODY_BYTES:
        handler.close_connection = True
        return ApiError(413, f"the body is over {MAX_BODY_BYTES} bytes", "Payload Too Large")
    handler.connection.settimeout(BODY_SECONDS)  # a body promised and not sent holds no thread for long
    try:
        return handler.rfile.read(int(length))
    except TimeoutError:
        handler.close_connection = True
        return ApiError(408, f"the body did not arrive within {BODY_SECONDS} s")
    finally:
        handler.connection.settimeout(None)


def rules_answer(
    sim: ScorecardsSimulator,
    method: str,
    path: str,
    params: dict[str, str],
    body: bytes | ApiError,
    fault_kind: str | None,
) -> tuple[int, bytes]:
    """Answer a rules list or a write (a POST to either path): status and body, or raise :class:`ApiError`."""
    if method == "GET":
        status, payload = 200, _rules_page(sim, params)
    else:
        if isinstance(body, ApiError):
            raise body
        try:
            document = json.loads(body)
        except (ValueError, RecursionError) as exc:  # also a body that is not UTF-8, or nested too deeply
            raise BadRequest(f"the body is not JSON: {exc}") from None
        if path == RULES_PATH:
            status, payload = 201, {"data": _create_rule(sim, document)}
        else:
            count = sim.writes.post(_results(document))
            status, payload = 202, {"data": {"id": uuid.uuid4().hex, "type": "async-request"}}
            payload["meta"] = {"total_received": count}
    if fault_kind == "bad_shape":
        payload = {"data": {"unexpected": payload["data"]}, "links": []}
    return status, json.dumps(payload).replace("&", "\\u0026").encode()


def _attributes(document: Any, kind: str) -> dict[str, Any]:
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict) or data.get("type", kind) != kind:
        raise BadRequest(f'attribute "data" must be an object of type "{kind}"')
    attributes = data.get("attributes")
    if not isinstance(attributes, dict):
        raise BadRequest('attribute "attributes" must be an object')
    return attributes


def _create_rule(sim: ScorecardsSimulator, document: Any) -> dict[str, Any]:
    given = _attributes(document, "rule")
    name = given.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BadRequest('attribute "name" is required')
    scorecard = next(  # Datadog's client names it by name; its recording also sends the id
        (
            s
            for s in sim.org.scorecards
            if given.get("scorecard_name") == s.name or given.get("scorecard_id") == s.id
        ),
        None,
    )
    if scorecard is None:
        raise BadRequest('attribute "scorecard_id" failed scorecard lookup')
    level, enabled = given.get("level", 3), given.get("enabled", True)
    if type(level) is not int or not 1 <= level <= 3:
        raise BadRequest('attribute "level" must be 1, 2 or 3')
    if not isinstance(enabled, bool):
        raise BadRequest('attribute "enabled" must be a boolean')
    texts: dict[str, Any] = {
        key: given[key] for key in ("owner", "description", "scope_query") if key in given
    }
    if not all(isinstance(text, str) for text in texts.values()):
        raise BadRequest('attributes "owner", "description" and "scope_query" must be strings')
    attributes: dict[str, Any] = {"name": name, "level": level, "enabled": enabled, **texts}
    return sim.writes.add_rule(attributes, scorecard.id, scorecard.name)


def _results(document: Any) -> list[dict[str, Any]]:
    results = _attributes(document, "batched-outcome").get("results")
    if not isinstance(results, list) or not results:
        raise BadRequest('attribute "results" must be a list of at least one result')
    checked = []
    for result in results:
        if not isinstance(result, dict):
            raise BadRequest('attribute "results" must hold objects')
        for key in ("rule_id", "entity_reference"):
            if not isinstance(result.get(key), str) or not result[key]:
                raise BadRequest(f'attribute "{key}" is required')
        if result.get("state") not in STATES:
            raise BadRequest('attribute "state" must be one of "pass fail skip"')
        if not isinstance(result.get("remarks", ""), str):
            raise BadRequest('attribute "remarks" must be a string')
        checked.append({key: result.get(key) for key in ("rule_id", "entity_reference", "state", "remarks")})
    return checked


def _rules_page(sim: ScorecardsSimulator, params: dict[str, str]) -> dict[str, Any]:
    size = int_param(params, "page[size]", 100, 1, 100)
    offset = int_param(params, "page[offset]", 0, 0)
    flags = {key: flag(params, f"filter[rule][{key}]") for key in ("enabled", "custom")}
    include = choice(params, "include", ("scorecard",))
    ids = comma_set(params.get("filter[rule][id]"))
    texts = {key: (params.get(f"filter[rule][{key}]") or "").lower() for key in ("name", "description")}
    org = sim.org
    names = {scorecard.id: scorecard.name for scorecard in org.scorecards}
    selected = []
    for index, rule in sorted(enumerate(org.rules), key=lambda pair: (pair[1].name, pair[1].id)):
        item = sim.writes.created.get(rule.id) or _rule_item(index, rule, names)
        attributes = item["attributes"]
        if (
            (ids is None or rule.id in ids)
            and all(wanted is None or attributes[k] == wanted for k, wanted in flags.items())
            and all(not text or text in attributes.get(k, "").lower() for k, text in texts.items())
        ):
            selected.append(item)
    page = selected[offset : offset + size]
    payload: dict[str, Any] = {
        "data": [_fields(item, comma_set(params.get("fields[rule]"))) for item in page]
    }
    if include:
        cards = dict.fromkeys(item["relationships"]["scorecard"]["data"]["id"] for item in page)
        scorecard_fields = comma_set(params.get("fields[scorecard]"))
        payload["included"] = [
            _fields({"id": card, "type": "scorecard", "attributes": {"name": names[card]}}, scorecard_fields)
            for card in cards
        ]
    # As recorded: the links repeat page[size] only when it was asked for.
    payload["links"] = page_links(RULES_PATH, params, size, offset, with_size="page[size]" in params)
    return payload


def _rule_item(index: int, rule: Rule, scorecard_names: dict[str, str]) -> dict[str, Any]:
    at = _timestamp(index * 60)
    attributes: dict[str, Any] = {"name": rule.name, "enabled": rule.is_enabled, "custom": rule.is_custom}
    attributes.update(level=rule.level, created_at=at, modified_at=at)
    if index % 4 != 3:  # unkind: one of Datadog's rules in four comes without its scorecard's name
        attributes["scorecard_name"] = attributes["category"] = scorecard_names[rule.scorecard_id]
    return _item(rule, attributes)


def _item(rule: Rule, attributes: dict[str, Any]) -> dict[str, Any]:
    relationships = {"scorecard": relationship(rule.scorecard_id, "scorecard")}
    return {"id": rule.id, "type": "rule", "attributes": attributes, "relationships": relationships}
