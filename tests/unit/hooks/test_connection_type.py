"""The connection type survives Airflow's connection URI form, and the older type is still read."""

from __future__ import annotations

import json
import logging

import pytest
from airflow.models.connection import Connection

from airflow_provider_scorecards.hooks import CONN_TYPE
from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook

CONN_ENV = "AIRFLOW_CONN_DATADOG_SCORECARDS_DEFAULT"


def round_trip(conn_type: str) -> Connection:
    conn = Connection(
        conn_id="x", conn_type=conn_type, password="k", extra=json.dumps({"app_key_secret": "a"})
    )
    return Connection(conn_id="x", uri=conn.get_uri())


def logged(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> str:
    """What Airflow logged (structlog writes to the terminal; the stdlib to caplog)."""
    out, err = capfd.readouterr()
    return out + err + caplog.text


def test_the_type_survives_a_round_trip_through_the_uri_form(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        back = round_trip(CONN_TYPE)
    assert back.conn_type == CONN_TYPE
    assert back.password == "k"
    assert back.extra_dejson == {"app_key_secret": "a"}
    assert "shall not contain" not in logged(capfd, caplog)


@pytest.mark.parametrize("name", ["datadog-scorecards", "datadog_scorecards"])
def test_why_not_a_dash_or_an_underscore(
    name: str, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """The two spellings the chosen one avoids: a dash comes back as an underscore, which Airflow warns on."""
    with caplog.at_level(logging.WARNING):
        back = round_trip(name)
        assert back.conn_type == "datadog_scorecards"
        round_trip(back.conn_type)  # as Airflow does with a connection it cached as a URI
    assert "shall not contain '_'" in logged(capfd, caplog)


def test_a_connection_of_the_older_type_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        CONN_ENV,
        json.dumps(
            {
                "conn_type": "datadog_scorecards",
                "password": "key-1",
                "extra": {"app_key_secret": "app-2", "site": "datadoghq.eu"},
            }
        ),
    )
    hook = DatadogScorecardsHook()
    assert hook.base_url == "https://api.datadoghq.eu"
    assert hook.settings.api_key == "key-1"
    assert hook.settings.app_key == "app-2"
