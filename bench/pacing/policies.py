"""The policies the benchmark compares: the project's own and the baselines of SCENARIOS.md."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.pacing.sim import HOUR, Simulation
from dialer.pacing.policy import PacingConfig, PacingSnapshot, decide
from dialer.pacing.stats import RingModel, TalkTimeModel


class Progressive:
    """One call per idle agent not already covered by a call in progress, placed at once."""

    name = "progressive"
    tick: float | None = None
    on_idle = True

    def decide(self, sim: Simulation) -> int:
        return sim.idle_count - len(sim.pending)


class FixedRatio:
    """Fixed dial level: lines = round(level x agents not in wrap-up), checked every second.

    The same line arithmetic as VICIdial's dial loop with a constant level; also reacts at once
    when an agent becomes idle without a call, which only makes it stronger.
    """

    tick: float | None = 1.0
    on_idle = True

    def __init__(self, level: float) -> None:
        self.level = level
        self.name = f"fixed {level:.2f}"

    def decide(self, sim: Simulation) -> int:
        agents = sim.idle_count + sim.talking
        return round(self.level * agents) - len(sim.pending) - sim.talking


@dataclass
class Vicidial:
    """VICIdial's adaptive predictive methods, re-implemented from their description.

    Dial loop every 2.5 s, adapt samples every 1 s and a level update every 15 s, drop control
    every 60 s. Defaults: drop target 3%, max level 3.0, intensity 0, diff target 0, latest time
    2100; the shift runs 09:00-17:00 for ADAPT_TAPERED's clock.
    """

    method: str  # "ADAPT_HARD_LIMIT", "ADAPT_AVERAGE" or "ADAPT_TAPERED"
    drop_target: float = 0.03
    max_level: float = 3.0
    intensity: float = 0.0
    diff_target: float = 0.0
    latest_hhmm: int = 2100
    shift_start_hhmm: int = 900
    tick: float | None = 0.5
    on_idle: bool = False
    level: float = 1.0
    _samples: list[tuple[int, int, int]] = field(default_factory=list)
    _next_sample: float = 0.0
    _next_adapt: float = 15.0
    _next_dial: float = 0.0
    _next_drop_check: float = 60.0
    _minute_marks: list[tuple[float, int, int]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return "VICIdial " + self.method

    def _hhmm(self, t: float) -> int:
        minutes = self.shift_start_hhmm // 100 * 60 + self.shift_start_hhmm % 100 + int(t // 60)
        return minutes // 60 * 100 + minutes % 60

    def decide(self, sim: Simulation) -> int:
        now = sim.now
        if now >= self._next_sample:
            self._next_sample += 1.0
            self._samples.append((sim.idle_count, len(sim.waiting), sim.available_agents))
            del self._samples[:-15]
        if now >= self._next_adapt:
            self._next_adapt += 15.0
            k = len(self._samples)
            ready = sum(s[0] for s in self._samples) / k
            waiting = sum(s[1] for s in self._samples) / k
            total = sum(s[2] for s in self._samples) / k
            if total > 0:
                m = (ready - waiting + self.diff_target) / total
                i = self.intensity / 100.0
                m = m * (1.0 + i) if m >= 0 else m * abs(i - 1.0)
                self.level = min(self.max_level, max(1.0, self.level * (1.0 + m)))
            # VICIdial manual: HARD_LIMIT "will not allow aggressive dialing once the drop
            # limit is reached until the percentage goes down", so the adapt loop cannot raise
            # the level back above 1.0 in between the 60 s drop checks.
            if self.method == "ADAPT_HARD_LIMIT" and self._over_target(sim):
                self.level = 1.0
        if now >= self._next_drop_check:
            self._next_drop_check += 60.0
            self._drop_control(sim)
        if now < self._next_dial:
            return 0
        self._next_dial += 2.5
        agents = sim.idle_count + sim.talking + self.diff_target
        return round(self.level * agents) - len(sim.pending) - sim.talking

    def _over_target(self, sim: Simulation) -> bool:
        return (
            sim.dials > 50
            and sim.live_answers > 0
            and sim.abandons / sim.live_answers > self.drop_target
        )

    def _drop_control(self, sim: Simulation) -> None:
        now = sim.now
        self._minute_marks.append((now, sim.dials, sim.abandons))
        self._minute_marks = [m for m in self._minute_marks if m[0] >= now - 60.0]
        _, dials0, drops0 = self._minute_marks[0]
        if len(self._minute_marks) >= 2:
            calls = sim.dials - dials0
            drops = sim.abandons - drops0
            if calls > 20 and drops / calls > 0.5:
                self.level = max(1.0, self.level / 2.0)
        if (
            sim.dials > 50
            and sim.live_answers
            and sim.abandons / sim.live_answers > (self.drop_target)
        ):
            if self.method == "ADAPT_HARD_LIMIT":
                self.level = 1.0
            elif self.method == "ADAPT_AVERAGE":
                self.level = max(1.0, self.level / 2.0)
            elif self.method == "ADAPT_TAPERED":
                hhmm = self._hhmm(now)
                if hhmm >= self.latest_hhmm:
                    self.level = 1.0
                else:
                    self.level = max(1.0, self.level * min(1.0, (self.latest_hhmm - hhmm) / 1000))


class Project:
    """The project's pacing policy (dialer.pacing.decide) with its one default configuration."""

    name = "project"
    tick: float | None = 1.0
    on_idle = True

    def __init__(self, config: PacingConfig | None = None) -> None:
        self.config = config or PacingConfig()
        self.modes: dict[str, int] = {}

    def models(self, sim: Simulation) -> tuple[RingModel | None, TalkTimeModel | None]:
        """What the policy knows of the call model: the simulation's own measurements."""
        return sim.dial_stats.model(), sim.talk_stats.model()

    def decide(self, sim: Simulation) -> int:
        ring, talk = self.models(sim)
        snap = PacingSnapshot(
            now=sim.now,
            agents=sim.agents_snapshot(),
            calls=sim.calls_snapshot(),
            ring=ring,
            talk_time=talk,
            wrapup_seconds=sim.sc.wrapup,
            abandons=sim.ledger.rate(sim.now),
            dials_last_second=sim.dials_last_second(),
        )
        d = decide(snap, self.config)
        return d.calls_to_place


__all__ = ["HOUR", "FixedRatio", "Progressive", "Project", "Vicidial"]
