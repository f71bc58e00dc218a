"""Stop against the simulator: what happens to each call of the campaign still in progress.

A customer still ringing is hung up on and the lead retries; a person who answered and waits
for an agent hears the safe-harbor message and the lead is held by the drop rule; a Preview
agent whose phone rings is released and the customer is never dialed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from agents.models import Agent
from campaigns.models import Campaign, RunStatus
from campaigns.services import campaign_stop
from dialer import preview
from dialer.daemon import Dialer
from dialer.models import Call, CallResult
from freeswitch.simulator import Simulator
from leads import lifecycle
from leads.models import Lead, LeadState
from tests.dialer.dialer_harness import MemoryRequests, callcenter_config, wait_until
from tests.factories import CampaignFactory, LeadFactory, QueueFactory

pytestmark = pytest.mark.django_db(transaction=True)

QUEUE = "uk@default"
ANSWERS = "+12025550142"  # picks up at once
RINGS = "+12025550199"  # rings on and on


def dialer_for(sim: Simulator, requests: MemoryRequests | None = None) -> Dialer:
    return Dialer(
        host="127.0.0.1",
        port=sim.port,
        password="ClueCon",
        node="fs1",
        gateway="carrier",
        requests=requests,
        publish=lambda snap: None,
        originate_timeout=600,  # the ringing customer rings until the stop
    )


def dialing_call(campaign: Campaign, number: str, now: datetime) -> Call:
    lead = cast(
        Lead,
        LeadFactory(campaign=campaign, state=LeadState.DIALING, number=number, next_dial_at=now),
    )
    return Call.objects.create(
        uuid=uuid.uuid4(),
        campaign=campaign,
        lead=lead,
        attempt=1,
        number=number,
        requested_at=now,
        dial_deadline=now + timedelta(seconds=60),
    )


def answered_in_daemon(dialer: Dialer, call: Call) -> bool:
    with dialer.lock:
        live = dialer.calls.get(str(call.uuid))
        return live is not None and live.times.answered_at is not None


def result_of(call: Call) -> str:
    return Call.objects.get(pk=call.pk).result


def test_stop_drops_the_answered_customer_with_the_message_and_cancels_the_ringing_one() -> None:
    config = callcenter_config(QUEUE, 1)
    for agent in config["agents"].values():
        agent["status"] = "On Break"  # nobody takes the customer who answered
    campaign = cast(
        Campaign,
        CampaignFactory(
            queue=QueueFactory(name=QUEUE, phone_number="+12025550100"),
            type="predictive",
            run_status="running",
            drop_seconds=10,  # the drop timer must not be what plays the message
            drop_rule="no_repeat_72h",
            abandon_window="24h",
            safe_harbor_media="/sounds/optout.wav",
        ),
    )
    now = datetime.now(UTC)
    answered = dialing_call(campaign, ANSWERS, now)
    ringing = dialing_call(campaign, RINGS, now)
    requests = MemoryRequests()
    scenario = {
        "rules": [{"match": RINGS[1:], "action": "answer", "ring": 0.1, "answer_after": 1000}],
        "default": {"action": "answer", "ring": 0.1, "answer_after": 0.2, "talk": None},
    }
    with Simulator(scenario=scenario, callcenter_config=config, time_scale=20) as sim:
        dialer = dialer_for(sim, requests)
        sent: list[str] = []
        send = dialer._send

        def watched(command: str) -> None:
            sent.append(command)
            send(command)

        dialer._send = watched  # type: ignore[method-assign]
        dialer.start()
        try:
            assert dialer.conn.wait_connected(5)
            requests.push(str(answered.uuid))
            requests.push(str(ringing.uuid))
            assert wait_until(lambda: answered_in_daemon(dialer, answered), timeout=10)
            campaign_stop(campaign, now=datetime.now(UTC), actor="supervisor")
            dialer.stop_campaign(campaign.pk)  # what the `stop` control does
            assert wait_until(
                lambda: CallResult.PENDING not in {result_of(answered), result_of(ringing)},
                timeout=10,
            )
        finally:
            dialer.stop()

    assert f"uuid_transfer {answered.uuid} playback:/sounds/optout.wav inline" in sent
    answered.refresh_from_db()
    lead = Lead.objects.get(pk=answered.lead_id)
    assert answered.result == CallResult.ABANDONED
    assert (lead.state, lead.attempts) == (LeadState.COOLOFF, 1)
    assert answered.answered_at is not None
    assert lead.next_dial_at >= answered.answered_at + timedelta(hours=72)

    ringing.refresh_from_db()
    lead = Lead.objects.get(pk=ringing.lead_id)
    assert (ringing.result, ringing.answered_at) == (CallResult.CANCELLED, None)
    assert (lead.state, lead.attempts) == (LeadState.RETRY, 0)


def preview_scenario(agent_answers_after: float) -> dict[str, Any]:
    return {
        "rules": [
            {
                "match": "1001",
                "action": "answer",
                "ring": 0.1,
                "answer_after": agent_answers_after,
                "talk": None,
            }
        ],
        "default": {"action": "answer", "ring": 0.2, "answer_after": 0.5, "talk": 5},
    }


def accepted_card(agent: Agent, now: datetime) -> Call:
    campaign = CampaignFactory(type="preview", queue=agent.queues.first(), run_status="running")
    card = cast(Lead, LeadFactory(campaign=campaign, number=ANSWERS))
    lead = lifecycle.lead_reserve_for_agent(
        card, now=now, agent_id=agent.pk, until=now + timedelta(seconds=30)
    )
    return preview.preview_accept(agent=agent, lead=lead, now=now)


def originated(sim: Simulator) -> list[str]:
    assert sim.core is not None
    return list(sim.core.originate_log)


def customer_dialed(originates: list[str]) -> bool:
    return any(f"sofia/gateway/carrier/{ANSWERS}" in command for command in originates)


@contextmanager
def preview_agent_ringing(
    agent: Agent, *, answers_after: float
) -> Iterator[tuple[Simulator, Dialer, Call]]:
    """A daemon on the simulator (20 times speed) ringing the agent's phone for an accepted
    Preview card; the agent answers after ``answers_after`` simulated seconds."""
    now = datetime.now(UTC)
    with Simulator(
        scenario=preview_scenario(agent_answers_after=answers_after),
        callcenter_config=callcenter_config("sales@default", 1),
        time_scale=20,
    ) as sim:
        dialer = dialer_for(sim)
        dialer.start()
        try:
            assert dialer.conn.wait_connected(5)
            call = accepted_card(agent, now)
            dialer.dial_preview(str(call.uuid), agent.contact, agent.name)
            assert wait_until(lambda: len(originated(sim)) == 1, timeout=5)
            yield sim, dialer, call
        finally:
            dialer.stop()


def test_stop_while_the_preview_agent_phone_rings_never_dials_the_customer(agent: Agent) -> None:
    with preview_agent_ringing(agent, answers_after=10) as (sim, dialer, call):
        campaign_stop(call.campaign, now=datetime.now(UTC), actor="supervisor")
        assert dialer.stop_campaign(call.campaign_id) == 1
        assert wait_until(lambda: result_of(call) != CallResult.PENDING, timeout=10)
        # Past the moment the agent would have answered (10 s at 20 times speed is 0.5 s).
        assert not wait_until(lambda: len(originated(sim)) > 1, timeout=1)
        originates = originated(sim)
    assert not customer_dialed(originates)
    call.refresh_from_db()
    lead = Lead.objects.get(pk=call.lead_id)
    assert (call.result, call.dialed_at) == (CallResult.CANCELLED, None)
    assert (lead.state, lead.attempts) == (LeadState.RETRY, 0)


@pytest.mark.parametrize("why", ["campaign stopped", "dial window closed"])
def test_the_preview_customer_is_not_dialed_when_the_agent_answers_too_late(
    agent: Agent, why: str
) -> None:
    """The agent answers after the campaign stopped (the daemon has not heard yet) or after the
    call's dial deadline: the customer is not dialed and the lead goes back, no attempt spent."""
    with preview_agent_ringing(agent, answers_after=8) as (sim, _dialer, call):
        if why == "campaign stopped":
            # In the database only: the stop control has not reached this daemon.
            Campaign.objects.filter(pk=call.campaign_id).update(run_status=RunStatus.STOPPED)
        else:
            Call.objects.filter(pk=call.pk).update(dial_deadline=datetime.now(UTC))
        assert wait_until(lambda: result_of(call) != CallResult.PENDING, timeout=10)
        originates = originated(sim)
    assert len(originates) == 1  # the agent's leg only
    assert not customer_dialed(originates)
    call.refresh_from_db()
    lead = Lead.objects.get(pk=call.lead_id)
    assert call.result == (CallResult.CANCELLED if why == "campaign stopped" else CallResult.FAILED)
    assert (lead.state, lead.attempts) == (LeadState.RETRY, 0)
