"""Compliance ledger arithmetic: abandon rate over a rolling window (pure, no clock).

A campaign's abandon rate is abandons / live answers over a rolling window that ends at ``now``:
30 days under the US rule (FTC TSR, FCC), 24 hours under the UK rule (Ofcom). An abandon is a live
answer that got no agent within 2 s; under Ofcom an AMD mistake (a person hung up on as a machine)
counts as an abandon too, so the caller records it as both a live answer and an abandon.

Times are float seconds on any fixed epoch; the caller passes ``now``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

DAY = 86_400.0
US_WINDOW = 30 * DAY
UK_WINDOW = DAY
DEFAULT_CAP = 0.03


class Outcome(StrEnum):
    """What one ledger row says happened to a dial."""

    LIVE_ANSWER = "live_answer"  # a person answered and was connected within 2 s
    ABANDON = "abandon"  # a person answered and got no agent within 2 s (or AMD hung up on them)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    at: float
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class WindowRate:
    """Counts inside one window; ``live_answers`` includes the abandoned ones."""

    live_answers: int
    abandons: int
    window_start: float
    window_end: float

    @property
    def rate(self) -> float:
        return self.abandons / self.live_answers if self.live_answers else 0.0

    def projected(self, more_abandons: float, more_live_answers: float | None = None) -> float:
        """Rate if ``more_abandons`` more drops happen among ``more_live_answers`` more answers.

        Every abandon is also a live answer, so by default the answers grow by the same amount:
        this is the worst case "the next k answers are all dropped".
        """
        extra_live = more_abandons if more_live_answers is None else more_live_answers
        if extra_live < more_abandons:
            raise ValueError("more_live_answers must include the projected abandons")
        live = self.live_answers + extra_live
        return (self.abandons + more_abandons) / live if live else 0.0

    def abandons_left(self, cap: float = DEFAULT_CAP) -> int:
        """How many more abandons (each also a live answer) keep the window at or under ``cap``.

        Solves (a + k) / (n + k) <= cap for the largest whole k >= 0; -1 means already over.
        """
        if not 0.0 < cap < 1.0:
            raise ValueError("cap must be between 0 and 1")
        n, a = self.live_answers, self.abandons
        if a > cap * n + 1e-9:
            return -1
        # k <= (cap * n - a) / (1 - cap); the epsilon absorbs float error at exact boundaries.
        return int((cap * n - a) / (1.0 - cap) + 1e-9)


def window_rate(
    entries: Iterable[LedgerEntry], now: float, window: float = US_WINDOW
) -> WindowRate:
    """Counts over (now - window, now]: an entry exactly ``window`` old has dropped out."""
    if window <= 0:
        raise ValueError("window must be positive")
    start = now - window
    live = abandons = 0
    for entry in entries:
        if start < entry.at <= now:
            live += 1
            if entry.outcome is Outcome.ABANDON:
                abandons += 1
    return WindowRate(live, abandons, start, now)


class RollingLedger:
    """Time-ordered ledger for a long-running caller (the simulator, the selector's cache).

    Kept as two sorted lists of times, so a window count is two binary searches. Entries must
    arrive in time order (the ESL event stream and the simulator both guarantee it).
    """

    def __init__(self, window: float = US_WINDOW, cap: float = DEFAULT_CAP) -> None:
        if window <= 0:
            raise ValueError("window must be positive")
        self.window = window
        self.cap = cap
        self._live: list[float] = []
        self._abandon: list[float] = []

    def record(self, at: float, outcome: Outcome) -> None:
        if self._live and at < self._live[-1]:
            raise ValueError("ledger entries must be recorded in time order")
        self._live.append(at)
        if outcome is Outcome.ABANDON:
            self._abandon.append(at)

    def rate(self, now: float, window: float | None = None) -> WindowRate:
        span = self.window if window is None else window
        start = now - span
        live = bisect.bisect_right(self._live, now) - bisect.bisect_right(self._live, start)
        drops = bisect.bisect_right(self._abandon, now) - bisect.bisect_right(self._abandon, start)
        return WindowRate(live, drops, start, now)

    def forget_before(self, before: float) -> None:
        """Drop entries no window will need again (keeps memory flat on long campaigns)."""
        del self._live[: bisect.bisect_right(self._live, before)]
        del self._abandon[: bisect.bisect_right(self._abandon, before)]
