"""The dialer's REST API for agents: status changes keep the desktop's rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agents.desktop import dialer_bridge, services
from agents.models import AgentStatus, DeskCallState
from leads.models import LeadState
from tests.factories import CallFactory, CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db
URL = "/api/dialer/agent/status/"


@pytest.fixture(autouse=True)
def freeswitch(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(dialer_bridge, "fs_api", lambda command: "+OK")


@pytest.fixture
def on_a_call(agent, queue):  # type: ignore[no-untyped-def]
    now = timezone.now()
    services.agent_login(agent=agent, now=now - timedelta(minutes=5))
    services.agent_go_ready(agent=agent, now=now - timedelta(minutes=5))
    campaign = CampaignFactory(queue=queue, run_status="running")
    lead = LeadFactory(campaign=campaign, state=LeadState.DIALING)
    call = CallFactory(lead=lead, campaign=campaign)
    services.desk_call_bridged(agent=agent, call=call, now=now - timedelta(minutes=1))
    client = APIClient()
    client.force_authenticate(agent.user)
    return agent, call, client


def test_logging_out_during_a_call_is_negotiated(on_a_call):  # type: ignore[no-untyped-def]
    agent, _call, client = on_a_call
    response = client.post(URL, {"status": AgentStatus.LOGGED_OUT}, format="json")
    assert response.status_code == 200
    assert response.json()["logout_pending"] is True
    assert response.json()["status"] == AgentStatus.ON_BREAK  # no new calls, still on this one
    assert services.desk_for(agent).call_state == DeskCallState.TALKING


def test_ready_waits_for_the_last_calls_disposition(on_a_call):  # type: ignore[no-untyped-def]
    agent, call, client = on_a_call
    services.desk_call_ended(agent=agent, call=call, now=timezone.now())
    response = client.post(URL, {"status": AgentStatus.AVAILABLE}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == AgentStatus.ON_BREAK
    agent.refresh_from_db()
    assert agent.break_reason == "Disposition required"


def test_a_logged_out_agent_logs_in_and_takes_a_break_with_a_reason(agent):  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(agent.user)
    response = client.post(URL, {"status": AgentStatus.ON_BREAK, "reason": "Lunch"}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["reason"]) == (AgentStatus.ON_BREAK, "Lunch")
    assert services.desk_for(agent).logged_in_at is not None
