"""ScorecardsLink: the "Datadog Scorecards" button on the provider's tasks.

It opens the Scorecards page of the site the task talked to (the web app for a Datadog site, the
simulator's own scores page for the simulator), so people watching a gate can see what it sees.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator, BaseOperatorLink

DEFAULT_SCORECARDS_URL = "https://app.datadoghq.com/software/scorecards"


class ScorecardsLink(BaseOperatorLink):
    """Button on the task: the Scorecards page of the Datadog site the task talked to."""

    name = "Datadog Scorecards"

    def get_link(self, operator: BaseOperator, *, ti_key: Any) -> str:
        """Return the Scorecards page the task remembered, or Datadog's default site when it has none."""
        return str(getattr(operator, "scorecards_ui_url", "") or DEFAULT_SCORECARDS_URL)
