"""Call-rate limits: token buckets (per FreeSWITCH node, per carrier gateway) and a cap on
concurrent calls. Thread-safe; time comes from a clock function so tests need no sleeping.

FreeSWITCH counts every leg against its sessions-per-second budget (a customer bridged to a
callback agent is two sessions), and carriers refuse excess attempts with 503
(NORMAL_TEMPORARY_FAILURE). Set the buckets below the smaller of the carrier's CPS and
sessions-per-second ÷ legs per call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate)
        self._tokens = self.capacity
        self._clock = clock
        self._last = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def try_take(self) -> float:
        """Take a token: 0.0 when taken, else the seconds until one will be there."""
        with self._lock:
            self._refill()
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate

    def give_back(self) -> None:
        with self._lock:
            self._tokens = min(self.capacity, self._tokens + 1.0)


class CallLimiter:
    """All the limits one dial must pass, taken together or not at all."""

    def __init__(
        self,
        *,
        node_rate: float,
        gateway_rate: float,
        max_concurrent: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.node = TokenBucket(node_rate, clock=clock)
        self._gateway_rate = gateway_rate
        self._gateways: dict[str, TokenBucket] = {}
        self._clock = clock
        self.max_concurrent = max_concurrent
        self._lock = threading.Lock()

    def gateway(self, name: str) -> TokenBucket:
        with self._lock:
            bucket = self._gateways.get(name)
            if bucket is None:
                bucket = TokenBucket(self._gateway_rate, clock=self._clock)
                self._gateways[name] = bucket
            return bucket

    def try_acquire(self, gateway: str, in_flight: int) -> float:
        """0.0 when the call may be placed now; else seconds to wait before asking again."""
        if in_flight >= self.max_concurrent:
            return 0.05
        wait = self.node.try_take()
        if wait:
            return wait
        gateway_wait = self.gateway(gateway).try_take()
        if gateway_wait:
            self.node.give_back()
            return gateway_wait
        return 0.0
