"""Agent desktop rules (agents/desktop/services.py): status, cards, wrap-up, dispositions,
callbacks, campaign messages and the negotiated logout."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from agents.desktop import dialer_bridge, services
from agents.desktop.services import DesktopError, NotYours
from agents.models import AgentMessage, AgentStatus, DeskCallState, MessageKind
from campaigns.models import CampaignType
from dialer.models import Call
from leads.models import DoNotCall, LeadEvent, LeadState
from tests.factories import NOW, CallFactory, CampaignFactory, DispositionFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def freeswitch(monkeypatch):  # type: ignore[no-untyped-def]
    """FreeSWITCH's api replies: +OK to everything; the commands sent are kept."""
    sent: list[str] = []

    def api(command: str) -> str:
        sent.append(command)
        return "+OK"

    monkeypatch.setattr(dialer_bridge, "fs_api", api)
    return sent


def _s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


@pytest.fixture
def campaign(queue):  # type: ignore[no-untyped-def]
    return CampaignFactory(
        name="Renewals", queue=queue, run_status="running", started_at=NOW - _s(600)
    )


@pytest.fixture
def logged_in(agent):  # type: ignore[no-untyped-def]
    services.agent_login(agent=agent, now=NOW)
    services.agent_go_ready(agent=agent, now=NOW)
    return agent


def _bridged_call(agent, campaign, at=NOW):  # type: ignore[no-untyped-def]
    lead = LeadFactory(campaign=campaign, state=LeadState.DIALING, timezone="America/Chicago")
    call = CallFactory(lead=lead, campaign=campaign)
    services.desk_call_bridged(agent=agent, call=call, now=at)
    return call


def _desk(agent):  # type: ignore[no-untyped-def]
    return services.desk_for(agent)


# --- Status -----------------------------------------------------------------------------------


def test_login_is_not_ready_then_ready_then_not_ready_with_reason(agent):
    services.agent_login(agent=agent, now=NOW)
    agent.refresh_from_db()
    assert agent.status == AgentStatus.ON_BREAK
    services.agent_go_ready(agent=agent, now=NOW + _s(5))
    agent.refresh_from_db()
    assert (agent.status, agent.status_changed_at) == (AgentStatus.AVAILABLE, NOW + _s(5))
    services.agent_go_not_ready(agent=agent, reason="Lunch", now=NOW + _s(9))
    agent.refresh_from_db()
    assert (agent.status, agent.break_reason) == (AgentStatus.ON_BREAK, "Lunch")


def test_ready_and_not_ready_need_a_login_and_a_reason(agent):
    with pytest.raises(DesktopError, match="Log in"):
        services.agent_go_ready(agent=agent, now=NOW)
    services.agent_login(agent=agent, now=NOW)
    with pytest.raises(DesktopError, match="reason"):
        services.agent_go_not_ready(agent=agent, reason="  ", now=NOW)


def test_status_changes_go_to_mod_callcenter_first(agent, freeswitch, monkeypatch):
    services.agent_login(agent=agent, now=NOW)
    services.agent_go_ready(agent=agent, now=NOW)
    assert freeswitch == [
        "callcenter_config agent set status 1001@default 'On Break'",
        "callcenter_config agent set status 1001@default Available",
    ]
    # FreeSWITCH says no: the agent is not shown Ready; a break is recorded all the same.
    monkeypatch.setattr(dialer_bridge, "fs_api", lambda command: "-ERR agent not found")
    services.agent_go_not_ready(agent=agent, reason="Lunch", now=NOW + _s(1))
    with pytest.raises(DesktopError, match="did not make you Ready"):
        services.agent_go_ready(agent=agent, now=NOW + _s(2))
    agent.refresh_from_db()
    assert (agent.status, agent.break_reason) == (AgentStatus.ON_BREAK, "Lunch")


# --- Campaign messages --------------------------------------------------------------------------


