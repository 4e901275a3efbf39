"""Client settings: which API to talk to, with which credentials, and how patiently.

A :class:`ClientSettings` is built from the fields of a connection (ours, or the official Datadog
provider's ``datadog`` type) or from the ``DD_*`` environment variables Datadog's own clients read. Turning
those loose inputs into one validated object is this module's single job; the hook only hands it the
connection's fields. Which sites exist and how they are spelled is :mod:`.sites`'.

``ClientSettings.__repr__`` never shows a credential, so settings can be logged or end up in a traceback.
"""

from __future__ import annotations

import dataclasses
import os
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from airflow_provider_scorecards.client.bounded_json import load_json
from airflow_provider_scorecards.client.coercion import coerce_float, coerce_int
from airflow_provider_scorecards.client.errors import (
    InvalidParameterError,
    ScorecardsConfigError,
    UnsupportedSiteError,
)
from airflow_provider_scorecards.client.sites import (
    DEFAULT_SITE,
    api_base_url,
    is_loopback,
    shown_url,
    validate_api_url,
)

APP_KEY_FIELD = "app_key_secret"
"""Extra field of the application key. The name contains "secret" so that Airflow's own sensitive-name
matching hides its value in the REST API, the connection form's extra JSON and the audit log, with
Airflow's default configuration (an extra named ``app_key`` is shown in clear)."""

DEFAULT_TIMEOUT = 30.0
"""``timeout``: the longest wait for the socket (to connect, or between two reads), in seconds."""
DEFAULT_REQUEST_DEADLINE = 120.0
"""``request_deadline``: the longest one request may take in all (connect, headers and the whole body),
in seconds, however steadily the server drips; each retry gets a deadline of its own."""
DEFAULT_MAX_PAGE_BYTES = 16 * 1024 * 1024
"""``max_page_bytes``: the largest body of one page (bytes), read in chunks; a page of 1000 scores is well
under 1 MB, and a larger (or endless) body is refused before it exhausts the memory."""
MAX_PAGE_BYTES = 1024 * 1024 * 1024
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h", "socks4", "socks4a")


