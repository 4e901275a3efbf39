"""The Scorecards view's FastAPI app: its two routes, each behind Airflow's own authorization.

Both read the ``verdict`` XCom of the gate tasks (with bounded queries on the XCom table's indexes) and
answer with the HTML of :mod:`.pages`. A user sees a verdict only when they may read that DAG's XComs.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from airflow.models.xcom import XComModel
from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from airflow_provider_scorecards.client.bounded_json import load_json
from airflow_provider_scorecards.operators.links import ScorecardsLink
from airflow_provider_scorecards.plugins import pages

VERDICT = "verdict"
LINK = ScorecardsLink().xcom_key
ROWS_READ = 500
"""The navigation page reads at most this many of the newest verdicts."""
_SCRIPT = base64.b64encode(hashlib.sha256(pages.THEME.encode()).digest()).decode()
POLICY = (
    "default-src 'none'; base-uri 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'self'; "
    f"script-src 'sha256-{_SCRIPT}'"
)

app = FastAPI(title="Scorecards view", docs_url=None, redoc_url=None, openapi_url=None)
may_read_xcoms = Depends(requires_access_dag("GET", DagAccessEntity.XCOM))


@app.middleware("http")
async def _policy(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Only the page's own inline script and style may run, whatever text a page holds."""
    response = await call_next(request)
    response.headers["Content-Security-Policy"] = POLICY
    return response


def _document(value: Any) -> dict[str, Any] | None:
    """Return an XCom's stored value as a gate's verdict, or None when it is not one.

    Any task may push a ``verdict`` of its own: only a mapping with a boolean ``met`` and lists of ids
    (strings) is shown as a gate's (stored as JSON text or as JSON).
    """
    if isinstance(value, str | bytes):
        try:
            value = load_json(value)
        except (ValueError, RecursionError):
            return None
    if not (isinstance(value, dict) and isinstance(value.get("met"), bool)):
        return None
    ids = [value.get(key, []) for key in ("failing", "missing", "waived")]
    return value if all(isinstance(i, list) and all(type(x) is str for x in i) for i in ids) else None


@app.get("/verdict", response_class=HTMLResponse, dependencies=[may_read_xcoms])
def verdict(dag_id: str, run_id: str, task_id: str, session: SessionDep, map_index: str = "-1") -> str:
    """Serve the task-instance tab: one gate task instance's verdict (``{MAP_INDEX}`` as is: not mapped)."""
    try:
        index = -1 if map_index == "{MAP_INDEX}" else int(map_index)
    except ValueError:
        raise HTTPException(400, "map_index must be an integer") from None
    rows = session.execute(
        select(XComModel.key, XComModel.value, XComModel.timestamp).where(
            XComModel.dag_id == dag_id,
            XComModel.task_id == task_id,
            XComModel.run_id == run_id,
            XComModel.map_index == index,
            XComModel.key.in_((VERDICT, LINK)),
        )
    ).all()
    found = {key: (value, moment) for key, value, moment in rows}
    document = _document(found[VERDICT][0]) if VERDICT in found else None
    if document is None:
        return pages.not_a_gate_page(task_id)
    link = found.get(LINK, (None,))[0]
    ti = {"dag_id": dag_id, "run_id": run_id, "task_id": task_id, "map_index": index}
    return pages.verdict_page(ti, document, found[VERDICT][1], link if isinstance(link, str) else None)


@app.get("/gates", response_class=HTMLResponse)
def gates(user: GetUserDep, session: SessionDep, dag_id: str = "") -> str:
    """Serve the navigation page: the latest verdict of each gate task in the DAGs the user may read."""
    manager = get_auth_manager()
    readable = manager.get_authorized_dag_ids(user=user)
    wanted = {  # the XComs' right checked before the LIMIT, so unreadable rows never spend the budget
        d
        for d in (readable & {dag_id} if dag_id else readable)
        if manager.is_authorized_dag(
            method="GET", access_entity=DagAccessEntity.XCOM, details=DagDetails(id=d), user=user
        )
    }
    columns = (XComModel.dag_id, XComModel.run_id, XComModel.task_id, XComModel.map_index)
    found = session.execute(
        select(*columns, XComModel.value, XComModel.timestamp)
        .where(XComModel.key == VERDICT, XComModel.dag_id.in_(wanted))
        .order_by(XComModel.timestamp.desc())
        .limit(ROWS_READ)
    ).all()
    latest: dict[tuple[str, str, int], dict[str, Any]] = {}
    for dag, run, task, index, value, moment in found:
        if (document := _document(value)) is not None:
            row = {"dag_id": dag, "run_id": run, "task_id": task, "map_index": index}
            latest.setdefault((dag, task, index), {**row, "verdict": document, "checked": moment})
    return pages.gates_page(list(latest.values()), dag_id)
