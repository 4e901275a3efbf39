"""A total deadline per request: connect, headers and the whole body, whatever the server's pace.

``requests``' ``timeout`` bounds each wait for the socket, not the request: a server that sends one byte
per second never trips it. Here a request is given a deadline when it starts; a watchdog thread (one per
transport, started when a request is in flight and gone once none has been for a second) shuts down the
sockets of any request still running at its deadline, which makes the blocked read return at once. The
transport then reports a timeout, as for any other read that took too long.

Sockets are found through urllib3's connection classes, subclassed here only to say which request a
connection is serving (a thread-local set by the transport around the request): nothing else is changed.
``requests`` and ``urllib3`` are imported when the first adapter is built, not when this module is.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests.adapters

IDLE_SECONDS = 1.0
"""How long the watchdog thread outlives the last request it watched."""

_serving = threading.local()
"""The :class:`RequestClock` of the request this thread is sending (``None`` between requests)."""


class RequestClock:
    """One request's deadline and the connections that carry it."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.expired = False
        self._connections: list[Any] = []
        self._lock = threading.Lock()

    def attach(self, connection: Any) -> None:
        """Record that a connection now carries this request (a new one, or one reused from the pool).

        A request already expired has the connection shut at once: a late attach is never missed.
        """
        with self._lock:
            self._connections.append(connection)
            expired = self.expired
        if expired:
            _shut(connection)

    def expire(self) -> None:
        """Mark the request expired and shut its connections, so that its blocked read returns now."""
        with self._lock:
            self.expired = True
            connections = list(self._connections)
        for connection in connections:
            _shut(connection)


def _shut(connection: Any) -> None:
    if (sock := getattr(connection, "sock", None)) is not None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


class RequestWatchdog:
    """Expires the requests of one transport at their deadlines (see the module docstring)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._active: set[RequestClock] = set()
        self._thread: threading.Thread | None = None

    @contextmanager
    def request(self, seconds: float) -> Iterator[RequestClock]:
        """Watch the block, which sends one request that must be over within ``seconds``."""
        clock = RequestClock(time.monotonic() + seconds)
        with self._condition:
            self._active.add(clock)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="scorecards-deadline", daemon=True)
                self._thread.start()
            self._condition.notify()
        previous = getattr(_serving, "clock", None)
        _serving.clock = clock
        try:
            yield clock
        finally:
            _serving.clock = previous
            with self._condition:
                self._active.discard(clock)

    def expire_all(self) -> None:
        """Expire every request in flight now (their blocked reads return at once)."""
        with self._condition:
            clocks = list(self._active)
        for clock in clocks:
            clock.expire()

    def _run(self) -> None:
        with self._condition:
            while True:
                if not self._active:
                    self._condition.wait(IDLE_SECONDS)
                    if not self._active:
                        self._thread = None
                        return
                    continue
                now = time.monotonic()
                for clock in [c for c in self._active if c.deadline <= now]:
                    self._active.discard(clock)
                    clock.expire()
                if self._active:
                    self._condition.wait(max(min(c.deadline for c in self._active) - now, 0.001))


def _attach_current(connection: Any) -> None:
    if (clock := getattr(_serving, "clock", None)) is not None:
        clock.attach(connection)


@functools.cache
def _pool_classes() -> dict[str, type[Any]]:
    """urllib3's pools, whose connections tell the current request's clock that they carry it."""
    from urllib3 import connection, connectionpool

    class HTTPConnection(connection.HTTPConnection):
        def _new_conn(self) -> socket.socket:
            _attach_current(self)  # before the TLS handshake: a slow handshake is bounded too
            return super()._new_conn()

        def request(self, *args: Any, **kwargs: Any) -> None:
            _attach_current(self)
            super().request(*args, **kwargs)

    class HTTPSConnection(HTTPConnection, connection.HTTPSConnection):  # the two methods above, over TLS
        pass

    class HTTPConnectionPool(connectionpool.HTTPConnectionPool):
        ConnectionCls = HTTPConnection

    class HTTPSConnectionPool(connectionpool.HTTPSConnectionPool):
        ConnectionCls = HTTPSConnection

    return {"http": HTTPConnectionPool, "https": HTTPSConnectionPool}


def deadline_adapter(pool_size: int) -> requests.adapters.HTTPAdapter:
    """Build a ``requests`` adapter whose connections (direct or through an HTTP proxy) obey the watchdog."""
    import requests.adapters
    import urllib3

    class DeadlineAdapter(requests.adapters.HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = _pool_classes()

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **kwargs)
            if type(manager) is urllib3.ProxyManager:  # a SOCKS manager keeps its own pools
                manager.pool_classes_by_scheme = _pool_classes()
            return manager

    return DeadlineAdapter(pool_connections=1, pool_maxsize=max(pool_size, 1))
