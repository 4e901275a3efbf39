"""Hooks of the provider.

``DEFAULT_CONN_ID`` and the connection-id check live here, not in the hook's module, so that task classes
and triggers can use them at DAG parse without importing the hook (and the client and HTTP machinery
behind it).
"""

from __future__ import annotations

from typing import Any

from airflow_provider_scorecards.client.coercion import coerce_optional_str
from airflow_provider_scorecards.client.errors import InvalidParameterError

CONN_TYPE = "datadog_scorecards"
"""The provider's connection type (the hook's ``conn_type``), for code that must not import the hook."""

DEFAULT_CONN_ID = "datadog_scorecards_default"
"""The connection every hook and task class uses unless told otherwise."""


def coerce_conn_id(value: Any) -> str:
    """A connection id from a (rendered) ``datadog_conn_id``; an empty or non-string one is refused."""
    text = coerce_optional_str("datadog_conn_id", value)
    if not text:
        raise InvalidParameterError("datadog_conn_id", value, "expected a connection id")
    return text
