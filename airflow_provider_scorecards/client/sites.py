"""Datadog sites: which ones serve Scorecards, how people spell them, and the URLs that belong to one.

Users paste whatever their browser shows (``app.datadoghq.eu``, ``https://app.datadoghq.com/``,
``api.us5.datadoghq.com``), all of which mean one site; Scorecards is not offered on the US government
sites, which is said plainly instead of failing later with a 404. An explicit ``api_url`` (a proxy, the
simulator) is checked here too, and so is the web-UI URL that belongs to an API base URL (the operator's
extra link). Nothing here knows about credentials: that is :mod:`.settings`.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from airflow_provider_scorecards.client.errors import InvalidParameterError, UnsupportedSiteError

SITES: tuple[str, ...] = (
    "datadoghq.com",
    "us3.datadoghq.com",
    "us5.datadoghq.com",
    "ap1.datadoghq.com",
    "ap2.datadoghq.com",
    "uk1.datadoghq.com",
    "datadoghq.eu",
)
"""Sites that serve the Scorecards API."""

UNSUPPORTED_SITES: tuple[str, ...] = ("ddog-gov.com", "us2.ddog-gov.com")
"""Datadog sites where Scorecards is not offered (see Datadog's 'List all scores' page)."""

DEFAULT_SITE = "datadoghq.com"


def normalize_site(site: str) -> str:
    """Return the canonical site name (``datadoghq.eu``) for any common spelling of it."""
    text = site.strip().lower()
    if "://" in text:
        text = urlsplit(text).hostname or ""
    text = text.split("/", 1)[0].rstrip(".")
    head, dot, rest = text.partition(".")
    if dot and head in ("api", "app", "www"):
        text = rest
    if text in SITES:
        return text
    if text in UNSUPPORTED_SITES:
        raise UnsupportedSiteError(
            "site",
            site,
            "Datadog Scorecards is not offered on the US government sites (ddog-gov.com); "
            f"supported sites are {', '.join(SITES)}",
        )
    raise InvalidParameterError("site", site, f"expected one of {', '.join(SITES)} (or set api_url)")


def api_base_url(site: str) -> str:
    """``https://api.<site>`` for a (possibly unnormalised) site name."""
    return f"https://api.{normalize_site(site)}"


def validate_api_url(api_url: str) -> str:
    """Check an explicit base URL (a proxy or the simulator) and return it without a trailing slash.

    Keys travel in headers, so plain ``http`` is only accepted to a loopback address (the simulator, a
    local proxy); credentials embedded in the URL are refused because they would end up in logs.
    """
    text = api_url.strip()
    try:
        parts = urlsplit(text)
        hostname = parts.hostname
    except ValueError:
        raise InvalidParameterError("api_url", "<unparseable URL>", "expected an http(s) URL") from None
    if parts.username or parts.password:
        raise InvalidParameterError(
            "api_url", "<url with credentials>", "credentials must not be embedded in the URL; use the keys"
        )
    if parts.query or parts.fragment:
        raise InvalidParameterError(
            "api_url", shown_url(text), "expected a base URL without query or fragment (not shown here)"
        )
    if parts.scheme not in ("https", "http") or not hostname:
        raise InvalidParameterError(
            "api_url", shown_url(text), "expected an http(s) URL such as https://api.example"
        )
    if parts.scheme == "http" and not is_loopback(hostname):
        raise InvalidParameterError(
            "api_url", shown_url(text), "plain http is only allowed to a loopback address; use https"
        )
    return text.rstrip("/")


def shown_url(url: str) -> str:
    """Return a URL as a message may show it: no userinfo, query or fragment (any may hold a secret).

    Everything before the last ``@`` is userinfo, with a scheme or without, holding a ``/`` or not.
    """
    text = url.strip()
    scheme, separator, rest = text.partition("://")
    if not scheme.isalnum():  # no scheme: "user:password@host", or a password holding "://"
        scheme, separator, rest = "", "", text
    return scheme + separator + rest.rsplit("@", 1)[-1].split("#", 1)[0].split("?", 1)[0]


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` is ``localhost`` or any loopback IP (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def scorecards_ui_url(api_url: str) -> str:
    """Return the Scorecards page of the web app that belongs to an API base URL (for the operator link)."""
    host = urlsplit(api_url).hostname or ""
    if host.startswith("api."):
        site = host[len("api.") :]
        app_host = f"app.{site}" if site in ("datadoghq.com", "datadoghq.eu") else site
        return f"https://{app_host}/software/scorecards"
    return api_url.rstrip("/") + "/software/scorecards"
