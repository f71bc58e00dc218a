"""How much occupancy each abandon point buys: the pacing's frontier in one scenario.

    .venv/bin/python -m bench.pacing.frontier             # 100 agents, p = 0.15, seeds 1-10
    .venv/bin/python -m bench.pacing.frontier --agents 25 --p 0.15 --no-write

Runs the project's policy with its feedback and guard switched off and a fixed drop-risk limit
per line (so each limit lands at its own abandon rate), then the default configuration, and the
default configuration told the true answer probability and talk-time distribution from the
first second (what perfect estimators would give it). Writes its section of docs/benchmarks.md.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from multiprocessing import Pool

from bench.pacing.policies import Project
from bench.pacing.run import SECTION as GRID_SECTION
from bench.pacing.run import _interval, _pct, cell_arguments, machine, publish
from bench.pacing.sim import Scenario, Simulation, simulate
from dialer.pacing.policy import PacingConfig
from dialer.pacing.stats import RingModel, TalkTimeModel

SECTION = "## Predictive pacing frontier (issue 8)"
LIMITS = (0.005, 0.01, 0.015, 0.02, 0.025, 0.03)


class KnownModel(Project):
    """The policy given the scenario's true answer probability and talk time (no estimation)."""

    name = "known model"

    def models(self, sim: Simulation) -> tuple[RingModel | None, TalkTimeModel | None]:
        sc = sim.sc
        ring, talk = super().models(sim)
        if ring is not None:
            ring = dataclasses.replace(ring, live_probability=sc.live_probability(sim.now))
        if talk is not None:
            true_talk = TalkTimeModel.from_mean_sd(sc.talk_mean, sc.talk_sd)
            talk = dataclasses.replace(true_talk, samples=talk.samples)
        return ring, talk


def fixed_limit(theta: float) -> PacingConfig:
    """Every line may carry drop risk ``theta``: no feedback, no guard."""
    return PacingConfig(base_drop_risk=theta, feedback_gain=0.0, guard_min_answers=10**9)


def _run(job: tuple[str, float, int, float, int]) -> tuple[str, float, float, float]:
    label, theta, agents, p, seed = job
    sc = Scenario(agents, p, seed)
    if label == "known":
        policy: Project = KnownModel(PacingConfig())
    elif label == "default":
        policy = Project(PacingConfig())
    else:
        policy = Project(fixed_limit(theta))
    r = simulate(sc, policy)
    return label, theta, r.occupancy, r.abandon_rate


def main(argv: list[str] | None = None) -> int:
    args = cell_arguments(__doc__ or "", 10, argv)
    seeds = range(1, args.seeds + 1)
    rows = [("fixed", t) for t in LIMITS] + [("default", 0.0), ("known", 0.0)]
    jobs = [(label, t, args.agents, args.p, s) for label, t in rows for s in seeds]
    started = time.perf_counter()
    with Pool(args.workers) as pool:
        out = pool.map(_run, jobs, chunksize=1)
    wall = time.perf_counter() - started
    table = [
        "| Policy | Occupancy % mean [95% CI] | Abandon % mean [95% CI] max |",
        "|---|---|---|",
    ]
    for label, t in rows:
        occ = _interval([o for k, kt, o, _ in out if (k, kt) == (label, t)])
        ab = _interval([a for k, kt, _, a in out if (k, kt) == (label, t)])
        name = {
            "fixed": f"drop-risk limit {t:.1%} per line, no feedback",
            "default": "**project** (`PacingConfig()`: feedback to the aim, guard)",
            "known": "project, told the true answer rate and talk time",
        }[label]
        table.append(
            f"| {name} | {occ[0] * 100:.2f} [{occ[1] * 100:.2f}, {occ[2] * 100:.2f}] "
            f"| {ab[0] * 100:.2f} [{ab[1] * 100:.2f}, {ab[2] * 100:.2f}] {_pct(ab[3])} |"
        )
    text = f"""{SECTION}

Command: `.venv/bin/python -m bench.pacing.frontier` ({args.agents} agents, p = {args.p},
seeds 1-{args.seeds}, the call model of the grid above). {machine(args.workers, wall)}

The project's policy with its feedback and guard off and a fixed drop-risk limit per line traces
how much occupancy each abandon point buys; the default configuration should sit on that curve,
and the same configuration told the true answer rate and talk-time distribution shows what
better estimators could add.

{chr(10).join(table)}
"""
    publish(text, SECTION, after=GRID_SECTION, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
