"""Seeded discrete-event simulation of an outbound campaign (call model of SCENARIOS.md).

Every policy works through the same pre-drawn call list for a seed: the i-th call dialed gets the
i-th outcome, ring time and talk time, so policies differ only in when they dial.

Call model: live answer with probability p after 2 s + Gamma(4, 1.75 s); otherwise 55% no
answer ending at the 25 s timeout, 15% busy/invalid ending after Uniform(2, 6) s, 30% answering
machine answering like a person and recognised by AMD 3 s later. Talk time lognormal (mean
180 s, sd 180 s), wrap-up 10 s. A live answer waits up to 2 s for the longest-idle agent, then
is abandoned.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from dialer.pacing.ledger import Outcome, RollingLedger
from dialer.pacing.policy import AgentSnapshot, AgentState, CallSnapshot, CallState
from dialer.pacing.stats import DialOutcomeStats, TalkTimeStats

HOUR = 3600.0

# Event kinds, in the order a tie at the same instant is processed.
_WRAP_END, _TALK_END, _BREAK_END, _BREAK_DUE, _RESOLVE, _DROP, _TICK = range(7)


@dataclass(frozen=True)
class Scenario:
    agents: int
    p_live: float
    seed: int
    shift: float = 8 * HOUR
    wrapup: float = 10.0
    talk_mean: float = 180.0
    talk_sd: float = 180.0
    max_cps: int = 20  # the dialer's calls-per-second limit
    # Stress knobs (SCENARIOS.md "Stress behaviour"): all off by default.
    p_live_after: float | None = None  # answer rate switches to this at change_at
    change_at: float = 4 * HOUR
    talk_drift_to: float | None = None  # talk mean drifts linearly to this by the shift's end
    breaks: tuple[tuple[int, float, float], ...] = ()  # (agent, due at, minutes...) in seconds
    amd_false_positive: float = 0.0  # share of live answers AMD hangs up on (count as abandons)

    def live_probability(self, t: float) -> float:
        if self.p_live_after is not None and t >= self.change_at:
            return self.p_live_after
        return self.p_live

    def talk_factor(self, t: float) -> float:
        if self.talk_drift_to is None:
            return 1.0
        return 1.0 + (self.talk_drift_to / self.talk_mean - 1.0) * min(1.0, t / self.shift)


@dataclass
class Result:
    policy: str
    agents: int
    p_live: float
    seed: int
    occupancy: float
    abandon_rate: float
    live_answers: int
    abandons: int
    connects: int
    dials: int
    connects_per_agent_hour: float
    mean_agent_wait: float  # seconds idle between calls
    talk_minutes_per_agent_hour: float
    worst_hour_abandon_rate: float
    dials_per_connect: float
    peak_lines: int
    extra: dict[str, float] = field(default_factory=dict)


class Policy(Protocol):
    name: str
    tick: float | None  # seconds between periodic decisions, None for none
    on_idle: bool  # also decide whenever an idle agent has no call covering it

    def decide(self, sim: Simulation) -> int: ...


class _CallList:
    """The seed's dial outcomes, drawn in call order so every policy sees the same list."""

    def __init__(self, sc: Scenario) -> None:
        self.rng = random.Random(sc.seed * 1_000_003 + round(sc.p_live * 1000) * 1009 + sc.agents)
        var = math.log(1.0 + (sc.talk_sd / sc.talk_mean) ** 2)
        self.mu = math.log(sc.talk_mean) - 0.5 * var
        self.sigma = math.sqrt(var)

    def draw(self) -> tuple[float, float, float, float, float]:
        r = self.rng
        return (r.random(), r.gammavariate(4.0, 1.75), r.random(), r.gauss(0.0, 1.0), r.random())


def dial_outcome(now: float, p: float, u: float, g: float, b: float) -> tuple[bool, float]:
    """A dial placed at ``now``, from its draws: live or not, and when that is known."""
    if u < p:
        return True, now + 2.0 + g
    v = (u - p) / (1.0 - p)
    if v < 0.55:
        return False, now + 25.0
    if v < 0.70:
        return False, now + 2.0 + 4.0 * b
    return False, now + 2.0 + g + 3.0  # machine answers, AMD knows 3 s later


