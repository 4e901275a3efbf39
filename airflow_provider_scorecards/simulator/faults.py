"""Fault injection for the simulator: what can go wrong between a client and Datadog, on demand.

By rates (``FaultPlan(error_rate=0.1, drop_rate=0.05)``, drawn from a seeded generator) or by script
(``sim.faults.inject("status", count=2, status=503)``: exactly the next matching requests). Kinds:
``status`` (a JSON:API error), ``rate_limit`` (429 with Datadog's headers, ``Retry-After`` only, or
neither), ``drop`` (no answer), ``slow``, ``truncate`` (half the body), ``bad_shape`` (valid JSON, wrong
shape), the paging misbehaviours ``repeat_page``, ``grow_total`` (a larger ``meta.total`` on every page)
and ``loop_next`` (a ``links.next`` back to the first page), and ``redirect`` (a 302 to ``redirect_to``).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

PAGING_FAULTS = ("repeat_page", "grow_total", "loop_next")
"""The paging misbehaviours, which ``FaultInjector.set_always`` can keep on."""
FAULT_KINDS = ("status", "rate_limit", "drop", "slow", "truncate", "bad_shape", *PAGING_FAULTS, "redirect")


@dataclass
class Fault:
    """One fault for one request: its kind, and the details only some kinds use."""

    kind: str
    status: int = 503
    rate_limit_headers: str = "reset"  # "reset" (X-RateLimit-*), "retry-after", or "none"
    reset_seconds: float = 1.0
    redirect_to: str = ""


@dataclass
class FaultPlan:
    """Random fault rates (0..1), drawn from ``seed``, plus the fixed latency added to every API request.

    ``error_rate`` answers a 500, 502, 503 or 504; ``slow_seconds`` is how long a ``slow`` fault stalls.
    """

    latency: float = 0.0
    error_rate: float = 0.0
    drop_rate: float = 0.0
    slow_seconds: float = 2.0
    seed: int = 0


@dataclass
class FaultInjector:
    """Decides, per request, which fault (if any) applies. Thread-safe."""

    plan: FaultPlan = field(default_factory=FaultPlan)
    _script: list[Fault | None] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _rng: random.Random = field(init=False)
    injected: int = 0
    always: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.plan.seed)

    def inject(
        self,
        kind: str,
        count: int = 1,
        *,
        status: int = 503,
        rate_limit_headers: str = "reset",
        reset_seconds: float = 1.0,
        after: int = 0,
        redirect_to: str = "",
    ) -> None:
        """Apply ``kind`` to ``count`` API requests, after ``after`` more requests (in arrival order)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if kind == "redirect" and not redirect_to.startswith(("http://", "https://")):
            # A same-host path would prove nothing about keys leaving for another host.
            raise ValueError("a redirect fault needs redirect_to, the base URL of another server")
        with self._lock:
            self._script.extend([None] * after)
            self._script.extend(
                Fault(kind, status, rate_limit_headers, reset_seconds, redirect_to.rstrip("/"))
                for _ in range(count)
            )

    def set_always(self, kind: str, enabled: bool = True) -> None:
        """Keep a paging misbehaviour (:data:`PAGING_FAULTS`) on for every request."""
        with self._lock:
            (self.always.add if enabled else self.always.discard)(kind)

    def next_fault(self) -> Fault | None:
        """Return the fault for the request that just arrived, or None.

        The script comes first (a scripted pause, from ``after``, answers normally), then the always-on
        misbehaviours, then the seeded rates of ``plan``.
        """
        with self._lock:
            if self._script:
                scripted = self._script.pop(0)
                if scripted is not None:
                    self.injected += 1
                    return scripted
                return None
            for kind in PAGING_FAULTS:
                if kind in self.always:
                    return Fault(kind)
            for kind, rate in (("status", self.plan.error_rate), ("drop", self.plan.drop_rate)):
                if rate and self._rng.random() < rate:
                    self.injected += 1
                    return Fault(kind, status=self._rng.choice((500, 502, 503, 504)))
        return None