def test_campaign_that_began_before_login_is_announced_once_at_login(agent, campaign):
    services.agent_login(agent=agent, now=NOW)
    services.agent_request_logout(agent=agent, now=NOW + _s(1))
    services.agent_login(agent=agent, now=NOW + _s(2))
    msgs = AgentMessage.objects.filter(agent=agent, kind=MessageKind.CAMPAIGN)
    assert [m.title for m in msgs] == ["Campaign started: Renewals"]
    assert "before you logged in" in msgs[0].text


def test_campaign_start_tells_logged_in_agents_of_its_queue_only(agent, other_agent, queue):
    services.agent_login(agent=agent, now=NOW)
    services.agent_login(agent=other_agent, now=NOW)
    campaign = CampaignFactory(name="Winback", queue=queue, run_status="running", started_at=NOW)
    assert services.notify_campaign_started(campaign, NOW) == 1
    assert AgentMessage.objects.filter(agent=agent, campaign=campaign).count() == 1
    assert not AgentMessage.objects.filter(agent=other_agent, campaign=campaign).exists()
    # Told once per start, even if the hook runs twice.
    assert services.notify_campaign_started(campaign, NOW) == 0


def test_my_campaigns_lists_the_queues_campaigns_running_first(agent, campaign, queue):
    CampaignFactory(name="Archive", queue=queue)
    CampaignFactory(name="Elsewhere")
    rows = services.my_campaigns(agent, now=NOW)
    assert [(r.campaign.name, r.status) for r in rows] == [
        ("Renewals", "Running"),
        ("Archive", "Stopped"),
    ]


# --- Progressive call, wrap-up, disposition -------------------------------------------------


def test_progressive_call_card_wrap_up_disposition_then_offered_again(logged_in, campaign, queue):
    queue.wrap_up_time = 15
    queue.save()
    done = DispositionFactory(queue=queue, code="sale", label="Sale", outcome="successful")
    call = _bridged_call(logged_in, campaign)
    assert _desk(logged_in).call_state == DeskCallState.TALKING
    services.desk_call_ended(agent=logged_in, call=call, now=NOW + _s(60))
    desk = _desk(logged_in)
    assert (desk.call_state, desk.wrap_up_until) == (DeskCallState.WRAP_UP, NOW + _s(75))
    services.agent_set_disposition(agent=logged_in, call=call, disposition=done, now=NOW + _s(62))
    call.refresh_from_db()
    call.lead.refresh_from_db()
    assert call.disposition == done
    assert call.lead.state == LeadState.SUCCESS
    services.desk_tick(agent=logged_in, now=NOW + _s(70))
    assert _desk(logged_in).call_state == DeskCallState.WRAP_UP  # timer still running
    services.desk_tick(agent=logged_in, now=NOW + _s(75))
    logged_in.refresh_from_db()
    assert _desk(logged_in).call_state == DeskCallState.IDLE
    assert logged_in.status == AgentStatus.AVAILABLE


def test_no_next_call_until_the_disposition_is_set(logged_in, campaign, queue):
    code = DispositionFactory(queue=queue, code="noint", label="Not interested", outcome="failed")
    call = _bridged_call(logged_in, campaign)
    services.desk_call_ended(agent=logged_in, call=call, now=NOW + _s(30))
    services.desk_tick(agent=logged_in, now=NOW + _s(30 + queue.wrap_up_time))
    logged_in.refresh_from_db()
    assert logged_in.status == AgentStatus.ON_BREAK
    assert logged_in.break_reason == "Disposition required"
    with pytest.raises(DesktopError, match="disposition"):
        services.agent_go_ready(agent=logged_in, now=NOW + _s(50))
    services.agent_set_disposition(agent=logged_in, call=call, disposition=code, now=NOW + _s(55))
    logged_in.refresh_from_db()
    call.lead.refresh_from_db()
    assert logged_in.status == AgentStatus.AVAILABLE
    assert call.lead.state == LeadState.FAILED
    assert _desk(logged_in).call_state == DeskCallState.IDLE


