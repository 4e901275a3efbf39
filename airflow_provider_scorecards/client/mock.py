"""MockTransport: a transport that answers from a function, for tests of the client without a server.

As httpx's ``MockTransport``: pass it as ``ScorecardsClient(settings, transport=MockTransport(handler))``
and the client's pagination, deduplication and statistics run as they do against Datadog, while the
handler decides each answer. No retries and no pacing: those are the real transport's, tested on their own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from airflow_provider_scorecards.client.errors import ScorecardsTransportError
from airflow_provider_scorecards.client.transport import TransportStats

Handler = Callable[[str, dict[str, str]], bytes]
"""``handler(path, params) -> body``: the body of a 200 answer; raise a ``ScorecardsError`` for others."""


class MockTransport:
    """Answer every request with ``handler(path, params)``; remember each request in ``requests``.

    :param handler: returns the response body (bytes) for a path and its query parameters; raising a
        :class:`~airflow_provider_scorecards.client.errors.ScorecardsError` plays a failed request.
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.stats = TransportStats()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.closed = False
        self.abandoned = False

    def get_json(
        self, path: str, params: Mapping[str, str], decode: Callable[[bytes], Any] = json.loads
    ) -> Any:
        """Record the request, then decode the handler's body as the real transport does."""
        if self.abandoned:
            raise ScorecardsTransportError(f"GET {path}: abandoned, nobody waits for the answer")
        self.stats.requests += 1
        self.requests.append((path, dict(params)))
        return decode(self.handler(path, dict(params)))

    def abandon(self) -> None:
        """Refuse every later request, as the real transport does once its fetch is abandoned."""
        self.abandoned = True

    def close(self) -> None:
        """Mark the transport closed (the client closes what it was given)."""
        self.closed = True
