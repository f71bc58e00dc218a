"""One clock for all simulated timing, with a time-scale factor.

Simulated time runs `time_scale` times faster than real time, so a 30 s call
takes 0.3 s of test time at scale 100. Epoch stamps in events come from the
simulated clock, so durations (billsec, talk_time) stay consistent with the
scenario rather than with the wall clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


class Clock:
    def __init__(self, time_scale: float = 1.0, start: float | None = None) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = float(time_scale)
        self._mono0 = time.monotonic()
        self._epoch0 = time.time() if start is None else start

    def now(self) -> float:
        """Simulated epoch seconds."""
        return self._epoch0 + (time.monotonic() - self._mono0) * self.time_scale

    def now_us(self) -> int:
        return int(self.now() * 1_000_000)

    def real_delay(self, sim_seconds: float) -> float:
        return max(0.0, sim_seconds) / self.time_scale

    async def sleep(self, sim_seconds: float) -> None:
        await asyncio.sleep(self.real_delay(sim_seconds))

    def call_later(
        self, sim_seconds: float, fn: Callable[..., Any], *args: Any
    ) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(self.real_delay(sim_seconds), fn, *args)