def test_disposition_of_another_queue_or_twice_is_refused(logged_in, campaign, queue):
    foreign = DispositionFactory(code="x", outcome="successful")
    mine = DispositionFactory(queue=queue, code="sale", outcome="successful")
    call = _bridged_call(logged_in, campaign)
    with pytest.raises(DesktopError, match="another queue"):
        services.agent_set_disposition(agent=logged_in, call=call, disposition=foreign, now=NOW)
    services.agent_set_disposition(agent=logged_in, call=call, disposition=mine, now=NOW)
    with pytest.raises(DesktopError, match="already"):
        services.agent_set_disposition(agent=logged_in, call=call, disposition=mine, now=NOW)


def test_dnc_disposition_puts_the_number_on_do_not_call(logged_in, campaign, queue):
    dnc = DispositionFactory(queue=queue, code="dnc", label="Do not call", outcome="dnc")
    call = _bridged_call(logged_in, campaign)
    services.agent_set_disposition(agent=logged_in, call=call, disposition=dnc, now=NOW)
    call.lead.refresh_from_db()
    assert DoNotCall.objects.filter(number=call.lead.number, campaign=None).exists()
    assert call.lead.state == LeadState.FAILED


def test_callback_disposition_needs_a_time_then_schedules_in_the_leads_timezone(
    logged_in, campaign, queue
):
    cb = DispositionFactory(queue=queue, code="cb", label="Call back", outcome="callback")
    call = _bridged_call(logged_in, campaign)
    with pytest.raises(DesktopError, match="callback date"):
        services.agent_set_disposition(agent=logged_in, call=call, disposition=cb, now=NOW)
    at = services.callback_time(datetime(2026, 11, 19, 14, 30), call.lead)
    services.agent_set_disposition(
        agent=logged_in, call=call, disposition=cb, now=NOW, callback_at=at, personal=True
    )
    call.lead.refresh_from_db()
    # The customer is still on the line: the lead stays Dialing until the call ends.
    assert call.lead.state == LeadState.DIALING
    services.desk_call_ended(agent=logged_in, call=call, now=NOW + _s(30))
    call.lead.refresh_from_db()
    # 14:30 in Chicago (CST, UTC-6) is 20:30 UTC.
    assert call.lead.next_dial_at == datetime.fromisoformat("2026-11-19T20:30:00+00:00")
    assert (call.lead.state, call.lead.callback_agent) == (LeadState.CALLBACK, logged_in)


def test_schedule_callback_for_the_campaign_and_refusals(logged_in, campaign):
    call = _bridged_call(logged_in, campaign)
    lead = call.lead
    with pytest.raises(DesktopError, match="future"):
        services.agent_schedule_callback(
            agent=logged_in, lead=lead, at=datetime(2026, 11, 18, 8, 0), personal=False, now=NOW
        )
    with pytest.raises(DesktopError, match="does not exist"):
        services.agent_schedule_callback(  # clocks spring forward at 02:00 on 2027-03-14
            agent=logged_in, lead=lead, at=datetime(2027, 3, 14, 2, 30), personal=False, now=NOW
        )
    services.agent_schedule_callback(
        agent=logged_in, lead=lead, at=datetime(2026, 11, 20, 9, 0), personal=False, now=NOW
    )
    lead.refresh_from_db()
    assert lead.state == LeadState.DIALING  # applied when the call ends
    services.desk_call_ended(agent=logged_in, call=call, now=NOW + _s(30))
    lead.refresh_from_db()
    assert lead.state == LeadState.CALLBACK
    assert lead.callback_agent is None
    assert lead.next_dial_at == datetime.fromisoformat("2026-11-20T15:00:00+00:00")


