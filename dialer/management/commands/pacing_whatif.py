"""`python manage.py pacing_whatif <campaign>`: what Predictive pacing would do for a campaign,
before an admin switches it to Predictive.

Takes the campaign's measured live-answer rate and talk time (its finished calls), its queue's
wrap-up and agents, and runs the seeded pacing simulator (bench/pacing, SCENARIOS.md call
model for everything not measured) with the project's policy and with progressive 1:1.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from agents.models import Tier
from campaigns.models import Campaign
from dialer.pacing.live import measured_models


def whatif(
    *, agents: int, p_live: float, talk_mean: float, talk_sd: float, wrapup: float,
    hours: float, seeds: int,
) -> dict[str, dict[str, float]]:  # fmt: skip
    """Mean occupancy, worst abandon rate and mean gain over progressive, per policy."""
    from bench.pacing.policies import Progressive, Project
    from bench.pacing.sim import HOUR, Scenario, simulate

    out: dict[str, list[Any]] = {"predictive (project)": [], "progressive": []}
    for seed in range(1, seeds + 1):
        sc = Scenario(
            agents, p_live, seed, shift=hours * HOUR, wrapup=wrapup,
            talk_mean=talk_mean, talk_sd=talk_sd,
        )  # fmt: skip
        out["predictive (project)"].append(simulate(sc, Project()))
        out["progressive"].append(simulate(sc, Progressive()))
    base = {r.seed: r.talk_minutes_per_agent_hour for r in out["progressive"]}
    return {
        name: {
            "occupancy": statistics.fmean(r.occupancy for r in rs),
            "abandon_max": max(r.abandon_rate for r in rs),
            "gain": statistics.fmean(r.talk_minutes_per_agent_hour / base[r.seed] for r in rs),
            "connects_per_agent_hour": statistics.fmean(r.connects_per_agent_hour for r in rs),
        }
        for name, rs in out.items()
    }


class Command(BaseCommand):
    help = "What-if: Predictive pacing for one campaign from its measured statistics."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("campaign", help="campaign id or name")
        parser.add_argument("--agents", type=int, help="default: agents tiered on its queue")
        parser.add_argument("--hours", type=float, default=8.0)
        parser.add_argument("--seeds", type=int, default=3)

    def handle(self, *args: Any, **opts: Any) -> None:
        key = str(opts["campaign"])
        found = Campaign.objects.select_related("queue")
        found = found.filter(pk=int(key)) if key.isdigit() else found.filter(name=key)
        campaign = found.first()
        if campaign is None:
            raise CommandError(f"no campaign {key!r}")
        ring, talk = measured_models(campaign, now=timezone.now())
        if ring is None or talk is None or ring.live_answers < 20 or talk.samples < 20:
            raise CommandError(
                "not enough measured calls (need 20 live answers with talk times): "
                "run it Progressive first"
            )
        agents = opts["agents"] or Tier.objects.filter(queue=campaign.queue).count()
        if agents <= 0:
            raise CommandError("no agents: pass --agents")
        mean = talk.mean
        sd = mean * math.sqrt(math.exp(talk.sigma**2) - 1.0)
        wrap = float(campaign.queue.wrap_up_time)
        self.stdout.write(
            f"{campaign.name}: measured live-answer rate {ring.live_probability:.1%} "
            f"({ring.dials} dials), talk time mean {mean:.0f} s sd {sd:.0f} s "
            f"({talk.samples} calls), wrap-up {wrap:.0f} s; {agents} agents, "
            f"{opts['hours']:g} h x {opts['seeds']} seeds"
        )
        got = whatif(
            agents=agents, p_live=ring.live_probability, talk_mean=mean, talk_sd=sd,
            wrapup=wrap, hours=opts["hours"], seeds=opts["seeds"],
        )  # fmt: skip
        self.stdout.write("policy | occupancy | abandon (worst seed) | connects/agent-h | gain")
        for name, f in got.items():
            self.stdout.write(
                f"{name} | {f['occupancy']:.1%} | {f['abandon_max']:.2%} | "
                f"{f['connects_per_agent_hour']:.1f} | {f['gain']:.2f}x"
            )
