"""What importing the provider adds to every DAG file's parse, measured in fresh interpreters.

Baseline: a DAG file's own imports (``from airflow.sdk import DAG, BaseOperator, BaseSensorOperator, task``).
Measured: the same, then our operator and sensor modules (what a DAG file that uses us imports). Each
figure is the median of many fresh interpreters; the ``-X importtime`` breakdown lists our modules and
whatever they pulled in that the baseline had not loaded. Heavy modules (requests, the simulator,
concurrency, object storage) must not be among them.

Bytecode: a deployment imports us from cached bytecode (``pip install`` compiles a wheel's modules, and
Python caches what it compiles), as it does Airflow. An editable checkout on a machine with
``PYTHONDONTWRITEBYTECODE`` set would instead recompile our modules at every import, so the package is
compiled first (``compileall``) and the figure is measured from the cache; the cost of compiling from
source is printed beside it for information.

    python benchmarks/import_cost.py [--runs 25]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "airflow_provider_scorecards"

TARGET_MS = 30.0
BASELINE = "from airflow.sdk import DAG, BaseOperator, BaseSensorOperator, task"
OURS = (
    "import airflow_provider_scorecards.operators.scores\nimport airflow_provider_scorecards.sensors.scores\n"
)
MUST_NOT_LOAD = (
    "requests",
    "urllib3",
    "concurrent.futures.thread",
    "airflow_provider_scorecards.simulator",
    "airflow_provider_scorecards.hooks.scorecards",
    "airflow_provider_scorecards.client.transport",
    "msgspec",
    "upath",
    "fsspec",
    "aiohttp",
)

PROBE = """
import sys, time, json
{baseline}
before = set(sys.modules)
start = time.perf_counter()
{ours}
elapsed = time.perf_counter() - start
print(json.dumps({{"ms": elapsed * 1000, "new": sorted(set(sys.modules) - before)}}))
"""


def measure(runs: int, env: dict[str, str] | None = None) -> tuple[list[float], list[str]]:
    times, new_modules = [], []
    for _ in range(runs):
        code = PROBE.format(baseline=BASELINE, ours=OURS)
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
        )
        data = json.loads(result.stdout.strip().splitlines()[-1])
        times.append(data["ms"])
        new_modules = data["new"]
    return times, new_modules


def importtime_breakdown() -> list[tuple[int, str]]:
    """Cumulative microseconds per module imported by our two modules (not by the baseline)."""
    code = f"{BASELINE}\n{OURS}"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    )
    baseline = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", BASELINE], capture_output=True, text=True, check=True
    )
    seen = {line.rsplit("|", 1)[-1].strip() for line in baseline.stderr.splitlines() if "|" in line}
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self_us, cumulative, name = (part.strip() for part in line[len("import time:") :].split("|"))
        if name not in seen:
            rows.append((int(cumulative), name))
    return sorted(rows, reverse=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25)
    args = parser.parse_args()
    for cache in PACKAGE.rglob("__pycache__"):
        shutil.rmtree(cache)
    source_env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    source_times, _ = measure(max(5, args.runs // 5), env=source_env)
    compileall.compile_dir(str(PACKAGE), quiet=1)
    times, new_modules = measure(args.runs, env=source_env)  # reads the cache, writes nothing
    median = statistics.median(times)
    print(f"Import cost of the operator and sensor modules over airflow.sdk ({args.runs} fresh interpreters)")
    spread = f"min {min(times):.1f} ms   max {max(times):.1f} ms"
    print(f"  median {median:.1f} ms   {spread}   target < {TARGET_MS:.0f} ms   (cached bytecode)")
    print(f"  median {statistics.median(source_times):.1f} ms from source (no bytecode cache; information)")
    print(f"  modules newly loaded: {len(new_modules)}")
    heavy = [m for m in new_modules if any(m == h or m.startswith(h + ".") for h in MUST_NOT_LOAD)]
    print(f"  heavy modules loaded at parse: {', '.join(heavy) if heavy else 'none'}")
    print("  -X importtime, cumulative, top 12 of what we add:")
    for cumulative, name in importtime_breakdown()[:12]:
        print(f"    {cumulative / 1000:7.1f} ms  {name}")
    verdict = "met" if median < TARGET_MS and not heavy else "MISSED"
    print(f"  target {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
