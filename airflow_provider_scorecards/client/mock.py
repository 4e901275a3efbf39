"""MockTransport: HTTP answers from a function, for tests of code on the client without a server.

As httpx's ``MockTransport``: ``ScorecardsClient(settings, transport=MockTransport(handler))`` sends each
GET to ``handler(path, params)``, and each write (a POST) to ``writes(method, path, body)`` with its
decoded JSON body; both return a :class:`Response`. Everything above the wire is the real transport's:
pacing on the rate-limit headers, retries and backoff, the typed errors, body limits.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.client import responses as reasons
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import requests.adapters
from requests.structures import CaseInsensitiveDict


@dataclass(frozen=True)
class Response:
    """One HTTP answer: ``Response(200, body)``, ``Response(429, headers={"Retry-After": "2"})``."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[[str, dict[str, str]], Response]
"""``handler(path, params) -> Response``: the answer to ``GET path?params``."""
WriteHandler = Callable[[str, str, Any], Response]
"""``writes(method, path, body) -> Response``: the answer to a write, given its decoded JSON body."""


class MockTransport(requests.adapters.BaseAdapter):
    """Answer GETs with ``handler``, writes with ``writes`` (405 without); remember every request.

    ``requests`` holds each GET's ``(path, params)``, ``writes_sent`` each write's ``(method, path, body)``.
    """

    def __init__(self, handler: Handler, writes: WriteHandler | None = None) -> None:
        super().__init__()
        self.handler = handler
        self.writes = writes
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.writes_sent: list[tuple[str, str, Any]] = []
        self.closed = False

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        """Record the request and return the handler's answer as ``requests`` would."""
        url = urlsplit(request.url or "")
        path, params = url.path, dict(parse_qsl(url.query, keep_blank_values=True))
        if request.method == "GET":
            self.requests.append((path, params))
            answer = self.handler(path, params)
        else:
            body = json.loads(request.body) if request.body else None
            self.writes_sent.append((request.method or "?", path, body))
            answer = self.writes(request.method or "?", path, body) if self.writes else Response(405)
        response = requests.Response()
        response.status_code = answer.status
        response.reason = reasons.get(answer.status, "")
        response.headers = CaseInsensitiveDict(answer.headers)
        response.raw = io.BytesIO(answer.body)
        response.url, response.request = request.url or "", request
        return response

    def close(self) -> None:
        """Mark the transport closed (the client closes what it was given)."""
        self.closed = True
