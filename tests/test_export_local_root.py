"""The export example warns when its output_root is a local path under an executor that spreads tasks over
machines (its report reads back what other tasks wrote). The deployment tier shows the warning in a real
Celery worker's task log, and its absence under LocalExecutor."""

from __future__ import annotations

import pytest
from airflow_provider_scorecards.example_dags.scorecards_export import local_root_warning


@pytest.mark.parametrize(
    "executor",
    [
        "CeleryExecutor",
        "KubernetesExecutor",
        "airflow.providers.celery.executors.celery_executor.CeleryExecutor",
        "LocalExecutor,CeleryExecutor",
        "fleet:airflow.providers.cncf.kubernetes.executors.kubernetes_executor.KubernetesExecutor",
    ],
)
@pytest.mark.parametrize("root", ["file:///tmp/airflow-scorecards", "/srv/scorecards"])
def test_local_root_under_a_distributed_executor_warns(
    monkeypatch: pytest.MonkeyPatch, executor: str, root: str
) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", executor)
    warning = local_root_warning(root)
    assert warning is not None
    assert repr(root) in warning
    assert ("Kubernetes" if "Kubernetes" in executor else "CeleryExecutor") in warning
    assert "LocalExecutor" not in warning
    assert "shared storage (s3://, gs://, ...)" in warning


@pytest.mark.parametrize("executor", ["LocalExecutor", "SequentialExecutor", "LocalExecutor,"])
def test_local_root_on_one_machine_is_fine(monkeypatch: pytest.MonkeyPatch, executor: str) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", executor)
    assert local_root_warning("file:///tmp/airflow-scorecards") is None


@pytest.mark.parametrize("root", ["s3://bucket/scorecards", "gs://bucket/scorecards"])
def test_shared_storage_never_warns(monkeypatch: pytest.MonkeyPatch, root: str) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    assert local_root_warning(root) is None
