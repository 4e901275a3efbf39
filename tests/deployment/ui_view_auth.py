"""The restricted api-server's auth manager (scripts/deployment.py starts it): real logins, one refusal.

Airflow's simple auth manager, except that ``outsider`` may not read the example gate's DAG: neither its
pages nor its XComs, so the Scorecards view must refuse that user its verdicts and not list them.
"""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

OUTSIDER = "outsider"
READER = "reader"
HIDDEN_DAG = "scorecards_deploy_gate"


class RestrictedAuthManager(SimpleAuthManager):  # type: ignore[misc]
    """Refuse ``outsider`` the gate DAG; everything else as the simple auth manager decides."""

    def is_authorized_dag(
        self, *, method: Any, user: Any, access_entity: Any = None, details: Any = None
    ) -> bool:
        if user.get_name() == OUTSIDER and details is not None and details.id == HIDDEN_DAG:
            return False
        return bool(
            super().is_authorized_dag(method=method, user=user, access_entity=access_entity, details=details)
        )