def test_mark_voicemail_and_record_edit_keep_history(logged_in, campaign):
    call = _bridged_call(logged_in, campaign)
    services.agent_update_lead_record(
        agent=logged_in, lead=call.lead, changes={"note": "Prefers mornings"}, now=NOW
    )
    event = LeadEvent.objects.filter(lead=call.lead, reason="customer record edited").get()
    assert event.changes["note"][1] == "Prefers mornings"
    with pytest.raises(DesktopError, match="first_name"):
        services.agent_update_lead_record(
            agent=logged_in, lead=call.lead, changes={"first_name": ""}, now=NOW
        )
    services.agent_mark_voicemail(agent=logged_in, call=call, now=NOW)
    call.lead.refresh_from_db()
    assert call.lead.state == LeadState.DIALING  # applied when the call ends
    services.desk_call_ended(agent=logged_in, call=call, now=NOW + _s(30))
    call.lead.refresh_from_db()
    assert call.lead.state == LeadState.VOICEMAIL


def test_hold_resume_hangup_send_uuid_commands(logged_in, campaign, freeswitch):
    call = _bridged_call(logged_in, campaign)
    services.agent_hold(agent=logged_in, call=call, now=NOW)
    assert _desk(logged_in).call_state == DeskCallState.HELD
    services.agent_resume(agent=logged_in, call=call, now=NOW)
    assert _desk(logged_in).call_state == DeskCallState.TALKING
    services.agent_hangup(agent=logged_in, call=call, now=NOW)
    assert freeswitch[-3:] == [
        f"uuid_hold {call.uuid}",
        f"uuid_hold off {call.uuid}",
        f"uuid_kill {call.uuid} NORMAL_CLEARING",
    ]


# --- Preview and Push Preview ----------------------------------------------------------------


@pytest.fixture
def preview(queue):  # type: ignore[no-untyped-def]
    return CampaignFactory(
        name="Preview list", queue=queue, type=CampaignType.PREVIEW, run_status="running"
    )


def test_preview_get_record_connect_and_skip(logged_in, preview):
    first = LeadFactory(campaign=preview, priority=5)
    second = LeadFactory(campaign=preview, priority=1)
    lead = services.agent_get_preview_record(agent=logged_in, campaign=preview, now=NOW)
    assert lead == first
    first.refresh_from_db()
    assert (first.state, first.reserved_by) == (LeadState.RESERVED, logged_in)
    with pytest.raises(DesktopError, match="Finish"):
        services.agent_get_preview_record(agent=logged_in, campaign=preview, now=NOW)
    services.agent_skip_card(agent=logged_in, lead=first, now=NOW + _s(3))
    first.refresh_from_db()
    assert first.state == LeadState.RETRY
    lead = services.agent_get_preview_record(agent=logged_in, campaign=preview, now=NOW + _s(4))
    assert lead == first  # back in the list, still the highest priority
    call = services.agent_connect_card(agent=logged_in, lead=lead, now=NOW + _s(5))
    lead.refresh_from_db()
    assert lead.state == LeadState.DIALING
    assert (call.agent, _desk(logged_in).call_state) == (logged_in, DeskCallState.DIALING)
    assert second.pk != lead.pk


def test_a_card_whose_number_went_on_do_not_call_ends_failed_and_leaves_the_desk(
    logged_in, preview
):  # type: ignore[no-untyped-def]
    lead = LeadFactory(campaign=preview)
    services.agent_get_preview_record(agent=logged_in, campaign=preview, now=NOW)
    DoNotCall.objects.create(number=lead.number)  # added while the card was on the desk
    with pytest.raises(DesktopError, match="Do-Not-Call"):
        services.agent_connect_card(agent=logged_in, lead=lead, now=NOW + _s(5))
    lead.refresh_from_db()
    assert lead.state == LeadState.FAILED
    assert _desk(logged_in).call_state == DeskCallState.IDLE
    assert not Call.objects.filter(lead=lead).exists()


def test_preview_refuses_other_kinds_and_other_queues(logged_in, campaign, preview):
    with pytest.raises(DesktopError, match="by itself"):
        services.agent_get_preview_record(agent=logged_in, campaign=campaign, now=NOW)
    elsewhere = CampaignFactory(type=CampaignType.PREVIEW, run_status="running")
    with pytest.raises(NotYours):
        services.agent_get_preview_record(agent=logged_in, campaign=elsewhere, now=NOW)
    with pytest.raises(DesktopError, match="No record"):
        services.agent_get_preview_record(agent=logged_in, campaign=preview, now=NOW)


