"""Predictive pacing policy: how many calls to place now, and why (pure, no clock, stdlib only).

The live selector and the benchmark simulator both build a ``PacingSnapshot`` and call
``decide(snapshot, config)``; nothing here reads the clock, the database or FreeSWITCH.

How it decides (one configuration for every campaign size and answer rate):

1. No agent logged in (every agent on break or gone): place nothing.
2. Warm-up: until enough dials and live answers are measured, dial progressive (one call per
   idle agent not already covered by a call in progress). Then, until talk time is measured on
   about one call per agent, predict as below but count only agents in wrap-up as freeing up.
   The answer rate is taken at its upper confidence bound, so an estimate from few dials errs
   towards too many live answers (fewer lines), not towards drops.
3. Predictive: a new call that answers live at ``t`` seconds needs an agent free by ``t + 2 s``.
   Agents free by then = idle agents + agents whose wrap-up ends by then + for each agent in a
   call, the chance the call ends early enough given its elapsed talk time (lognormal hazard).
   Live answers ahead of it = answered calls waiting + for each ringing line the chance it turns
   into a live answer before ``t`` given how long it has rung already. The next line's drop risk
   is P(agents free <= live answers ahead) (normal approximation of the two sums), averaged
   over the spread of answer times. Lines are added while that risk stays under a limit.
4. Feedback: the limit moves with the campaign's measured abandon rate (the compliance window):
   below the aim it loosens, above it tightens. The window rate accumulates every past drop,
   so a burst of drops keeps the limit tight until it is diluted. The aim sits below the cap by
   a margin that shrinks as the window's live answers grow (a rate over thousands of answers
   moves slowly, so it can be steered close to the cap; one over a hundred cannot).
5. Rounds: predictive lines go out at most every ``dial_round_seconds`` (judged from the newest
   ringing line), so the result does not depend on how often the caller asks.
6. Guard: when the window rate is past the aim, near the cap, keep predicting with the tightest
   limit (only lines almost sure to find an agent) and trim lines that would take the projected
   window rate over the guard (or over the current rate when already above it).
7. Never more lines than ``max_lines_per_agent`` x logged-in agents, never more dials in a second
   than ``max_calls_per_second``, never fewer calls than progressive would place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from dialer.pacing.ledger import WindowRate
from dialer.pacing.stats import RingModel, TalkTimeModel

_SQRT2 = math.sqrt(2.0)


class AgentState(StrEnum):
    IDLE = "idle"  # logged in, ready, waiting for a call
    TALKING = "talking"  # connected to a customer
    WRAPUP = "wrapup"  # after-call work, free again when it ends
    BREAK = "break"  # paused: not taking calls, not counted


class CallState(StrEnum):
    RINGING = "ringing"  # dialed, not yet known to be a live answer (includes AMD analysis)
    WAITING = "waiting"  # answered live, waiting up to 2 s for an agent


class PacingMode(StrEnum):
    STOPPED = "stopped"
    WARMUP = "warmup"
    PROGRESSIVE = "progressive"
    PREDICTIVE = "predictive"


@dataclass(frozen=True, slots=True)
class AgentSnapshot:
    state: AgentState
    since: float  # when the agent entered this state (talk start for TALKING)
    wrapup_ends_at: float | None = None  # WRAPUP: when it ends (None: campaign wrap-up time)


@dataclass(frozen=True, slots=True)
class CallSnapshot:
    state: CallState
    since: float  # RINGING: when it was dialed; WAITING: when it was answered


@dataclass(frozen=True, slots=True)
class PacingSnapshot:
    now: float
    agents: tuple[AgentSnapshot, ...]  # every agent logged in to the campaign, breaks included
    calls: tuple[CallSnapshot, ...]  # calls not yet with an agent (ringing or waiting)
    ring: RingModel | None  # measured live-answer probability and ring profile
    talk_time: TalkTimeModel | None  # measured talk time
    wrapup_seconds: float  # wrap-up that follows each call
    abandons: WindowRate  # the compliance window ending at ``now``
    dials_last_second: int = 0  # dials placed in (now - 1 s, now]


@dataclass(frozen=True, slots=True)
class PacingConfig:
    abandon_cap: float = 0.03  # legal cap on abandons / live answers over the window
    # The feedback aims at the cap less a margin of ``target_margin_z`` standard errors of a rate
    # at the cap measured on the window's live answers (plus ``target_prior_answers``): a window
    # of few answers can swing past the cap on a handful of drops, a window of thousands moves
    # slowly and can be steered close to it. Never aims lower than ``target_abandon_rate``.
    target_abandon_rate: float = 0.024
    target_margin_z: float = 0.7
    target_prior_answers: float = 600.0
    guard_share: float = 0.5  # the guard sits this share of the way from the aim to the cap
    guard_min_answers: int = 100  # below this many live answers a rate is too noisy to guard on
    max_lines_per_agent: float = 3.0
    max_calls_per_second: int = 20
    warmup_dials: int = 30
    warmup_live_answers: int = 5
    # The answer rate is used at its upper confidence bound, this many standard errors above the
    # measured rate: a short warm-up then over-counts live answers rather than under-counts them,
    # and the margin fades as dials accumulate.
    answer_rate_margin_z: float = 1.0
    warmup_talk_samples: int = 20
    drop_wait_seconds: float = 2.0  # a live answer without an agent after this is a drop
    base_drop_risk: float = 0.018  # next line's drop-risk limit when the window is on its aim
    min_drop_risk: float = 0.001
    max_drop_risk: float = 0.3
    feedback_gain: float = 6.0  # how hard the limit reacts to the window rate vs the aim
    feedback_prior_answers: float = 600.0  # pseudo live answers at the aim
    horizon_quantiles: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 0.9)  # of live-answer delay
    dial_round_seconds: float = 1.0  # predictive lines go out in rounds at most this often


@dataclass(frozen=True, slots=True)
class PacingDecision:
    calls_to_place: int
    reason: str  # one sentence a supervisor understands
    mode: PacingMode
    expected_free_agents: float  # agents expected free when a call placed now answers (+2 s)
    expected_live_answers: float  # live answers expected from the calls already ringing
    dial_level: float  # lines in progress after this decision per available agent
    drop_risk: float  # chance the last line placed is dropped if it answers live
    drop_risk_limit: float
    abandon_rate: float  # measured over the compliance window
    projected_abandon_rate: float  # expected window rate once the lines placed now resolve


def _phi_upper(z: float) -> float:
    """P(Normal(0, 1) <= z)."""
    return 0.5 * math.erfc(-z / _SQRT2)


def abandon_aim(abandons: WindowRate, config: PacingConfig) -> float:
    """The window rate the feedback steers to: the cap less a margin that shrinks with answers."""
    cap = config.abandon_cap
    answers = abandons.live_answers + config.target_prior_answers
    return max(config.target_abandon_rate, cap - config.target_margin_z * math.sqrt(cap / answers))


def guard_rate(abandons: WindowRate, config: PacingConfig) -> float:
    """Window rate from which only lines almost sure to find an agent are placed."""
    aim = abandon_aim(abandons, config)
    return aim + config.guard_share * (config.abandon_cap - aim)


def drop_risk_limit(abandons: WindowRate, config: PacingConfig) -> float:
    """The next line's allowed drop risk, set by the measured window rate against the aim."""
    aim = abandon_aim(abandons, config)
    prior = config.feedback_prior_answers
    rate = (abandons.abandons + aim * prior) / (abandons.live_answers + prior)
    limit = config.base_drop_risk * math.exp(config.feedback_gain * (aim - rate) / aim)
    return min(config.max_drop_risk, max(config.min_drop_risk, limit))


