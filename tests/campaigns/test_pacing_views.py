"""The campaign's pacing page (admins): figures, ledger and warnings, refreshed by its script."""

from __future__ import annotations

import pytest

from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def test_pacing_page_warns_while_an_agent_is_not_on_auto_answer(admin_client, agent, queue):  # type: ignore[no-untyped-def]
    # An agent's phone that rings while the customer waits turns connects into abandons; the
    # contact can be changed in the admin after the campaign started, so the page keeps asking.
    campaign = CampaignFactory(queue=queue, type="predictive", run_status="running")
    agent.contact = "[sip_auto_answer=true]user/1001"
    agent.save()
    page = admin_client.get(f"/campaigns/{campaign.pk}/pacing/").content.decode()
    assert 'data-fig="ringing_first" hidden>' in page  # present for the script, not shown

    agent.contact = "user/1001"
    agent.save()
    live = admin_client.get(f"/campaigns/{campaign.pk}/pacing/live/").json()
    assert live["ringing_first"].startswith("1 agent(s) of this queue are not on auto-answer")
    assert "1001@default" in live["ringing_first"]
    page = admin_client.get(f"/campaigns/{campaign.pk}/pacing/").content.decode()
    assert "their phones ring while the customer waits" in page
    assert 'data-fig="ringing_first" hidden' not in page
