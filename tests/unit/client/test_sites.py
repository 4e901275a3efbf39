"""Datadog sites, the forms people paste, and explicit API URLs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_scorecards.client.errors import InvalidParameterError
from airflow_provider_scorecards.client.sites import (
    SITES,
    api_base_url,
    scorecards_ui_url,
    shown_url,
    validate_api_url,
)


@pytest.mark.parametrize("site", SITES)
def test_every_site_maps_to_its_api_host(site: str) -> None:
    assert api_base_url(site) == f"https://api.{site}"


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        ("app.datadoghq.com", "https://api.datadoghq.com"),
        ("https://app.datadoghq.eu", "https://api.datadoghq.eu"),
        ("https://app.datadoghq.eu/dashboard/lists", "https://api.datadoghq.eu"),
        ("api.us5.datadoghq.com", "https://api.us5.datadoghq.com"),
        ("  US3.DATADOGHQ.COM ", "https://api.us3.datadoghq.com"),
        ("ap2.datadoghq.com/", "https://api.ap2.datadoghq.com"),
    ],
)
def test_pasted_forms_are_normalised(pasted: str, expected: str) -> None:
    assert api_base_url(pasted) == expected


@pytest.mark.parametrize("site", ["ddog-gov.com", "app.ddog-gov.com", "us2.ddog-gov.com"])
def test_government_sites_are_refused_with_the_reason(site: str) -> None:
    with pytest.raises(InvalidParameterError, match="not offered on the US government sites"):
        api_base_url(site)


def test_unknown_site_lists_the_valid_ones() -> None:
    with pytest.raises(InvalidParameterError) as info:
        api_base_url("datadoghq.org")
    assert info.value.parameter == "site"
    for site in SITES:
        assert site in str(info.value)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://localhost:1/", "http://[::1]:9", "https://proxy.corp.example"]
)
def test_accepted_api_urls(url: str) -> None:
    assert validate_api_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://proxy.corp.example", "loopback"),
        ("http://10.0.0.5:8080", "loopback"),
        ("ftp://127.0.0.1", "http(s) URL"),
        ("https://user:pw@api.datadoghq.com", "credentials"),
        ("https://api.datadoghq.com?x=1", "without query"),
        ("not a url", "http(s) URL"),
    ],
)
def test_refused_api_urls(url: str, fragment: str) -> None:
    with pytest.raises(InvalidParameterError, match="api_url") as info:
        validate_api_url(url)
    assert fragment in str(info.value)
    assert "pw" not in str(info.value)


def test_ui_url_of_each_site() -> None:
    assert scorecards_ui_url("https://api.datadoghq.com") == "https://app.datadoghq.com/software/scorecards"
    assert (
        scorecards_ui_url("https://api.us5.datadoghq.com") == "https://us5.datadoghq.com/software/scorecards"
    )
    assert scorecards_ui_url("https://api.datadoghq.eu") == "https://app.datadoghq.eu/software/scorecards"


@given(
    scheme=st.sampled_from(["", "http://", "https://", "socks5h://"]),
    password=st.text(min_size=1).map(lambda text: f"SECRET{text}"),
    after=st.sampled_from(["", "/path", "/path?token=1#f"]),
)
def test_a_shown_url_never_holds_its_userinfo(scheme: str, password: str, after: str) -> None:
    """Whatever the password holds ("/", "@", "://", "?"), nothing before the host's "@" is shown."""
    shown = shown_url(f"{scheme}user:{password}@proxy.example:3128{after}")
    assert "SECRET" not in shown
    assert shown.startswith(f"{scheme}proxy.example:3128")
    assert "token" not in shown