@dataclass(frozen=True)
class ClientSettings:
    """Validated settings for one client. Credentials (proxy passwords included) are kept out of ``repr``."""

    base_url: str
    api_key: str | None = field(default=None, repr=False)
    app_key: str | None = field(default=None, repr=False)
    bearer_token: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = 5
    backoff_base: float = 0.5
    verify: bool | str = True
    proxies: dict[str, str] | None = field(default=None, repr=False)
    source: str = "connection"
    request_deadline: float = DEFAULT_REQUEST_DEADLINE
    max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES

    def __post_init__(self) -> None:
        for name in ("api_key", "app_key", "bearer_token"):
            check_header_value(name, getattr(self, name), self.source)

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self) if f.repr)
        proxies = None if self.proxies is None else {k: shown_url(v) for k, v in self.proxies.items()}
        return f"ClientSettings({shown}, proxies={proxies!r})"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every credential in use (proxy passwords too), for the secrets masker and message scrubbing."""
        found = (self.api_key, self.app_key, self.bearer_token, *proxy_passwords(self.proxies or {}))
        return tuple(dict.fromkeys(s for s in found if s))

    def auth_headers(self) -> dict[str, str]:
        """Return the authentication headers of the credentials that are set (none for a blank one)."""
        bearer = self.bearer_token and f"Bearer {self.bearer_token}"
        headers = {"DD-API-KEY": self.api_key, "DD-APPLICATION-KEY": self.app_key, "Authorization": bearer}
        return {name: value for name, value in headers.items() if value}


def check_header_value(name: str, value: str | None, source: str) -> None:
    """Refuse a credential an HTTP header cannot carry, naming it and the character, never its value.

    Datadog's keys and tokens are visible ASCII; anything else is a character pasted with the key (a
    zero-width space, a letter of another alphabet, a typographic dash) and would fail in the HTTP stack.
    """
    if value is None:
        return
    for position, char in enumerate(value, 1):
        if not "!" <= char <= "~":
            what = unicodedata.name(char, "a control character")
            raise ScorecardsConfigError(
                f"The {name} from {source} holds a character an HTTP header cannot carry: character "
                f"{position} of {len(value)} is U+{ord(char):04X} ({what}). Datadog keys and tokens are "
                "visible ASCII: set it again without the character pasted with it."
            )


def settings_from_connection(
    conn_id: str,
    conn_type: str | None,
    password: str | None,
    extra: Mapping[str, Any],
) -> ClientSettings:
    """Build the settings of an Airflow connection of type ``datadogscorecards`` or ``datadog``."""
    hint = f"set the API key as the password and {APP_KEY_FIELD!r} in the extra of connection {conn_id!r}"
    return _settings(f"connection {conn_id!r}", hint, conn_type, password, extra)


def settings_from_env(
    environ: Mapping[str, str] | None = None, *, conn_id: str | None = None
) -> ClientSettings:
    """Build settings from ``DD_API_KEY``, ``DD_APP_KEY``, ``DD_SITE`` (and ``DD_BEARER_TOKEN``).

    The variables are read as the fields of a connection. ``conn_id`` is the missing connection this
    stands in for (the hook's default), named in errors.
    """
    env = os.environ if environ is None else environ
    fields = {
        APP_KEY_FIELD: _text(env.get("DD_APP_KEY")) or env.get("DD_APPLICATION_KEY"),
        "bearer_token": env.get("DD_BEARER_TOKEN"),
        "site": env.get("DD_SITE"),
    }
    create = (
        f"connection {conn_id!r} does not exist; create it (type 'datadogscorecards', API key as password, "
        f'extra {{"{APP_KEY_FIELD}": ..., "site": ...}}) or '
    )
    hint = f"{create if conn_id else ''}export DD_API_KEY, DD_APP_KEY and DD_SITE"
    return _settings("environment (DD_API_KEY/DD_APP_KEY)", hint, None, env.get("DD_API_KEY"), fields)


def _settings(
    source: str, hint: str, conn_type: str | None, password: str | None, extra: Mapping[str, Any]
) -> ClientSettings:
    """Read a connection's fields (the ``DD_*`` variables are read as one) into ``ClientSettings``.

    Both sources end here, so they share one completeness rule and one reading of every extra; ``hint``
    says where a missing key should go.
    """
    if conn_type == "datadog":
        # The official Datadog provider keeps both keys and the host in extras.
        api_key = _text(extra.get("api_key")) or _text(password)
    else:
        api_key = _text(password) or _text(extra.get("api_key"))
    official_app_key = _text(extra.get("app_key"))  # the official type's field, shown in clear by Airflow
    app_key = _text(extra.get(APP_KEY_FIELD)) or (official_app_key if conn_type == "datadog" else None)
    if official_app_key and not app_key:
        raise ScorecardsConfigError(
            f"The {source} keeps the application key in the extra field 'app_key', which only connections "
            f"of type 'datadog' use: rename the field to {APP_KEY_FIELD!r}, which Airflow hides."
        )
    bearer_token = _text(extra.get("bearer_token"))
    with _no_secret_echoed(api_key, app_key, bearer_token, _text(password)):
        base_url = _base_url(conn_type, extra)
        if not bearer_token and not (api_key and app_key):
            missing = " and ".join(
                name for name, value in (("API key", api_key), ("application key", app_key)) if not value
            )
            raise ScorecardsConfigError(
                f"Datadog credentials from {source} are incomplete: the {missing} is missing. "
                f"The Scorecards API needs both keys (or an OAuth bearer_token): {hint}."
            )
        return ClientSettings(
            base_url=base_url,
            api_key=api_key,
            app_key=app_key,
            bearer_token=bearer_token,
            verify=_verify(extra.get("verify")),
            proxies=_proxies(extra.get("proxies"), base_url),
            source=source,
            **_patience(extra),
        )


@contextmanager
def _no_secret_echoed(*secrets: str | None) -> Iterator[None]:
    """Redact a credential that an input check would echo (a key pasted into ``site`` or ``timeout``)."""
    try:
        yield
    except InvalidParameterError as error:
        if any(secret and secret.lower() in str(error).lower() for secret in secrets):
            raise type(error)(
                error.parameter, "<redacted: it holds a credential of the connection>", error.allowed
            ) from None
        raise


def _base_url(conn_type: str | None, extra: Mapping[str, Any]) -> str:
    if conn_type == "datadog":
        # The datadog provider's api_host is either a Datadog host or a custom URL.
        api_host = _text(extra.get("api_host")) or DEFAULT_SITE
        try:
            return api_base_url(api_host)
        except UnsupportedSiteError:
            raise
        except InvalidParameterError:
            return validate_api_url(api_host if "://" in api_host else f"https://{api_host}")
    api_url = _text(extra.get("api_url"))
    return validate_api_url(api_url) if api_url else api_base_url(_text(extra.get("site")) or DEFAULT_SITE)


# The numeric connection settings: each one's allowed range, checked the same way (the defaults are
# ClientSettings').
_PATIENCE: dict[str, tuple[Callable[..., Any], Any, Any]] = {
    "timeout": (coerce_float, 0.001, 600.0),
    "max_retries": (coerce_int, 0, 20),
    "backoff_base": (coerce_float, 0.0, 60.0),
    "request_deadline": (coerce_float, 0.01, 3600.0),
    "max_page_bytes": (coerce_int, 64 * 1024, MAX_PAGE_BYTES),
}


def _patience(extra: Mapping[str, Any]) -> dict[str, Any]:
    """Read the numeric settings of a connection's extra: blank or absent means the default."""
    return {
        key: coerce(key, extra[key], minimum=minimum, maximum=maximum)
        for key, (coerce, minimum, maximum) in _PATIENCE.items()
        if extra.get(key) not in (None, "")
    }


def _verify(value: Any) -> bool | str:
    """Accept ``true`` / ``false`` (or a boolean), or the path of a CA bundle file or folder that exists."""
    if value is None or value == "":
        return True
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
        if text.lower() in words:
            return words[text.lower()]
        if os.path.exists(text):
            return text  # a CA bundle path
    raise InvalidParameterError(
        "verify", value, "expected true, false or the path of a CA bundle (file or folder) that exists"
    )


def _proxies(value: Any, base_url: str) -> dict[str, str] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                value = load_json(text)
            except (ValueError, RecursionError):
                raise InvalidParameterError("proxies", "<unparseable>", "expected a JSON object") from None
        else:
            value = {"http": text, "https": text}
    if not (
        isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    ):
        raise InvalidParameterError(
            "proxies",
            type(value).__name__,
            'expected a proxy URL or an object like {"https": "http://proxy:3128"}',
        )
    proxies = {key: url.strip() for key, url in value.items()}
    target = urlsplit(base_url).scheme
    for key, url in proxies.items():
        try:
            parts = urlsplit(url)
            hostname = parts.hostname
        except ValueError:  # an unclosed "[": not a URL at all
            hostname = None
        if not hostname or parts.scheme not in PROXY_SCHEMES:
            raise InvalidParameterError(
                "proxies", shown_url(url), f"expected a proxy URL ({', '.join(PROXY_SCHEMES)})"
            )
        if "@" in url and "@" not in parts.netloc:  # a password holding a "/", "?" or "#" unencoded
            raise InvalidParameterError(
                "proxies", shown_url(url), "expected a proxy URL with its user and password percent-encoded"
            )
        carries_plain_http = target == "http" and (key in ("http", "all") or key.startswith("http://"))
        if carries_plain_http and parts.scheme == "http" and not is_loopback(hostname):
            raise InvalidParameterError(
                "proxies",
                shown_url(url),
                f"api_url {base_url} is plain http, and a plain-http proxy on another host would receive "
                "the keys in clear; use an https api_url, an https proxy, or a loopback proxy",
            )
    return proxies


def proxy_passwords(proxies: Mapping[str, str]) -> list[str]:
    """Return the passwords in proxy URLs, which are scrubbed from every message like the keys."""
    return [unquote(password) for url in proxies.values() if (password := _url_password(url))]


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url.strip()).password
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
