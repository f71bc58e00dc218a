"""How finely the pacing benchmark resolves occupancy: the same policy, its model rebuilt more
or less often, on seeds the acceptance table does not use.

    .venv/bin/python -m bench.pacing.resolution          # 100 agents, p = 0.15, seeds 21-60
    .venv/bin/python -m bench.pacing.resolution --seeds 4 --no-write

The simulator rebuilds the measured ring profile whenever the policy asks after a new dial
outcome, as the live dialer reads its history every tick. Rebuilding only every 5, 20 or 100
outcomes changes no rule of the policy, only how soon it sees its last few outcomes. The rows
show what that staleness costs, and how far such a change moves the mean of 20 seeds on its
own: the resolution behind a verdict at the 0.01 level.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from multiprocessing import Pool

from bench.pacing.policies import Project
from bench.pacing.run import _interval, cell_arguments, machine, publish
from bench.pacing.sim import Scenario, Simulation
from dialer.pacing.policy import PacingConfig
from dialer.pacing.stats import DialOutcomeStats

SECTION = "## Predictive pacing: how finely the benchmark resolves occupancy (issue 8)"
AFTER = "## Predictive pacing: the shift-start ramp (issue 8)"
REBUILD_EVERY = (1, 5, 20, 100)  # dial outcomes; 1 is the simulator's and the live dialer's
FIRST_SEED = 21  # seeds 1-20 are the acceptance table's


def _run(job: tuple[int, int, float, int]) -> tuple[int, int, float, float]:
    every, agents, p, seed = job
    sim = Simulation(Scenario(agents, p, seed), Project(PacingConfig()))
    sim.dial_stats = DialOutcomeStats(refresh=every)
    r = sim.run()
    return every, seed, r.occupancy, r.abandon_rate


def main(argv: list[str] | None = None) -> int:
    args = cell_arguments(__doc__ or "", 40, argv)
    seeds = range(FIRST_SEED, FIRST_SEED + args.seeds)
    halves = (seeds[: len(seeds) // 2], seeds[len(seeds) // 2 :])
    jobs = [(k, args.agents, args.p, s) for k in REBUILD_EVERY for s in seeds]
    started = time.perf_counter()
    with Pool(args.workers) as pool:
        out = pool.map(_run, jobs, chunksize=1)
    wall = time.perf_counter() - started
    occ = {(k, s): o for k, s, o, _ in out}
    aband = {(k, s): a for k, s, _, a in out}
    names = [f"seeds {h[0]}-{h[-1]}" for h in halves]
    table = [
        "| Ring profile rebuilt every | "
        + " | ".join(f"{n}: occupancy % mean [95% CI]" for n in names)
        + " | Paired difference from each new outcome: mean (sd per seed: standard error)"
        + " | Abandon % mean, max |",
        "|---|" + "---|" * (len(halves) + 2),
    ]
    for k in REBUILD_EVERY:
        cells = []
        for half in halves:
            m, lo, hi, _ = _interval([occ[k, s] for s in half])
            cells.append(f"{m * 100:.3f} [{lo * 100:.2f}, {hi * 100:.2f}]")
        diffs = [(occ[k, s] - occ[1, s]) * 100 for s in seeds]
        sd = statistics.stdev(diffs) if len(diffs) > 1 else 0.0
        n = len(halves[0])
        se = sd / math.sqrt(n)
        mean = statistics.fmean(diffs)
        paired = "—" if k == 1 else f"{mean:+.3f} (sd {sd:.3f}: ±{se:.3f} on {n} seeds)"
        ab = _interval([aband[k, s] for s in seeds])
        label = f"{k} dial outcomes" if k != 1 else "each new dial outcome (simulator, live)"
        table.append(
            f"| {label} | {' | '.join(cells)} | {paired} | {ab[0] * 100:.2f}, {ab[3] * 100:.2f} |"
        )
    text = f"""{SECTION}

Command: `.venv/bin/python -m bench.pacing.resolution` ({args.agents} agents, p = {args.p},
seeds {seeds[0]}-{seeds[-1]}, the grid's call model and the project's default policy).
{machine(args.workers, wall)}

The simulator rebuilds the measured ring profile whenever the policy asks after a new dial
outcome, as the live dialer reads its history every tick (until 2026-12-04 the simulator
rebuilt it every 20 outcomes and the live dialer every 10 s). No row changes a rule of the
policy, only how soon it sees its latest outcomes, and the seeds are not the acceptance
table's. Each change reroutes every later call of the shift: the sd per seed is how far such
a change moves one shift whatever its substance, and its standard error how far it moves the
mean of 20 seeds, the resolution of the acceptance table's verdicts.

{chr(10).join(table)}
"""
    publish(text, SECTION, after=AFTER, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
