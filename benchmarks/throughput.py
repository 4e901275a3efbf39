"""Throughput: our hook against Datadog's official client and the floors of this machine, in one run.

The simulator runs in its own process (so it does not compete with the client for the GIL) serving
100,000 by-entity scores, pages of 1000, with a fixed added latency per request (default 20 ms). Every
client measurement runs in a fresh subprocess, so its peak memory (max RSS) is its own. Reported, as medians:

- ours: ``DatadogScorecardsHook.list_scores`` (the operator's path: pages, validation, flat records) at
  concurrency 1, 4 and 8;
- official: ``datadog-api-client``'s ``ScorecardsApi.list_scorecard_scores``, paging sequentially by offset
  the way its users do;
- transport floor: a bare loop of ``requests.get`` + ``json.loads`` over the same pages at the same
  concurrency, with no validation or flattening;
- latency floor: ``ceil(pages / concurrency) * latency``;
- and, without network, the records/s of our parsing and flattening alone.

    python benchmarks/throughput.py [--entities 100000] [--latency 0.02] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
PAGE = 1000


# -- workers (run in a subprocess each) --------------------------------------------------------------


def worker(mode: str, url: str, concurrency: int, expected: int) -> dict[str, Any]:
    """Run one client once; imports happen before the clock starts, so only fetching is timed."""
    from airflow_provider_scorecards.simulator import DEFAULT_API_KEY, DEFAULT_APP_KEY

    fetch = {"ours": _ours, "official": _official, "transport": _transport}[mode](
        url, concurrency, expected, DEFAULT_API_KEY, DEFAULT_APP_KEY
    )
    started = time.perf_counter()
    count = fetch()
    wall = time.perf_counter() - started
    if count != expected:
        raise SystemExit(f"{mode}: fetched {count} scores, expected {expected}")
    return {
        "wall": wall,
        "count": count,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _ours(url: str, concurrency: int, expected: int, api_key: str, app_key: str) -> Callable[[], int]:
    os.environ["AIRFLOW_CONN_DATADOG_SCORECARDS_DEFAULT"] = json.dumps(
        {
            "conn_type": "datadogscorecards",
            "password": api_key,
            "extra": {"app_key_secret": app_key, "api_url": url},
        }
    )
    import requests  # noqa: F401 - loaded by the hook on first use; imported here to keep it off the clock

    from airflow_provider_scorecards.client.query import ScoresQuery
    from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook

    def fetch() -> int:
        with DatadogScorecardsHook(concurrency=concurrency) as hook:
            records = (
                hook.get_conn()
                .fetch(ScoresQuery.build("by-entity", page_limit=PAGE), concurrency=concurrency)
                .records
            )
        return len(records)

    return fetch


def _official(url: str, concurrency: int, expected: int, api_key: str, app_key: str) -> Callable[[], int]:
    from datadog_api_client import ApiClient, Configuration
    from datadog_api_client.v2.api.scorecards_api import ScorecardsApi
    from datadog_api_client.v2.model.scorecard_scores_aggregation import ScorecardScoresAggregation

    def fetch() -> int:
        config = Configuration(host=url)  # type: ignore[no-untyped-call]
        config.api_key["apiKeyAuth"] = api_key
        config.api_key["appKeyAuth"] = app_key
        scores: list[Any] = []
        with ApiClient(config) as client:
            api = ScorecardsApi(client)  # type: ignore[no-untyped-call]
            offset = 0
            while True:
                page = api.list_scorecard_scores(
                    aggregation=ScorecardScoresAggregation.BY_ENTITY, page_limit=PAGE, page_offset=offset
                )
                scores.extend(page.data)
                if len(page.data) < PAGE:
                    break
                offset += PAGE
        return len(scores)

    return fetch


def _transport(url: str, concurrency: int, expected: int, api_key: str, app_key: str) -> Callable[[], int]:
    from concurrent.futures import ThreadPoolExecutor

    import requests

    headers = {"DD-API-KEY": api_key, "DD-APPLICATION-KEY": app_key}
    endpoint = url + "/api/v2/scorecard/scores/by-entity"

    def fetch() -> int:
        session = requests.Session()
        session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=max(concurrency, 1)))

        def one(offset: int) -> int:
            response = session.get(
                endpoint, headers=headers, params={"page[offset]": offset, "page[limit]": PAGE}
            )
            return len(json.loads(response.content)["data"])

        offsets = range(0, expected + 1, PAGE)  # the last request is the short (empty) page
        if concurrency == 1:
            return sum(one(o) for o in offsets)
        with ThreadPoolExecutor(concurrency) as pool:
            return sum(pool.map(one, offsets))

    return fetch


# -- parsing alone ---------------------------------------------------------------------------------


def parse_rate(url: str, pages: int) -> float:
    """Records/s of decode_page (JSON decoding with flattening) over real pages, no network in the timing."""
    import requests

    from airflow_provider_scorecards.client.pages import decode_page
    from airflow_provider_scorecards.simulator import DEFAULT_API_KEY, DEFAULT_APP_KEY

    headers = {"DD-API-KEY": DEFAULT_API_KEY, "DD-APPLICATION-KEY": DEFAULT_APP_KEY}
    bodies = [
        requests.get(
            url + "/api/v2/scorecard/scores/by-entity",
            headers=headers,
            params={"page[offset]": i * PAGE, "page[limit]": PAGE},
            timeout=60,
        ).content
        for i in range(pages)
    ]
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        count = 0
        for offset, body in enumerate(bodies):
            count += len(decode_page(body, offset * PAGE).items)
        runs.append(count / (time.perf_counter() - started))
    return statistics.median(runs)


# -- orchestration ---------------------------------------------------------------------------------


def run_worker(mode: str, url: str, concurrency: int, expected: int) -> dict[str, Any]:
    command = [
        sys.executable,
        str(HERE),
        "--worker",
        mode,
        "--url",
        url,
        "--concurrency",
        str(concurrency),
        "--entities",
        str(expected),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"worker {mode} failed:\n{result.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def start_simulator(entities: int, latency: float) -> tuple[subprocess.Popen[bytes], str]:
    port_file = Path(tempfile.mkdtemp()) / "port"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_scorecards.simulator.cli",
            "--entities",
            str(entities),
            "--latency",
            str(latency),
            "--rate-limit",
            "1000000",
            "--port-file",
            str(port_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not (port_file.exists() and port_file.read_text()):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the simulator did not start")
        time.sleep(0.05)
    return process, f"http://127.0.0.1:{port_file.read_text()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every request")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.url, args.concurrency, args.entities)))
        return 0

    process, url = start_simulator(args.entities, args.latency)
    try:
        run_worker("transport", url, 8, args.entities)  # warm the simulator's cache of this query
        pages = math.ceil(args.entities / PAGE) + (1 if args.entities % PAGE == 0 else 0)
        cells: list[tuple[str, str, int]] = [("official", "official client, sequential", 1)]
        for concurrency in (1, 4, 8):
            cells += [
                ("ours", f"ours, concurrency {concurrency}", concurrency),
                ("transport", f"transport floor, concurrency {concurrency}", concurrency),
            ]
        results: dict[str, dict[str, float]] = {}
        for mode, label, concurrency in cells:
            runs = [run_worker(mode, url, concurrency, args.entities) for _ in range(args.reps)]
            results[label] = {
                "wall": statistics.median(r["wall"] for r in runs),
                "rss": statistics.median(r["max_rss_mb"] for r in runs),
                "concurrency": concurrency,
            }
        rate = parse_rate(url, pages=min(20, pages))
    finally:
        process.terminate()
        process.wait(timeout=10)

    official = results["official client, sequential"]["wall"]
    setup = f"{args.entities:,} by-entity scores, pages of {PAGE} ({pages} requests)"
    machine = f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    print(f"{setup}, {args.latency * 1000:.0f} ms added latency, median of {args.reps}; {machine}")
    print(f"{'':38} {'wall s':>8} {'scores/s':>10} {'peak MB':>8} {'vs official':>12} {'vs transport':>13}")
    for label, data in results.items():
        wall, concurrency = data["wall"], int(data["concurrency"])
        speedup = official / wall
        floor = results.get(f"transport floor, concurrency {concurrency}", {}).get("wall")
        versus_floor = f"{wall / floor:.2f}x" if floor and label.startswith("ours") else ""
        print(
            f"{label:38} {wall:8.2f} {args.entities / wall:10,.0f} {data['rss']:8.0f} {speedup:11.1f}x "
            f"{versus_floor:>13}"
        )
    for concurrency in (1, 4, 8):
        print(
            f"{'latency floor, concurrency ' + str(concurrency):38} "
            f"{math.ceil(pages / concurrency) * args.latency:8.2f}"
        )
    print(f"parsing + flattening alone: {rate:,.0f} records/s")
    print(
        "targets: concurrency 8 >= 10x official; concurrency 1 >= 4x official; ours <= 1.2x transport floor"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
