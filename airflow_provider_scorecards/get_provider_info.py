"""Provider metadata, read by Airflow through the ``apache_airflow_provider`` entry point.

Written out by hand (Airflow reads it in every process, so it imports nothing of the provider but its
version); ``tests/unit/test_provider_info_drift.py`` derives the same lists and the connection type from the
modules that define them, and fails on any difference.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_scorecards import __version__

_INTEGRATION = "Datadog Scorecards"

CONNECTION_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port", "login", "host"],
    "relabeling": {"password": "API key"},
    "placeholders": {
        "password": "Datadog API key",
        "app_key_secret": "Datadog application key",
        "site": "datadoghq.com",
        "api_url": "https://api.datadoghq.com (optional, overrides site)",
    },
}
"""How the connection form looks; the hook's ``get_ui_field_behaviour`` returns the same."""


def _modules(*names: str) -> list[dict[str, Any]]:
    """One ``python-modules`` entry of the integration: the provider's modules of that kind."""
    return [{"integration-name": _INTEGRATION, "python-modules": [f"{__package__}.{n}" for n in names]}]


def _field(label: str, *types: str, **schema: Any) -> dict[str, Any]:
    """One extra field of the connection form: its label and its schema (every field may be left empty)."""
    return {"label": label, "schema": {"type": [*types, "null"], **schema}}


def get_provider_info() -> dict[str, Any]:
    """Describe the provider: what ``airflow providers list`` shows, how the UI renders its connection."""
    return {
        "package-name": "airflow-provider-scorecards",
        "name": "Datadog Scorecards",
        "description": "Read Datadog Scorecards scores, gate on them, and report checks as rule outcomes.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://docs.datadoghq.com/api/latest/scorecards/",
                "tags": ["service"],
            }
        ],
        "hooks": _modules("hooks.scorecards"),
        "operators": _modules(
            "operators.approval", "operators.check", "operators.outcomes", "operators.scores"
        ),
        "sensors": _modules("sensors.scores"),
        "triggers": _modules("triggers.events", "triggers.scores"),
        "extra-links": ["airflow_provider_scorecards.operators.links.ScorecardsLink"],
        "notifications": [f"{__package__}.notifications.outcomes.DatadogScorecardOutcomeNotifier"],
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_scorecards.hooks.scorecards.DatadogScorecardsHook",
                "hook-name": "Datadog Scorecards",
                "connection-type": "datadogscorecards",  # hooks.CONN_TYPE (the drift test)
                "ui-field-behaviour": CONNECTION_FIELD_BEHAVIOUR,
                "conn-fields": {
                    # "secret" in the name: Airflow's own redaction hides the value everywhere.
                    "app_key_secret": _field("Application key", "string", format="password"),
                    "site": _field("Datadog site", "string", default="datadoghq.com"),
                    "api_url": _field("API URL (overrides site; proxies and the simulator)", "string"),
                    "bearer_token": _field("OAuth bearer token", "string", format="password"),
                    "backoff_base": _field(
                        "First retry backoff (seconds, doubled per retry)", "number", default=0.5
                    ),
                    "timeout": _field("Request timeout (seconds)", "number", default=30),
                    "max_retries": _field("Retries on 429/5xx/connection errors", "integer", default=5),
                    "verify": _field("Verify TLS (true/false or a CA bundle path)", "string", "boolean"),
                },
            }
        ],
    }
