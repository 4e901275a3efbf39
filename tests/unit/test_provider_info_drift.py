"""get_provider_info lists exactly the modules that define the provider's hooks, task classes and links."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
from types import ModuleType

from airflow.sdk import BaseOperator, BaseOperatorLink, BaseSensorOperator
from airflow.triggers.base import BaseTrigger

try:
    from airflow.sdk import BaseNotifier
except ImportError:  # Airflow 3.0
    from airflow.sdk.bases.notifier import BaseNotifier  # type: ignore[no-redef,unused-ignore]

import airflow_provider_scorecards
from airflow_provider_scorecards._compat import BaseHook
from airflow_provider_scorecards.get_provider_info import get_provider_info

SKIPPED = ("airflow_provider_scorecards.simulator", "airflow_provider_scorecards.example_dags")
"""Subpackages that define no Airflow component (the simulator) or are DAG files (parsed, not listed)."""


def package_modules() -> list[ModuleType]:
    names = [
        info.name
        for info in pkgutil.walk_packages(
            airflow_provider_scorecards.__path__, "airflow_provider_scorecards."
        )
        if not info.name.startswith(SKIPPED)
    ]
    return [importlib.import_module(name) for name in names]


def defined_here(module: ModuleType, base: type) -> list[type]:
    """Concrete public classes defined in ``module`` (not imported into it) that subclass ``base``.

    Base classes of our own (``...Base...``) are building blocks, not components Airflow lists.
    """
    return [
        cls
        for name, cls in vars(module).items()
        if inspect.isclass(cls)
        and cls.__module__ == module.__name__
        and issubclass(cls, base)
        and not name.startswith("_")
        and "Base" not in name
    ]


def derived() -> dict[str, list[str]]:
    kinds = ("hooks", "operators", "sensors", "triggers", "links", "notifications")
    found: dict[str, set[str]] = {k: set() for k in kinds}
    for module in package_modules():
        name = module.__name__
        if defined_here(module, BaseHook):
            found["hooks"].add(name)
        if any(not issubclass(c, BaseSensorOperator) for c in defined_here(module, BaseOperator)):
            found["operators"].add(name)
        if defined_here(module, BaseSensorOperator):
            found["sensors"].add(name)
        if defined_here(module, BaseTrigger):
            found["triggers"].add(name)
        found["links"].update(f"{name}.{c.__qualname__}" for c in defined_here(module, BaseOperatorLink))
        found["notifications"].update(f"{name}.{c.__qualname__}" for c in defined_here(module, BaseNotifier))
    return {k: sorted(v) for k, v in found.items()}


def listed() -> dict[str, list[str]]:
    info = get_provider_info()
    result = {
        section: sorted(name for entry in info[section] for name in entry["python-modules"])
        for section in ("hooks", "operators", "sensors", "triggers")
    }
    result["links"] = sorted(info["extra-links"])
    result["notifications"] = sorted(info["notifications"])
    return result


def test_provider_info_lists_exactly_what_the_modules_define() -> None:
    assert listed() == derived()


def test_the_derivation_finds_every_kind_of_component() -> None:
    """Guards the test above: an empty derivation would make it pass on an empty provider info."""
    found = derived()
    assert all(found.values()), found
    assert "airflow_provider_scorecards.triggers.events" in found["triggers"]
    assert found["links"] == ["airflow_provider_scorecards.operators.links.ScorecardsLink"]


def test_the_hook_of_the_connection_type_is_the_listed_hook() -> None:
    (conn,) = get_provider_info()["connection-types"]
    module, _, cls = conn["hook-class-name"].rpartition(".")
    hook = getattr(importlib.import_module(module), cls)
    assert module in listed()["hooks"]
    assert hook.conn_type == conn["connection-type"]


def test_reading_the_metadata_imports_nothing_of_the_provider() -> None:
    """Airflow reads it in every process (scheduler, api-server, workers): no hook, client or msgspec."""
    probe = (
        "import sys, airflow_provider_scorecards.get_provider_info as m; m.get_provider_info();"
        "print(sorted(n for n in sys.modules if n.startswith('airflow_provider_scorecards')))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    loaded = result.stdout
    assert loaded.strip() == str(
        ["airflow_provider_scorecards", "airflow_provider_scorecards.get_provider_info"]
    )
