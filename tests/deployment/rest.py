"""A small client of Airflow's public REST API (``/api/v2``), used the way a user's script would use it.

Only what the deployment tests need, with one deployment-specific habit: SQLite allows one writer, so a
request can meet the scheduler's write lock and get HTTP 500 "Database error"; that answer is retried.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import requests

LOCK_RETRIES = 20
LOCK_RETRY_DELAY = 0.5


class AirflowAPIError(AssertionError):
    """An unexpected answer; the message has the method, path, status and the start of the body."""


def q(value: str) -> str:
    """One path segment: run ids contain ``:`` and ``+``."""
    return quote(value, safe="")


class AirflowAPI:
    """``GET``/``POST``/``PATCH`` against ``{base_url}/api/v2``; the simple auth manager lets everyone in."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"

    def request(
        self, method: str, path: str, *, expect: tuple[int, ...] = (200,), **kwargs: Any
    ) -> requests.Response:
        url = f"{self.base_url}/api/v2{path}"
        for _ in range(LOCK_RETRIES):
            response = self.session.request(method, url, timeout=30, **kwargs)
            if response.status_code != 500 or "Database error" not in response.text:
                break
            time.sleep(LOCK_RETRY_DELAY)
        if response.status_code not in expect:
            raise AirflowAPIError(f"{method} {path}: HTTP {response.status_code} {response.text[:1000]}")
        return response

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params).json()

    def post(self, path: str, body: dict[str, Any], expect: tuple[int, ...] = (200, 201)) -> Any:
        return self.request("POST", path, json=body, expect=expect).json()

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("PATCH", path, json=body).json()

    # -- the calls the tests make -------------------------------------------------------------------

    def trigger(self, dag_id: str, run_id: str, logical_date: str | None, conf: dict[str, Any]) -> Any:
        """Create a run; a retry after a lock error may find it already created (409), which is fine."""
        body = {"dag_run_id": run_id, "logical_date": logical_date, "conf": conf}
        answer = self.post(f"/dags/{q(dag_id)}/dagRuns", body, expect=(200, 201, 409))
        if answer.get("dag_run_id") != run_id:
            answer = self.get(f"/dags/{q(dag_id)}/dagRuns/{q(run_id)}")
        return answer

    def run(self, dag_id: str, run_id: str) -> Any:
        return self.get(f"/dags/{q(dag_id)}/dagRuns/{q(run_id)}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every task instance of the run, mapped ones included (one per map index)."""
        answer = self.get(f"/dags/{q(dag_id)}/dagRuns/{q(run_id)}/taskInstances", limit=1000)
        return list(answer["task_instances"])

    def ti_path(self, dag_id: str, run_id: str, task_id: str) -> str:
        return f"/dags/{q(dag_id)}/dagRuns/{q(run_id)}/taskInstances/{q(task_id)}"

    def xcom(
        self, dag_id: str, run_id: str, task_id: str, key: str = "return_value", map_index: int = -1
    ) -> Any:
        path = f"{self.ti_path(dag_id, run_id, task_id)}/xcomEntries/{q(key)}"
        return self.get(path, map_index=map_index, deserialize="true")["value"]

    def links(self, dag_id: str, run_id: str, task_id: str) -> dict[str, str | None]:
        return dict(self.get(f"{self.ti_path(dag_id, run_id, task_id)}/links")["extra_links"])

    def log(self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> str:
        """The task log as the UI gets it (JSON), whole; the secrets sweep reads it as text."""
        path = f"{self.ti_path(dag_id, run_id, task_id)}/logs/{try_number}"
        response = self.request("GET", path, params={"map_index": map_index, "full_content": "true"})
        return response.text
