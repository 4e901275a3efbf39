"""Waivers: parsed strictly, held until the end of their UTC day, and never a way around missing data.

The gate results come from the simulator over real HTTP on loopback (seed 7: checkout-api scores 0.46,
search-indexer 0.38, payments-gateway 0.93).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from airflow_provider_scorecards.client import (
    InvalidParameterError,
    ScorecardsClient,
    ScoresQuery,
    settings_from_connection,
)
from airflow_provider_scorecards.gate.condition import GateCondition, GateResult, check_gate
from airflow_provider_scorecards.gate.waivers import (
    Waiver,
    apply_waivers,
    describe_waivers,
    parse_waivers,
)
from airflow_provider_scorecards.simulator import ScorecardsSimulator

CHECKOUT, SEARCH, PAYMENTS = "service:checkout-api", "service:search-indexer", "service:payments-gateway"
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _gate(sim: ScorecardsSimulator, score_ids: list[str], **condition: Any) -> GateResult:
    spec = sim.connection_dict()
    settings = settings_from_connection("t", spec["conn_type"], spec["password"], spec["extra"])
    with ScorecardsClient(settings) as client:
        return check_gate(
            client,
            ScoresQuery.build("by-entity"),
            GateCondition.build(min_score=0.8, score_ids=score_ids, **condition),
        )


def test_both_forms_and_their_rendered_text_are_read() -> None:
    expected = (
        Waiver(CHECKOUT, date(2026, 12, 31), "replatforming"),
        Waiver(SEARCH, date(2027, 1, 15)),
    )
    plain = {SEARCH: "2027-01-15", CHECKOUT: {"until": "2026-12-31", "reason": " replatforming "}}
    assert parse_waivers(plain) == expected
    assert parse_waivers(str(plain)) == expected  # what Jinja renders of a dict
    assert (
        parse_waivers(
            '{"service:search-indexer": "2027-01-15", "service:checkout-api": '
            '{"until": "2026-12-31", "reason": "replatforming"}}'
        )
        == expected
    )
    assert parse_waivers({SEARCH: date(2027, 1, 15)}) == (Waiver(SEARCH, date(2027, 1, 15)),)
    assert parse_waivers(describe_waivers(expected)) == expected


@pytest.mark.parametrize("value", [None, {}, "", "  ", "{}", "None"])
def test_no_waivers(value: Any) -> None:
    assert parse_waivers(value) == ()


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ({CHECKOUT: "2026-13-01"}, "needs a date YYYY-MM-DD"),
        ({CHECKOUT: "31/12/2026"}, "needs a date YYYY-MM-DD"),
        ({CHECKOUT: "2026-1-1"}, "needs a date YYYY-MM-DD"),
        ({CHECKOUT: "2026-12-31T00:00"}, "needs a date YYYY-MM-DD"),
        ({CHECKOUT: datetime(2026, 12, 31, tzinfo=UTC)}, "needs a date YYYY-MM-DD"),
        ({CHECKOUT: 20261231}, "needs a date YYYY-MM-DD"),
        ({CHECKOUT: None}, "needs a date YYYY-MM-DD"),
        ({CHECKOUT: {"reason": "x"}}, "needs 'until'"),
        ({CHECKOUT: {"untill": "2026-12-31"}}, "unknown key 'untill'"),
        ({CHECKOUT: {"until": "2026-12-31", "reason": 3}}, "must be a string"),
        ({" ": "2026-12-31"}, "non-blank id"),
        ([CHECKOUT], "expected {id:"),
        ("service:checkout-api", "expected {id:"),
        (f'{{"{CHECKOUT}": "2026-12-31", "{CHECKOUT}": "2027-12-31"}}', "waived twice"),
        ({CHECKOUT: "2026-12-31", f" {CHECKOUT}": "2027-12-31"}, "waived twice"),
        ({f"service:{i}": "2026-12-31" for i in range(501)}, "at most 500 waivers"),
        (f"{{'{CHECKOUT}': '2026-12-31', '{CHECKOUT}': '2027-12-31'}}", "waived twice"),
        (f"{{'{CHECKOUT}': '2026-12-31', ' {CHECKOUT}': '2027-12-31'}}", "waived twice"),
        (f'{{"{CHECKOUT}": {{"until": "2020-01-01", "until": "2999-12-31"}}}}', "'until' is waived twice"),
        (f"{{'{CHECKOUT}': {{'until': '2020-01-01', 'until': '2999-12-31'}}}}", "'until' is waived twice"),
        ({CHECKOUT: "9999-12-31"}, "from 2000-01-01 to 2999-12-31"),
        ({CHECKOUT: {"until": "3000-01-01"}}, "from 2000-01-01 to 2999-12-31"),
        ({CHECKOUT: date(1, 1, 1)}, "from 2000-01-01 to 2999-12-31"),
        (f"{{'{CHECKOUT}': '9999-12-31'}}", "from 2000-01-01 to 2999-12-31"),
    ],
)
def test_a_malformed_waiver_is_an_error_naming_it(value: Any, says: str) -> None:
    with pytest.raises(InvalidParameterError, match="waivers") as raised:
        parse_waivers(value)
    assert raised.value.parameter == "waivers"
    assert says in str(raised.value)


def test_a_waived_failing_id_does_not_fail_the_gate_and_is_reported_with_its_reason(
    sim: ScorecardsSimulator,
) -> None:
    result = _gate(sim, [CHECKOUT, PAYMENTS])
    assert not result.met
    waived = apply_waivers(
        result, parse_waivers({CHECKOUT: {"until": "2026-12-31", "reason": "legacy"}}), NOW
    )
    assert waived.met
    assert not waived.original.met
    assert waived.waived_ids == [CHECKOUT]
    assert waived.failing_ids == []
    assert (
        f"{CHECKOUT}: WAIVED until 2026-12-31 (legacy): score=0.461538, needs score >= 0.8" in waived.report()
    )
    assert waived.warnings() == []


def test_a_waiver_holds_until_the_end_of_its_utc_day(sim: ScorecardsSimulator) -> None:
    result = _gate(sim, [CHECKOUT])
    waivers = parse_waivers({CHECKOUT: "2026-12-02"})
    last_instant = datetime(2026, 12, 2, 23, 59, 59, 999999, tzinfo=UTC)
    assert apply_waivers(result, waivers, last_instant).met
    # 20:00 in New York on the 2nd is already 01:00 on the 3rd in UTC: the day that counts is UTC's
    assert not apply_waivers(
        result, waivers, datetime(2026, 12, 2, 20, tzinfo=ZoneInfo("America/New_York"))
    ).met
    expired = apply_waivers(result, waivers, last_instant + timedelta(microseconds=1))
    assert not expired.met
    assert expired.waived_ids == []
    assert expired.failing_ids == [CHECKOUT]
    assert expired.warnings() == [
        f"Waiver of {CHECKOUT!r} expired at the end of 2026-12-02 (UTC) and is ignored"
    ]
    assert "warning: Waiver of 'service:checkout-api' expired" in expired.report()


def test_a_waiver_never_covers_missing_data(sim: ScorecardsSimulator) -> None:
    result = _gate(sim, [PAYMENTS, "service:checkout-apl"])
    waived = apply_waivers(result, parse_waivers({"service:checkout-apl": "2026-12-31"}), NOW)
    assert not waived.met
    assert waived.missing_ids == ["service:checkout-apl"]
    assert waived.waived_ids == []
    (warning,) = waived.warnings()
    assert "absent from the result" in warning
    assert CHECKOUT in warning  # the closest id: a typo


def test_a_waiver_for_an_id_the_gate_does_not_watch_is_a_warning_with_the_closest(
    sim: ScorecardsSimulator,
) -> None:
    result = _gate(sim, [CHECKOUT, PAYMENTS])
    waived = apply_waivers(result, parse_waivers({"service:checkout-ap": "2026-12-31"}), NOW)
    assert not waived.met
    (warning,) = waived.warnings()
    assert "the gate does not watch" in warning
    assert f"closest watched ids: {CHECKOUT}" in warning


def test_with_match_any_a_waived_id_is_acceptable(sim: ScorecardsSimulator) -> None:
    result = _gate(sim, [CHECKOUT, SEARCH], match="any")
    assert not result.met
    assert apply_waivers(result, parse_waivers({SEARCH: "2026-12-31"}), NOW).met


def test_missing_data_still_fails_a_gate_whose_failures_are_waived(sim: ScorecardsSimulator) -> None:
    result = _gate(sim, [CHECKOUT, "service:not-there"], on_missing="fail")
    waived = apply_waivers(result, parse_waivers({CHECKOUT: "2026-12-31"}), NOW)
    assert not waived.met
    assert waived.fatal
    assert waived.waived_ids == [CHECKOUT]


def test_now_must_be_aware(sim: ScorecardsSimulator) -> None:
    with pytest.raises(ValueError, match="aware"):
        apply_waivers(_gate(sim, [CHECKOUT]), (), datetime(2026, 12, 2))
