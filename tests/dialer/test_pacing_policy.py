"""The pacing policy as a supervisor sees it: how many calls it places now, and why."""

import dataclasses
import random

import pytest

from dialer.pacing.ledger import WindowRate
from dialer.pacing.policy import (
    AgentSnapshot,
    AgentState,
    CallSnapshot,
    CallState,
    PacingConfig,
    PacingMode,
    PacingSnapshot,
    abandon_aim,
    decide,
    drop_risk_limit,
    guard_rate,
)
from dialer.pacing.stats import DialOutcomeStats, TalkTimeModel, TalkTimeStats

NOW = 10_000.0
CONFIG = PacingConfig()


def _ring_model(p: float = 0.3, dials: int = 2000):
    """A ring profile measured on the SCENARIOS.md call model."""
    rng = random.Random(7)
    stats = DialOutcomeStats()
    for _ in range(dials):
        if rng.random() < p:
            stats.record(2.0 + rng.gammavariate(4.0, 1.75), True)
        else:
            v = rng.random()
            ring = (
                25.0
                if v < 0.55
                else rng.uniform(2, 6)
                if v < 0.7
                else rng.gammavariate(4, 1.75) + 5
            )
            stats.record(ring, False)
    return stats.model()


RING = _ring_model()
TALK = TalkTimeModel.from_mean_sd(180.0, 180.0, samples=500)
QUIET = WindowRate(live_answers=0, abandons=0, window_start=0.0, window_end=NOW)


def _snap(agents, calls=(), ring=RING, talk=TALK, abandons=QUIET, dials_last_second=0, wrap=10.0):
    return PacingSnapshot(
        now=NOW,
        agents=tuple(agents),
        calls=tuple(calls),
        ring=ring,
        talk_time=talk,
        wrapup_seconds=wrap,
        abandons=abandons,
        dials_last_second=dials_last_second,
    )


def idle(n):
    return [AgentSnapshot(AgentState.IDLE, NOW - 5.0) for _ in range(n)]


def talking(n, elapsed=120.0):
    return [AgentSnapshot(AgentState.TALKING, NOW - elapsed) for _ in range(n)]


def wrapping(n, left=3.0):
    return [AgentSnapshot(AgentState.WRAPUP, NOW - 10.0 + left, NOW + left) for _ in range(n)]


def on_break(n):
    return [AgentSnapshot(AgentState.BREAK, NOW - 60.0) for _ in range(n)]


def ringing(n, elapsed=1.0):
    return [CallSnapshot(CallState.RINGING, NOW - elapsed) for _ in range(n)]


def test_no_agent_logged_in_stops_dialing_at_once():
    for agents in ([], on_break(5)):
        d = decide(_snap(agents, ringing(3)), CONFIG)
        assert d.calls_to_place == 0
        assert d.mode is PacingMode.STOPPED
        assert "No agent" in d.reason


def test_warm_up_dials_progressive_until_enough_is_measured():
    agents = idle(5) + talking(5)
    for ring, talk in [(None, None), (_ring_model(dials=20), TALK), (None, TALK)]:
        d = decide(_snap(agents, ringing(2), ring=ring, talk=talk), CONFIG)
        assert d.mode is PacingMode.WARMUP
        assert d.calls_to_place == 3  # one per idle agent not already covered by a ringing call
        assert "Warm-up" in d.reason


def test_warm_up_counts_only_wrap_ups_until_talk_time_is_measured():
    # Ring profile known, talk time not: agents in a call are not expected to free up, however
    # long their call has lasted; agents in wrap-up are (its end is known).
    early = TalkTimeModel.from_mean_sd(90.0, 60.0, samples=CONFIG.warmup_talk_samples)
    for talk in (None, early):  # the first talk times measured are the short calls
        fresh = decide(_snap(talking(45, elapsed=5.0), talk=talk), CONFIG)
        long = decide(_snap(talking(45, elapsed=900.0), talk=talk), CONFIG)
        assert fresh.mode is long.mode is PacingMode.WARMUP
        assert fresh.calls_to_place == long.calls_to_place == 0
        assert "wrap-up" in long.reason
        ending = decide(_snap(talking(40) + wrapping(5, left=2.0), talk=talk), CONFIG)
        assert ending.mode is PacingMode.WARMUP
        assert ending.calls_to_place >= 5
    # Measured on about one call per agent: long calls count as likely to end.
    cold = decide(_snap(talking(45, elapsed=900.0), talk=early, wrap=0.0), CONFIG)
    warm = decide(_snap(talking(45, elapsed=900.0), wrap=0.0), CONFIG)
    assert warm.mode is PacingMode.PREDICTIVE
    assert cold.expected_free_agents == 0.0
    assert warm.expected_free_agents > 0.5


