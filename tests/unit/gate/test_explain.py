"""Explanations: the failing rules with Datadog's remarks, one bounded request per entity, never raising.

Against the simulator over real HTTP on loopback, and a hostile server where the simulator is too kind.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from airflow_provider_scorecards.client import ScorecardsClient, ScoresQuery, settings_from_connection
from airflow_provider_scorecards.client.settings import ClientSettings
from airflow_provider_scorecards.gate.condition import GateCondition, check_gate
from airflow_provider_scorecards.gate.explain import (
    EXPLAIN_TIMEOUT,
    Explanations,
    explain_failures,
    explanation_settings,
    remarks_text,
    service_name,
)
from airflow_provider_scorecards.gate.rollout import RolloutOptions
from airflow_provider_scorecards.gate.rollout import verdict as build_verdict
from airflow_provider_scorecards.gate.verdict import VERDICT_KEYS, dry_run_message
from airflow_provider_scorecards.gate.waivers import apply_waivers, parse_waivers
from airflow_provider_scorecards.simulator import FaultPlan, ScorecardsSimulator
from airflow_provider_scorecards.simulator.outcomes import OUTCOMES_PATH, failing_rules

CHECKOUT = "service:checkout-api"


def _settings(sim: ScorecardsSimulator, **extra: Any) -> ClientSettings:
    spec = sim.connection_dict()
    spec["extra"].update(extra)
    return settings_from_connection("t", spec["conn_type"], spec["password"], spec["extra"])


def _explainer(sim: ScorecardsSimulator, **extra: Any) -> ScorecardsClient:
    return ScorecardsClient(explanation_settings(_settings(sim, **extra)))


def _failing(sim: ScorecardsSimulator) -> list[str]:
    with ScorecardsClient(_settings(sim)) as client:
        result = check_gate(client, ScoresQuery.build("by-entity"), GateCondition.build(min_score=0.8))
    return [check.id for check in result.failing]


def _outcome_requests(sim: ScorecardsSimulator) -> list[Any]:
    return [r for r in sim.requests if r.path == OUTCOMES_PATH]


def test_explanations_name_the_failing_rules_with_their_remarks(sim: ScorecardsSimulator) -> None:
    with _explainer(sim) as client:
        explanations = explain_failures(client, [CHECKOUT])
    (item,) = explanations.items
    assert item.unavailable is None
    assert [r.rule_name for r in item.rules] == [r.name for r in failing_rules(sim.org, CHECKOUT, sim.step)]
    assert all(r.remarks for r in item.rules)
    by_name = {r.rule_name: r.remarks for r in item.rules}
    assert by_name["Has runbook"] == "No runbook link in the service definition of checkout-api."
    assert list(explanations.as_dict()) == [CHECKOUT]
    assert set(explanations.as_dict()[CHECKOUT][0]) == {"rule_id", "rule_name", "remarks"}
    lines = explanations.report_lines()
    assert lines[1] == f"  {CHECKOUT}:"
    assert "    - Has runbook: No runbook link in the service definition of checkout-api." in lines


def test_at_most_explain_limit_requests_one_per_entity(fresh_sim: ScorecardsSimulator) -> None:
    failing = _failing(fresh_sim)
    assert len(failing) > 5
    fresh_sim.reset_log()
    with _explainer(fresh_sim) as client:
        explanations = explain_failures(client, failing, limit=5)
    assert len(_outcome_requests(fresh_sim)) == 5
    assert len(fresh_sim.requests) == 5
    assert [item.id for item in explanations.items] == failing[:5]
    assert explanations.requests == 5
    assert explanations.not_explained == len(failing) - 5
    assert explanations.report_lines()[-1] == (
        f"  ... {len(failing) - 5} more failing id(s) not explained (explain_limit=5)"
    )


def test_a_403_makes_explanations_unavailable_and_stops_asking(fresh_sim: ScorecardsSimulator) -> None:
    failing = _failing(fresh_sim)
    fresh_sim.reset_log()
    fresh_sim.faults.inject("status", status=403)
    with _explainer(fresh_sim) as client:
        explanations = explain_failures(client, failing, limit=3)
    assert len(_outcome_requests(fresh_sim)) == 1
    assert all(item.unavailable and "403" in item.unavailable for item in explanations.items)
    assert explanations.as_dict() == {}
    assert f"  {failing[0]}: explanations unavailable: ScorecardsAuthError: " in "\n".join(
        explanations.report_lines()
    )


def test_a_5xx_is_not_retried_and_the_next_entity_is_still_explained(fresh_sim: ScorecardsSimulator) -> None:
    failing = _failing(fresh_sim)
    fresh_sim.reset_log()
    fresh_sim.faults.inject("status", status=503)
    with _explainer(fresh_sim, backoff_base=5) as client:
        started = time.monotonic()
        explanations = explain_failures(client, failing, limit=2)
        elapsed = time.monotonic() - started
    assert len(_outcome_requests(fresh_sim)) == 2
    first, second = explanations.items
    assert first.unavailable is not None
    assert "503" in first.unavailable
    assert second.unavailable is None
    assert second.rules
    assert elapsed < 4.0  # no backoff of 5 s was waited


def test_a_slow_answer_times_out_quickly() -> None:
    with ScorecardsSimulator(seed=7, entities=20, faults=FaultPlan(slow_seconds=3.0)) as sim:
        sim.faults.inject("slow")
        with ScorecardsClient(explanation_settings(_settings(sim), timeout=0.3)) as client:
            started = time.monotonic()
            explanations = explain_failures(client, [CHECKOUT])
            elapsed = time.monotonic() - started
    (item,) = explanations.items
    assert item.unavailable is not None
    assert item.unavailable.startswith("ScorecardsTransportError")
    assert elapsed < 2.5  # the answer would take 3 s


def test_no_request_starts_once_the_budget_is_spent(sim: ScorecardsSimulator) -> None:
    ticks = iter([0.0, 1.0, 20.0, 30.0])
    with _explainer(sim) as client:
        explanations = explain_failures(
            client,
            [CHECKOUT, "service:search-indexer", "service:web-frontend"],
            budget=10,
            clock=lambda: next(ticks),
        )
    assert [item.unavailable for item in explanations.items] == [
        None,
        None,
        "the 10 s explanation budget was spent",
    ]
    assert explanations.requests == 2


def test_explanations_follow_the_gate_querys_rule_filters(sim: ScorecardsSimulator) -> None:
    rules = failing_rules(sim.org, CHECKOUT, sim.step)[:2]
    query = ScoresQuery.build("by-entity", rule_ids=[r.id for r in rules], scorecard_ids=["security-posture"])
    with _explainer(sim) as client:
        explanations = explain_failures(client, [CHECKOUT], query=query)
    assert [r.rule_id for r in explanations.items[0].rules] == [r.id for r in rules]
    assert explanations.unscoped == ("scorecard_ids",)
    assert "not narrowed by scorecard_ids" in explanations.report_lines()[1]


def test_explanation_settings_never_retry_nor_wait_long(sim: ScorecardsSimulator) -> None:
    settings = explanation_settings(_settings(sim, timeout=60, max_retries=7))
    assert (settings.max_retries, settings.timeout, settings.request_deadline) == (
        0,
        EXPLAIN_TIMEOUT,
        EXPLAIN_TIMEOUT,
    )
    assert explanation_settings(_settings(sim, timeout=1)).timeout == 1


def test_remarks_links_become_text_and_url() -> None:
    html = (
        'No on-call for x. See <a href="https://app.datadoghq.com/on-call">On-Call</a>.<br>Thanks &amp; bye'
    )
    assert (
        remarks_text(html)
        == "No on-call for x. See On-Call (https://app.datadoghq.com/on-call). Thanks & bye"
    )
    assert remarks_text("plain") == "plain"


def test_service_names_of_entity_ids() -> None:
    assert service_name("service:checkout-api") == "checkout-api"
    assert service_name("datastore:orders-db") == "orders-db"
    assert service_name("checkout-api") == "checkout-api"
    assert service_name("service:") == "service:"


class _HostileOutcomes(BaseHTTPRequestHandler):
    """Answers every outcomes request with remarks that echo the key, control characters and a flood.

    The key is spelled with a JSON escape late in it (``...-api-key\\u002d1234...``), which only the
    decoded text holds: an answer holding it as sent is refused whole (``_EchoingOutcomes``).
    """

    escape_key = True

    def do_GET(self) -> None:
        key = str(self.headers.get("DD-API-KEY"))
        remarks = f"key {key}\x1b[31m\nred\x00" + "x" * 50_000
        text = json.dumps(
            {
                "data": [
                    {"id": "r\\svc", "attributes": {"state": "fail", "remarks": remarks}},
                    {"id": "p\\svc", "attributes": {"state": "pass", "remarks": "fine"}},
                    {"id": "q\\svc", "attributes": {"remarks": "state not sent"}},
                ]
            }
        )
        escaped = f"{key[:20]}\\u{ord(key[20]):04x}{key[21:]}"
        body = (text.replace(key, escaped) if self.escape_key else text).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.api+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _EchoingOutcomes(_HostileOutcomes):
    escape_key = False


@pytest.fixture(params=[_HostileOutcomes])
def hostile_url(request: pytest.FixtureRequest) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), request.param)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


HOSTILE_KEY = "hostile-test-api-key-1234567890"


def _explained_by(url: str) -> Explanations:
    """The explanation of one failing id, asked of the server at ``url`` with :data:`HOSTILE_KEY`."""
    extra = {"app_key_secret": "app-secret-0987654321", "api_url": url}
    with ScorecardsClient(
        explanation_settings(settings_from_connection("t", "datadog_scorecards", HOSTILE_KEY, extra))
    ) as client:
        return explain_failures(client, ["service:svc"])


def test_remarks_are_capped_and_scrubbed_of_keys_and_control_characters(hostile_url: str) -> None:
    key = HOSTILE_KEY
    explanations = _explained_by(hostile_url)
    rules = explanations.items[0].rules
    assert [r.remarks[:20] if r.remarks else None for r in rules] == [
        "key ***\\x1b[31m red\\",
        "state not sent",
    ]
    text = json.dumps(explanations.as_dict()) + "\n".join(explanations.report_lines())
    assert key not in text
    assert "\x1b" not in text
    assert "\x00" not in text
    assert 200 < max(len(r.remarks or "") for r in rules) <= 300 + len("... (cut)")


@pytest.mark.parametrize("hostile_url", [_EchoingOutcomes], indirect=True)
def test_an_answer_echoing_the_key_is_refused_and_the_explanation_says_so(hostile_url: str) -> None:
    explanations = _explained_by(hostile_url)
    (item,) = explanations.items
    assert item.unavailable is not None
    assert "holds a credential of the connection" in item.unavailable
    assert HOSTILE_KEY not in json.dumps(explanations.as_dict())


def test_the_verdict_document(sim: ScorecardsSimulator) -> None:
    with ScorecardsClient(_settings(sim)) as client:
        result = check_gate(
            client,
            ScoresQuery.build("by-entity"),
            GateCondition.build(
                min_score=0.8,
                score_ids=[CHECKOUT, "service:search-indexer", "service:payments-gateway", "service:gone"],
            ),
        )
    from datetime import UTC, datetime

    waived = apply_waivers(
        result,
        parse_waivers({"service:search-indexer": {"until": "2999-01-01", "reason": "legacy"}}),
        datetime.now(UTC),
    )
    with _explainer(sim) as client:
        explanations = explain_failures(client, waived.failing_ids)
    verdict = build_verdict(waived, RolloutOptions(dry_run=True), explanations)
    assert tuple(verdict) == VERDICT_KEYS
    assert json.loads(json.dumps(verdict)) == verdict
    assert verdict["met"] is False
    assert verdict["dry_run"] is True
    assert verdict["failing"] == [CHECKOUT]
    assert verdict["missing"] == ["service:gone"]
    assert verdict["waived"] == ["service:search-indexer"]
    assert verdict["waivers"] == {"service:search-indexer": {"until": "2999-01-01", "reason": "legacy"}}
    assert list(verdict["explanations"]) == [CHECKOUT]
    assert "WAIVED until 2999-01-01 (legacy)" in verdict["report"]
    assert "Has runbook" in verdict["report"]
    assert dry_run_message(verdict).startswith("DRY RUN: the gate would have failed: Score gate not met")
