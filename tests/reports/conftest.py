"""A hand-built day of calls in New York (the account timezone), with its expected figures.

Wednesday 2026-11-18 (EST, UTC-05:00), campaigns Renewals (Progressive) and Winback (Preview):

 #  local time         campaign  result     agent  ring wait talk  note
 1  10:00              Renewals  connected  Alice    8    2  120  SLA met / met, Sale
 2  10:20              Renewals  connected  Bob      5    4   60  SLA missed / met
 3  10:40              Renewals  abandoned  -        6   30    -  answered, nobody came
 4  11:05              Renewals  voicemail  -       10    -    -  machine, dropped by the dialer
 5  11:30              Renewals  no_answer  -       30    -    -
 6  11:45              Winback   busy       -        -    -    -
 7  23:50 (04:50Z+1)   Winback   connected  Alice    4    1  600  ends after local midnight
 8  00:10 Nov 19       Winback   no_answer  -        -    -    -  next local day (05:10Z)
 9  11:50              Renewals  pending    -        3    -    -  answered, still waiting
10  11:55              Winback   voicemail  Bob      7    3   15  agent reached a machine
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agents.models import Agent, Disposition
from campaigns.models import Campaign
from dialer.models import Call
from tests.factories import (
    AgentFactory,
    CallFactory,
    CampaignFactory,
    DispositionFactory,
    LeadFactory,
    QueueFactory,
)

NY = ZoneInfo("America/New_York")


def ny(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=NY)


@dataclass
class CallSet:
    renewals: Campaign
    winback: Campaign
    alice: Agent
    bob: Agent
    sale: Disposition
    calls: dict[int, Call]


def make_call(
    number: int,
    campaign: Campaign,
    at: datetime,
    result: str,
    *,
    agent: Agent | None = None,
    ring: float | None = None,
    wait: float | None = None,
    talk: float | None = None,
    answered: bool = False,
    **extra: object,
) -> Call:
    lead = LeadFactory(
        campaign=campaign,
        first_name=f"Lead{number}",
        last_name="Tester",
        number=f"+120255501{number:02d}",
    )
    answered_at = at + timedelta(seconds=(ring or 0) + 2) if answered else None
    agent_answered_at = (
        answered_at + timedelta(seconds=wait or 0) if agent and answered_at else None
    )
    end = (agent_answered_at or answered_at or at) + timedelta(seconds=(talk or 0) + 1)
    return CallFactory(
        lead=lead,
        campaign=campaign,
        requested_at=at,
        dialed_at=at + timedelta(seconds=1),
        ringing_at=at + timedelta(seconds=2) if ring else None,
        answered_at=answered_at,
        agent_answered_at=agent_answered_at,
        hangup_at=None if result == "pending" else end,
        result=result,
        agent=agent,
        agent_name=agent.display_name if agent else "",
        agent_extension=agent.extension if agent else "",
        ring_seconds=ring,
        customer_wait_seconds=wait,
        talk_seconds=talk,
        caller_id_number="+12025550100",
        caller_id_name="Acme Sales",
        **extra,
    )


@pytest.fixture
def call_set(db) -> CallSet:  # type: ignore[no-untyped-def]
    queue = QueueFactory(name="sales@default")
    renewals = CampaignFactory(name="Renewals", type="progressive", queue=queue)
    winback = CampaignFactory(name="Winback", type="preview", queue=queue)
    alice = AgentFactory(
        name="1001@default", extension="1001", user__first_name="Alice", user__last_name="Agent"
    )
    bob = AgentFactory(
        name="1002@default", extension="1002", user__first_name="Bob", user__last_name="Caller"
    )
    sale = DispositionFactory(queue=queue, code="sale", label="Sale")
    c: dict[int, Call] = {}
    c[1] = make_call(1, renewals, ny(18, 10, 0), "connected", agent=alice, ring=8, wait=2,
                     talk=120, answered=True, customer_wait_sla_met=True, agent_sla_met=True,
                     disposition=sale, hangup_cause="NORMAL_CLEARING")  # fmt: skip
    c[2] = make_call(2, renewals, ny(18, 10, 20), "connected", agent=bob, ring=5, wait=4,
                     talk=60, answered=True, customer_wait_sla_met=False, agent_sla_met=True,
                     hangup_cause="NORMAL_CLEARING")  # fmt: skip
    c[3] = make_call(3, renewals, ny(18, 10, 40), "abandoned", ring=6, wait=30, answered=True,
                     customer_wait_sla_met=False, hangup_cause="NORMAL_CLEARING")  # fmt: skip
    c[4] = make_call(4, renewals, ny(18, 11, 5), "voicemail", ring=10, answered=True,
                     amd_result="MACHINE", hangup_cause="NORMAL_CLEARING")  # fmt: skip
    c[5] = make_call(5, renewals, ny(18, 11, 30), "no_answer", ring=30,
                     hangup_cause="NO_ANSWER")  # fmt: skip
    c[6] = make_call(6, winback, ny(18, 11, 45), "busy", hangup_cause="USER_BUSY")
    c[7] = make_call(7, winback, ny(18, 23, 50), "connected", agent=alice, ring=4, wait=1,
                     talk=600, answered=True, hangup_cause="NORMAL_CLEARING")  # fmt: skip
    c[8] = make_call(8, winback, ny(19, 0, 10), "no_answer", hangup_cause="NO_ANSWER")
    c[9] = make_call(9, renewals, ny(18, 11, 50), "pending", ring=3, answered=True)
    c[10] = make_call(10, winback, ny(18, 11, 55), "voicemail", agent=bob, ring=7, wait=3,
                      talk=15, answered=True, hangup_cause="NORMAL_CLEARING")  # fmt: skip
    return CallSet(renewals=renewals, winback=winback, alice=alice, bob=bob, sale=sale, calls=c)