def answer_rate_bound(rate: float, dials: int, z: float) -> float:
    """Upper confidence bound of a live-answer rate measured on ``dials`` dials (Wilson-like)."""
    if z <= 0.0 or dials <= 0:
        return rate
    spread = math.sqrt(max(rate * (1.0 - rate), 0.05 / dials) / dials)
    return min(1.0, rate + z * spread + z * z / (2.0 * dials))


def warming_up(ring: RingModel, config: PacingConfig) -> bool:
    """Too few dial outcomes or live answers measured to predict: dial progressive."""
    return ring.dials < config.warmup_dials or ring.live_answers < config.warmup_live_answers


def decide(snapshot: PacingSnapshot, config: PacingConfig) -> PacingDecision:
    now = snapshot.now
    window = snapshot.abandons
    rate = window.rate
    available = [a for a in snapshot.agents if a.state is not AgentState.BREAK]
    if not available:
        return PacingDecision(
            0, "No agent logged in: dialing stopped.", PacingMode.STOPPED,
            0.0, 0.0, 0.0, 0.0, 0.0, rate, rate,
        )  # fmt: skip

    # One pass over the agents and calls: this runs every second on every campaign.
    idle = 0
    talking: list[float] = []  # talk start times
    wrap_ends: list[float] = []
    wrap = snapshot.wrapup_seconds
    for a in available:
        state = a.state
        if state is AgentState.IDLE:
            idle += 1
        elif state is AgentState.TALKING:
            talking.append(a.since)
        else:
            wrap_ends.append(a.wrapup_ends_at if a.wrapup_ends_at is not None else a.since + wrap)
    ringing = [c.since for c in snapshot.calls if c.state is CallState.RINGING]
    waiting = len(snapshot.calls) - len(ringing)
    lines_in_use = len(snapshot.calls) + len(talking)
    n_agents = len(available)

    line_room = int(config.max_lines_per_agent * n_agents + 1e-9) - lines_in_use
    cps_room = config.max_calls_per_second - snapshot.dials_last_second
    room = max(0, min(line_room, cps_room))
    limit_note = ""
    if room == line_room and room <= 0:
        limit_note = f" Lines-per-agent cap {config.max_lines_per_agent:g} reached."
    elif room == cps_room and room <= 0:
        limit_note = f" Calls-per-second limit {config.max_calls_per_second} reached."
    progressive = max(0, idle - len(snapshot.calls))

    def level(n: int) -> float:
        return (lines_in_use + n) / n_agents

    ring, talk = snapshot.ring, snapshot.talk_time
    if ring is None or warming_up(ring, config):
        n = min(progressive, room)
        dials = ring.dials if ring is not None else 0
        return PacingDecision(
            n,
            f"Warm-up: {dials} of {config.warmup_dials} dial outcomes measured; "
            f"one call per idle agent (progressive).{limit_note}",
            PacingMode.WARMUP, float(idle), 0.0, level(n), 0.0, 0.0, rate, rate,
        )  # fmt: skip
    # The first calls to end are the short ones: until about one call per agent has ended the
    # talk-time estimate would promise agents free too soon, so only agents already in wrap-up
    # (whose end is known) are counted as freeing up; the ring profile is used already.
    talk_needed = max(config.warmup_talk_samples, n_agents)
    talk_samples = talk.samples if talk is not None else 0
    talk_known = talk is not None and talk_samples >= talk_needed

    # Close to the cap: keep predicting, but only lines that almost surely find an agent.
    # (Falling back to progressive instead idles agents for hours on a low answer rate.)
    guard = guard_rate(window, config)
    guarded = window.live_answers >= config.guard_min_answers and rate >= guard

    p = answer_rate_bound(ring.live_probability, ring.dials, config.answer_rate_margin_z)
    wait = config.drop_wait_seconds
    theta = config.min_drop_risk if guarded else drop_risk_limit(window, config)
    horizons = [ring.live_answer_quantile(q) for q in config.horizon_quantiles]
    log, erfc = math.log, math.erfc

    # Live answers ahead of a new call answering at t: waiting calls + ringing lines answering
    # live before t, each given how long it has rung already (Bayes on the two ring profiles).
    live_surv, other_surv = ring.live_survival, ring.other_survival
    inv_step = 1.0 / ring.step
    last = len(live_surv) - 1
    ring_state = []
    expected_live = float(waiting)
    for since in ringing:
        i = min(int((now - since) * inv_step), last)
        sl = live_surv[i]
        den = p * sl + (1.0 - p) * other_surv[i]
        if den > 1e-12 and sl > 0.0:
            ring_state.append((i, sl, den))
            expected_live += p * sl / den
    # Pace in rounds: lines placed a moment ago have not shown how they ring yet, and a line
    # placed early for an agent who frees up later only carries more drop risk. Between rounds
    # only the progressive floor is dialed, however often the caller asks.
    newest = max(ringing, default=None)
    if newest is not None and now - newest < config.dial_round_seconds:
        n = min(progressive, room)
        return PacingDecision(
            n,
            f"Predictive: last lines placed {now - newest:.1f} s ago, next round in "
            f"{config.dial_round_seconds - (now - newest):.1f} s.{limit_note}",
            PacingMode.PREDICTIVE if talk_known else PacingMode.WARMUP, float(idle),
            expected_live, level(n), 0.0, theta, rate, rate,
        )  # fmt: skip

    # Agents free by each deadline t + wait: (mean, variance) of a sum of Bernoullis.
    # For an agent in a call: P(talk ends within `reach` | it has lasted `elapsed`), from the
    # lognormal survival S: 1 - S(elapsed + reach) / S(elapsed).
    elapsed_s0 = []
    mu, scale = (talk.mu, talk.sigma * _SQRT2) if talk is not None else (0.0, 1.0)
    for since in talking if talk_known else ():
        elapsed = now - since
        s0 = 0.5 * erfc((log(elapsed) - mu) / scale) if elapsed > 0.0 else 1.0
        elapsed_s0.append((elapsed, s0))
    supply: list[tuple[float, float]] = []
    for t in horizons:
        deadline = t + wait
        mean = float(idle + sum(1 for end in wrap_ends if end - now <= deadline))
        var = 0.0
        reach = deadline - wrap  # the talk must end this soon for the wrap-up to end in time
        if reach > 0.0:
            for elapsed, s0 in elapsed_s0:
                if s0 <= 1e-12:
                    q = 0.5  # far past anything measured: no basis either way
                else:
                    q = 1.0 - 0.5 * erfc((log(elapsed + reach) - mu) / scale) / s0
                mean += q
                var += q * (1.0 - q)
        supply.append((mean, var))

    demand: list[tuple[float, float]] = []
    for t in horizons:
        shift = int(t * inv_step + 0.5)
        mean = float(waiting)
        var = 0.0
        for i, sl, den in ring_state:
            q = p * (sl - live_surv[min(i + shift, last)]) / den
            mean += q
            var += q * (1.0 - q)
        demand.append((mean, var))

    def risk(n: int) -> float:
        """Drop risk of the n-th line placed now, if it answers live."""
        total = 0.0
        for (s_mean, s_var), (d_mean, d_var), q in zip(
            supply, demand, config.horizon_quantiles, strict=True
        ):
            ahead = (n - 1) * p * q  # lines of this batch that answer before it
            mu = s_mean - d_mean - ahead
            var = s_var + d_var + (n - 1) * p * q * (1.0 - p * q) + 0.01
            total += _phi_upper((0.5 - mu) / math.sqrt(var))
        return total / len(supply)

    risks: list[float] = []  # drop risk of each line placed, in order
    next_risk = risk(1)
    while len(risks) < room and next_risk <= theta:
        risks.append(next_risk)
        next_risk = risk(len(risks) + 1)
    n = len(risks)
    floor = min(progressive, room)
    while len(risks) < floor:
        risks.append(risk(len(risks) + 1))
    placed = max(n, floor)

    def projected_with(k: int) -> float:
        return window.projected(p * sum(risks[:k]), k * p)

    # Keep the projected window rate under the guard: trim predictive lines, never the floor.
    if window.live_answers >= config.guard_min_answers:
        ceiling = max(guard, rate)  # over the guard: do not make it worse
        while placed > floor and projected_with(placed) >= ceiling:
            placed -= 1
    projected = projected_with(placed)
    last_risk = risks[placed - 1] if placed else next_risk
    free_mean = supply[len(supply) // 2][0]
    mid = horizons[len(horizons) // 2] + wait
    if placed > n:
        why = "one call per idle agent (progressive floor)"
    elif placed == 0:
        why = "no line added"
    else:
        why = f"{placed} line{'s' if placed != 1 else ''} added"
    if not talk_known:
        head = (
            f"Warm-up: talk time measured on {talk_samples} of {talk_needed} calls, so only "
            "agents in wrap-up count as freeing up. "
        )
    elif guarded:
        head = (
            f"Abandon rate {rate:.1%} is close to the {config.abandon_cap:.0%} cap: only lines "
            "almost sure to find an agent. "
        )
    else:
        head = ""
    mode = PacingMode.PREDICTIVE if talk_known else PacingMode.WARMUP
    reason = (
        f"{head}Predictive: {free_mean:.1f} agents expected free within {mid:.0f} s, "
        f"{expected_live:.1f} live answers expected from {len(ringing)} ringing lines; "
        f"{why}, next line's drop risk {last_risk:.1%} (limit {theta:.1%}, "
        f"abandon rate {rate:.1%}, aim {abandon_aim(window, config):.1%}).{limit_note}"
    )
    return PacingDecision(
        placed, reason, mode, free_mean, expected_live,
        level(placed), last_risk, theta, rate, projected,
    )  # fmt: skip
