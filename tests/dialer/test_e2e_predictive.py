"""End to end: a Predictive campaign with 10 simulated agents for a simulated hour (the
simulator's clock runs 20x) through the real selector, the pacing seam, the Redis Stream
handoff and the daemon, to the FreeSWITCH simulator in statistical mode, on PostgreSQL and
Redis. The ledger stays under the cap and no customer waits past the drop time without the
safe-harbor message.

The daemon's drop timer runs on the wall clock (1 s here is 20 simulated seconds), so drops
are rare in this compressed world: mid-shift every agent goes on break for a simulated
minute, so the customers answering then are dropped with the message; the drop path's
details are tested in test_pacing_drops.py."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from datetime import time as wall

import pytest
from django.test.utils import override_settings

from dialer import compliance, handoff
from dialer.daemon import Dialer, default_request_source
from dialer.models import Call, CallResult
from dialer.pacing import live as pacing_live
from dialer.redisconn import redis_client
from freeswitch.simulator import Simulator
from leads.models import Lead
from tests.dialer.dialer_harness import SelectorTicks, callcenter_config, wait_until
from tests.factories import CampaignFactory, QueueFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

QUEUE = "predictive@default"
AGENTS = 10
SCALE = 20  # simulated seconds per wall second: a simulated hour in 3 minutes
SIMULATED_SECONDS = float(os.environ.get("E2E_PREDICTIVE_SECONDS", 3600))
SAFE_HARBOR = "/sounds/acme-optout.wav"
SCENARIO = {
    "statistical": {
        "answer_probability": 0.35,
        "busy_probability": 0.1,
        "fail_time": 3,
        "voicemail_share": 0.2,
        "ring_time": {"dist": "lognormal", "mean": 8, "sigma": 0.5, "max": 25},
        "talk_time": {"dist": "lognormal", "mean": 120, "sigma": 0.8, "max": 900},
        "machine_time": 20,
    },
    "agents": {"default": {"action": "answer", "ring": 0.5, "answer_after": 0.5, "talk": 600}},
    # The safe-harbor transfer: play the message, then the dialplan ends and the call hangs up.
    "dialplan": {f"playback:{SAFE_HARBOR}": [["playback", SAFE_HARBOR]]},
}


@pytest.fixture
def system():
    client = redis_client()
    client.delete(handoff.STREAM, handoff.CONTROL_STREAM, *client.keys("dialer:live:*"))
    client.delete(*(client.keys("pacing:*") or ["pacing:none"]))
    handoff._group_ready = False
    sim = Simulator(
        scenario=SCENARIO,
        callcenter_config=callcenter_config(QUEUE, AGENTS),
        time_scale=SCALE,
        seed=11,
        sps=1000,
    )
    sim.start()
    dialer = Dialer(
        host="127.0.0.1", port=sim.port, password="ClueCon", node="fs1", gateway="carrier",
        requests=default_request_source("dialer-fs1"), calls_per_second=50,
        max_concurrent=100, originate_timeout=25,
    )  # fmt: skip
    sent: list[tuple[float, str]] = []
    send = dialer._send

    def watched(command: str) -> None:
        sent.append((time.monotonic(), command))
        send(command)

    dialer._send = watched  # type: ignore[method-assign]
    yield sim, dialer, sent
    dialer.stop()
    sim.stop()


def build_campaign(n_leads: int):
    queue = QueueFactory(name=QUEUE, phone_number="+12025550100", wrap_up_time=0)
    campaign = CampaignFactory(
        queue=queue, type="predictive", retries=0, run_status="running",
        drop_seconds=1, safe_harbor_media=SAFE_HARBOR,
    )  # fmt: skip
    from agents.models import Agent

    for i in range(AGENTS):
        name = f"{1001 + i}@default"
        agent = Agent.objects.filter(name=name).first()
        if agent is None:
            from tests.factories import AgentFactory

            agent = AgentFactory(name=name, extension=str(1001 + i))
        agent.tiers.create(queue=queue, level=1, position=1)
    now = datetime.now(UTC)
    Lead.objects.bulk_create(
        Lead(
            campaign=campaign, number=f"+1202555{i:04d}", first_name="L", last_name=str(i),
            timezone="America/New_York", timezones=["America/New_York"],
            created_at=now, next_dial_at=now,
        )
        for i in range(n_leads)
    )  # fmt: skip
    return campaign


def peak_lines(campaign) -> int:  # type: ignore[no-untyped-def]
    """The most calls of the campaign up at once (dialed, not yet hung up)."""
    edges = []
    calls = Call.objects.filter(campaign=campaign, dialed_at__isnull=False)
    for dialed, hangup in calls.values_list("dialed_at", "hangup_at"):
        edges.append((dialed, 1))
        if hangup is not None:
            edges.append((hangup, -1))
    up = peak = 0
    for _at, step in sorted(edges, key=lambda e: (e[0], e[1])):  # a hang-up first on a tie
        up += step
        peak = max(peak, up)
    return peak


def ringing_lines(dialer: Dialer) -> int:
    with dialer.lock:
        return sum(1 for c in dialer.calls.values() if c.times.answered_at is None)


def set_status(sim: Simulator, status: str) -> None:
    for i in range(AGENTS):
        sim.run_api(f"callcenter_config agent set status {1001 + i}@default '{status}'")


@override_settings(LEGAL_CALLING_START=wall(0), LEGAL_CALLING_END=wall(0))
def test_predictive_campaign_for_a_simulated_hour(system):
    _sim, dialer, sent = system
    campaign = build_campaign(4000)
    dialer.start()
    assert dialer.conn.wait_connected(5)
    ticks = SelectorTicks(every=0.2)
    ticks.start()
    started = datetime.now(UTC)
    try:
        # Mid-shift every agent goes on break at once while lines ring: the customers who
        # answer then have nobody to take them, so the drop path must run. (Until one did:
        # a ringing line is not always a live answer.)
        end = time.monotonic() + SIMULATED_SECONDS / SCALE
        time.sleep(SIMULATED_SECONDS / SCALE / 2)
        for _ in range(5):
            if any(cmd.startswith("uuid_transfer ") for _, cmd in sent):
                break
            wait_until(lambda: ringing_lines(dialer) >= 3, timeout=20, step=0.05)
            set_status(_sim, "On Break")
            time.sleep(60 / SCALE)
            set_status(_sim, "Available")
            time.sleep(60 / SCALE)
        time.sleep(max(0.0, end - time.monotonic()))
    finally:
        ticks.stop()
    # Calls in progress end normally (talk at most 900 simulated s).
    wait_until(
        lambda: not Call.objects.filter(campaign=campaign, result=CallResult.PENDING).exists(),
        timeout=900 / SCALE + 10,
        step=0.5,
    )
    ended = datetime.now(UTC)
    ledger = compliance.campaign_window_rate(campaign, now=ended)
    results = list(
        Call.objects.filter(campaign=campaign).values_list("result", "hangup_cause", "amd_result")
    )
    assert ledger.live_answers >= 100 * SIMULATED_SECONDS / 3600, (ledger, results[:30])
    assert ledger.rate <= compliance.cap_of(campaign), ledger
    kept = pacing_live.decision_history(campaign.pk)
    assert any(d["mode"] == "predictive" for d in kept), [d["reason"] for d in kept[:5]]
    # Dialing ahead of the agents: more lines than agents at times (read from the calls
    # themselves: the kept decisions are one sample in every 10 s and may all fall on lulls).
    assert peak_lines(campaign) > AGENTS
    # No customer waited past the drop time without the safe-harbor message.
    drop = timedelta(seconds=campaign.drop_seconds)
    transferred = {cmd.split()[1] for _, cmd in sent if cmd.startswith("uuid_transfer ")}
    live_calls = Call.objects.filter(
        campaign=campaign, answered_at__gte=started, answered_at__isnull=False
    ).exclude(amd_result__iexact="MACHINE")
    late = []
    for call in live_calls:
        waited_to = call.agent_answered_at or call.hangup_at
        too_long = waited_to is None or waited_to - call.answered_at > drop + timedelta(seconds=0.5)
        if too_long and str(call.uuid) not in transferred:
            late.append((str(call.uuid), call.result, call.answered_at, waited_to))
    assert not late, late[:5]
    assert transferred, "the break left no customer without an agent: the drop path never ran"
    print(
        f"e2e predictive: {ledger.live_answers} live answers, {ledger.abandons} abandoned "
        f"({ledger.rate:.2%}), {len(transferred)} safe-harbor transfers, "
        f"{len(results)} calls, {peak_lines(campaign)} lines at the peak"
    )
    for call in live_calls.filter(result=CallResult.ABANDONED):
        if call.agent_answered_at is None:
            assert str(call.uuid) in transferred or call.hangup_at - call.answered_at <= drop
