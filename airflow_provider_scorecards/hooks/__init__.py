"""Hooks of the provider.

``DEFAULT_CONN_ID``, ``CONN_TYPE`` and the connection-id check live here, not in the hook's module, so
that task classes, triggers and the provider metadata can use them without importing the hook (and the
client and HTTP machinery behind it).
"""

from __future__ import annotations

from typing import Any

from airflow_provider_scorecards.client.coercion import coerce_optional_str
from airflow_provider_scorecards.client.errors import InvalidParameterError

DEFAULT_CONN_ID = "datadog_scorecards_default"
"""The connection every hook and task class uses unless told otherwise."""

CONN_TYPE = "datadogscorecards"
"""The connection type (``conn_type``) of the provider's connections.

Without ``_`` or ``-``: Airflow warns on every read of a connection whose type holds ``_``, and turns
``-`` into ``_`` when it parses a connection URI (the form it caches connections in), so either would
not survive a round trip. A connection of type ``datadog_scorecards`` is read all the same: the hook
finds a connection by its id, and reads every type other than the official ``datadog`` as this one.
"""


def coerce_conn_id(value: Any) -> str:
    """Return the connection id of a (rendered) ``datadog_conn_id``; refuse an empty or non-string one."""
    text = coerce_optional_str("datadog_conn_id", value)
    if not text:
        raise InvalidParameterError("datadog_conn_id", value, "expected a connection id")
    return text
