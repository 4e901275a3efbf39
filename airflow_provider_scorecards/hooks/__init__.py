"""Hooks of the provider.

``DEFAULT_CONN_ID`` lives here, not in the hook's module, so that task classes can default to it at DAG
parse without importing the hook (and the client and HTTP machinery behind it).
"""

DEFAULT_CONN_ID = "datadog_scorecards_default"
"""The connection every hook and task class uses unless told otherwise."""
