"""A faithful, offline Datadog Scorecards API for demos and tests (standard library only).

Usage in a test::

    with ScorecardsSimulator(seed=7, entities=300) as sim:
        conn_uri = sim.connection_uri()  # for AIRFLOW_CONN_DATADOG_SCORECARDS_DEFAULT
        expected = sim.expected_scores("by-team")

From a shell: ``scorecards-simulator --port 8765 --seed 7``; in pytest, the ``scorecards_simulator``
fixture of :mod:`airflow_provider_scorecards.testing`.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from typing import Any
from urllib.parse import quote, urlencode

from airflow_provider_scorecards.hooks import CONN_TYPE
from airflow_provider_scorecards.simulator.faults import FaultInjector, FaultPlan
from airflow_provider_scorecards.simulator.org import Organisation, RuleFilter
from airflow_provider_scorecards.simulator.params import parse_filter
from airflow_provider_scorecards.simulator.rules import Writes
from airflow_provider_scorecards.simulator.server import RateLimiter, RequestRecord, SimulatorHTTPServer

DEFAULT_API_KEY = "sim-api-key-00000000000000000000"
"""The API key the simulator accepts unless given another: a fake, public value shipped in the package.

It opens nothing but a simulator, which listens on loopback unless told otherwise (see ``host``); it is
no Datadog key and never works against Datadog.
"""
DEFAULT_APP_KEY = "sim-app-key-0000000000000000000000000000"
"""The application key the simulator accepts unless given another: fake and public, like the API key."""
WILDCARD_HOSTS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}
"""The addresses that listen on every interface, and the loopback address that reaches each."""

__all__ = ["DEFAULT_API_KEY", "DEFAULT_APP_KEY", "FaultPlan", "Organisation", "ScorecardsSimulator"]


def required_key(name: str, value: str) -> str:
    """Return a key the simulator will demand, refusing a blank one (it would let keyless requests in)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            f"{name} must not be blank: the simulator would accept requests sending an empty key"
        )
    return value


