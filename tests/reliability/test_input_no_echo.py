"""Input checks name the parameter and what is allowed, never a credential pasted into a setting."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_scorecards.client.errors import InvalidParameterError, ScorecardsConfigError
from airflow_provider_scorecards.client.settings import settings_from_connection, settings_from_env
from tests.reliability.hostile_servers import API_KEY, APP_KEY


@pytest.mark.parametrize(
    ("extra", "parameter", "hidden"),
    [
        ({"api_url": "ftp://user:pw-9f8e7d@127.0.0.1:21"}, "api_url", "pw-9f8e7d"),
        ({"api_url": "https://api.example/?api_key=QK-1a2b3c"}, "api_url", "QK-1a2b3c"),
        ({"api_url": "https://api.example/#tok-4d5e6f"}, "api_url", "tok-4d5e6f"),
        ({"site": API_KEY}, "site", API_KEY),
        ({"site": APP_KEY}, "site", APP_KEY),
        ({"timeout": APP_KEY}, "timeout", APP_KEY),
        ({"max_retries": API_KEY}, "max_retries", API_KEY),
        ({"request_deadline": API_KEY}, "request_deadline", API_KEY),
        ({"verify": APP_KEY}, "verify", APP_KEY),
    ],
)
def test_no_check_echoes_a_secret(extra: dict[str, Any], parameter: str, hidden: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        settings_from_connection("c", "datadog_scorecards", API_KEY, {"app_key_secret": APP_KEY, **extra})
    assert info.value.parameter == parameter
    assert hidden not in str(info.value)
    assert hidden not in repr(info.value.value)


def test_the_environment_fallback_does_not_echo_a_key_in_dd_site() -> None:
    with pytest.raises(InvalidParameterError) as info:
        settings_from_env({"DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY, "DD_SITE": APP_KEY})
    assert APP_KEY not in str(info.value)


PASTED = ["\u200b", "\u0430", "\u2013", "\u00a0", " ", "\n", "\x00", "\u202e", "\U0001f511"]


@pytest.mark.parametrize("char", PASTED, ids=[f"U+{ord(c):04X}" for c in PASTED])
@pytest.mark.parametrize("field", ["api_key", "app_key", "bearer_token"])
def test_a_key_an_http_header_cannot_carry_is_a_config_error_naming_the_field_not_the_key(
    char: str, field: str
) -> None:
    keys = {"api_key": API_KEY, "app_key": APP_KEY, "bearer_token": "tok-5e6f7a8b9c"}
    bad = keys[field][:6] + char + keys[field][6:]
    extra = {"app_key_secret": bad if field == "app_key" else APP_KEY}
    if field == "bearer_token":
        extra["bearer_token"] = bad
    with pytest.raises(ScorecardsConfigError) as info:
        settings_from_connection("c", "datadog_scorecards", bad if field == "api_key" else API_KEY, extra)
    message = str(info.value)
    assert f"The {field} from connection 'c'" in message
    assert f"character 7 of {len(bad)} is U+{ord(char):04X}" in message
    for secret in (bad, keys[field], keys[field][:6], keys[field][6:]):
        assert secret not in message
        assert all(secret not in str(arg) for arg in info.value.args)


def test_the_environment_fallback_checks_its_keys_the_same_way() -> None:
    with pytest.raises(ScorecardsConfigError, match="The app_key from environment"):
        settings_from_env({"DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY + "\u200b"})
