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
- wire floor: the same loop keeping only the bytes (no JSON decoding): what the simulator, the HTTP stack
  and the 2 cores cost before any decoding;
- latency floor: ``ceil(pages / concurrency) * latency``;
- cpu s: the client process's CPU time (user + system, all threads) during the fetch: with the GIL, a
  client cannot take less wall time than the CPU time its one interpreter needs;
- peak memory per kept record: our peak RSS minus the RSS before the fetch started (after the imports),
  divided by the records kept;
- and, without network, one 1000-score page decoded, checked and flattened by ``decode_page`` against a
  bare ``json.loads`` of the same bytes (interleaved, same process), as a ratio.

``--profile`` runs our client at concurrency 1, 4 and 8 under ``cProfile`` (one profiler per thread, the
page pool's threads included), through the operator's path (the summary and the XCom serialisation of
the records too), and prints where the time goes.

    python benchmarks/throughput.py [--entities 100000] [--latency 0.02] [--reps 3] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
PAGE = 1000
TARGETS = {
    "page decoding vs json.loads (>= 1.0x)": ("page", 1.0, ">="),
    "concurrency 1 vs official (>= 5x)": ("official:1", 5.0, ">="),
    "concurrency 8 vs official (>= 15x)": ("official:8", 15.0, ">="),
    "concurrency 4 vs transport floor (<= 1.2x)": ("transport:4", 1.2, "<="),
    "concurrency 8 vs transport floor (<= 1.2x)": ("transport:8", 1.2, "<="),
    "concurrency 8 vs latency floor (<= 1.5x)": ("latency:8", 1.5, "<="),
}


# -- workers (run in a subprocess each) --------------------------------------------------------------


def worker(mode: str, url: str, concurrency: int, expected: int) -> dict[str, Any]:
    """Run one client once; imports happen before the clock starts, so only fetching is timed."""
    from airflow_provider_scorecards.simulator import DEFAULT_API_KEY, DEFAULT_APP_KEY

    fetch = {"ours": _ours, "official": _official, "transport": _transport, "wire": _wire}[mode](
        url, concurrency, expected, DEFAULT_API_KEY, DEFAULT_APP_KEY
    )
    before = _rss_mb()
    cpu_before = os.times()
    started = time.perf_counter()
    count = fetch()
    wall = time.perf_counter() - started
    cpu_after = os.times()
    if count != expected:
        raise SystemExit(f"{mode}: fetched {count} scores, expected {expected}")
    return {
        "wall": wall,
        "cpu": cpu_after.user - cpu_before.user + cpu_after.system - cpu_before.system,
        "count": count,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_mb": before,
    }


def _rss_mb() -> float:
    """The resident set size now (Linux), in MiB: what the imports cost before the clock starts."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


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


def _wire(url: str, concurrency: int, expected: int, api_key: str, app_key: str) -> Callable[[], int]:
    return _transport(url, concurrency, expected, api_key, app_key, decode=False)


def _transport(
    url: str, concurrency: int, expected: int, api_key: str, app_key: str, *, decode: bool = True
) -> Callable[[], int]:
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
            if not decode:  # the bytes are read, not decoded: count what the page must hold
                return min(PAGE, max(expected - offset, 0)) if response.content else 0
            return len(json.loads(response.content)["data"])

        offsets = range(0, expected + 1, PAGE)  # the last request is the short (empty) page
        if concurrency == 1:
            return sum(one(o) for o in offsets)
        with ThreadPoolExecutor(concurrency) as pool:
            return sum(pool.map(one, offsets))

    return fetch


# -- parsing alone ---------------------------------------------------------------------------------


def fetch_bodies(url: str, pages: int) -> list[bytes]:
    import requests

    from airflow_provider_scorecards.simulator import DEFAULT_API_KEY, DEFAULT_APP_KEY

    headers = {"DD-API-KEY": DEFAULT_API_KEY, "DD-APPLICATION-KEY": DEFAULT_APP_KEY}
    return [
        requests.get(
            url + "/api/v2/scorecard/scores/by-entity",
            headers=headers,
            params={"page[offset]": i * PAGE, "page[limit]": PAGE},
            timeout=60,
        ).content
        for i in range(pages)
    ]


def page_ratio(bodies: list[bytes], reps: int = 15) -> tuple[float, float, float]:
    """Median of ``json.loads`` time / ``decode_page`` time over 1000-score pages, interleaved.

    Returns the ratio (above 1.0: decoding, checking and flattening beats a bare ``json.loads``) and both
    rates in scores/s. Each repetition decodes every body both ways, alternating which goes first.
    """
    from airflow_provider_scorecards.client.pages import decode_page

    for body in bodies:  # warm up (lazy imports, decoder construction)
        decode_page(body, 0)
    ratios, ours, bare = [], [], []
    count = sum(len(json.loads(body)["data"]) for body in bodies)
    for rep in range(reps):
        timings = {}
        for name in ("json", "ours") if rep % 2 else ("ours", "json"):
            started = time.perf_counter()
            if name == "json":
                for body in bodies:
                    json.loads(body)
            else:
                for offset, body in enumerate(bodies):
                    decode_page(body, offset * PAGE)
            timings[name] = time.perf_counter() - started
        ratios.append(timings["json"] / timings["ours"])
        ours.append(count / timings["ours"])
        bare.append(count / timings["json"])
    return statistics.median(ratios), statistics.median(ours), statistics.median(bare)


# -- profiling ---------------------------------------------------------------------------------------


def profile_ours(url: str, concurrency: int, expected: int, top: int) -> str:
    """Where our time goes at ``concurrency``: one cProfile per thread, merged, sorted by own time.

    Follows the operator's path: the stream's pages collected with the operator's summary, then the
    records serialised as Airflow serialises an XCom value.
    """
    from airflow_provider_scorecards.simulator import DEFAULT_API_KEY, DEFAULT_APP_KEY

    _ours(url, concurrency, expected, DEFAULT_API_KEY, DEFAULT_APP_KEY)  # sets the connection, imports
    from airflow.sdk.bases.xcom import BaseXCom

    from airflow_provider_scorecards.client.query import ScoresQuery
    from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook
    from airflow_provider_scorecards.operators.summary import ScoreSummary

    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start_in_thread(*_: Any) -> None:
        profile = cProfile.Profile()
        with lock:
            profiles.append(profile)
        profile.enable()

    main = cProfile.Profile()
    phases: dict[str, float] = {}
    threading.setprofile(start_in_thread)
    main.enable()
    started = time.perf_counter()
    with DatadogScorecardsHook(concurrency=concurrency) as hook:
        stream = hook.get_conn().stream(
            ScoresQuery.build("by-entity", page_limit=PAGE), concurrency=concurrency
        )
        summary, records = ScoreSummary(), []
        for batch in summary.counted(stream, raw=False):
            records.extend(batch)
    phases["fetch + summary"] = time.perf_counter() - started
    started = time.perf_counter()
    json.dumps(BaseXCom.serialize_value(records))  # serde, then the JSON the API server receives
    phases["XCom serialisation"] = time.perf_counter() - started
    main.disable()
    threading.setprofile(None)  # type: ignore[arg-type]
    if len(records) != expected:
        raise SystemExit(f"profile: fetched {len(records)} scores, expected {expected}")
    stats = pstats.Stats(main, stream=io.StringIO())
    for profile in profiles:
        profile.disable()
        stats.add(profile)
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(top)
    lines = [f"concurrency {concurrency}: " + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items())]
    lines += [line for line in out.getvalue().splitlines() if line.strip()][-(top + 1) :]
    return "\n".join(lines)


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


def run_profile(url: str, concurrency: int, expected: int, top: int) -> str:
    command = [sys.executable, str(HERE), "--worker", "profile", "--url", url]
    command += ["--concurrency", str(concurrency), "--entities", str(expected), "--top", str(top)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"profile worker failed:\n{result.stderr[-3000:]}")
    return result.stdout.rstrip()


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
    parser.add_argument("--profile", action="store_true", help="profile ours at concurrency 1, 4 and 8")
    parser.add_argument("--top", type=int, default=18, help="functions listed per profile")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "profile":
        print(profile_ours(args.url, args.concurrency, args.entities, args.top))
        return 0
    if args.worker:
        print(json.dumps(worker(args.worker, args.url, args.concurrency, args.entities)))
        return 0

    process, url = start_simulator(args.entities, args.latency)
    if args.profile:
        try:
            run_worker("transport", url, 8, args.entities)
            for concurrency in (1, 4, 8):
                print(run_profile(url, concurrency, args.entities, args.top), end="\n\n")
        finally:
            process.terminate()
            process.wait(timeout=10)
        return 0
    try:
        run_worker("transport", url, 8, args.entities)  # warm the simulator's cache of this query
        pages = math.ceil(args.entities / PAGE) + (1 if args.entities % PAGE == 0 else 0)
        cells: list[tuple[str, str, int]] = [("official", "official client, sequential", 1)]
        for concurrency in (1, 4, 8):
            cells += [
                ("ours", f"ours, concurrency {concurrency}", concurrency),
                ("transport", f"transport floor, concurrency {concurrency}", concurrency),
                ("wire", f"wire floor, concurrency {concurrency}", concurrency),
            ]
        results: dict[str, dict[str, float]] = {}
        for mode, label, concurrency in cells:
            runs = [run_worker(mode, url, concurrency, args.entities) for _ in range(args.reps)]
            results[label] = {
                "wall": statistics.median(r["wall"] for r in runs),
                "cpu": statistics.median(r["cpu"] for r in runs),
                "rss": statistics.median(r["max_rss_mb"] for r in runs),
                "fetch_rss": statistics.median(r["max_rss_mb"] - r["rss_before_mb"] for r in runs),
                "concurrency": concurrency,
            }
        ratio, ours_rate, bare_rate = page_ratio(fetch_bodies(url, pages=min(10, pages)))
    finally:
        process.terminate()
        process.wait(timeout=10)

    official = results["official client, sequential"]["wall"]
    setup = f"{args.entities:,} by-entity scores, pages of {PAGE} ({pages} requests)"
    machine = f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    print(f"{setup}, {args.latency * 1000:.0f} ms added latency, median of {args.reps}; {machine}")
    header = f"{'':38} {'wall s':>8} {'cpu s':>6} {'scores/s':>10} {'peak MB':>8} {'KB/record':>10}"
    print(f"{header} {'vs official':>12} {'vs transport':>13} {'vs latency':>11}")
    measured: dict[str, float] = {"page": ratio}
    for label, data in results.items():
        wall, concurrency = data["wall"], int(data["concurrency"])
        speedup = official / wall
        floor = results.get(f"transport floor, concurrency {concurrency}", {})
        versus_floor = per_record = versus_latency = ""
        if floor and label.startswith("ours"):
            versus_floor = f"{wall / floor['wall']:.2f}x"
            per_record = f"{data['fetch_rss'] * 1024 / args.entities:.2f}"
            latency_floor = math.ceil(pages / concurrency) * args.latency
            versus_latency = f"{wall / latency_floor:.2f}x"
            measured[f"official:{concurrency}"] = speedup
            measured[f"transport:{concurrency}"] = wall / floor["wall"]
            measured[f"latency:{concurrency}"] = wall / latency_floor
        print(
            f"{label:38} {wall:8.2f} {data['cpu']:6.2f} {args.entities / wall:10,.0f} "
            f"{data['rss']:8.0f} {per_record:>10} "
            f"{speedup:11.1f}x {versus_floor:>13} {versus_latency:>11}"
        )
    for concurrency in (1, 4, 8):
        print(
            f"{'latency floor, concurrency ' + str(concurrency):38} "
            f"{math.ceil(pages / concurrency) * args.latency:8.2f}"
        )
    print(
        f"one 1000-score page: decode_page {ours_rate:,.0f} scores/s, bare json.loads {bare_rate:,.0f} "
        f"scores/s: {ratio:.2f}x"
    )
    for name, (key, bound, sense) in TARGETS.items():
        value = measured[key]
        met = value >= bound if sense == ">=" else value <= bound
        print(f"target {name}: {value:.2f}x, {'met' if met else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
