"""Online estimators the pacing needs, with exponential forgetting (pure, no clock).

They turn the dialer's event stream into the frozen models a ``PacingSnapshot`` carries:

* ``DialOutcomeStats``: live-answer probability and how long calls ring before a live answer
  (or before the dialer knows they are not live: no answer, busy, machine detected), as
  histograms so any ring profile is captured, not a fitted family;
* ``TalkTimeStats``: talk time as a lognormal fitted on log-moments (call-center talk times are
  right-skewed; the log-moments make one 40-minute call no outlier).

Forgetting is counted in samples, not seconds, so a quiet campaign keeps its memory.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

# Ring profile resolution: half a second over the first two minutes covers every ring timeout.
RING_STEP = 0.5
RING_BINS = 240
_SQRT2 = math.sqrt(2.0)
# How many standard errors the recent dials' answer rate must move before it replaces the long
# memory's: a rise (more live answers than paced for, so drops) is believed sooner than a fall.
_RISE_SE = 1.5
_FALL_SE = 3.0


@dataclass(frozen=True, slots=True)
class RingModel:
    """Measured ring profile of the campaign's dials.

    ``live_survival[k]`` is P(live answer comes later than k*step | the call is a live answer);
    ``other_survival[k]`` is P(the call is still unresolved after k*step | it is not live).
    """

    live_probability: float
    step: float
    live_survival: tuple[float, ...]
    other_survival: tuple[float, ...]
    dials: int  # resolved dials behind the estimate
    live_answers: int

    def survival(self, table: tuple[float, ...], seconds: float) -> float:
        if seconds <= 0.0:
            return 1.0
        pos = seconds / self.step
        i = int(pos)
        if i + 1 >= len(table):
            return table[-1]
        frac = pos - i
        return table[i] * (1.0 - frac) + table[i + 1] * frac

    def live_answer_quantile(self, q: float) -> float:
        """Seconds after dialing by which a fraction ``q`` of live answers have answered."""
        target = 1.0 - q
        table = self.live_survival
        for i in range(1, len(table)):
            if table[i] <= target:
                lo, hi = table[i - 1], table[i]
                frac = (lo - target) / (lo - hi) if lo > hi else 0.0
                return (i - 1 + frac) * self.step
        return (len(table) - 1) * self.step


@dataclass(frozen=True, slots=True)
class TalkTimeModel:
    """Lognormal talk time: ln(talk seconds) ~ Normal(mu, sigma)."""

    mu: float
    sigma: float
    samples: int

    @property
    def mean(self) -> float:
        return math.exp(self.mu + 0.5 * self.sigma * self.sigma)

    def survival(self, seconds: float) -> float:
        """P(talk time > seconds)."""
        if seconds <= 0.0:
            return 1.0
        return 0.5 * math.erfc((math.log(seconds) - self.mu) / (self.sigma * _SQRT2))

    @classmethod
    def from_mean_sd(cls, mean: float, sd: float, samples: int = 0) -> TalkTimeModel:
        sigma2 = math.log(1.0 + (sd / mean) ** 2)
        return cls(math.log(mean) - 0.5 * sigma2, math.sqrt(sigma2), samples)


class DialOutcomeStats:
    """Live-answer probability and ring profile, forgetting old dials geometrically.

    ``memory`` is roughly how many recent dials the estimate reflects; the frozen model is rebuilt
    once ``refresh`` new dials are in (1: whenever asked after a new dial, as the live dialer
    reads its history every tick; the recent-dials rate is worth having current). The
    live-answer rate also follows the last ``recent`` dials and switches to them when they have
    clearly moved, so a long memory does not keep pacing on an answer rate that has changed.
    """

    def __init__(
        self,
        memory: float = 3000.0,
        step: float = RING_STEP,
        bins: int = RING_BINS,
        refresh: int = 1,
        recent: float = 150.0,
    ) -> None:
        self.refresh = refresh
        self._recent_alpha = 1.0 / recent
        self._recent_live = 0.0  # live-answer rate over about the last ``recent`` dials
        self.step = step
        self.bins = bins
        self._growth = 1.0 / (1.0 - 1.0 / memory)
        self._weight = 1.0
        self._live = [0.0] * (bins + 1)
        self._other = [0.0] * (bins + 1)
        self._live_total = 0.0
        self._other_total = 0.0
        self.dials = 0
        self.live_answers = 0
        self._cached: RingModel | None = None
        self._built_at = 0

    def record(self, ring_seconds: float, live: bool) -> None:
        """One resolved dial: a live answer after ``ring_seconds``, or known not live then."""
        i = min(self.bins, max(0, int(ring_seconds / self.step)))
        w = self._weight
        if live:
            self._live[i] += w
            self._live_total += w
            self.live_answers += 1
        else:
            self._other[i] += w
            self._other_total += w
        a = max(self._recent_alpha, 1.0 / (self.dials + 1))
        self._recent_live += a * ((1.0 if live else 0.0) - self._recent_live)
        self.dials += 1
        if self.dials - self._built_at >= self.refresh or self.dials <= self.refresh:
            self._cached = None
        # Newer samples weigh more instead of decaying every bin on each dial.
        self._weight *= self._growth
        if self._weight > 1e100:
            self._rescale()

    def _rescale(self) -> None:
        s = 1.0 / self._weight
        self._live = [x * s for x in self._live]
        self._other = [x * s for x in self._other]
        self._live_total *= s
        self._other_total *= s
        self._weight = 1.0

    @staticmethod
    def _survival(hist: list[float], total: float) -> tuple[float, ...]:
        if total <= 0.0:
            return tuple(1.0 for _ in hist)
        # A sample in bin i resolved inside [i*step, (i+1)*step): count it gone from point i+1 on.
        inv = 1.0 / total
        return (1.0, *(max(0.0, 1.0 - c * inv) for c in itertools.accumulate(hist[:-1])))

    def _live_probability(self, long_run: float) -> float:
        """The long memory's rate, unless the recent dials say the answer rate has moved.

        A long memory keeps the estimate steady (at a 15% answer rate 600 dials still leave it
        13% off either way, which the pacing pays for in idle agents); a change of list or time
        of day shows in the recent dials first, and then they are believed at once.
        """
        recent = self._recent_live
        n = min(self.dials, 1.0 / self._recent_alpha)
        spread = math.sqrt(max(long_run * (1.0 - long_run), 0.01) / max(n, 1.0))
        # Believed sooner when it says more live answers (fewer lines: the safe side).
        moved = recent - long_run > _RISE_SE * spread or long_run - recent > _FALL_SE * spread
        return recent if moved else long_run

    def model(self) -> RingModel | None:
        if self.dials == 0:
            return None
        if self._cached is None:
            self._built_at = self.dials
            total = self._live_total + self._other_total
            self._cached = RingModel(
                live_probability=self._live_probability(self._live_total / total),
                step=self.step,
                live_survival=self._survival(self._live, self._live_total),
                other_survival=self._survival(self._other, self._other_total),
                dials=self.dials,
                live_answers=self.live_answers,
            )
        return self._cached


class TalkTimeStats:
    """Lognormal talk time from exponentially weighted log-moments."""

    def __init__(self, memory: float = 300.0) -> None:
        self._alpha = 1.0 / memory
        self._sum_w = 0.0
        self._m1 = 0.0
        self._m2 = 0.0
        self.samples = 0

    def record(self, talk_seconds: float) -> None:
        x = math.log(max(talk_seconds, 1.0))
        # Until the memory is full use plain averages, so early samples are not over-weighted.
        a = max(self._alpha, 1.0 / (self.samples + 1))
        self._m1 += a * (x - self._m1)
        self._m2 += a * (x * x - self._m2)
        self.samples += 1

    def model(self) -> TalkTimeModel | None:
        if self.samples < 2:
            return None
        var = max(self._m2 - self._m1 * self._m1, 1e-4)
        return TalkTimeModel(self._m1, math.sqrt(var), self.samples)
