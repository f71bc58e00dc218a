"""Where the shift start's occupancy goes: calls per second, the warm-up, carried-over models.

    .venv/bin/python -m bench.pacing.ramp              # 100 agents, p = 0.15, seeds 1-20
    .venv/bin/python -m bench.pacing.ramp --agents 25 --seeds 5 --no-write

Every agent is idle at the first second, so the first live answers need hundreds of dials.
Each row runs the project's default policy twice on the same call list: the whole shift and its
first 10 minutes alone (the simulation is deterministic, so the first 10 minutes are the same in
both and the rest of the shift is the difference). The first rows change the calls-per-second
limit; the last two start with the ring profile and talk time of an earlier shift already
measured, as the live dialer does from a campaign's finished calls (3,000 dials, 300 talks; the
abandon ledger still starts empty), once from the first second and once only after this shift's
own warm-up.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from multiprocessing import Pool

from bench.pacing.policies import Project
from bench.pacing.run import _interval, cell_arguments, machine, publish
from bench.pacing.sim import Scenario, Simulation, _CallList, dial_outcome
from dialer.pacing.policy import PacingConfig, warming_up
from dialer.pacing.stats import DialOutcomeStats, RingModel, TalkTimeModel, TalkTimeStats

SECTION = "## Predictive pacing: the shift-start ramp (issue 8)"
AFTER = "## Predictive pacing frontier (issue 8)"
FIRST = 600.0  # seconds counted as the shift start
UNLIMITED = 10_000
# (label, calls per second, carried over: "" no, "all" yes, "after-warm-up" once it is over)
ROWS = (
    ("10 calls/s (the live dialer's default `DIALER_CALLS_PER_SECOND`)", 10, ""),
    ("20 calls/s (the grid above)", 20, ""),
    ("40 calls/s", 40, ""),
    ("no calls-per-second limit", UNLIMITED, ""),
    ("20 calls/s, ring profile and talk time carried over from an earlier shift", 20, "all"),
    (
        "20 calls/s, carried over but used only after this shift's own warm-up "
        "(30 dial outcomes, 5 live answers)",
        20,
        "after-warm-up",
    ),
)
CARRIED_DIALS = 3_000  # what the live dialer reads back (dialer.pacing.live.RING_HISTORY)
CARRIED_TALKS = 300  # (TALK_HISTORY)


def carried_over(sc: Scenario, seed: int) -> tuple[DialOutcomeStats, TalkTimeStats]:
    """An earlier shift of the same campaign, measured: another seed's calls, same call model."""
    calls = _CallList(dataclasses.replace(sc, seed=seed))
    dials, talks = DialOutcomeStats(), TalkTimeStats()
    for _ in range(CARRIED_DIALS):
        u, g, b, _z, _a = calls.draw()
        live, known_at = dial_outcome(0.0, sc.p_live, u, g, b)
        dials.record(known_at, live)
    for _ in range(CARRIED_TALKS):
        talks.record(math.exp(calls.mu + calls.sigma * calls.draw()[3]))
    return dials, talks


class AfterWarmUp(Project):
    """Paces on the earlier shift's measurements, but only once this shift's own dials would
    have ended the warm-up: what the warm-up's progressive start costs on its own."""

    def __init__(
        self, config: PacingConfig, carried: tuple[RingModel | None, TalkTimeModel | None]
    ):
        super().__init__(config)
        self.carried = carried

    def models(self, sim: Simulation) -> tuple[RingModel | None, TalkTimeModel | None]:
        own, _ = super().models(sim)
        if own is None or warming_up(own, self.config):
            return own, self.carried[1]
        return self.carried


def _run(job: tuple[int, int, str, int, float, int]) -> tuple[int, int, float, float, float]:
    """Occupancy of the first 10 minutes and of the whole shift, and its abandon rate."""
    row, cps, carried, agents, p, seed = job
    results = []
    for shift in (FIRST, Scenario(agents, p, seed).shift):
        sc = Scenario(agents, p, seed, shift=shift, max_cps=cps)
        config = PacingConfig(max_calls_per_second=cps)
        earlier = carried_over(sc, seed + 100_000) if carried else None
        if carried == "after-warm-up" and earlier is not None:
            models = earlier[0].model(), earlier[1].model()
            sim = Simulation(sc, AfterWarmUp(config, models))
        else:
            sim = Simulation(sc, Project(config))
            if earlier is not None:
                sim.dial_stats, sim.talk_stats = earlier
        results.append(sim.run())
    first, whole = results
    return row, seed, first.occupancy, whole.occupancy, whole.abandon_rate


def main(argv: list[str] | None = None) -> int:
    args = cell_arguments(__doc__ or "", 20, argv)
    seeds = range(1, args.seeds + 1)
    jobs = [
        (i, cps, carried, args.agents, args.p, s)
        for i, (_, cps, carried) in enumerate(ROWS)
        for s in seeds
    ]
    started = time.perf_counter()
    with Pool(args.workers) as pool:
        out = pool.map(_run, jobs, chunksize=1)
    wall = time.perf_counter() - started
    shift = Scenario(args.agents, args.p, 1).shift
    table = [
        "| Dialer | Whole shift: occupancy % mean [95% CI] | First 10 min | Rest of the shift "
        "| Abandon % mean, max |",
        "|---|---|---|---|---|",
    ]
    for i, (label, _, _) in enumerate(ROWS):
        mine = [r for r in out if r[0] == i]
        whole = _interval([w for *_, w, _ in mine])
        first = _interval([f for _, _, f, _, _ in mine])
        # Talk after the first 10 minutes over the agent time after them.
        rest = _interval([(w * shift - f * FIRST) / (shift - FIRST) for _, _, f, w, _ in mine])
        ab = _interval([a for *_, a in mine])
        table.append(
            f"| {label} | {whole[0] * 100:.2f} [{whole[1] * 100:.2f}, {whole[2] * 100:.2f}] "
            f"| {first[0] * 100:.1f} | {rest[0] * 100:.2f} | {ab[0] * 100:.2f}, {ab[3] * 100:.2f} |"
        )
    text = f"""{SECTION}

Command: `.venv/bin/python -m bench.pacing.ramp` ({args.agents} agents, p = {args.p}, seeds
1-{args.seeds}, the grid's call model and the project's default policy; only the calls-per-second
limit, of the simulated dialer and of `PacingConfig`, changes between the first four rows).
{machine(args.workers, wall)}

Every agent is idle at the first second: at a 15% answer rate about 670 dials fill 100 agents.
The first rows show what the calls-per-second limit costs there; "rest of the shift" is what the
pacing holds once it runs. The last two rows are a campaign's later shift, when the live dialer
reads the ring profile and talk time back from the campaign's finished calls: from the first
second (no warm-up: the measurements already hold enough dials), and only after this shift's
own warm-up (progressive until 30 dial outcomes and 5 live answers), which isolates what the
warm-up itself costs.

{chr(10).join(table)}
"""
    publish(text, SECTION, after=AFTER, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