def test_push_preview_card_expires_back_to_the_list(logged_in, queue):
    push = CampaignFactory(
        queue=queue, type=CampaignType.PUSH_PREVIEW, run_status="running", preview_timeout=20
    )
    lead = LeadFactory(campaign=push, state=LeadState.RESERVED, reserved_by=logged_in)
    services.desk_card_offered(agent=logged_in, lead=lead, now=NOW)
    assert _desk(logged_in).card_expires_at == NOW + _s(20)
    services.desk_tick(agent=logged_in, now=NOW + _s(19))
    assert _desk(logged_in).call_state == DeskCallState.CARD
    with pytest.raises(DesktopError, match="countdown ended"):
        services.agent_connect_card(agent=logged_in, lead=lead, now=NOW + _s(21))
    services.desk_tick(agent=logged_in, now=NOW + _s(21))
    lead.refresh_from_db()
    assert lead.state == LeadState.RETRY
    assert _desk(logged_in).call_state == DeskCallState.IDLE
    assert AgentMessage.objects.filter(agent=logged_in, title__contains="returned").exists()


# --- Negotiated logout ------------------------------------------------------------------------


def test_logout_when_idle_is_immediate(logged_in):
    result = services.agent_request_logout(agent=logged_in, now=NOW)
    logged_in.refresh_from_db()
    assert result.completed
    assert logged_in.status == AgentStatus.LOGGED_OUT


def test_logout_during_wrap_up_waits_for_it_and_stops_offers_at_once(logged_in, campaign, queue):
    code = DispositionFactory(queue=queue, outcome="successful")
    call = _bridged_call(logged_in, campaign)
    services.desk_call_ended(agent=logged_in, call=call, now=NOW)
    result = services.agent_request_logout(agent=logged_in, now=NOW + _s(2))
    logged_in.refresh_from_db()
    assert not result.completed
    # No countdown while the call has no disposition: the logout waits for it, and says so.
    assert result.authorized_at is None
    assert logged_in.status == AgentStatus.ON_BREAK  # the dialer stops choosing the agent
    message = AgentMessage.objects.get(agent=logged_in, kind=MessageKind.LOGOUT)
    assert message.text.startswith("Set the disposition of your last call")
    services.agent_set_disposition(agent=logged_in, call=call, disposition=code, now=NOW + _s(3))
    authorized_at = NOW + _s(queue.wrap_up_time + 5)
    assert _desk(logged_in).logout_authorized_at == authorized_at
    message.refresh_from_db()
    assert message.countdown_until == authorized_at
    services.desk_tick(agent=logged_in, now=authorized_at - _s(1))
    logged_in.refresh_from_db()
    assert logged_in.status == AgentStatus.ON_BREAK
    services.desk_tick(agent=logged_in, now=authorized_at)
    logged_in.refresh_from_db()
    message.refresh_from_db()
    assert logged_in.status == AgentStatus.LOGGED_OUT
    assert message.title == "Logoff authorized"
    assert message.read_at is None


def test_logout_while_a_call_is_being_set_up_counts_down_the_ring_window(logged_in, campaign):
    campaign.agent_dial_timeout = 20
    campaign.save()
    lead = LeadFactory(campaign=campaign, state=LeadState.DIALING)
    call = CallFactory(lead=lead, campaign=campaign)
    services.desk_call_offered(agent=logged_in, call=call, now=NOW)
    result = services.agent_request_logout(agent=logged_in, now=NOW)
    assert result.authorized_at == NOW + _s(25)
    # The call is answered: logoff now waits for the call and its wrap-up.
    services.desk_call_bridged(agent=logged_in, call=call, now=NOW + _s(4))
    assert _desk(logged_in).logout_authorized_at is None
    services.desk_call_ended(agent=logged_in, call=call, now=NOW + _s(40))
    assert _desk(logged_in).logout_authorized_at is None  # waits for the disposition
    code = DispositionFactory(queue=campaign.queue, outcome="successful")
    services.agent_set_disposition(agent=logged_in, call=call, disposition=code, now=NOW + _s(42))
    desk = _desk(logged_in)
    assert desk.logout_authorized_at == desk.wrap_up_until + _s(5)
    assert AgentMessage.objects.get(kind=MessageKind.LOGOUT).countdown_until == (
        desk.logout_authorized_at
    )


