"""An Airflow-free client of Datadog's Scorecards "List all scores" endpoint.

Usable from a plain script::

    from airflow_provider_scorecards.client import ScorecardsClient, ScoresQuery, settings_from_env

    with ScorecardsClient(settings_from_env()) as client:
        result = client.fetch(ScoresQuery.build("by-team", sort="-score"))
    print(len(result.records), result.stats)

The names below load on first use: a DAG parse that imports the query module pays for no HTTP stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_HOMES: dict[str, str] = {
    "FetchResult": "client",
    "PageStream": "client",
    "ScorecardsClient": "client",
    "InvalidParameterError": "errors",
    "ScorecardsAPIError": "errors",
    "ScorecardsAuthError": "errors",
    "ScorecardsBadRequestError": "errors",
    "ScorecardsConfigError": "errors",
    "ScorecardsConflictError": "errors",
    "ScorecardsError": "errors",
    "ScorecardsNotFoundError": "errors",
    "ScorecardsRateLimitError": "errors",
    "ScorecardsResponseError": "errors",
    "ScorecardsServerError": "errors",
    "ScorecardsTransportError": "errors",
    "UnsupportedSiteError": "errors",
    "Page": "pages",
    "Record": "pages",
    "flatten": "pages",
    "FetchStats": "pagination",
    "AGGREGATIONS": "query",
    "SORT_FIELDS": "query",
    "ScoresQuery": "query",
    "ClientSettings": "settings",
    "settings_from_connection": "settings",
    "settings_from_env": "settings",
}

if TYPE_CHECKING:
    from airflow_provider_scorecards.client.client import FetchResult, PageStream, ScorecardsClient
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
    from airflow_provider_scorecards.client.pages import Page, Record, flatten
    from airflow_provider_scorecards.client.pagination import FetchStats
    from airflow_provider_scorecards.client.query import AGGREGATIONS, SORT_FIELDS, ScoresQuery
    from airflow_provider_scorecards.client.settings import (
        ClientSettings,
        settings_from_connection,
        settings_from_env,
    )

__all__ = [
    "AGGREGATIONS",
    "SORT_FIELDS",
    "ClientSettings",
    "FetchResult",
    "FetchStats",
    "InvalidParameterError",
    "Page",
    "PageStream",
    "Record",
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
    "flatten",
    "settings_from_connection",
    "settings_from_env",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
