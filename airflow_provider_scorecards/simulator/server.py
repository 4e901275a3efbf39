"""The simulator's HTTP server: the "List all scores" endpoint as Datadog serves it.

Standard library only (``http.server``, one thread per connection, HTTP/1.1 keep-alive). It answers
``GET /api/v2/scorecard/scores/{aggregation}`` and ``GET /api/v1/validate`` with Datadog's wire details:
``application/vnd.api+json``, ``links.next`` on every page (even the last, empty one), ``meta`` with
count/limit/offset/total, JSON:API error objects, ``X-RateLimit-*`` headers and 429 when the window is
spent; the rules list and the writes are :mod:`.rules`'s. It imports nothing from the provider's client
code: it is an independent reading of the API.
What a scores request asks for (filters, sort, paging) is parsed by
:mod:`~airflow_provider_scorecards.simulator.params` before the handler builds the page.

Nothing here logs a request header, so credentials never reach the simulator's log.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from airflow_provider_scorecards.simulator.faults import Fault
from airflow_provider_scorecards.simulator.outcomes import OUTCOMES_PATH, outcomes_body
from airflow_provider_scorecards.simulator.params import (
    FILTER_PARAMS,
    ApiError,
    int_param,
    page_link,
    parse_scores_request,
)
from airflow_provider_scorecards.simulator.rules import LATE_FAULTS, RULES_PATH, read_body, rules_answer
from airflow_provider_scorecards.simulator.web_page import PAGE_PATH, render_scores_page

if TYPE_CHECKING:
    from airflow_provider_scorecards.simulator import ScorecardsSimulator

logger = logging.getLogger("airflow_provider_scorecards.simulator")

SCORES_PREFIX = "/api/v2/scorecard/scores/"
ADVANCE_PATH = "/_simulator/advance"
WRITES_PATH = "/_simulator/writes"
JSONAPI = "application/vnd.api+json"


@dataclass(frozen=True)
class RequestRecord:
    """One request as the simulator saw it (no headers: they carry the keys)."""

    path: str
    params: dict[str, str]
    status: int
    fault: str | None
    authorised: bool
    at: float


class RateLimiter:
    """A fixed window per simulator, like Datadog's per-organisation limits."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self._lock = threading.Lock()
        self._window_start = time.monotonic()
        self._used = 0

    def take(self) -> tuple[bool, dict[str, str]]:
        """Spend one request of the window: return whether it is allowed and the ``X-RateLimit-*`` headers."""
        with self._lock:
            now = time.monotonic()
            if now - self._window_start >= self.period:
                self._window_start = now
                self._used = 0
            allowed = self._used < self.limit
            if allowed:
                self._used += 1
            reset = max(0.0, self.period - (now - self._window_start))
            rounded = math.ceil(reset * 1000) / 1000 if reset < 1 else math.ceil(reset)
            return allowed, self.headers(max(0, self.limit - self._used), rounded)

    def headers(self, remaining: int, reset: float) -> dict[str, str]:
        """Return the ``X-RateLimit-*`` headers: ``remaining`` requests, the window resets in ``reset`` s."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Period": _number(self.period),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": _number(reset),
            "X-RateLimit-Name": "scorecard_scores",
        }


class SimulatorHTTPServer(ThreadingHTTPServer):
    """The threaded server that hands its simulator to every handler; stopping waits for no connection."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sim: ScorecardsSimulator) -> None:
        self.sim = sim
        super().__init__(address, ScorecardsRequestHandler)


