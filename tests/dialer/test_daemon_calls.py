"""Call services: one consistent Call row per attempt, and the lead through its state machine."""

from __future__ import annotations

from datetime import timedelta

import pytest

from campaigns.models import CallerId
from dialer.calls import (
    call_finish,
    call_lost,
    call_record_agent_answered,
    call_record_answer,
    caller_id_for,
    lead_dial_for,
)
from dialer.esl.dialstring import originate_command, parse_originate
from dialer.esl.events import CallTimes
from dialer.models import CallResult
from leads.models import LeadState
from tests.factories import NOW, AgentFactory, CallFactory, CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db


def dialing_call(**lead_kwargs):
    lead = LeadFactory(state=LeadState.DIALING, **lead_kwargs)
    return CallFactory(lead=lead, campaign=lead.campaign, dialed_at=NOW)


def times(answered=None, agent=None, hangup=30):
    return CallTimes(
        dialed_at=NOW,
        ringing_at=NOW + timedelta(seconds=1),
        answered_at=NOW + timedelta(seconds=answered) if answered is not None else None,
        agent_answered_at=NOW + timedelta(seconds=agent) if agent is not None else None,
        hangup_at=NOW + timedelta(seconds=hangup),
    )


def test_connected_call_makes_the_lead_successful_with_the_agent_on_the_row():
    call = dialing_call()
    agent = AgentFactory(
        name="1001@default", extension="1001", user__first_name="Alice", user__last_name="Agent"
    )
    call_record_answer(call_uuid=str(call.uuid), at=NOW + timedelta(seconds=5))
    call_record_agent_answered(
        call_uuid=str(call.uuid), at=NOW + timedelta(seconds=7), agent_name="1001@default"
    )
    finished = call_finish(
        call_uuid=str(call.uuid),
        now=NOW + timedelta(seconds=60),
        times=times(answered=5, agent=7, hangup=60),
        hangup_cause="NORMAL_CLEARING",
        agent_name="1001@default",
    )
    assert finished is not None
    call.refresh_from_db()
    call.lead.refresh_from_db()
    assert call.result == CallResult.CONNECTED
    assert call.agent == agent
    assert (call.agent_name, call.agent_extension) == ("Alice Agent", "1001")
    assert (call.ring_seconds, call.customer_wait_seconds, call.talk_seconds) == (4, 2, 53)
    assert call.customer_wait_sla_met is True
    assert call.lead.state == LeadState.SUCCESS


def test_the_second_finish_of_a_call_changes_nothing():
    call = dialing_call()
    kwargs = {
        "call_uuid": str(call.uuid),
        "now": NOW,
        "times": times(),
        "hangup_cause": "NO_ANSWER",
    }
    assert call_finish(**kwargs) is not None
    assert call_finish(**{**kwargs, "hangup_cause": "USER_BUSY"}) is None
    call.refresh_from_db()
    assert (call.result, call.hangup_cause) == (CallResult.NO_ANSWER, "NO_ANSWER")
    assert call.lead.events.count() == 1


def test_no_answer_spends_an_attempt_with_the_cool_off():
    call = dialing_call()
    call_finish(call_uuid=str(call.uuid), now=NOW, times=times(), hangup_cause="NO_ANSWER")
    call.lead.refresh_from_db()
    assert call.lead.state == LeadState.COOLOFF
    assert call.lead.attempts == 1
    assert call.lead.next_dial_at == NOW + timedelta(seconds=call.campaign.cool_off)


def test_last_attempt_fails_the_lead():
    call = dialing_call(attempts=2, retries=3)
    call_finish(call_uuid=str(call.uuid), now=NOW, times=times(), hangup_cause="USER_BUSY")
    call.lead.refresh_from_db()
    assert call.lead.state == LeadState.FAILED


def test_capacity_refusal_returns_the_lead_without_an_attempt():
    call = dialing_call()
    call_finish(
        call_uuid=str(call.uuid), now=NOW, times=times(), hangup_cause="NORMAL_TEMPORARY_FAILURE"
    )
    call.refresh_from_db()
    call.lead.refresh_from_db()
    assert call.result == CallResult.FAILED
    assert (call.lead.state, call.lead.attempts) == (LeadState.RETRY, 0)