# --- Ownership -------------------------------------------------------------------------------


def test_calls_and_leads_of_another_agent_are_not_yours(logged_in, other_agent, campaign):
    call = _bridged_call(logged_in, campaign)
    assert services.own_call(logged_in, call.pk) == call
    assert services.own_lead(logged_in, call.lead_id) == call.lead
    with pytest.raises(NotYours):
        services.own_call(other_agent, call.pk)
    with pytest.raises(NotYours):
        services.own_lead(other_agent, call.lead_id)


def test_tick_all_completes_logouts_without_a_browser(logged_in, campaign, queue):
    code = DispositionFactory(queue=queue, outcome="successful")
    call = _bridged_call(logged_in, campaign)
    services.desk_call_ended(agent=logged_in, call=call, now=NOW)
    services.agent_set_disposition(agent=logged_in, call=call, disposition=code, now=NOW)
    result = services.agent_request_logout(agent=logged_in, now=NOW)
    from agents.desktop.tasks import desk_tick_all

    desk_tick_all(now=result.authorized_at)
    logged_in.refresh_from_db()
    assert logged_in.status == AgentStatus.LOGGED_OUT


# --- No call's disposition is lost ------------------------------------------------------------


def test_hang_up_without_a_disposition_stops_offers_at_once(logged_in, campaign, queue):
    queue.wrap_up_time = 10
    queue.save()
    code = DispositionFactory(queue=queue, code="sale", outcome="successful")
    call = _bridged_call(logged_in, campaign)
    services.desk_call_ended(agent=logged_in, call=call, now=NOW + _s(60))
    logged_in.refresh_from_db()
    # Not at the end of the desk's wrap-up: mod_callcenter's own timer may end first.
    assert (logged_in.status, logged_in.break_reason) == (
        AgentStatus.ON_BREAK,
        "Disposition required",
    )
    services.agent_set_disposition(agent=logged_in, call=call, disposition=code, now=NOW + _s(62))
    logged_in.refresh_from_db()
    assert logged_in.status == AgentStatus.ON_BREAK  # wrap-up time still running
    services.desk_tick(agent=logged_in, now=NOW + _s(70))
    logged_in.refresh_from_db()
    assert logged_in.status == AgentStatus.AVAILABLE
    assert _desk(logged_in).call_state == DeskCallState.IDLE


def test_a_disposition_set_during_the_call_leaves_the_agent_ready(logged_in, campaign, queue):
    code = DispositionFactory(queue=queue, code="sale", outcome="successful")
    call = _bridged_call(logged_in, campaign)
    services.agent_set_disposition(agent=logged_in, call=call, disposition=code, now=NOW + _s(5))
    services.desk_call_ended(agent=logged_in, call=call, now=NOW + _s(60))
    logged_in.refresh_from_db()
    assert logged_in.status == AgentStatus.AVAILABLE


