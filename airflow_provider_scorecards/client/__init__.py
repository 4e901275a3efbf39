"""An Airflow-free client of Datadog's Scorecards "List all scores" endpoint.

Usable from a plain script::

    from airflow_provider_scorecards.client import ScorecardsClient, ScoresQuery, settings_from_env

    with ScorecardsClient(settings_from_env()) as client:
        result = client.fetch(ScoresQuery.build("by-team", sort="-score"))
    print(len(result.records), result.stats)

The names below (the client, its query and settings, the errors) load on first use: a DAG parse that
imports the query module pays for no HTTP stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_HOMES: dict[str, str] = {
    "ScorecardsClient": "client",
    "FetchStats": "pagination",
    "ScoresQuery": "query",
    "ClientSettings": "settings",
    "settings_from_connection": "settings",
    "settings_from_env": "settings",
}
"""The module of each name in ``__all__`` that is not an error; the errors are all in ``errors``."""

if TYPE_CHECKING:
    from airflow_provider_scorecards.client.client import ScorecardsClient
    from airflow_provider_scorecards.client.errors import (
        InvalidParameterError,
        ScorecardsAPIError,
        ScorecardsAuthError,
        ScorecardsBadRequestError,
        ScorecardsConfigError,
        ScorecardsConflictError,
        ScorecardsError,
        ScorecardsNotFoundError,
        ScorecardsRateLimitError,
        ScorecardsResponseError,
        ScorecardsServerError,
        ScorecardsTransportError,
        UnsupportedSiteError,
    )
    from airflow_provider_scorecards.client.pagination import FetchStats
    from airflow_provider_scorecards.client.query import ScoresQuery
    from airflow_provider_scorecards.client.settings import (
        ClientSettings,
        settings_from_connection,
        settings_from_env,
    )

__all__ = [
    "ClientSettings",
    "FetchStats",
    "InvalidParameterError",
    "ScorecardsAPIError",
    "ScorecardsAuthError",
    "ScorecardsBadRequestError",
    "ScorecardsClient",
    "ScorecardsConfigError",
    "ScorecardsConflictError",
    "ScorecardsError",
    "ScorecardsNotFoundError",
    "ScorecardsRateLimitError",
    "ScorecardsResponseError",
    "ScorecardsServerError",
    "ScorecardsTransportError",
    "ScoresQuery",
    "UnsupportedSiteError",
    "settings_from_connection",
    "settings_from_env",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES.get(name, 'errors')}"), name)
