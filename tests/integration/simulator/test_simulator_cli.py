"""The simulator's command line and its connection: clear refusals, a warning when exposed, a real URI."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_scorecards.client import ScoresQuery
from airflow_provider_scorecards.hooks import CONN_TYPE, DEFAULT_CONN_ID
from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook
from airflow_provider_scorecards.simulator import DEFAULT_API_KEY, DEFAULT_APP_KEY, ScorecardsSimulator
from airflow_provider_scorecards.simulator.cli import main

CONN_ENV = f"AIRFLOW_CONN_{DEFAULT_CONN_ID.upper()}"


def test_the_hook_type_is_the_shared_constant() -> None:
    assert DatadogScorecardsHook.conn_type == CONN_TYPE


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield held.getsockname()[1]


def test_a_busy_port_is_one_clear_line(busy_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--port", str(busy_port)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"port {busy_port} on 127.0.0.1 is already in use" in err
    assert "--port" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--entities", "-5"),
        ("--entities", "0"),
        ("--port", "70000"),
        ("--error-rate", "2"),
        ("--improve-every", "0"),
    ],
)
def test_impossible_options_are_refused(option: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([option, value])
    assert exit_info.value.code == 2
    assert f"argument {option}: expected" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--api-key", "--app-key"])
@pytest.mark.parametrize("value", ["", "  "])
def test_a_blank_key_is_refused_at_start_naming_the_flag(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([option, value])
    assert exit_info.value.code == 2
    assert f"argument {option}: the key must not be blank" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["api_key", "app_key", "bearer_token"])
def test_the_class_refuses_a_blank_key(name: str) -> None:
    with pytest.raises(ValueError, match=f"{name} must not be blank"):
        ScorecardsSimulator(entities=3, **{name: ""})


def test_the_class_refuses_an_empty_organisation() -> None:
    with pytest.raises(ValueError, match="entities must be a whole number of at least 1"):
        ScorecardsSimulator(entities=-5)


def _run_cli(tmp_path: Path, *args: str) -> tuple[str, str]:
    """Start the command, wait until it listens, stop it; return what it printed."""
    port_file = tmp_path / "port"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_scorecards.simulator.cli",
            "--port-file",
            str(port_file),
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text()) and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        time.sleep(0.3)  # the banner follows the port file
    finally:
        process.terminate()
        out, err = process.communicate(timeout=10)
    return out, err


def test_loopback_is_quiet_and_prints_a_usable_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, err = _run_cli(tmp_path)
    assert "WARNING" not in err
    (line,) = [ln for ln in out.splitlines() if ln.strip().startswith(f"export {CONN_ENV}=")]
    uri = line.split("=", 1)[1].strip("'")
    monkeypatch.setenv(CONN_ENV, uri)
    settings = DatadogScorecardsHook().settings
    assert settings.base_url.startswith("http://127.0.0.1:")
    assert (settings.api_key, settings.app_key) == (DEFAULT_API_KEY, DEFAULT_APP_KEY)


def test_every_interface_warns_and_prints_a_connection_the_provider_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, err = _run_cli(tmp_path, "--host", "0.0.0.0")
    assert "WARNING: --host 0.0.0.0 listens beyond loopback" in err
    assert "default keys, which ship in the package" in err
    (line,) = [ln for ln in out.splitlines() if ln.strip().startswith(f"export {CONN_ENV}=")]
    monkeypatch.setenv(CONN_ENV, line.split("=", 1)[1].strip("'"))
    settings = DatadogScorecardsHook().settings  # would raise for http://0.0.0.0
    assert settings.base_url.startswith("http://127.0.0.1:")
    assert "0.0.0.0" not in out.split("Connection for Airflow")[1]


@pytest.mark.parametrize("form", ["uri", "json"])
def test_connection_forms_round_trip_through_airflow(form: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.models.connection import Connection

    with ScorecardsSimulator(seed=7, entities=20, bearer_token="sim-bearer-token") as sim:
        value = sim.connection_uri() if form == "uri" else sim.connection_json()
        if form == "uri":
            assert value.startswith(CONN_TYPE.replace("_", "-") + "://")
            conn = Connection(conn_id=DEFAULT_CONN_ID, uri=value)
        else:
            conn = Connection.from_json(value, conn_id=DEFAULT_CONN_ID)
        assert conn.conn_type == CONN_TYPE
        assert conn.password == sim.api_key
        assert conn.extra_dejson == {
            "app_key_secret": sim.app_key,
            "api_url": sim.url,
            "bearer_token": "sim-bearer-token",
        }
        monkeypatch.setenv(CONN_ENV, value)
        with DatadogScorecardsHook() as hook:
            result = hook.get_conn().fetch(ScoresQuery.build("by-team"))
        assert len(result.records) == len(sim.expected_scores("by-team"))


def test_the_json_form_is_the_dict() -> None:
    with ScorecardsSimulator(seed=7, entities=5) as sim:
        assert json.loads(sim.connection_json()) == sim.connection_dict()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read"),
        ("{not json", "is not an organisation saved as JSON (Expecting property name"),
        ("[1, 2]", "is not an organisation saved as JSON (list indices"),
        ('{"teams": []}', "is not an organisation saved as JSON (a missing or unknown name: 'rules')"),
    ],
)
def test_an_unusable_org_file_is_one_clear_line(
    content: str | None, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    org_file = tmp_path / "org.json"
    if content is not None:
        org_file.write_text(content)
    with pytest.raises(SystemExit) as exit_info:
        main(["--org-file", str(org_file)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --org-file: {'cannot read ' if content is None else ''}{org_file}" in err
    assert problem in err
    assert "Traceback" not in err