def test_a_next_call_over_an_unfinished_wrap_up_keeps_the_old_disposition_owed(
    logged_in, campaign, queue
):
    queue.wrap_up_time = 10
    queue.save()
    sale = DispositionFactory(queue=queue, code="sale", outcome="successful")
    first = _bridged_call(logged_in, campaign)
    services.desk_call_ended(agent=logged_in, call=first, now=NOW + _s(60))
    # mod_callcenter offers a waiting customer anyway (its wrap-up, a status race …).
    second = CallFactory(lead=LeadFactory(campaign=campaign, state=LeadState.DIALING))
    services.desk_event(
        event="offered", call_uuid=str(second.uuid), agent_name=logged_in.name, now=NOW + _s(65)
    )
    services.desk_event(
        event="bridged", call_uuid=str(second.uuid), agent_name=logged_in.name, now=NOW + _s(66)
    )
    desk = _desk(logged_in)
    assert (desk.call_state, desk.call_id) == (DeskCallState.TALKING, second.pk)
    assert list(services.owed_dispositions(logged_in)) == [first]
    assert services.own_call(logged_in, first.pk) == first
    assert AgentMessage.objects.filter(
        agent=logged_in, title__startswith="Disposition still needed"
    ).exists()
    # The second call is done and disposed of: the first comes back, still no calls offered.
    services.desk_call_ended(agent=logged_in, call=second, now=NOW + _s(120))
    services.agent_set_disposition(
        agent=logged_in, call=second, disposition=sale, now=NOW + _s(140)
    )
    desk = _desk(logged_in)
    logged_in.refresh_from_db()
    assert (desk.call_state, desk.call_id) == (DeskCallState.WRAP_UP, first.pk)
    assert logged_in.status == AgentStatus.ON_BREAK
    with pytest.raises(DesktopError, match="disposition"):
        services.agent_go_ready(agent=logged_in, now=NOW + _s(141))
    services.agent_set_disposition(agent=logged_in, call=first, disposition=sale, now=NOW + _s(150))
    logged_in.refresh_from_db()
    assert _desk(logged_in).call_state == DeskCallState.IDLE
    assert logged_in.status == AgentStatus.AVAILABLE


def test_ready_is_refused_while_an_earlier_call_still_needs_its_disposition(
    logged_in, campaign, queue
):
    queue.wrap_up_time = 10
    queue.save()
    sale = DispositionFactory(queue=queue, code="sale", outcome="successful")
    first = _bridged_call(logged_in, campaign)
    services.desk_call_ended(agent=logged_in, call=first, now=NOW + _s(60))
    second = _bridged_call(logged_in, campaign, at=NOW + _s(66))  # offered over the wrap-up
    services.desk_call_ended(agent=logged_in, call=second, now=NOW + _s(120))
    services.agent_set_disposition(
        agent=logged_in, call=second, disposition=sale, now=NOW + _s(125)
    )
    with pytest.raises(DesktopError, match="earlier call"):
        services.agent_go_ready(agent=logged_in, now=NOW + _s(126))
    logged_in.refresh_from_db()
    assert logged_in.status == AgentStatus.ON_BREAK


def test_ready_on_an_idle_desk_brings_back_a_call_still_owing_its_disposition(
    logged_in, campaign, queue
):
    from agents.models import AgentDesk

    sale = DispositionFactory(queue=queue, code="sale", outcome="successful")
    call = _bridged_call(logged_in, campaign)
    # The desk missed the hang-up and shows nothing, yet the call has no disposition.
    AgentDesk.objects.filter(agent=logged_in).update(call_state=DeskCallState.IDLE, call=None)
    services.agent_go_ready(agent=logged_in, now=NOW + _s(120))
    desk = _desk(logged_in)
    assert (desk.call_state, desk.call_id) == (DeskCallState.WRAP_UP, call.pk)
    services.agent_set_disposition(agent=logged_in, call=call, disposition=sale, now=NOW + _s(130))
    logged_in.refresh_from_db()
    assert logged_in.status == AgentStatus.AVAILABLE


def test_an_agent_who_never_chose_ready_stays_not_ready_after_a_preview_call(agent, queue):
    preview = CampaignFactory(queue=queue, type=CampaignType.PREVIEW, run_status="running")
    services.agent_login(agent=agent, now=NOW)  # Not Ready until they choose Ready
    call = _bridged_call(agent, preview)
    services.desk_call_ended(agent=agent, call=call, now=NOW + _s(60))
    sale = DispositionFactory(queue=queue, code="sale", outcome="successful")
    services.agent_set_disposition(agent=agent, call=call, disposition=sale, now=NOW + _s(62))
    services.desk_tick(agent=agent, now=NOW + _s(120))
    agent.refresh_from_db()
    assert agent.status == AgentStatus.ON_BREAK
    assert _desk(agent).call_state == DeskCallState.IDLE


