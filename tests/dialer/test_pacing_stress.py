"""The one pacing configuration under change, through the benchmark simulator (small, seeded).

SCENARIOS.md "Stress behaviour": answer rate changing mid-shift, talk time drifting, agents going
on break and coming back, AMD mistakes counted as abandons, zero wrap-up, small teams. No
retuning between them: every run uses ``PacingConfig()``.
"""

import pytest

from bench.pacing.policies import Progressive, Project
from bench.pacing.sim import HOUR, Scenario, Simulation, simulate
from dialer.pacing.policy import PacingConfig

CAP = PacingConfig().abandon_cap
SHIFT = 3 * HOUR


def _both(sc: Scenario):
    return simulate(sc, Project()), simulate(sc, Progressive())


def _check(sc: Scenario) -> None:
    ours, progressive = _both(sc)
    assert ours.live_answers > 300, "too few answers for a rate to mean anything"
    assert ours.abandon_rate <= CAP, f"abandon rate {ours.abandon_rate:.2%} over the cap"
    # Still earning its keep: more talk time than dialing one call per idle agent.
    assert ours.occupancy > progressive.occupancy


@pytest.mark.parametrize(
    ("p_before", "p_after"),
    [(0.30, 0.15), (0.15, 0.30)],
    ids=["answer-rate-halves", "answer-rate-doubles"],
)
def test_answer_rate_changes_mid_shift(p_before, p_after):
    _check(Scenario(25, p_before, seed=3, shift=SHIFT, p_live_after=p_after, change_at=SHIFT / 2))


@pytest.mark.parametrize("drift_to", [360.0, 90.0], ids=["calls-get-longer", "calls-get-shorter"])
def test_talk_time_drifts(drift_to):
    _check(Scenario(25, 0.30, seed=4, shift=SHIFT, talk_drift_to=drift_to))


def test_agents_go_on_break_and_come_back():
    # Every agent takes a staggered 15-minute break, and ten leave together for 30 minutes.
    staggered = tuple((a, 1800.0 + 150.0 * a, 900.0) for a in range(25))
    together = tuple((a, 1.5 * HOUR, 1800.0) for a in range(10))
    _check(Scenario(25, 0.30, seed=5, shift=SHIFT, breaks=staggered + together))


def test_zero_wrap_up():
    _check(Scenario(25, 0.30, seed=6, shift=SHIFT, wrapup=0.0))


def test_amd_mistakes_count_as_abandons():
    sc = Scenario(25, 0.30, seed=7, shift=SHIFT, amd_false_positive=0.01)
    ours, _ = _both(sc)
    # The AMD hang-ups are in the rate, and pacing still keeps the total under the cap.
    assert ours.abandons > 0.005 * ours.live_answers
    assert ours.abandon_rate <= CAP


def test_small_team():
    _check(Scenario(5, 0.30, seed=8, shift=2 * SHIFT))


def test_everyone_on_break_stops_dialing():
    decisions: list[tuple[float, int, int]] = []

    class Watched(Project):
        def decide(self, sim: Simulation) -> int:
            n = super().decide(sim)
            decisions.append((sim.now, sim.available_agents, n))
            return n

    # Each agent leaves at the end of the call in hand after the hour, for 40 minutes.
    breaks = tuple((a, HOUR, 2400.0) for a in range(10))
    result = simulate(Scenario(10, 0.30, seed=9, shift=2.5 * HOUR, breaks=breaks), Watched())
    empty = [n for _, agents, n in decisions if agents == 0]
    assert empty, "the whole team was never on break together"
    assert all(n == 0 for n in empty)
    assert result.abandon_rate <= CAP


def test_warm_up_dials_progressive():
    decisions: list[tuple[int, int]] = []

    class Watched(Project):
        def decide(self, sim: Simulation) -> int:
            n = super().decide(sim)
            ring = sim.dial_stats
            if (
                ring.dials < self.config.warmup_dials
                or ring.live_answers < self.config.warmup_live_answers
            ):
                decisions.append((sim.lines_in_use() + n, sim.available_agents))
            return n

    sim = Simulation(Scenario(25, 0.15, seed=10, shift=HOUR), Watched())
    result = sim.run()
    assert decisions
    assert all(lines <= agents for lines, agents in decisions)
    # The talk-time warm-up that follows (only wrap-ups predicted) keeps the first hour legal.
    assert result.abandon_rate <= CAP