class ScorecardsSimulator:
    """A running simulator: an organisation, an HTTP server on loopback, faults and a request log.

    :param seed: seed of the generated organisation (same seed, same organisation).
    :param entities: number of entities (services, datastores, queues, websites).
    :param teams: number of teams of the generated organisation (default: about one per ten entities, 3 or
        more).
    :param organisation: use this organisation instead of generating one.
    :param api_key: the API key requests must carry (default: :data:`DEFAULT_API_KEY`, fake and public).
    :param app_key: the application key requests must carry (default: :data:`DEFAULT_APP_KEY`).
    :param bearer_token: also accept ``Authorization: Bearer <token>`` instead of the two keys.
    :param host: the address to bind, loopback by default. A wildcard (``0.0.0.0``, ``::``) listens on
        every interface; :attr:`url` and the connection then name the loopback address, the only one the
        provider talks plain http to.
    :param port: the port to bind; 0 (default) picks a free one, read back from :attr:`port`.
    :param improve_every: drift: every this many seconds, outcomes improve by one step (None = no drift).
    :param improve_every_requests: drift by traffic instead of time: one step per this many answered
        score requests (deterministic, for tests of sensors that must see a score cross a bound).
    :param rate_limit: requests allowed per ``rate_limit_period`` seconds before 429.
    :param rate_limit_period: the window of ``rate_limit``, in seconds.
    :param faults: random fault rates and added latency (see :mod:`.faults`); ``sim.faults.inject`` adds
        deterministic ones.
    :param outcome_delay: seconds between accepting posted outcomes and counting them (0: at once).
    """

    def __init__(
        self,
        seed: int = 7,
        entities: int = 200,
        *,
        teams: int | None = None,
        organisation: Organisation | None = None,
        api_key: str = DEFAULT_API_KEY,
        app_key: str = DEFAULT_APP_KEY,
        bearer_token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        improve_every: float | None = None,
        improve_every_requests: int | None = None,
        rate_limit: int = 10_000,
        rate_limit_period: float = 10.0,
        faults: FaultPlan | None = None,
        outcome_delay: float = 0.5,
    ) -> None:
        if organisation is None and (
            isinstance(entities, bool) or not isinstance(entities, int) or entities < 1
        ):
            raise ValueError(f"entities must be a whole number of at least 1, got {entities!r}")
        self.writes = Writes(
            organisation or Organisation.generate(seed=seed, entities=entities, teams=teams), outcome_delay
        )
        self.api_key = required_key("api_key", api_key)
        self.app_key = required_key("app_key", app_key)
        self.bearer_token = None if bearer_token is None else required_key("bearer_token", bearer_token)
        self.host = host
        self.port = port
        self.improve_every = improve_every
        self.improve_every_requests = improve_every_requests
        self._answered = 0
        self.rate_limiter = RateLimiter(rate_limit, rate_limit_period)
        self.faults = FaultInjector(faults or FaultPlan())
        self.requests: list[RequestRecord] = []
        self._manual_step = 0
        self._started_at = time.monotonic()
        self._lock = self.writes.lock
        self._ids = itertools.count(1)
        self._grow = itertools.count(1)
        self._cache: dict[tuple[Any, ...], list[str]] = {}
        self._server: SimulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> ScorecardsSimulator:
        """Serve in a daemon thread; with ``port=0`` the chosen free port is in ``port`` afterwards."""
        if self._server is not None:
            return self
        self._server = SimulatorHTTPServer((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._started_at = time.monotonic()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="scorecards-simulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; stopping twice is harmless."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ScorecardsSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL to reach the running server, e.g. ``http://127.0.0.1:41234``.

        Bound to a wildcard address, the server is reached here through loopback.
        """
        if self._server is None:
            raise RuntimeError("the simulator is not running; call start() or use it as a context manager")
        host = WILDCARD_HOSTS.get(self.host, self.host)
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def connection_uri(self, conn_type: str = CONN_TYPE) -> str:
        """Return an Airflow connection URI pointing at this simulator, for ``AIRFLOW_CONN_<ID>``.

        ``<type>://:<api key>@/?app_key_secret=...&api_url=...``: Airflow's URI form, where the scheme
        is the connection type with ``_`` written ``-`` and the query holds the extra fields.
        """
        spec = self.connection_dict(conn_type)
        scheme = spec["conn_type"].replace("_", "-")
        return f"{scheme}://:{quote(spec['password'], safe='')}@/?{urlencode(spec['extra'])}"

    def connection_json(self, conn_type: str = CONN_TYPE) -> str:
        """Return the same connection in Airflow's JSON form (also accepted by ``AIRFLOW_CONN_<ID>``)."""
        return json.dumps(self.connection_dict(conn_type))

    def connection_dict(self, conn_type: str = CONN_TYPE) -> dict[str, Any]:
        """Return the connection as a dict: ``conn_type``, ``password`` (the API key) and ``extra``."""
        extra: dict[str, Any] = {"app_key_secret": self.app_key, "api_url": self.url}
        if self.bearer_token:
            extra["bearer_token"] = self.bearer_token
        return {"conn_type": conn_type, "password": self.api_key, "extra": extra}

    @property
    def org(self) -> Organisation:
        """The organisation now: with the rules created through the API, and the posted outcomes due."""
        return self.writes.current()

    # -- drift --------------------------------------------------------------------------------------

    @property
    def step(self) -> int:
        """The current drift step (0 = outcomes as generated)."""
        step = self._manual_step
        if self.improve_every:
            step += int((time.monotonic() - self._started_at) // self.improve_every)
        if self.improve_every_requests:
            step += self._answered // self.improve_every_requests
        return min(step, self.org.fix_steps)

    def advance(self, steps: int = 1) -> None:
        """Improve outcomes by ``steps`` drift steps now (tests use this instead of waiting)."""
        with self._lock:
            self._manual_step += steps

    def set_score(self, entity_id: str, score: float, *, scorecard_id: str) -> None:
        """Give an entity this score on a scorecard from now on, whatever the drift.

        The score is passes / (passes + fails) over the scorecard's rules, so it must be a multiple of
        1 / (number of rules): production-readiness has 5 rules (0, 0.2, ... 1). The entity's outcomes on
        those rules are pinned: the first ones pass, the others fail.
        """
        entity_index = next((i for i, e in enumerate(self.org.entities) if e.id == entity_id), None)
        if entity_index is None:
            raise ValueError(f"no entity {entity_id!r} in the simulated organisation")
        rules = [i for i, rule in enumerate(self.org.rules) if rule.scorecard_id == scorecard_id]
        if not rules:
            known = ", ".join(sorted({rule.scorecard_id for rule in self.org.rules}))
            raise ValueError(f"no scorecard {scorecard_id!r}; the simulated ones are {known}")
        passes = round(score * len(rules))
        if not 0 <= score <= 1 or abs(passes / len(rules) - score) > 1e-9:
            allowed = ", ".join(f"{n / len(rules):g}" for n in range(len(rules) + 1))
            raise ValueError(
                f"score {score!r} is not possible on {scorecard_id!r} ({len(rules)} rules): expected one of "
                f"{allowed}"
            )
        with self._lock:
            for position, rule_index in enumerate(rules):
                self.org.pin_outcome(entity_index, rule_index, "pass" if position < passes else "fail")
            self._cache.clear()

    # -- expected answers ---------------------------------------------------------------------------

    def expected_scores(
        self, aggregation: str, params: dict[str, str] | None = None, sort: str | None = None
    ) -> list[dict[str, Any]]:
        """Return what the endpoint answers to a query (all pages joined), from the organisation directly.

        ``params`` are wire-format filters (``{"filter[rule][level]": "1,2"}``).
        """
        return _sorted(self.org.scores(aggregation, parse_filter(params or {}), self.step), sort)

    # -- request log --------------------------------------------------------------------------------

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self.requests.append(record)
            if record.status == 200 and record.path.startswith("/api/v2/scorecard/scores/"):
                self._answered += 1

    def score_requests(self) -> list[RequestRecord]:
        """Return the logged requests to the scores endpoint (what tests count to prove sharing or paging)."""
        return [r for r in self.requests if r.path.startswith("/api/v2/scorecard/scores/")]

    def reset_log(self) -> None:
        """Forget the logged requests, so a test counts only its own."""
        with self._lock:
            self.requests.clear()

    # -- serving ------------------------------------------------------------------------------------

    def _serialised_scores(self, aggregation: str, rule_filter: RuleFilter, sort: str | None) -> list[str]:
        """Score objects as JSON strings, cached per query and drift step (pages are slices of this)."""
        org = self.org
        key = (aggregation, rule_filter, sort, self.step, self.writes.version)
        cached = self._cache.get(key)
        if cached is None:
            items = _sorted(org.scores(aggregation, rule_filter, key[3]), sort)
            cached = [json.dumps(item, separators=(",", ":")) for item in items]
            with self._lock:
                if len(self._cache) > 64:
                    self._cache.clear()
                self._cache[key] = cached
        return cached


def _sorted(items: list[dict[str, Any]], sort: str | None) -> list[dict[str, Any]]:
    """Order by a numeric field; items arrive ordered by id, and the stable sort keeps that as tie-break."""
    if not sort:
        return items
    field = sort.lstrip("-")
    sign = -1 if sort.startswith("-") else 1
    return sorted(items, key=lambda item: sign * item["attributes"][field])
