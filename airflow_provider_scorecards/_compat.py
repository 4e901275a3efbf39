"""The few Airflow names whose home moved between 3.0 and 3.3.

Everything else is imported from ``airflow.sdk`` directly. Newer locations are tried first so Airflow 3.3
raises no deprecation warnings; the fallbacks keep Airflow 3.0 working (the oldest release we declare).
"""

from __future__ import annotations

try:
    from airflow.sdk import BaseHook
except ImportError:  # Airflow 3.0
    from airflow.hooks.base import BaseHook  # type: ignore[no-redef,attr-defined,unused-ignore]

try:
    from airflow.sdk.exceptions import (
        AirflowFailException,
        AirflowSensorTimeout,
        AirflowSkipException,
        TaskDeferred,
    )
except ImportError:  # Airflow 3.0
    from airflow.exceptions import (  # type: ignore[no-redef,attr-defined,unused-ignore]
        AirflowFailException,
        AirflowSensorTimeout,
        AirflowSkipException,
        TaskDeferred,
    )

try:
    from airflow.sdk.exceptions import AirflowNotFoundException, TaskDeferralTimeout
except ImportError:  # Airflow 3.0
    from airflow.exceptions import (  # type: ignore[no-redef,attr-defined,unused-ignore]
        AirflowNotFoundException,
        TaskDeferralTimeout,
    )

try:  # registers a secret with Airflow's log masker (effective inside a worker's log pipeline)
    from airflow.sdk.log import mask_secret
except ImportError:  # Airflow 3.0
    from airflow.sdk.execution_time.secrets_masker import (  # type: ignore[no-redef,unused-ignore]
        mask_secret,
    )


__all__ = [
    "AirflowFailException",
    "AirflowNotFoundException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "BaseHook",
    "TaskDeferralTimeout",
    "TaskDeferred",
    "mask_secret",
]