def test_an_answer_rate_measured_on_few_dials_places_fewer_lines():
    # Same measured rate, same state: right after the warm-up the rate is uncertain, so pacing
    # assumes more of the ringing lines will answer live (the side that cannot cause drops).
    agents = talking(20) + wrapping(5, left=4.0)
    late_ring = _ring_model(p=0.15, dials=5000)
    early_ring = dataclasses.replace(late_ring, dials=60, live_answers=9)
    early = decide(_snap(agents, ring=early_ring), CONFIG)
    late = decide(_snap(agents, ring=late_ring), CONFIG)
    assert early.mode is late.mode is PacingMode.PREDICTIVE
    assert 0 < early.calls_to_place < late.calls_to_place


def test_predictive_dials_before_agents_are_free():
    # Every agent busy, three finish wrap-up in 3 s: progressive would place nothing.
    agents = talking(7) + wrapping(3, left=3.0)
    d = decide(_snap(agents), CONFIG)
    assert d.mode is PacingMode.PREDICTIVE
    assert d.calls_to_place >= 3
    assert d.expected_free_agents >= 3
    assert "Predictive" in d.reason


def test_no_extra_lines_when_nobody_can_be_free_in_time():
    # Calls just started and no wrap-up ending: a live answer now would be dropped.
    agents = talking(10, elapsed=2.0)
    d = decide(_snap(agents), CONFIG)
    assert d.calls_to_place == 0
    assert d.drop_risk > d.drop_risk_limit


def test_ringing_lines_already_cover_the_agents_about_to_be_free():
    agents = talking(8) + wrapping(2, left=5.0)
    alone = decide(_snap(agents), CONFIG).calls_to_place
    covered = decide(_snap(agents, ringing(alone, elapsed=2.0)), CONFIG).calls_to_place
    assert alone > 0
    assert covered < alone


def test_never_fewer_calls_than_progressive():
    agents = idle(6) + talking(4)
    d = decide(_snap(agents, ringing(1)), CONFIG)
    assert d.calls_to_place >= 5


def test_lines_per_agent_cap():
    config = PacingConfig(max_lines_per_agent=1.5)
    agents = idle(10)
    d = decide(_snap(agents), config)
    assert d.calls_to_place <= 15
    d = decide(_snap(agents, ringing(14)), config)
    assert d.calls_to_place <= 1
    d = decide(_snap(agents, ringing(15)), config)
    assert d.calls_to_place == 0
    assert "Lines-per-agent cap" in d.reason


def test_calls_per_second_limit():
    config = PacingConfig(max_calls_per_second=5)
    agents = idle(20)
    assert decide(_snap(agents), config).calls_to_place == 5
    assert decide(_snap(agents, dials_last_second=3), config).calls_to_place == 2
    d = decide(_snap(agents, dials_last_second=5), config)
    assert d.calls_to_place == 0
    assert "Calls-per-second limit" in d.reason


def test_abandon_rate_over_target_tightens_the_pacing():
    agents = talking(20, elapsed=100.0) + wrapping(5, left=6.0)
    clean = WindowRate(2000, 10, 0.0, NOW)  # 0.5%
    hot = WindowRate(2000, 50, 0.0, NOW)  # 2.5%, close to the aim
    relaxed = decide(_snap(agents, abandons=clean), CONFIG)
    tight = decide(_snap(agents, abandons=hot), CONFIG)
    assert drop_risk_limit(hot, CONFIG) < drop_risk_limit(clean, CONFIG)
    assert tight.calls_to_place < relaxed.calls_to_place
    assert tight.drop_risk_limit < relaxed.drop_risk_limit