class ScorecardsRequestHandler(BaseHTTPRequestHandler):
    """Answers one connection's requests as Datadog would, faults included, and logs no header."""

    server: SimulatorHTTPServer
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes; without TCP_NODELAY, Nagle's algorithm and the client's
    # delayed ACK hold every keep-alive answer back by ~40 ms.
    disable_nagle_algorithm = True
    server_version = "ScorecardsSimulator"
    _body: bytes | ApiError = b""  # a POST's body, read before its answer
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Send the access log line to the module's debug logger instead of stderr (it holds no header)."""
        logger.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        """Answer a GET: apply a due fault, then authenticate, rate-limit and route it as the API does."""
        sim = self.server.sim
        parts = urlsplit(self.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        self._begin_log(parts.path, params)
        try:
            if sim.faults.plan.latency:
                time.sleep(sim.faults.plan.latency)
            fault = sim.faults.next_fault() if parts.path.startswith("/api/") else None
            kind = fault.kind if fault else None
            self._log_entry["fault"] = kind
            late = fault if self.command == "POST" and kind in LATE_FAULTS else None
            if fault is not None and late is None and self._apply_fault(fault):
                return
            if parts.path == PAGE_PATH:
                self._send_body(200, render_scores_page(sim), "text/html; charset=utf-8")
                return
            if parts.path == (ADVANCE_PATH if self.command == "POST" else WRITES_PATH):
                self._send_control(parts.path, params)
                return
            authorised = self._authorised(parts.path)
            self._log_entry["authorised"] = authorised
            if not authorised:
                self._send_error(403, "invalid or missing API key or application key")
                return
            allowed, rate_headers = sim.rate_limiter.take()
            if not allowed:
                self._send_error(429, "rate limit exceeded for scorecard_scores", rate_headers)
                return
            if parts.path == "/api/v1/validate":
                self._send_json(200, {"valid": True}, "application/json", rate_headers)
                return
            try:
                if parts.path == RULES_PATH or self.command == "POST":
                    status, body = rules_answer(sim, self.command, parts.path, params, self._body, kind)
                elif parts.path == OUTCOMES_PATH:
                    status, body = 200, outcomes_body(sim, params, kind)
                elif parts.path.startswith(SCORES_PREFIX):
                    status, body = 200, self._scores_body(parts.path[len(SCORES_PREFIX) :], params, kind)
                else:
                    raise ApiError(404, f"no route for {parts.path}")
            except ApiError as exc:
                status, body = exc.status, json.dumps(exc.body).encode()
            if status < 400 and kind == "truncate":
                body = body[: max(1, len(body) // 2)]
            if late is None or not self._apply_fault(late):  # else the write is done, its answer lost
                self._send_body(status, body, JSONAPI, rate_headers)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            self._log(0)  # no answer was sent (a dropped connection)

    def _begin_log(self, path: str, params: dict[str, str]) -> None:
        """Start the request's log entry; :meth:`_log` records it once the status is known."""
        self._log_entry: dict[str, Any] = {"path": path, "params": params, "fault": None, "authorised": False}
        self._logged = False

    def _log(self, status: int) -> None:
        """Record the request once, before its answer leaves, so a client never outruns the log."""
        if not self._logged:
            self._logged = True
            self.server.sim._record(RequestRecord(status=status, at=time.time(), **self._log_entry))

    def do_POST(self) -> None:
        """Answer the API's writes, and ``POST /_simulator/advance?steps=N`` (API key): N drift steps now."""
        path = urlsplit(self.path).path
        if path in (RULES_PATH, OUTCOMES_PATH):
            self._body = read_body(self)
        if path in (RULES_PATH, OUTCOMES_PATH, ADVANCE_PATH):
            self.do_GET()
        else:
            self.do_PUT()

    def do_PUT(self) -> None:
        """Refuse the methods the API does not serve with 405, logged like any other request."""
        self._begin_log(urlsplit(self.path).path, {})
        self._send_error(405, "the Scorecards API only serves GET")

    do_DELETE = do_PATCH = do_PUT

    # -- pieces -------------------------------------------------------------------------------------

    def _send_control(self, path: str, params: dict[str, str]) -> None:
        """Answer ``GET /_simulator/writes`` (rules created, results posted) and the drift, by API key."""
        sim = self.server.sim
        try:
            if self.headers.get("DD-API-KEY") != sim.api_key:
                raise ApiError(403, "invalid or missing API key")
            writes = sim.writes
            if path == WRITES_PATH:
                answer = {"rules": writes.created_rules(), "posted_outcomes": writes.posted_outcomes()}
            else:
                answer = drift_answer(sim, int_param(params, "steps", 1, 1, 100))
        except ApiError as exc:
            self._send_json(exc.status, exc.body, JSONAPI)
            return
        self._send_json(200, answer, "application/json")

    def _authorised(self, path: str) -> bool:
        sim = self.server.sim
        if sim.bearer_token and self.headers.get("Authorization") == f"Bearer {sim.bearer_token}":
            return True
        app_ok = path == "/api/v1/validate" or self.headers.get("DD-APPLICATION-KEY") == sim.app_key
        return self.headers.get("DD-API-KEY") == sim.api_key and app_ok

    def _apply_fault(self, fault: Fault) -> bool:
        """Act out a transport-level fault; True when the request is finished (answered or dropped)."""
        if fault.kind == "drop":
            self.close_connection = True
            return True
        if fault.kind == "slow":
            time.sleep(self.server.sim.faults.plan.slow_seconds)
            return False  # then answer normally (the client has usually given up)
        if fault.kind == "status":
            self._send_error(fault.status, "injected server error")
            return True
        if fault.kind == "redirect":
            self._send_body(302, b"", "text/plain", {"Location": fault.redirect_to + self.path})
            return True
        if fault.kind != "rate_limit":
            return False  # body-level faults are applied while building the page
        headers: dict[str, str] = {}
        if fault.rate_limit_headers == "reset":
            headers = self.server.sim.rate_limiter.headers(0, fault.reset_seconds)
        elif fault.rate_limit_headers == "retry-after":
            headers = {"Retry-After": _number(fault.reset_seconds)}
        self._send_error(429, "injected rate limit", headers)
        return True

    def _scores_body(self, aggregation: str, params: dict[str, str], kind: str | None) -> bytes:
        sim = self.server.sim
        request = parse_scores_request(aggregation, params)
        offset, limit = request.offset, request.limit
        items = sim._serialised_scores(aggregation, request.rule_filter, request.sort)
        total = len(items)
        start = offset - limit if kind == "repeat_page" and offset >= limit else offset  # the previous page
        page_items = items[start : start + limit]
        if kind == "grow_total":
            total += next(sim._grow) * limit
        if kind == "bad_shape":
            return json.dumps({"data": {"unexpected": page_items[:1]}, "meta": "none"}).encode()
        next_params = {k: v for k, v in params.items() if k in FILTER_PARAMS or k == "sort"}
        next_params["page[limit]"] = str(limit)
        next_params["page[offset]"] = "0" if kind == "loop_next" else str(offset + limit)
        tail = json.dumps(
            {
                "links": {"next": page_link(SCORES_PREFIX + aggregation, next_params)},
                "meta": {"count": len(page_items), "limit": limit, "offset": offset, "total": total},
            }
        ).replace("&", "\\u0026")
        return ('{"data":[' + ",".join(page_items) + "]," + tail[1:]).encode()

    def _send_error(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        self._send_json(status, ApiError(status, detail).body, JSONAPI, headers)

    def _send_json(
        self, status: int, payload: Any, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self._send_body(status, json.dumps(payload).encode(), content_type, headers)

    def _send_body(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self._log(status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Request-Id", f"sim-{next(self.server.sim._ids)}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:  # set before the answer: say so
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


def drift_answer(sim: ScorecardsSimulator, steps: int) -> dict[str, Any]:
    """Drift up to ``steps`` steps, never past the last one, and say what happened.

    Drift ends once every failing outcome passes (``max_step``): a caller asking for more is told how far
    it went (``advanced``) and that nothing is left to improve, instead of the same step in silence.
    """
    last = sim.org.fix_steps
    before = sim.step
    sim.advance(max(0, min(steps, last - before)))
    after = sim.step
    answer: dict[str, Any] = {
        "step": after,
        "max_step": last,
        "advanced": after - before,
        "at_last_step": after >= last,
    }
    if after - before < steps:
        answer["detail"] = (
            f"drift stops at step {last}: every failing outcome passes from there on, so "
            f"{steps - (after - before)} of the {steps} steps asked for had nothing left to improve"
        )
    return answer


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"
