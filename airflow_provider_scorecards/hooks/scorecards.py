"""DatadogScorecardsHook: an Airflow connection turned into a Scorecards client.

The hook's whole job is Airflow's side of the client: read the connection (lazily, on first use, never in
``__init__``, so building a hook at DAG parse costs nothing and touches no database), apply the ``DD_*``
fallback rules, register the keys with Airflow's secrets masker, hand out one
:class:`~airflow_provider_scorecards.client.ScorecardsClient` per hook, and test the connection. Reading
scores is the client's: ``hook.get_conn().fetch(query)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import airflow

from airflow_provider_scorecards._compat import AirflowNotFoundException, BaseHook, mask_secret
from airflow_provider_scorecards.client.client import ScorecardsClient
from airflow_provider_scorecards.client.errors import (
    ScorecardsAPIError,
    ScorecardsAuthError,
    ScorecardsConfigError,
    ScorecardsError,
)
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.client.settings import (
    ClientSettings,
    settings_from_connection,
    settings_from_env,
)
from airflow_provider_scorecards.client.sites import scorecards_ui_url
from airflow_provider_scorecards.get_provider_info import CONNECTION_FIELD_BEHAVIOUR
from airflow_provider_scorecards.hooks import CONN_TYPE, DEFAULT_CONN_ID

USER_AGENT_SUFFIX = f"apache-airflow/{airflow.__version__}"
"""Added to the User-Agent of every client the provider makes in Airflow (the hook's, the shared fetches')."""


class DatadogScorecardsHook(BaseHook):
    """Talks to Datadog's "List all scores" endpoint (``GET /api/v2/scorecard/scores/{aggregation}``).

    :param datadog_conn_id: Airflow connection id. Type ``datadogscorecards`` (API key as password,
        extra ``app_key_secret``, ``site`` or ``api_url``...) or the official provider's ``datadog`` type.
        If the default connection does not exist, ``DD_API_KEY``, ``DD_APP_KEY`` and ``DD_SITE`` are used;
        any other missing connection id is an error.
    :param concurrency: size of the connection pool (the largest page concurrency you will ask for).
    :param sleep: how the client waits between retries (tests pass a fake; by default a wait that
        ``ScorecardsClient.abandon()`` cuts short).
    """

    conn_name_attr = "datadog_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = "Datadog Scorecards"

    def __init__(
        self,
        datadog_conn_id: str = default_conn_name,
        *,
        concurrency: int = 4,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        super().__init__()
        self.datadog_conn_id = datadog_conn_id
        self.concurrency = concurrency
        self._sleep = sleep
        self._settings: ClientSettings | None = None
        self._client: ScorecardsClient | None = None

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Return the connection form (equal to ``get_provider_info``'s, which must not import the hook)."""
        return {key.replace("-", "_"): value for key, value in CONNECTION_FIELD_BEHAVIOUR.items()}

    @property
    def settings(self) -> ClientSettings:
        """Settings of this hook, read from the connection (or the environment) on first access."""
        if self._settings is None:
            self._settings = self._load_settings()
            for secret in self._settings.secrets:
                mask_secret(secret)
        return self._settings

    @property
    def base_url(self) -> str:
        """Where requests go: the API of the connection's Datadog site, or its ``api_url``."""
        return self.settings.base_url

    @property
    def scorecards_ui_url(self) -> str:
        """The Scorecards page of the site this hook talks to, for the task's extra link."""
        return scorecards_ui_url(self.base_url)

    def _load_settings(self) -> ClientSettings:
        try:
            conn = self.get_connection(self.datadog_conn_id)
        except AirflowNotFoundException:
            if self.datadog_conn_id != self.default_conn_name:
                # A mistyped id must not quietly talk to whatever organisation the worker's DD_* belong to.
                raise ScorecardsConfigError(
                    f"Connection {self.datadog_conn_id!r} does not exist. Only the default connection "
                    f"{self.default_conn_name!r} falls back to DD_API_KEY/DD_APP_KEY/DD_SITE; create "
                    f"{self.datadog_conn_id!r} or check the datadog_conn_id for a typo."
                ) from None
            self.log.info(
                "Connection %r not found; using DD_API_KEY/DD_APP_KEY/DD_SITE", self.datadog_conn_id
            )
            return settings_from_env(conn_id=self.datadog_conn_id)
        extra = conn.extra_dejson if conn.extra else {}
        return settings_from_connection(self.datadog_conn_id, conn.conn_type, conn.password, extra)

    def get_conn(self) -> ScorecardsClient:
        """Return the client of this hook, created once (its session is opened on the first request)."""
        if self._client is None:
            self._client = ScorecardsClient(
                self.settings,
                concurrency=self.concurrency,
                user_agent_suffix=USER_AGENT_SUFFIX,
                log=self.log,
                sleep=self._sleep,
            )
        return self._client

    def close(self) -> None:
        """Close the client's connections; the next :meth:`get_conn` creates a new client."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> DatadogScorecardsHook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def test_connection(self) -> tuple[bool, str]:
        """One cheap request that proves both keys and the read permission, naming the write one too.

        Reading scores needs ``apm_service_catalog_read``; posting rule outcomes (and creating custom rules)
        needs ``apm_service_catalog_write``, which no request can test without writing.
        """
        try:
            page = self.get_conn().get_page(ScoresQuery.build("by-kind", page_limit=1))
        except ScorecardsAuthError as exc:
            return False, (
                f"Datadog refused the credentials ({exc.status}): {'; '.join(exc.errors) or 'forbidden'}. "
                "Check the API key and the application key, and that the application key (or OAuth "
                "token) has the apm_service_catalog_read permission (and apm_service_catalog_write to post "
                "rule outcomes)."
            )
        except ScorecardsAPIError as exc:
            return False, str(exc)
        except ScorecardsError as exc:
            if self._settings is None:  # the connection itself (a missing key, a refused site): nothing sent
                return False, f"The connection cannot be used: {exc}"
            return False, f"Could not reach the Scorecards API at {self.settings.base_url}: {exc}"
        finally:
            self.close()
        return True, (
            f"Connected to {self.settings.base_url}: keys accepted, scores readable "
            f"({page.total if page.total is not None else page.count} score kinds). Posting rule outcomes "
            "also needs the apm_service_catalog_write permission, which this test does not check."
        )