class Simulation:
    def __init__(self, sc: Scenario, policy: Policy) -> None:
        self.sc = sc
        self.policy = policy
        self.now = 0.0
        n = sc.agents
        self.calls = _CallList(sc)
        self.dial_stats = DialOutcomeStats()
        self.talk_stats = TalkTimeStats()
        self.ledger = RollingLedger()
        self._events: list[tuple[float, int, int, int]] = []
        self._seq = 0
        # Agents
        self.agent_state = [AgentState.IDLE] * n
        self.agent_rec = [AgentSnapshot(AgentState.IDLE, 0.0) for _ in range(n)]
        self.idle: deque[int] = deque(range(n))  # longest idle first
        self.talking = 0
        self.on_break = 0
        self._talk_started = [0.0] * n
        self._break_due: dict[int, list[tuple[float, float]]] = {}
        for agent, due, length in sc.breaks:
            self._break_due.setdefault(agent, []).append((due, length))
            self._push(due, _BREAK_DUE, agent)
        for lst in self._break_due.values():
            lst.sort()
        self._break_len: dict[int, float] = {}
        # Calls not yet with an agent
        self.pending: dict[int, CallSnapshot] = {}
        self._call_info: dict[int, tuple[bool, float, float, bool]] = {}
        self.waiting: deque[int] = deque()
        self._next_call = 0
        self.recent_dials: deque[float] = deque()
        # Metrics
        self.dials = 0
        self.connects = 0
        self.live_answers = 0
        self.abandons = 0
        self.talk_total = 0.0
        self.idle_total = 0.0
        self._idle_since = [0.0] * n
        self.peak_lines = 0
        self.hour_live = [0] * (int(sc.shift // HOUR) + 1)
        self.hour_drop = [0] * (int(sc.shift // HOUR) + 1)

    # -- helpers -----------------------------------------------------------------------------
    def _push(self, t: float, kind: int, data: int) -> None:
        self._seq += 1
        heapq.heappush(self._events, (t, kind, self._seq, data))

    @property
    def idle_count(self) -> int:
        return len(self.idle)

    @property
    def available_agents(self) -> int:
        return self.sc.agents - self.on_break

    def lines_in_use(self) -> int:
        return len(self.pending) + self.talking

    def dials_last_second(self) -> int:
        rd = self.recent_dials
        while rd and rd[0] <= self.now - 1.0:
            rd.popleft()
        return len(rd)

    def agents_snapshot(self) -> tuple[AgentSnapshot, ...]:
        return tuple(self.agent_rec)

    def calls_snapshot(self) -> tuple[CallSnapshot, ...]:
        return tuple(self.pending.values())

    # -- dialing ------------------------------------------------------------------------------
    def dial(self, n: int) -> None:
        if n <= 0 or self.now >= self.sc.shift:
            return
        n = min(n, self.sc.max_cps - self.dials_last_second())
        sc = self.sc
        now = self.now
        p = sc.live_probability(now)
        for _ in range(n):
            u, g, b, z, a = self.calls.draw()
            cid = self._next_call
            self._next_call += 1
            talk = math.exp(self.calls.mu + self.calls.sigma * z) * sc.talk_factor(now)
            live, at = dial_outcome(now, p, u, g, b)
            if live:
                amd_mistake = a < sc.amd_false_positive
                self._call_info[cid] = (not amd_mistake, at, talk, amd_mistake)
                self._push(at + (3.0 if amd_mistake else 0.0), _RESOLVE, cid)
            else:
                self._call_info[cid] = (False, at, 0.0, False)
                self._push(at, _RESOLVE, cid)
            self.pending[cid] = CallSnapshot(CallState.RINGING, now)
            self.recent_dials.append(now)
        self.dials += n
        lines = len(self.pending) + self.talking
        if lines > self.peak_lines:
            self.peak_lines = lines

    # -- agents -------------------------------------------------------------------------------
    def _connect(self, agent: int, cid: int) -> None:
        now = self.now
        _, answered, talk, _ = self._call_info.pop(cid)
        del self.pending[cid]
        self.connects += 1
        self.live_answers += 1
        self.ledger.record(now, Outcome.LIVE_ANSWER)
        self.hour_live[int(answered // HOUR)] += 1
        self.agent_state[agent] = AgentState.TALKING
        self.agent_rec[agent] = AgentSnapshot(AgentState.TALKING, now)
        self._talk_started[agent] = now
        self.talking += 1
        self._push(now + talk, _TALK_END, agent)

    def _agent_free(self, agent: int) -> None:
        """Agent ready for a call: take the longest-waiting live answer or go idle."""
        if self.waiting:
            self._connect(agent, self.waiting.popleft())
            return
        self.agent_state[agent] = AgentState.IDLE
        self.agent_rec[agent] = AgentSnapshot(AgentState.IDLE, self.now)
        self._idle_since[agent] = self.now
        self.idle.append(agent)

    def _take_break_if_due(self, agent: int) -> bool:
        due = self._break_due.get(agent)
        if due and due[0][0] <= self.now:
            _, length = due.pop(0)
            self.agent_state[agent] = AgentState.BREAK
            self.agent_rec[agent] = AgentSnapshot(AgentState.BREAK, self.now)
            self.on_break += 1
            self._push(self.now + length, _BREAK_END, agent)
            return True
        return False

    # -- main loop ----------------------------------------------------------------------------
    def run(self) -> Result:
        sc = self.sc
        pol = self.policy
        tick = pol.tick
        if tick:
            self._push(0.0, _TICK, 0)
        else:
            self.dial(pol.decide(self))
        events = self._events
        shift = sc.shift
        wrap = sc.wrapup
        while events:
            t, kind, _, data = heapq.heappop(events)
            if t > shift:
                break
            self.now = t
            if kind == _TICK:
                self.dial(pol.decide(self))
                self._push(t + tick, _TICK, 0)  # type: ignore[operator]
                continue
            if kind == _RESOLVE:
                live, answered, _talk, amd_mistake = self._call_info[data]
                if live:
                    self.dial_stats.record(t - self.pending[data].since, True)
                    if self.idle:
                        agent = self.idle.popleft()
                        self.idle_total += t - self._idle_since[agent]
                        self._connect(agent, data)
                    else:
                        self.pending[data] = CallSnapshot(CallState.WAITING, t)
                        self.waiting.append(data)
                        self._push(t + 2.0, _DROP, data)
                else:
                    self.dial_stats.record(t - self.pending[data].since, False)
                    del self.pending[data]
                    del self._call_info[data]
                    if amd_mistake:  # a person hung up on as a machine: an abandon (Ofcom)
                        self._abandon(answered)
            elif kind == _DROP:
                if data in self.pending:  # still waiting after 2 s: abandoned
                    self.waiting.remove(data)
                    del self.pending[data]
                    _, answered, _, _ = self._call_info.pop(data)
                    self._abandon(answered)
            elif kind == _TALK_END:
                self.talking -= 1
                self.talk_total += t - self._talk_started[data]
                self.talk_stats.record(t - self._talk_started[data])
                if wrap > 0.0:
                    self.agent_state[data] = AgentState.WRAPUP
                    self.agent_rec[data] = AgentSnapshot(AgentState.WRAPUP, t, t + wrap)
                    self._push(t + wrap, _WRAP_END, data)
                elif not self._take_break_if_due(data):
                    self._agent_free(data)
            elif kind == _WRAP_END:
                if not self._take_break_if_due(data):
                    self._agent_free(data)
            elif kind == _BREAK_END:
                self.on_break -= 1
                self._agent_free(data)
            elif kind == _BREAK_DUE and self.agent_state[data] is AgentState.IDLE:
                self.idle.remove(data)
                self.idle_total += t - self._idle_since[data]
                self._take_break_if_due(data)
            if pol.on_idle and len(self.idle) > len(self.pending):
                self.dial(pol.decide(self))
        return self._result()

    def _abandon(self, answered: float) -> None:
        self.live_answers += 1
        self.abandons += 1
        self.ledger.record(self.now, Outcome.ABANDON)
        h = int(answered // HOUR)
        self.hour_live[h] += 1
        self.hour_drop[h] += 1

    def _result(self) -> Result:
        sc = self.sc
        end = sc.shift
        talk = self.talk_total
        for agent, state in enumerate(self.agent_state):
            if state is AgentState.TALKING:
                talk += end - self._talk_started[agent]
            elif state is AgentState.IDLE:
                self.idle_total += end - self._idle_since[agent]
        agent_hours = sc.agents * end / HOUR
        worst = 0.0
        for live, drop in zip(self.hour_live, self.hour_drop, strict=True):
            if live >= 1:
                worst = max(worst, drop / live)
        return Result(
            policy=self.policy.name,
            agents=sc.agents,
            p_live=sc.p_live,
            seed=sc.seed,
            occupancy=talk / (sc.agents * end),
            abandon_rate=self.abandons / self.live_answers if self.live_answers else 0.0,
            live_answers=self.live_answers,
            abandons=self.abandons,
            connects=self.connects,
            dials=self.dials,
            connects_per_agent_hour=self.connects / agent_hours,
            mean_agent_wait=self.idle_total / max(1, self.connects),
            talk_minutes_per_agent_hour=talk / 60.0 / agent_hours,
            worst_hour_abandon_rate=worst,
            dials_per_connect=self.dials / max(1, self.connects),
            peak_lines=self.peak_lines,
        )


def simulate(sc: Scenario, policy: Policy) -> Result:
    return Simulation(sc, policy).run()
