"""The dialer's call services tell the agent's desk (dialer.calls → desk_event): the bridge
brings the lead card, the hang-up starts wrap-up, a preview dial that never reached the
customer leaves the desk idle with a message. The browser tests with the simulator
(test_desktop_browser_live.py) show the same through the page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agents.desktop import dialer_bridge, services
from agents.models import AgentMessage, DeskCallState, MessageKind
from dialer import calls as call_services
from dialer.esl.events import CallTimes
from dialer.models import CallResult
from leads.models import LeadState
from tests.factories import NOW, CallFactory, CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def freeswitch(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(dialer_bridge, "fs_api", lambda command: "+OK")


@pytest.fixture
def ready(agent):  # type: ignore[no-untyped-def]
    services.agent_login(agent=agent, now=NOW)
    services.agent_go_ready(agent=agent, now=NOW)
    return agent


def _dialing_call(queue, **call_fields):  # type: ignore[no-untyped-def]
    campaign = CampaignFactory(queue=queue, run_status="running")
    lead = LeadFactory(campaign=campaign, state=LeadState.DIALING, first_name="Maria")
    return CallFactory(lead=lead, campaign=campaign, dialed_at=NOW, **call_fields)


def test_bridge_then_hangup_reach_the_desk(ready, queue):
    queue.wrap_up_time = 10
    queue.save()
    call = _dialing_call(queue)
    answered = NOW + timedelta(seconds=3)
    call_services.call_record_agent_answered(
        call_uuid=str(call.uuid), at=answered, agent_name=ready.name
    )
    desk = services.desk_for(ready)
    assert (desk.call_state, desk.call_id, desk.lead_id) == (
        DeskCallState.TALKING,
        call.pk,
        call.lead_id,
    )

    hangup = NOW + timedelta(seconds=40)
    times = CallTimes(dialed_at=NOW, answered_at=answered, agent_answered_at=answered)
    call_services.call_finish(
        call_uuid=str(call.uuid),
        now=hangup,
        times=times,
        hangup_cause="NORMAL_CLEARING",
        agent_name=ready.name,
    )
    desk = services.desk_for(ready)
    assert desk.call_state == DeskCallState.WRAP_UP
    assert desk.wrap_up_until == hangup + timedelta(seconds=10)
    call.refresh_from_db()
    assert call.result == CallResult.CONNECTED


def test_a_preview_dial_the_agent_never_answered_frees_the_desk(ready, queue):
    call = _dialing_call(queue, agent=ready)
    desk = services.desk_for(ready)
    desk.call_state, desk.call, desk.lead = DeskCallState.DIALING, call, call.lead
    desk.save()  # as after Connect on the card (services.agent_connect_card)

    call_services.call_lost(call_uuid=str(call.uuid), now=NOW, reason="AGENT_NO_ANSWER")
    assert services.desk_for(ready).call_state == DeskCallState.IDLE
    assert AgentMessage.objects.filter(
        agent=ready, kind=MessageKind.SYSTEM, title__startswith="Call not connected"
    ).exists()


def test_a_desk_failure_never_fails_the_call(ready, queue, monkeypatch):
    call = _dialing_call(queue)

    def broken(**kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("desk down")

    monkeypatch.setattr(services, "desk_event", broken)
    call_services.call_finish(
        call_uuid=str(call.uuid),
        now=NOW,
        times=CallTimes(dialed_at=NOW),
        hangup_cause="NO_ANSWER",
    )
    call.refresh_from_db()
    assert call.result == CallResult.NO_ANSWER


def test_an_offer_makes_a_logout_wait_and_a_missed_offer_frees_the_desk(ready, queue):
    from agents.models import AgentStatus

    call = _dialing_call(queue)
    # mod_callcenter rings the agent (agent-offering): the call is being set up for them.
    call_services.call_offered(call_uuid=str(call.uuid), at=NOW, agent_name=ready.name)
    assert services.desk_for(ready).call_state == DeskCallState.OFFERED
    result = services.agent_request_logout(agent=ready, now=NOW + timedelta(seconds=1))
    assert not result.completed
    assert result.authorized_at is not None
    # They let it ring out (bridge-agent-fail): the desk is free and the logout completes.
    call_services.call_offer_missed(
        call_uuid=str(call.uuid), at=NOW + timedelta(seconds=3), agent_name=ready.name
    )
    desk = services.desk_for(ready)
    assert desk.call_state == DeskCallState.IDLE
    assert AgentMessage.objects.filter(agent=ready, title="Missed call").exists()
    ready.refresh_from_db()
    assert ready.status == AgentStatus.LOGGED_OUT


def test_a_callback_chosen_during_the_call_moves_the_lead_when_it_ends(ready, queue):
    from leads.models import LeadEvent

    call = _dialing_call(queue)
    answered = NOW + timedelta(seconds=3)
    call_services.call_record_agent_answered(
        call_uuid=str(call.uuid), at=answered, agent_name=ready.name
    )
    # "Call me back in five minutes", said while still talking.
    services.agent_schedule_callback(
        agent=ready, lead=call.lead, at=NOW + timedelta(minutes=5), personal=True,
        now=NOW + timedelta(seconds=10),
    )  # fmt: skip
    call.lead.refresh_from_db()
    assert call.lead.state == LeadState.DIALING  # never dialable with the customer on the line
    hangup = NOW + timedelta(minutes=2)
    call_services.call_finish(
        call_uuid=str(call.uuid),
        now=hangup,
        times=CallTimes(dialed_at=NOW, answered_at=answered, agent_answered_at=answered),
        hangup_cause="NORMAL_CLEARING",
        agent_name=ready.name,
    )
    call.lead.refresh_from_db()
    assert (call.lead.state, call.lead.next_dial_at, call.lead.callback_agent) == (
        LeadState.CALLBACK,
        NOW + timedelta(minutes=5),
        ready,
    )
    assert [e.to_state for e in LeadEvent.objects.filter(lead=call.lead)][-2:] == [
        LeadState.SUCCESS,
        LeadState.CALLBACK,
    ]


def test_a_callback_whose_time_passed_during_the_call_is_due_at_the_hang_up(ready, queue):
    call = _dialing_call(queue)
    call_services.call_record_agent_answered(
        call_uuid=str(call.uuid), at=NOW, agent_name=ready.name
    )
    services.agent_schedule_callback(
        agent=ready, lead=call.lead, at=NOW + timedelta(minutes=1), personal=False, now=NOW
    )
    hangup = NOW + timedelta(minutes=3)
    call_services.call_finish(
        call_uuid=str(call.uuid),
        now=hangup,
        times=CallTimes(dialed_at=NOW, answered_at=NOW, agent_answered_at=NOW),
        hangup_cause="NORMAL_CLEARING",
        agent_name=ready.name,
    )
    call.lead.refresh_from_db()
    assert call.lead.state == LeadState.CALLBACK
    assert hangup < call.lead.next_dial_at <= hangup + timedelta(seconds=1)


def test_a_callback_chosen_during_the_call_is_applied_even_if_the_desk_misses_the_end(
    ready, queue, monkeypatch
):  # type: ignore[no-untyped-def]
    call = _dialing_call(queue)
    call_services.call_record_agent_answered(
        call_uuid=str(call.uuid), at=NOW, agent_name=ready.name
    )
    services.agent_schedule_callback(
        agent=ready, lead=call.lead, at=NOW + timedelta(hours=2), personal=False, now=NOW
    )
    monkeypatch.setattr(call_services, "_tell_desk", lambda *args: None)  # the event is lost
    call_services.call_finish(
        call_uuid=str(call.uuid),
        now=NOW + timedelta(minutes=3),
        times=CallTimes(dialed_at=NOW, answered_at=NOW, agent_answered_at=NOW),
        hangup_cause="NORMAL_CLEARING",
        agent_name=ready.name,
    )
    call.lead.refresh_from_db()
    assert (call.lead.state, call.lead.next_dial_at) == (
        LeadState.CALLBACK,
        NOW + timedelta(hours=2),
    )