def test_machine_marks_voicemail_and_abandon_spends_an_attempt():
    machine = dialing_call()
    call_finish(
        call_uuid=str(machine.uuid),
        now=NOW,
        times=times(answered=3, hangup=4),
        hangup_cause="NORMAL_CLEARING",
        amd_result="MACHINE",
    )
    machine.refresh_from_db()
    machine.lead.refresh_from_db()
    assert (machine.result, machine.amd_result) == (CallResult.VOICEMAIL, "MACHINE")
    assert machine.lead.state == LeadState.VOICEMAIL
    abandoned = dialing_call()
    call_finish(
        call_uuid=str(abandoned.uuid),
        now=NOW,
        times=times(answered=3, hangup=20),
        hangup_cause="NORMAL_CLEARING",
    )
    abandoned.refresh_from_db()
    assert abandoned.result == CallResult.ABANDONED
    assert abandoned.customer_wait_sla_met is False
    abandoned.lead.refresh_from_db()
    assert abandoned.lead.state == LeadState.COOLOFF


def test_stop_cancels_and_lost_calls_go_back_to_retry():
    cancelled = dialing_call()
    call_finish(
        call_uuid=str(cancelled.uuid),
        now=NOW,
        times=times(),
        hangup_cause="ORIGINATOR_CANCEL",
        cancelled=True,
    )
    cancelled.refresh_from_db()
    cancelled.lead.refresh_from_db()
    assert cancelled.result == CallResult.CANCELLED
    assert (cancelled.lead.state, cancelled.lead.attempts) == (LeadState.RETRY, 0)
    lost = dialing_call()
    call_lost(call_uuid=str(lost.uuid), now=NOW, reason="DIALER_RESTART")
    lost.refresh_from_db()
    lost.lead.refresh_from_db()
    assert (lost.result, lost.hangup_cause) == (CallResult.FAILED, "DIALER_RESTART")
    assert lost.lead.state == LeadState.RETRY


def test_a_lead_moved_by_the_reaper_keeps_its_state_but_the_call_row_is_completed():
    call = dialing_call()
    lead = call.lead
    lead.state = LeadState.RETRY
    lead.save()
    finished = call_finish(
        call_uuid=str(call.uuid), now=NOW, times=times(), hangup_cause="NO_ANSWER"
    )
    assert finished is not None
    assert finished.lead_state is None
    call.refresh_from_db()
    assert call.result == CallResult.NO_ANSWER


def test_caller_id_rotation_and_fallbacks(settings):
    settings.ACCOUNT_DEFAULT_CALLER_ID = "+12025550100"
    campaign = CampaignFactory(queue__phone_number="+12025550177")
    assert caller_id_for(campaign, rotation=0)[0] == "+12025550177"
    CallerId.objects.create(campaign=campaign, number="+12025550111", name="Sales", position=1)
    CallerId.objects.create(campaign=campaign, number="+12025550122", name="Sales", position=2)
    CallerId.objects.create(campaign=campaign, number="+12025550133", enabled=False, position=3)
    numbers = {caller_id_for(campaign, rotation=i)[0] for i in range(6)}
    assert numbers == {"+12025550111", "+12025550122"}
    campaign.caller_ids.all().delete()
    campaign.queue.phone_number = ""
    campaign.queue.save()
    assert caller_id_for(campaign, rotation=0)[0] == "+12025550100"


def test_mask_lead_caller_id_hides_the_number_from_the_agent_leg():
    call = dialing_call()
    call.campaign.mask_lead_caller_id = True
    call.campaign.save()
    variables, _endpoint, _app = parse_originate(
        originate_command(lead_dial_for(call, node="fs1", gateway="carrier", originate_timeout=30))
    )
    assert variables["effective_caller_id_number"] != call.number
    assert call.number not in set(variables.values())
    call.campaign.mask_lead_caller_id = False
    call.campaign.save()
    variables, _endpoint, _app = parse_originate(
        originate_command(lead_dial_for(call, node="fs1", gateway="carrier", originate_timeout=30))
    )
    assert variables["effective_caller_id_number"] == call.number
