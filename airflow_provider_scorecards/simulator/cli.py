"""``scorecards-simulator``: run the simulator from a shell (the demo uses this).

It prints the connection to paste into Airflow's environment. Bad options and a port already in use end
with one line saying what to change, not a traceback.
"""

from __future__ import annotations

import argparse
import errno
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

from airflow_provider_scorecards.client.sites import is_loopback
from airflow_provider_scorecards.hooks import DEFAULT_CONN_ID
from airflow_provider_scorecards.simulator import (
    DEFAULT_API_KEY,
    DEFAULT_APP_KEY,
    WILDCARD_HOSTS,
    ScorecardsSimulator,
    required_key,
)
from airflow_provider_scorecards.simulator.faults import FaultPlan
from airflow_provider_scorecards.simulator.org import Organisation


def _number(convert: Callable[[str], float], accept: Callable[[float], bool], expected: str) -> Any:
    """Return an argparse type: ``convert``, then refuse a value ``accept`` rejects as not ``expected``."""

    def parse(text: str) -> float:
        value = convert(text)
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value

    return parse


_POSITIVE_INT = _number(int, lambda value: value >= 1, "a whole number of at least 1")
_POSITIVE_FLOAT = _number(float, lambda value: value > 0, "a number above 0")
_SECONDS = _number(float, lambda value: value >= 0, "a number of seconds of at least 0")
_SHARE = _number(float, lambda value: 0 <= value <= 1, "a share from 0 to 1")
_PORT = _number(int, lambda value: 0 <= value <= 65535, "a port from 0 (a free one) to 65535")


def _key(text: str) -> str:
    try:
        return required_key("the key", text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """Build the ``scorecards-simulator`` command line: organisation, keys, faults and rate limits."""
    parser = argparse.ArgumentParser(
        prog="scorecards-simulator", description="Serve a simulated Datadog Scorecards API on loopback."
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1); 0.0.0.0 listens on every interface, with a warning",
    )
    parser.add_argument("--port", type=_PORT, default=0, help="port (default: a free one)")
    parser.add_argument("--port-file", help="write the chosen port to this file once listening")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated organisation")
    parser.add_argument("--entities", type=_POSITIVE_INT, default=200, help="number of entities (at least 1)")
    parser.add_argument("--org-file", help="load the organisation from a JSON file instead")
    parser.add_argument(
        "--improve-every", type=_POSITIVE_FLOAT, help="drift: improve outcomes every N seconds"
    )
    parser.add_argument(
        "--improve-every-requests", type=_POSITIVE_INT, help="drift: one step per N score requests"
    )
    parser.add_argument("--latency", type=_SECONDS, default=0.0, help="seconds added to every request")
    parser.add_argument(
        "--outcome-delay", type=_SECONDS, default=0.5, help="seconds before posted outcomes count"
    )
    parser.add_argument(
        "--error-rate",
        type=_SHARE,
        default=0.0,
        help="share of requests answered 5xx",
    )
    parser.add_argument(
        "--rate-limit", type=_POSITIVE_INT, default=10_000, help="requests per period before 429"
    )
    parser.add_argument(
        "--rate-limit-period", type=_POSITIVE_FLOAT, default=10.0, help="rate-limit window (s)"
    )
    parser.add_argument(
        "--api-key",
        type=_key,
        default=DEFAULT_API_KEY,
        help="API key the simulator accepts (default: a fake key shipped in the package)",
    )
    parser.add_argument(
        "--app-key",
        type=_key,
        default=DEFAULT_APP_KEY,
        help="application key it accepts (default: a fake key shipped in the package)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request (no headers)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT; return the exit status (2, with why, for a port it cannot bind)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    sim = ScorecardsSimulator(
        seed=args.seed,
        entities=args.entities,
        organisation=_organisation(parser, args.org_file) if args.org_file else None,
        api_key=args.api_key,
        app_key=args.app_key,
        host=args.host,
        port=args.port,
        improve_every=args.improve_every,
        improve_every_requests=args.improve_every_requests,
        rate_limit=args.rate_limit,
        rate_limit_period=args.rate_limit_period,
        faults=FaultPlan(latency=args.latency, error_rate=args.error_rate),
        outcome_delay=args.outcome_delay,
    )
    try:
        sim.start()
    except OSError as exc:
        parser.exit(2, f"{parser.prog}: error: {_bind_problem(args.host, args.port, exc)}\n")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        if args.port_file:
            with open(args.port_file, "w", encoding="utf-8") as handle:
                handle.write(str(sim.port))
        warning = _exposure_warning(args.host, args.api_key, args.app_key)
        if warning:
            print(f"WARNING: {warning}", file=sys.stderr, flush=True)
        print(_banner(sim, args.host), flush=True)
        stop.wait()
    finally:
        sim.stop()
    return 0


def _organisation(parser: argparse.ArgumentParser, path: str) -> Organisation:
    """Read ``--org-file``, or end with one line naming the file and what is wrong with it."""
    try:
        return Organisation.from_json_file(path)
    except OSError as exc:
        parser.error(f"argument --org-file: cannot read {path}: {exc.strerror or exc}")
    except (ValueError, KeyError, TypeError) as exc:
        what = f"a missing or unknown name: {exc}" if isinstance(exc, KeyError) else str(exc)[:200]
        parser.error(f"argument --org-file: {path} is not an organisation saved as JSON ({what})")


def _bind_problem(host: str, port: int, exc: OSError) -> str:
    """Explain what went wrong binding ``host:port``, and what to change."""
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use (another simulator, the Datadog Agent, ...): "
            "choose another --port, or leave --port out for a free one"
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"not allowed to listen on port {port} of {host}: choose a --port above 1023"
    if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
        return f"cannot listen on {host!r}: not an address of this machine ({exc.strerror or exc})"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"


def _exposure_warning(host: str, api_key: str, app_key: str) -> str | None:
    """Warn when other machines can reach the simulator (and, with the default keys, read it)."""
    if is_loopback(host):
        return None
    keys = (
        "with the default keys, which ship in the package and are public"
        if (api_key, app_key) == (DEFAULT_API_KEY, DEFAULT_APP_KEY)
        else "with the keys given"
    )
    use = (
        "Airflow must run on this machine and use the loopback connection printed below"
        if host in WILDCARD_HOSTS
        else "the provider cannot use this address at all"
    )
    return (
        f"--host {host} listens beyond loopback: whoever reaches this machine can query the simulator "
        f"{keys}. The provider sends keys over plain http only to a loopback address, so {use}."
    )


def _banner(sim: ScorecardsSimulator, host: str) -> str:
    """Describe what the simulator serves and the connection that reaches it (always a loopback one)."""
    where = sim.url
    lines = [
        f"Scorecards simulator on {where} ({len(sim.org.entities)} entities, "
        f"{len(sim.org.teams)} teams, {len(sim.org.rules)} rules)",
        f"Scores page: {where}/software/scorecards",
    ]
    if host in WILDCARD_HOSTS or is_loopback(host):  # the provider talks plain http only to loopback
        lines += [
            "Connection for Airflow (paste into the environment of every Airflow component):",
            f"  export AIRFLOW_CONN_{DEFAULT_CONN_ID.upper()}='{sim.connection_uri()}'",
        ]
    else:
        lines.append(
            f"No connection printed: the provider refuses plain http to {host}, which is not a loopback "
            "address; bind 127.0.0.1 (the default) or 0.0.0.0 and connect through 127.0.0.1."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