def test_the_aim_comes_closer_to_the_cap_as_the_window_fills():
    # A rate over a few hundred answers can jump a point on a handful of drops; one over ten
    # thousand cannot, so the budget is used, but never aimed at the cap itself.
    few, many = WindowRate(300, 0, 0.0, NOW), WindowRate(10_000, 0, 0.0, NOW)
    assert CONFIG.target_abandon_rate <= abandon_aim(few, CONFIG) < 0.026
    assert 0.028 < abandon_aim(many, CONFIG) < guard_rate(many, CONFIG) < CONFIG.abandon_cap
    # The same 2.8% is on target for the large window and over it for the small one.
    assert drop_risk_limit(WindowRate(10_000, 280, 0.0, NOW), CONFIG) > drop_risk_limit(
        WindowRate(300, 8, 0.0, NOW), CONFIG
    )


def test_close_to_the_cap_only_near_certain_lines():
    agents = idle(2) + talking(20, elapsed=100.0) + wrapping(5, left=6.0)
    below = WindowRate(1000, 20, 0.0, NOW)  # 2.0%
    near_cap = WindowRate(1000, 29, 0.0, NOW)  # 2.9%
    relaxed = decide(_snap(agents, abandons=below), CONFIG)
    d = decide(_snap(agents, abandons=near_cap), CONFIG)
    assert d.drop_risk_limit == CONFIG.min_drop_risk
    assert 2 <= d.calls_to_place < relaxed.calls_to_place  # never under one per idle agent
    assert d.projected_abandon_rate <= near_cap.rate
    assert "cap" in d.reason
    # Too few answers to judge a rate: the usual limit.
    early = WindowRate(30, 1, 0.0, NOW)
    assert decide(_snap(agents, abandons=early), CONFIG).drop_risk_limit > CONFIG.min_drop_risk


def test_agents_on_break_are_not_counted():
    working = talking(5) + wrapping(5, left=3.0)
    with_breaks = working + on_break(20)
    assert (
        decide(_snap(with_breaks), CONFIG).calls_to_place
        == decide(_snap(working), CONFIG).calls_to_place
    )


def test_zero_wrap_up_uses_the_talk_time_hazard():
    # Long calls are more likely to end within the next seconds than calls just begun.
    fresh = decide(_snap(talking(30, elapsed=3.0), wrap=0.0), CONFIG)
    long = decide(_snap(talking(30, elapsed=400.0), wrap=0.0), CONFIG)
    assert long.expected_free_agents > fresh.expected_free_agents
    assert long.calls_to_place >= fresh.calls_to_place


def test_low_answer_rate_needs_more_lines_per_agent_freeing():
    agents = talking(20) + wrapping(5, left=4.0)
    low = decide(_snap(agents, ring=_ring_model(p=0.15)), CONFIG)
    high = decide(_snap(agents, ring=_ring_model(p=0.6)), CONFIG)
    assert low.calls_to_place > high.calls_to_place


def test_talk_time_estimator_follows_drift():
    stats = TalkTimeStats(memory=100)
    rng = random.Random(1)
    for _ in range(500):
        stats.record(rng.lognormvariate(5.0, 0.8))
    for _ in range(500):
        stats.record(rng.lognormvariate(5.5, 0.8))
    model = stats.model()
    assert model is not None
    assert model.mu == pytest.approx(5.5, abs=0.15)
    assert model.sigma == pytest.approx(0.8, abs=0.15)


def test_answer_rate_estimate_is_steady_but_follows_a_real_change():
    rng = random.Random(3)
    stats = DialOutcomeStats(refresh=1)  # a fresh estimate after every dial
    estimates = []
    for i in range(6000):
        live = rng.random() < 0.15
        stats.record(9.0 if live else 25.0, live)
        if i >= 3000:
            estimates.append(stats.model().live_probability)
    # Long memory: a run of unanswered dials never makes it promise fewer live answers than a
    # tenth under the truth (that would mean too many lines and drops); at 600 dials it did.
    assert min(estimates) > 0.135
    for _ in range(300):  # the list changes: twice as many people answer
        stats.record(9.0, rng.random() < 0.3)
    assert stats.model().live_probability == pytest.approx(0.3, abs=0.05)


def test_ring_model_measures_the_live_answer_probability():
    assert RING.live_probability == pytest.approx(0.3, abs=0.03)
    # Live answers come after 2 s + Gamma(4, 1.75 s): median about 8.3 s.
    assert RING.live_answer_quantile(0.5) == pytest.approx(8.3, abs=0.6)
