"""MockTransport: HTTP answers from a function, for tests of code on the client without a server.

As httpx's ``MockTransport``: ``ScorecardsClient(settings, transport=MockTransport(handler))`` sends each
request to ``handler(path, params)``, which returns a :class:`Response`. Everything above the wire is
the real transport's: pacing on the rate-limit headers, retries and backoff, the typed errors, body limits.
"""

from __future__ import annotations

import io
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


class MockTransport(requests.adapters.BaseAdapter):
    """Answer every request with ``handler(path, params)``; remember each request in ``requests``."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.closed = False

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        """Record the request and return the handler's answer as ``requests`` would."""
        url = urlsplit(request.url or "")
        path, params = url.path, dict(parse_qsl(url.query, keep_blank_values=True))
        self.requests.append((path, params))
        answer = self.handler(path, params)
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
