"""Campaign admin: list and change pages with their rows, start/stop actions, delete lock."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign, RunStatus
from leads.models import Lead
from tests.factories import CampaignFactory, LeadFactory, ScheduleRowFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/campaigns/campaign/"


def messages_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in response.context["messages"]]


def test_list_and_change_page_render_with_rows(admin_client, queue):  # type: ignore[no-untyped-def]
    campaign = CampaignFactory(queue=queue, name="Renewals")
    ScheduleRowFactory(campaign=campaign)
    campaign.caller_ids.create(kind="custom", name="Sales", number="+12025550142")
    campaign.tz_slots.create(day_offset=0, start_time="10:00")
    assert "Renewals" in admin_client.get(CHANGELIST).content.decode()
    body = admin_client.get(f"{CHANGELIST}{campaign.pk}/change/").content.decode()
    assert 'name="schedule_rows-0-weekdays"' in body
    assert 'value="+12025550142"' in body
    assert 'name="tz_slots-0-day_offset"' in body


def test_start_and_stop_actions_report_each_campaign(admin_client, queue):  # type: ignore[no-untyped-def]
    a = CampaignFactory(queue=queue, name="Alpha")
    b = CampaignFactory(queue=queue, name="Bravo")
    response = admin_client.post(
        CHANGELIST, {"action": "start_campaigns", "_selected_action": [a.pk, b.pk]}, follow=True
    )
    texts = messages_of(response)
    assert "Campaign “Alpha” started." in texts
    assert "Campaign “Bravo” started." in texts
    assert set(Campaign.objects.values_list("run_status", flat=True)) == {RunStatus.RUNNING}
    response = admin_client.post(
        CHANGELIST, {"action": "stop_campaigns", "_selected_action": [a.pk]}, follow=True
    )
    assert messages_of(response) == ["Campaign “Alpha” stopped."]
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.run_status, b.run_status) == (RunStatus.STOPPED, RunStatus.RUNNING)


def test_running_campaign_cannot_be_deleted_with_its_leads(admin_client, queue):  # type: ignore[no-untyped-def]
    campaign = CampaignFactory(queue=queue, name="Live", run_status=RunStatus.RUNNING)
    LeadFactory(campaign=campaign)
    response = admin_client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [campaign.pk], "post": "yes"},
        follow=True,
    )
    assert any("is running: stop it before you delete" in m for m in messages_of(response))
    page = admin_client.get(f"{CHANGELIST}{campaign.pk}/delete/", follow=True)
    assert any("is running" in m for m in messages_of(page))
    assert Campaign.objects.filter(pk=campaign.pk).exists()
    assert Lead.objects.filter(campaign=campaign).count() == 1


def test_stopped_campaign_can_be_deleted(admin_client, queue):  # type: ignore[no-untyped-def]
    campaign = CampaignFactory(queue=queue, name="Old")
    LeadFactory(campaign=campaign)
    response = admin_client.post(f"{CHANGELIST}{campaign.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Campaign.objects.filter(pk=campaign.pk).exists()
