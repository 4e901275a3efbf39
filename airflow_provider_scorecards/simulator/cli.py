"""``scorecards-simulator``: run the simulator from a shell (the demo uses this)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from airflow_provider_scorecards.simulator import DEFAULT_API_KEY, DEFAULT_APP_KEY, ScorecardsSimulator
from airflow_provider_scorecards.simulator.faults import FaultPlan
from airflow_provider_scorecards.simulator.org import Organisation


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scorecards-simulator", description="Serve a simulated Datadog Scorecards API on loopback."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--port-file", help="write the chosen port to this file once listening")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated organisation")
    parser.add_argument("--entities", type=int, default=200, help="number of entities")
    parser.add_argument("--org-file", help="load the organisation from a JSON file instead")
    parser.add_argument("--improve-every", type=float, help="drift: improve outcomes every N seconds")
    parser.add_argument("--improve-every-requests", type=int, help="drift: one step per N score requests")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of requests answered 5xx")
    parser.add_argument("--rate-limit", type=int, default=10_000, help="requests per period before 429")
    parser.add_argument("--rate-limit-period", type=float, default=10.0, help="rate-limit window (s)")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="API key the simulator accepts")
    parser.add_argument("--app-key", default=DEFAULT_APP_KEY, help="application key it accepts")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request (no headers)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    org = Organisation.from_json_file(args.org_file) if args.org_file else None
    sim = ScorecardsSimulator(
        seed=args.seed,
        entities=args.entities,
        organisation=org,
        api_key=args.api_key,
        app_key=args.app_key,
        host=args.host,
        port=args.port,
        improve_every=args.improve_every,
        improve_every_requests=args.improve_every_requests,
        rate_limit=args.rate_limit,
        rate_limit_period=args.rate_limit_period,
        faults=FaultPlan(latency=args.latency, error_rate=args.error_rate),
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with sim:
        if args.port_file:
            with open(args.port_file, "w", encoding="utf-8") as handle:
                handle.write(str(sim.port))
        print(
            f"Scorecards simulator on {sim.url} ({len(sim.org.entities)} entities, "
            f"{len(sim.org.teams)} teams, {len(sim.org.rules)} rules)\n"
            f"Scores page: {sim.url}/software/scorecards\n"
            "Connection for Airflow (paste into the environment of every Airflow component):\n"
            f"  export AIRFLOW_CONN_DATADOG_SCORECARDS_DEFAULT='{sim.connection_uri()}'",
            flush=True,
        )
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
