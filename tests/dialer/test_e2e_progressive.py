"""End to end: a Progressive campaign of 200 leads through the real selector (Celery's tick,
called in a loop), the Redis Stream handoff and the daemon, over a real socket, to the
FreeSWITCH simulator with 5 simulated agents, on PostgreSQL and Redis."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime
from datetime import time as wall

import pytest
from django.test.utils import override_settings

from dialer import handoff
from dialer.daemon import Dialer, default_request_source
from dialer.models import Call, CallResult
from dialer.redisconn import redis_client
from freeswitch.simulator import Simulator
from leads.models import Lead, LeadState
from tests.dialer.dialer_harness import (
    Observer,
    SelectorTicks,
    callcenter_config,
    campaign_finished,
    wait_until,
)
from tests.factories import CampaignFactory, LeadFactory, QueueFactory

pytestmark = pytest.mark.django_db(transaction=True)

QUEUE = "sales@default"
# Lead number blocks → what the far end does (simulated seconds; the clock runs 100x).
MIX = {
    "0": ("answer", LeadState.SUCCESS),
    "1": ("busy", LeadState.FAILED),
    "2": ("no_answer", LeadState.FAILED),
    "3": ("invalid", LeadState.FAILED),
    "4": ("machine", LeadState.FAILED),
    "5": ("abandon", LeadState.FAILED),
}
SCENARIO = {
    "rules": [
        {
            "match": r"^\+1202555[0-9]0",
            "action": "answer",
            "ring": 1,
            "answer_after": 2,
            "talk": 30,
        },
        {"match": r"^\+1202555[0-9]1", "action": "busy", "ring": 1},
        {"match": r"^\+1202555[0-9]2", "action": "no_answer"},
        {"match": r"^\+1202555[0-9]3", "action": "invalid", "ring": 0.5},
        {
            "match": r"^\+1202555[0-9]4",
            "action": "machine",
            "ring": 1,
            "answer_after": 1,
            "talk": 10,
        },
        # Answers and hangs up at once, before any agent can pick up. (Hanging up while an
        # agent's phone rings leaves the simulator's agent stuck in Receiving: reported.)
        {
            "match": r"^\+1202555[0-9]5",
            "action": "answer",
            "ring": 1,
            "answer_after": 1,
            "talk": 0.001,
        },
    ],
    "agents": {"default": {"action": "answer", "ring": 0.5, "answer_after": 1, "talk": 20}},
}


def build_campaign(n_leads: int, retries: int = 2):
    queue = QueueFactory(name=QUEUE, phone_number="+12025550100")
    campaign = CampaignFactory(
        queue=queue,
        retries=retries,
        cool_off=0,
        run_status="running",
        agent_dial_timeout=30,
        drop_retry_minutes=0,  # an abandon would otherwise wait out the drop rule's hour
    )
    now = datetime.now(UTC)
    blocks = list(MIX)
    for i in range(n_leads):
        block = blocks[i % len(blocks)]
        # +1202555 <hundreds><block><2 digits>: the block digit picks the scenario rule.
        number = f"+1202555{(i // 60) % 10}{block}{i % 100:02d}"
        LeadFactory(campaign=campaign, number=number, created_at=now, next_dial_at=now)
    return campaign


@pytest.fixture
def system():
    client = redis_client()
    client.delete(handoff.STREAM, handoff.CONTROL_STREAM, *client.keys("dialer:live:*"))
    handoff._group_ready = False
    sim = Simulator(
        scenario=SCENARIO,
        callcenter_config=callcenter_config(QUEUE, 5),
        time_scale=100,
        seed=7,
        sps=1000,
    )
    sim.start()
    requests = default_request_source("dialer-fs1")
    assert hasattr(requests, "handoff")  # the selector's stream, not the built-in reader
    dialer = Dialer(
        host="127.0.0.1",
        port=sim.port,
        password="ClueCon",
        node="fs1",
        gateway="carrier",
        requests=requests,
        calls_per_second=200,
        max_concurrent=100,
        originate_timeout=30,
    )
    observer = Observer(sim.port, QUEUE, [f"{1001 + i}@default" for i in range(5)])
    observer.start()
    yield sim, requests, dialer, observer
    observer.stop()
    dialer.stop()
    sim.stop()


def expected_state(number: str) -> str:
    return MIX[number[-3]][1]


# The daemon runs on the wall clock: open the legal hours all day for this test only.
@override_settings(LEGAL_CALLING_START=wall(0), LEGAL_CALLING_END=wall(0))
def test_progressive_campaign_of_200_leads(system):
    sim, _requests, dialer, observer = system
    campaign = build_campaign(200)
    dialer.start()
    assert dialer.conn.wait_connected(5)
    ticks = SelectorTicks(every=0.05)
    ticks.start()
    try:
        finished = wait_until(
            lambda: campaign_finished(campaign),
            timeout=90,
            step=0.2,
        )
    finally:
        ticks.stop()
    states = dict(Lead.objects.filter(campaign=campaign).values_list("number", "state"))
    wrong = {n: s for n, s in states.items() if s != expected_state(n)}
    assert finished, f"unfinished: {[s for s in states.values() if s not in ('success', 'failed')]}"
    assert not wrong, wrong
    # Every attempt has one finished, consistent Call row.
    time.sleep(0.3)
    calls = list(Call.objects.filter(campaign=campaign).order_by("lead_id", "attempt"))
    assert not [c for c in calls if c.result == CallResult.PENDING]
    by_lead: dict[int, list[Call]] = {}
    for c in calls:
        by_lead.setdefault(c.lead_id, []).append(c)
    for lead in Lead.objects.filter(campaign=campaign):
        rows = by_lead[lead.pk]
        assert [c.attempt for c in rows] == list(range(1, len(rows) + 1))
        kind = MIX[lead.number[-3]][0]
        if kind == "answer":
            assert len(rows) == 1
            (c,) = rows
            assert c.result == CallResult.CONNECTED
            assert c.agent_name
            assert c.answered_at <= c.agent_answered_at <= c.hangup_at
            assert c.talk_seconds is not None
            assert c.customer_wait_seconds is not None
        else:
            assert len(rows) == 2, (lead.number, [(c.result, c.hangup_cause) for c in rows])
            want = {
                "busy": CallResult.BUSY,
                "no_answer": CallResult.NO_ANSWER,
                "invalid": CallResult.INVALID,
                "machine": CallResult.VOICEMAIL,
                "abandon": CallResult.ABANDONED,
            }[kind]
            assert {c.result for c in rows} == {want}, [(c.result, c.hangup_cause) for c in rows]
        for earlier, later in itertools.pairwise(rows):
            assert earlier.hangup_at <= later.dialed_at
        for c in rows:
            assert c.dialed_at
            assert c.hangup_at
            assert c.caller_id_number == "+12025550100"
    # Nothing dialed twice: one originate per Call row.
    log = sim.core.originate_log
    assert len(log) == len(calls)
    assert len({line.split("origination_uuid=")[1][:36] for line in log}) == len(calls)
    assert not observer.violations, observer.violations[:5]
    assert observer.max_ringing <= 5
