"""Preview and Push Preview: accept rings the agent first, then the customer; skip returns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from agents.roles import AGENTS
from dialer import preview
from dialer.daemon import Dialer
from dialer.models import Call, CallResult
from freeswitch.simulator import Simulator
from leads import lifecycle
from leads.models import DoNotCall, LeadState
from tests.dialer.dialer_harness import callcenter_config, wait_until
from tests.factories import NOW, CampaignFactory, LeadFactory


def reserved_lead(agent, campaign_type="preview", now=NOW):
    campaign = CampaignFactory(type=campaign_type, queue=agent.queues.first(), run_status="running")
    lead = LeadFactory(campaign=campaign, number="+12025550142")
    return lifecycle.lead_reserve_for_agent(
        lead, now=now, agent_id=agent.pk, until=now + timedelta(seconds=30)
    )


@pytest.mark.django_db
def test_skip_returns_the_lead_without_an_attempt(agent):
    lead = reserved_lead(agent)
    preview.preview_skip(agent=agent, lead=lead, now=NOW, reason="not now")
    lead.refresh_from_db()
    assert (lead.state, lead.attempts) == (LeadState.RETRY, 0)


@pytest.mark.django_db
def test_only_the_agent_holding_the_card_can_accept_it(agent, other_agent):
    lead = reserved_lead(agent)
    with pytest.raises(preview.PreviewError):
        preview.preview_accept(agent=other_agent, lead=lead, now=NOW)
    lead.refresh_from_db()
    assert lead.state == LeadState.RESERVED


@pytest.mark.django_db
def test_expired_cards_go_back(agent):
    lead = reserved_lead(agent)
    assert preview.preview_expire(now=NOW + timedelta(seconds=31)) == 1
    lead.refresh_from_db()
    assert lead.state == LeadState.RETRY


@pytest.mark.django_db
def test_api_accept_and_skip(agent):
    client = APIClient()
    client.force_authenticate(agent.user)
    lead = reserved_lead(agent, "push_preview", now=datetime.now(UTC))
    with pytest.MonkeyPatch.context() as mp:
        sent: list[dict] = []
        mp.setattr(preview, "send_control", sent.append)
        response = client.post(f"/api/dialer/preview/{lead.pk}/accept/")
    assert response.status_code == 201, response.content
    call = Call.objects.get(uuid=response.json()["call_uuid"])
    assert call.agent == agent
    lead.refresh_from_db()
    assert lead.state == LeadState.DIALING
    again = client.post(f"/api/dialer/preview/{lead.pk}/accept/")
    assert again.status_code == 409
    other = reserved_lead(agent, now=datetime.now(UTC))
    assert (
        client.post(f"/api/dialer/preview/{other.pk}/skip/", {"reason": "busy"}).status_code == 204
    )


@pytest.mark.django_db(transaction=True)
def test_accepted_card_rings_the_agent_then_the_customer_and_connects(agent):
    agent.user.groups.add(Group.objects.get_or_create(name=AGENTS)[0])
    now = datetime.now(UTC)
    lead = reserved_lead(agent, now=now)
    with Simulator(
        scenario={
            "rules": [
                {
                    "match": "1001",
                    "action": "answer",
                    "ring": 0.1,
                    "answer_after": 0.2,
                    "talk": None,
                }
            ],
            "default": {"action": "answer", "ring": 0.2, "answer_after": 0.5, "talk": 5},
        },
        callcenter_config=callcenter_config("sales@default", 1),
        time_scale=20,
    ) as sim:
        dialer = Dialer(
            host="127.0.0.1",
            port=sim.port,
            password="ClueCon",
            node="fs1",
            gateway="carrier",
            requests=None,
            publish=lambda snap: None,
        )
        dialer.start()
        try:
            assert dialer.conn.wait_connected(5)
            call = preview.preview_accept(agent=agent, lead=lead, now=now)
            dialer.dial_preview(str(call.uuid), agent.contact, agent.name)
            assert wait_until(
                lambda: Call.objects.get(pk=call.pk).result != CallResult.PENDING, timeout=15
            )
            log = list(sim.core.originate_log)
        finally:
            dialer.stop()
    # The agent's leg first, the customer's second.
    assert len(log) == 2
    assert "user/1001" in log[0]
    assert "sofia/gateway/carrier/+12025550142" in log[1]
    call.refresh_from_db()
    lead.refresh_from_db()
    assert call.result == CallResult.CONNECTED
    assert call.agent_answered_at is not None
    assert lead.state == LeadState.SUCCESS


@pytest.mark.django_db
def test_a_card_of_a_stopped_campaign_or_past_its_time_is_not_dialed(agent):
    lead = reserved_lead(agent)
    with pytest.raises(preview.PreviewError, match="time is up"):
        preview.preview_accept(agent=agent, lead=lead, now=NOW + timedelta(seconds=30))
    lead.campaign.run_status = "stopped"
    lead.campaign.save()
    with pytest.raises(preview.PreviewError, match="stopped"):
        preview.preview_accept(agent=agent, lead=lead, now=NOW)
    assert not Call.objects.filter(lead=lead).exists()


@pytest.mark.django_db
def test_a_card_whose_number_went_on_do_not_call_is_refused_and_ends_failed(agent):
    client = APIClient()
    client.force_authenticate(agent.user)
    now = datetime.now(UTC)
    lead = reserved_lead(agent, "push_preview", now=now)
    DoNotCall.objects.create(number=lead.number, campaign=lead.campaign)
    with pytest.MonkeyPatch.context() as mp:
        sent: list[dict] = []
        mp.setattr(preview, "send_control", sent.append)
        response = client.post(f"/api/dialer/preview/{lead.pk}/accept/")
    assert response.status_code == 409
    assert "Do-Not-Call" in response.json()["detail"]
    assert not sent
    assert not Call.objects.filter(lead=lead).exists()
    lead.refresh_from_db()
    assert (lead.state, lead.last_result) == (LeadState.FAILED, "on Do-Not-Call")


@pytest.mark.django_db
def test_a_preview_call_may_not_be_dialed_after_the_leads_window_closes(agent):
    # New York 20:59:30: the legal window closes at 21:00, before the request would go stale.
    near_close = datetime(2026, 11, 19, 1, 59, 30, tzinfo=UTC)
    lead = reserved_lead(agent, now=near_close)
    call = preview.preview_accept(agent=agent, lead=lead, now=near_close)
    assert call.dial_deadline == datetime(2026, 11, 19, 2, 0, tzinfo=UTC)
    # In the middle of the day: the request's time to live, after the agent's phone rang.
    early = reserved_lead(agent, now=NOW)
    call = preview.preview_accept(agent=agent, lead=early, now=NOW)
    timeout = early.campaign.agent_dial_timeout
    assert call.dial_deadline == NOW + timedelta(seconds=60 + timeout)
    # Accepted after the window closed (the card was made under other rules): already late,
    # so the dialer rings the agent but never the customer.
    after_close = datetime(2026, 11, 19, 2, 0, 5, tzinfo=UTC)
    late = reserved_lead(agent, now=after_close)
    call = preview.preview_accept(agent=agent, lead=late, now=after_close)
    assert call.dial_deadline == after_close
