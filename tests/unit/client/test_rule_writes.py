"""The writes of the client through MockTransport: rules listed and created, outcomes posted, what is retried."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_scorecards.client.client import ScorecardsClient
from airflow_provider_scorecards.client.errors import (
    InvalidParameterError,
    ScorecardsBadRequestError,
    ScorecardsConflictError,
    ScorecardsResponseError,
    ScorecardsServerError,
    ScorecardsTransportError,
)
from airflow_provider_scorecards.client.mock import MockTransport, Response
from airflow_provider_scorecards.client.pagination import ResultMovedError
from airflow_provider_scorecards.client.rules import (
    MAX_REMARKS_CHARS,
    MAX_RULES,
    RULES_PATH,
    OutcomeResult,
    PartialPostError,
    RuleNotFoundError,
)
from airflow_provider_scorecards.client.settings import settings_from_connection

API_KEY, APP_KEY = "apikey0123456789abcdef", "appkey0123456789abcdef0123456789"
OUTCOMES = "/api/v2/scorecard/outcomes"


def jsonapi(document: Any, status: int = 200, **headers: str) -> Response:
    return Response(status, json.dumps(document).encode(), headers)


def error(status: int, detail: str, **headers: str) -> Response:
    return jsonapi(
        {"errors": [{"status": str(status), "title": "Error", "detail": detail}]}, status, **headers
    )


class Datadog:
    """The rules and outcomes endpoints as Datadog serves them, with the answers a test breaks in ``script``.

    ``script`` maps ``(method, path)`` to answers given, one per request, before the real one; ``act``
    says whether a scripted failure of a create was acted on (the rule created all the same).
    """

    def __init__(
        self, rules: int = 0, *, scripted: dict[tuple[str, str], list[Response]] | None = None
    ) -> None:
        self.rules: list[dict[str, Any]] = [self.rule(f"r{k:04d}", f"rule {k}", "Ops") for k in range(rules)]
        self.script = scripted or {}
        self.act = False
        self.posted: list[list[dict[str, Any]]] = []
        self.log: list[str] = []

    @staticmethod
    def rule(rule_id: str, name: str, scorecard: str, *, custom: bool = True) -> dict[str, Any]:
        attributes = {
            "name": name,
            "scorecard_name": scorecard,
            "custom": custom,
            "enabled": True,
            "level": 1,
        }
        return {"id": rule_id, "type": "rule", "attributes": attributes}

    def get(self, path: str, params: dict[str, str]) -> Response:
        self.log.append(f"GET {path}")
        if scripted := self.script.get(("GET", path)):
            return scripted.pop(0)
        size, offset = int(params["page[size]"]), int(params["page[offset]"])
        assert size <= 100
        name = params.get("filter[rule][name]")
        rules = [r for r in self.rules if name is None or name in r["attributes"]["name"]]  # a loose filter
        return jsonapi({"data": rules[offset : offset + size], "links": {"next": "/next"}})

    def write(self, method: str, path: str, body: Any) -> Response:
        self.log.append(f"{method} {path}")
        scripted = self.script.get((method, path))
        answer = scripted.pop(0) if scripted else None
        if answer is not None and not (self.act and answer.status >= 500):
            return answer
        if path == RULES_PATH:
            attributes = body["data"]["attributes"]
            if any(r["attributes"]["name"] == attributes["name"] for r in self.rules):
                return error(409, "A rule with this name already exists")
            self.rules.append(
                self.rule(f"new{len(self.rules)}", attributes["name"], attributes["scorecard_name"])
            )
            return answer or jsonapi({"data": self.rules[-1]}, 201)
        results = body["data"]["attributes"]["results"]
        self.posted.append(results)
        return jsonapi(
            {"data": {"id": "u", "type": "async-request"}, "meta": {"total_received": len(results)}}, 202
        )

    def client(self, **extra: Any) -> ScorecardsClient:
        settings = settings_from_connection(
            "unit", "datadogscorecards", API_KEY, {"app_key_secret": APP_KEY, "max_retries": 3, **extra}
        )
        return ScorecardsClient(settings, transport=MockTransport(self.get, self.write), sleep=lambda s: None)


def results(n: int) -> list[OutcomeResult]:
    return [OutcomeResult(f"service:s{k}", "pass") for k in range(n)]


def test_list_rules_reads_every_page_and_keeps_each_rule_once() -> None:
    datadog = Datadog(250)
    datadog.rules.insert(100, datadog.rules[99])  # the list moved while it was paged
    rules = datadog.client().list_rules()
    assert [r.id for r in rules] == [f"r{k:04d}" for k in range(250)]
    assert datadog.log == [f"GET {RULES_PATH}"] * 3
    assert rules[0].custom is True
    assert rules[0].scorecard_name == "Ops"
    assert rules[0].level == 1


def test_a_rule_listed_twice_with_different_attributes_means_the_list_moved() -> None:
    datadog = Datadog(150)
    datadog.rules.insert(100, {**datadog.rules[99], "attributes": {"name": "renamed", "level": 2}})
    with pytest.raises(ResultMovedError, match=r"'r0099' came twice with different attributes: name"):
        datadog.client().list_rules()


def test_a_rules_list_longer_than_the_bound_is_refused_not_cut_short() -> None:
    datadog = Datadog(MAX_RULES + 1)
    with pytest.raises(ScorecardsResponseError, match=f"more than {MAX_RULES} rules"):
        datadog.client().list_rules()
    assert len(datadog.log) == MAX_RULES // 100


def test_find_or_create_finds_the_exact_custom_rule_in_its_scorecard() -> None:
    datadog = Datadog()
    datadog.rules += [
        Datadog.rule("a", "fresh data", "Other"),
        Datadog.rule("b", "fresh data (old)", "Ops"),
        Datadog.rule("c", "fresh data", "Ops", custom=False),
        Datadog.rule("e", "fresh data", "Ops"),
        Datadog.rule("d", "fresh data", "Ops"),
    ]
    rule = datadog.client().find_or_create_rule(name=" fresh data ", scorecard_name="Ops")
    assert rule.id == "d"  # the lowest id of the duplicates, so every run picks the same one
    assert datadog.log == [f"GET {RULES_PATH}"]


def test_find_or_create_creates_a_missing_rule_once() -> None:
    datadog = Datadog(3)
    client = datadog.client()
    created = client.find_or_create_rule(name="fresh data", scorecard_name="Ops", description="from Airflow")
    again = client.find_or_create_rule(name="fresh data", scorecard_name="Ops")
    assert created == again
    assert created.name == "fresh data"
    assert datadog.log.count(f"POST {RULES_PATH}") == 1


def test_missing_rule_not_to_be_created_is_a_typed_error() -> None:
    with pytest.raises(RuleNotFoundError, match="'fresh data' in scorecard 'Ops'"):
        Datadog().client().find_or_create_rule(name="fresh data", scorecard_name="Ops", create=False)


def test_a_conflict_on_create_is_resolved_by_finding_the_rule() -> None:
    datadog = Datadog()
    # Another run creates the rule between this run's lookup and its create.
    racer = Datadog.rule("theirs", "fresh data", "Ops")
    original = datadog.write

    def write(method: str, path: str, body: Any) -> Response:
        if path == RULES_PATH and racer not in datadog.rules:
            datadog.rules.append(racer)
        return original(method, path, body)

    datadog.write = write  # type: ignore[method-assign]
    assert datadog.client().find_or_create_rule(name="fresh data", scorecard_name="Ops").id == "theirs"
    assert len(datadog.rules) == 1


@pytest.mark.parametrize("acted", [True, False])
def test_a_create_answered_5xx_is_sent_again_only_after_looking_for_the_rule(acted: bool) -> None:
    datadog = Datadog(scripted={("POST", RULES_PATH): [error(503, "unavailable")]})
    datadog.act = acted
    rule = datadog.client().find_or_create_rule(name="fresh data", scorecard_name="Ops")
    assert [r["attributes"]["name"] for r in datadog.rules] == ["fresh data"]
    assert rule.name == "fresh data"
    creates = [f"POST {RULES_PATH}"] * (1 if acted else 2)
    assert datadog.log == [f"GET {RULES_PATH}", creates[0], f"GET {RULES_PATH}", *creates[1:]]


def test_a_create_answered_429_is_sent_again_without_a_lookup() -> None:
    limited = error(429, "slow down", **{"X-RateLimit-Reset": "1", "X-RateLimit-Remaining": "0"})
    datadog = Datadog(scripted={("POST", RULES_PATH): [limited]})
    datadog.client().create_rule(name="fresh data", scorecard_name="Ops")
    assert datadog.log == [f"POST {RULES_PATH}"] * 2


def test_a_create_that_never_connected_is_sent_again_without_a_lookup() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    extra = {"app_key_secret": APP_KEY, "api_url": f"http://127.0.0.1:{port}", "max_retries": 2}
    settings = settings_from_connection("unit", "datadogscorecards", API_KEY, extra)
    with ScorecardsClient(settings, sleep=lambda s: None) as client:
        with pytest.raises(ScorecardsTransportError, match="connection refused"):
            client.create_rule(name="fresh data", scorecard_name="Ops")
        assert client.transport.stats.requests == 3  # three POSTs, no lookup between them


def test_an_unknown_scorecard_is_datadogs_400_at_once() -> None:
    datadog = Datadog(scripted={("POST", RULES_PATH): [error(400, "scorecard 'Nope' not found")]})
    with pytest.raises(
        ScorecardsBadRequestError, match=r"scorecard 'Nope' not found \(POST /api/v2/scorecard/rules\)"
    ):
        datadog.client().create_rule(name="fresh data", scorecard_name="Nope")
    assert datadog.log == [f"POST {RULES_PATH}"]


def test_a_5xx_that_outlasts_every_retry_fails_when_the_rule_is_still_missing() -> None:
    datadog = Datadog(scripted={("POST", RULES_PATH): [error(502, "bad gateway")] * 10})
    with pytest.raises(ScorecardsServerError):
        datadog.client().find_or_create_rule(name="fresh data", scorecard_name="Ops")
    assert datadog.rules == []
    assert datadog.log.count(f"POST {RULES_PATH}") == 4  # max_retries 3: every resend after a lookup
    assert datadog.log.count(f"GET {RULES_PATH}") == 5  # first lookup, one per resend, one after the last


@pytest.mark.parametrize(
    "answer",
    [
        jsonapi({"data": []}, 201),
        jsonapi({"data": {"id": "", "type": "rule"}}, 201),
        jsonapi({"data": {"id": "x", "attributes": {"level": "one"}}}, 201),
    ],
)
def test_a_malformed_created_rule_is_a_typed_error_naming_it(answer: Response) -> None:
    datadog = Datadog(scripted={("POST", RULES_PATH): [answer]})
    with pytest.raises(ScorecardsResponseError, match=r"created rule: .*('data'|'id'|'attributes.level')"):
        datadog.client().create_rule(name="fresh data", scorecard_name="Ops")


@pytest.mark.parametrize("count", [0, 1, 1000, 1001, 2500])
def test_outcomes_are_posted_in_batches_in_order(count: int) -> None:
    datadog = Datadog()
    assert datadog.client().post_outcomes("rule-1", results(count)) == count
    assert [len(batch) for batch in datadog.posted] == [1000] * (count // 1000) + (
        [count % 1000] if count % 1000 else []
    )
    posted = [item["entity_reference"] for batch in datadog.posted for item in batch]
    assert posted == [r.entity_reference for r in results(count)]
    assert all(
        item["rule_id"] == "rule-1" and "remarks" not in item for batch in datadog.posted for item in batch
    )


def test_a_post_answered_5xx_or_429_is_posted_again() -> None:
    scripted = [error(500, "oops"), error(429, "slow", **{"Retry-After": "1"})]
    datadog = Datadog(scripted={("POST", OUTCOMES): scripted})
    assert datadog.client().post_outcomes("rule-1", results(3)) == 3
    assert datadog.log == [f"POST {OUTCOMES}"] * 3


def test_a_batch_failing_after_others_names_what_was_not_posted() -> None:
    datadog = Datadog(scripted={("POST", OUTCOMES): [jsonapi({}, 202), error(409, "Invalid rule_id")]})
    with pytest.raises(PartialPostError) as raised:
        datadog.client().post_outcomes("rule-1", results(1500))
    assert raised.value.posted == 1000
    assert raised.value.unposted == tuple(r.entity_reference for r in results(1500)[1000:])
    assert "posted 1000 outcomes to rule 'rule-1'" in str(raised.value)
    assert "500 not posted" in str(raised.value)
    assert isinstance(raised.value.__cause__, ScorecardsConflictError)
    assert not raised.value.retryable


def test_a_first_batch_failing_is_the_plain_error() -> None:
    datadog = Datadog(scripted={("POST", OUTCOMES): [error(409, "Invalid rule_id")]})
    with pytest.raises(ScorecardsConflictError, match="Invalid rule_id"):
        datadog.client().post_outcomes("nope", results(5))


def test_a_post_received_short_is_not_taken_as_posted() -> None:
    short = jsonapi({"meta": {"total_received": 2}}, 202)
    datadog = Datadog(scripted={("POST", OUTCOMES): [short]})
    with pytest.raises(ScorecardsResponseError, match="2 outcomes received of the 3 sent"):
        datadog.client().post_outcomes("rule-1", results(3))


def test_remarks_are_scrubbed_of_the_keys_then_capped() -> None:
    datadog = Datadog()
    long = "x" * (MAX_REMARKS_CHARS - 30) + API_KEY.upper() + "y" * 100  # the key straddles the cap
    datadog.client().post_outcomes(
        "r",
        [
            OutcomeResult("service:a", "fail", f"key {APP_KEY} leaked\nnext line"),
            OutcomeResult("service:b", "fail", long),
        ],
    )
    first, second = datadog.posted[0]
    assert first["remarks"] == "key *** leaked\nnext line"
    assert second["remarks"] == "x" * (MAX_REMARKS_CHARS - 30) + "***" + "y" * 18 + "... (cut)"


BAD_CALLS: list[tuple[str, Callable[[ScorecardsClient], Any]]] = [
    ("name", lambda c: c.create_rule(name=" ", scorecard_name="Ops")),
    ("scorecard_name", lambda c: c.find_or_create_rule(name="a", scorecard_name=None)),  # type: ignore[arg-type]
    ("level", lambda c: c.create_rule(name="a", scorecard_name="Ops", level=4)),
    ("owner", lambda c: c.create_rule(name="a", scorecard_name="Ops", owner=3)),  # type: ignore[arg-type]
    ("rule_id", lambda c: c.post_outcomes("", results(1))),
    ("results", lambda c: c.post_outcomes("r", {"service:a": "pass"})),  # type: ignore[arg-type]
    ("results", lambda c: c.post_outcomes("r", [OutcomeResult("service:a", "PASS")])),
    ("results", lambda c: c.post_outcomes("r", [OutcomeResult(" ", "pass")])),
    ("custom", lambda c: c.list_rules(custom="maybe")),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("parameter", "call"), BAD_CALLS)
def test_bad_input_fails_before_any_request(parameter: str, call: Callable[[ScorecardsClient], Any]) -> None:
    datadog = Datadog()
    with pytest.raises(InvalidParameterError) as raised:
        call(datadog.client())
    assert raised.value.parameter == parameter
    assert datadog.log == []
