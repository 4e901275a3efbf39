"""What importing some modules loads, seen from a fresh interpreter (this process has loaded everything)."""

from __future__ import annotations

import json
import subprocess
import sys

_PROBE = """
import importlib, json, sys
for name in sys.argv[2:]:
    importlib.import_module(name)
families = tuple(json.loads(sys.argv[1]))
print(json.dumps(sorted(m for m in sys.modules if m in families or m.startswith(tuple(f + "." for f in families)))))
"""


def loaded_by(imports: list[str], families: tuple[str, ...]) -> list[str]:
    """The modules of ``families`` (each a package with its submodules) that importing ``imports`` loads."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(families), *imports],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded
