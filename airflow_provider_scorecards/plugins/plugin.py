"""The Airflow plugin: the Scorecards view's FastAPI app and its two external views (Airflow 3.1+).

On Airflow 3.0, which knows neither field, the plugin loads and adds nothing.
"""

from __future__ import annotations

from typing import Any

from airflow import __version__ as airflow_version
from airflow.plugins_manager import AirflowPlugin
from packaging.version import Version

URL_PREFIX = "/scorecards"
TAB_HREF = (
    f"{URL_PREFIX}/verdict?dag_id={{DAG_ID}}&run_id={{RUN_ID}}&task_id={{TASK_ID}}&map_index={{MAP_INDEX}}"
)
SUPPORTED = Version(airflow_version).release >= (3, 1)


EXTERNAL_VIEWS: list[dict[str, Any]] = [
    {"name": "Scorecards", "href": TAB_HREF, "destination": "task_instance", "url_route": "scorecards"},
    {
        "name": "Scorecards gates",
        "href": f"{URL_PREFIX}/gates",
        "destination": "nav",
        "category": "browse",
        "url_route": "scorecards-gates",
    },
]


class ScorecardsPlugin(AirflowPlugin):
    """The verdict of a gate task as a task-instance tab, and the latest verdicts as a Browse page."""

    name = "scorecards"
    if SUPPORTED:
        from airflow_provider_scorecards.plugins.app import app

        fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "Scorecards"}]
        external_views = EXTERNAL_VIEWS
        del app