def test_a_push_card_never_replaces_a_call_being_set_up(logged_in, queue):
    push = CampaignFactory(queue=queue, type=CampaignType.PUSH_PREVIEW, run_status="running")
    call = CallFactory(lead=LeadFactory(campaign=push, state=LeadState.DIALING))
    services.desk_call_offered(agent=logged_in, call=call, now=NOW)
    card = LeadFactory(campaign=push, state=LeadState.RESERVED, reserved_by=logged_in)
    services.desk_card_offered(agent=logged_in, lead=card, now=NOW)
    assert _desk(logged_in).call_id == call.pk
    card.refresh_from_db()
    assert (card.state, card.reserved_by) == (LeadState.RETRY, None)  # back to the list


# --- Personal callback cards, Preview countdown ------------------------------------------------


def test_a_personal_callback_card_that_times_out_stays_the_agents_callback(logged_in, campaign):
    from leads import lifecycle

    lead = LeadFactory(campaign=campaign, state=LeadState.DIALING)
    lifecycle.lead_schedule_callback(lead, now=NOW - _s(600), at=NOW, agent_id=logged_in.pk,
                                     actor="alice")  # fmt: skip
    lifecycle.lead_reserve_for_agent(lead, now=NOW, agent_id=logged_in.pk, until=NOW + _s(30))
    services.desk_card_offered(agent=logged_in, lead=lead, now=NOW, expires_at=NOW + _s(30))
    services.desk_tick(agent=logged_in, now=NOW + _s(31))
    lead.refresh_from_db()
    assert (lead.state, lead.callback_agent) == (LeadState.CALLBACK, logged_in)
    assert lead.next_dial_at > NOW + _s(31)
    assert _desk(logged_in).call_state == DeskCallState.IDLE


def test_a_preview_card_counts_down_its_hold_and_tells_the_agent_when_it_ends(logged_in, preview):
    lead = LeadFactory(campaign=preview)
    services.agent_get_preview_record(agent=logged_in, campaign=preview, now=NOW)
    lead.refresh_from_db()
    assert lead.reserved_until is not None
    assert _desk(logged_in).card_expires_at == lead.reserved_until
    services.desk_tick(agent=logged_in, now=lead.reserved_until)
    lead.refresh_from_db()
    assert (lead.state, _desk(logged_in).call_state) == (LeadState.RETRY, DeskCallState.IDLE)
    assert AgentMessage.objects.filter(agent=logged_in, title__contains="returned").exists()


# --- Bad input ------------------------------------------------------------------------------


def test_callback_times_that_cannot_be_placed_are_refused_in_words(logged_in, campaign):
    lead = LeadFactory(campaign=campaign, timezone="America/New_York")
    with pytest.raises(DesktopError, match="happens twice"):  # clocks go back at 02:00
        services.callback_time(datetime(2026, 11, 1, 1, 30), lead)
    with pytest.raises(DesktopError, match="within"):
        services.callback_time(datetime(9999, 12, 31, 23, 59), lead)
    assert services.callback_time(datetime(2026, 11, 1, 2, 30), lead).utcoffset() == _s(-5 * 3600)


def test_a_not_ready_reason_with_a_nul_is_refused_before_freeswitch_hears(logged_in, freeswitch):
    sent = len(freeswitch)
    with pytest.raises(DesktopError, match="control characters"):
        services.agent_go_not_ready(agent=logged_in, reason="Lunch\x00", now=NOW)
    assert len(freeswitch) == sent
    logged_in.refresh_from_db()
    assert logged_in.status == AgentStatus.AVAILABLE
