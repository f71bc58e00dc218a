"""Lead admin: columns, filters, search, history, reset of Failed leads, the running-campaign
delete lock, hostile lead text shown as text; read-only events and calls; Do-Not-Call."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import RunStatus
from dialer.eligibility import local_time
from leads import lifecycle
from leads.models import DoNotCall, Lead, LeadEvent, LeadState
from tests.factories import NOW, CallFactory, CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/leads/lead/"
HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def campaign(queue):  # type: ignore[no-untyped-def]
    return CampaignFactory(queue=queue, name="Renewals")


def messages_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in response.context["messages"]]


def failed(lead: Lead) -> Lead:
    return lifecycle.lead_mark_failed(lead, now=NOW, reason="retries exhausted", actor="test")


def test_list_columns_and_why_not_dialing(admin_client, campaign):  # type: ignore[no-untyped-def]
    cool_off_ends = timezone.now() + timedelta(hours=2)
    LeadFactory(
        campaign=campaign,
        first_name="Ada",
        last_name="Lovelace",
        number="+12025550143",
        state=LeadState.COOLOFF,
        next_dial_at=cool_off_ends,
    )
    LeadFactory(campaign=campaign, first_name="Grace", number="+12025550144")
    body = admin_client.get(CHANGELIST).content.decode()
    for header in ("Why not dialing", "Next dial at", "Attempts", "Last result", "Status"):
        assert header.lower() in body.lower(), header
    assert "Ada Lovelace" in body
    assert "+12025550143" in body
    # Each lead says why it is not being dialed, in words and in the lead's time.
    assert f"cool-off until {local_time(cool_off_ends, 'America/New_York')} lead time" in body
    assert "campaign stopped" in body


def test_filter_by_status_group_and_search(admin_client, campaign):  # type: ignore[no-untyped-def]
    LeadFactory(campaign=campaign, first_name="Newton", ticket_id="T-1")
    gone = failed(LeadFactory(campaign=campaign, first_name="Faraday", ticket_id="T-2"))
    body = admin_client.get(CHANGELIST + "?status=failed").content.decode()
    assert "Faraday" in body
    assert "Newton" not in body
    body = admin_client.get(CHANGELIST + "?q=T-1").content.decode()
    assert "Newton" in body
    assert "Faraday" not in body
    body = admin_client.get(CHANGELIST + f"?q={gone.number}").content.decode()
    assert "Faraday" in body


def test_change_page_shows_history_read_only(admin_client, campaign):  # type: ignore[no-untyped-def]
    lead = failed(LeadFactory(campaign=campaign))
    body = admin_client.get(f"{CHANGELIST}{lead.pk}/change/").content.decode()
    assert "retries exhausted" in body
    assert 'name="events-0-reason"' not in body  # shown, not editable


def test_reset_failed_leads_skips_the_others(admin_client, campaign):  # type: ignore[no-untyped-def]
    a = failed(LeadFactory(campaign=campaign))
    b = failed(LeadFactory(campaign=campaign))
    active = LeadFactory(campaign=campaign)
    response = admin_client.post(
        CHANGELIST,
        {"action": "reset_failed", "_selected_action": [a.pk, b.pk, active.pk]},
        follow=True,
    )
    assert messages_of(response) == ["Reset 2 Failed leads. Skipped 1 that was not Failed."]
    states = dict(Lead.objects.values_list("pk", "state"))
    assert states == {a.pk: LeadState.NEW, b.pk: LeadState.NEW, active.pk: LeadState.NEW}
    assert LeadEvent.objects.filter(lead=a, reason="reset by admin", actor="ada_admin").exists()
    assert not LeadEvent.objects.filter(lead=active).exists()


def test_bulk_delete_of_a_running_campaigns_leads_is_refused(admin_client, campaign):  # type: ignore[no-untyped-def]
    leads = [LeadFactory(campaign=campaign), LeadFactory(campaign=campaign)]
    campaign.run_status = RunStatus.RUNNING
    campaign.save()
    response = admin_client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [x.pk for x in leads], "post": "yes"},
        follow=True,
    )
    assert messages_of(response) == [
        "Campaign “Renewals” is running: stop it before you delete its leads."
    ]
    assert Lead.objects.count() == 2
    # The single-lead delete page refuses too, with the same message.
    page = admin_client.get(f"{CHANGELIST}{leads[0].pk}/delete/", follow=True)
    assert "stop it before you delete its leads" in messages_of(page)[0]
    assert Lead.objects.count() == 2


def test_delete_works_once_the_campaign_is_stopped(admin_client, campaign):  # type: ignore[no-untyped-def]
    leads = [LeadFactory(campaign=campaign), LeadFactory(campaign=campaign)]
    response = admin_client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [leads[0].pk], "post": "yes"},
    )
    assert response.status_code == 302
    response = admin_client.post(f"{CHANGELIST}{leads[1].pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert Lead.objects.count() == 0


def test_hostile_lead_text_is_shown_escaped(admin_client, campaign):  # type: ignore[no-untyped-def]
    lead = LeadFactory(
        campaign=campaign,
        first_name=HOSTILE,
        last_name="<img src=x onerror=alert(1)>",
        note=HOSTILE,
        ticket_id=HOSTILE,
        not_dialable_reason=HOSTILE,
    )
    for url in (CHANGELIST, f"{CHANGELIST}{lead.pk}/change/", "/admin/leads/leadevent/"):
        body = admin_client.get(url).content.decode()
        assert "<script>alert" not in body, url
        assert "<img src=x" not in body, url
    body = admin_client.get(CHANGELIST).content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body


def test_record_edit_goes_into_the_history(admin_client, campaign):  # type: ignore[no-untyped-def]
    lead = LeadFactory(campaign=campaign, first_name="Ada", priority=1)
    data = record_data(lead, number="(202) 555-0199", priority=7)
    response = admin_client.post(f"{CHANGELIST}{lead.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    lead.refresh_from_db()
    assert (lead.number, lead.priority) == ("+12025550199", 7)
    event = LeadEvent.objects.get(lead=lead)
    assert event.reason == "customer record edited"
    data["number"] = "12345"
    response = admin_client.post(f"{CHANGELIST}{lead.pk}/change/", data)
    assert response.status_code == 200
    assert "Invalid number" in response.content.decode()
    DoNotCall.objects.create(number="+12025550177")
    data["number"] = "+12025550177"
    response = admin_client.post(f"{CHANGELIST}{lead.pk}/change/", data)
    assert response.status_code == 200
    assert "+12025550177 is on the Do-Not-Call list." in response.content.decode()
    lead.refresh_from_db()
    assert lead.number == "+12025550199"


def test_events_and_calls_are_read_only(admin_client, campaign):  # type: ignore[no-untyped-def]
    call = CallFactory(lead=LeadFactory(campaign=campaign))
    assert admin_client.get("/admin/leads/leadevent/").status_code == 200
    assert admin_client.get("/admin/leads/leadevent/add/").status_code == 403
    assert admin_client.get("/admin/dialer/call/").status_code == 200
    assert admin_client.get("/admin/dialer/call/add/").status_code == 403
    page = admin_client.get(f"/admin/dialer/call/{call.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert admin_client.get(CHANGELIST + "add/").status_code == 403


def test_do_not_call_entry_stops_the_numbers_leads(admin_client, campaign):  # type: ignore[no-untyped-def]
    lead = LeadFactory(campaign=campaign, number="+12025550143")
    response = admin_client.post(
        "/admin/leads/donotcall/add/",
        {"number": "(202) 555-0143", "campaign": "", "reason": "asked on the phone"},
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    entry = DoNotCall.objects.get()
    assert (entry.number, entry.campaign, entry.added_by.username) == (
        "+12025550143",
        None,
        "ada_admin",
    )
    lead.refresh_from_db()
    assert lead.state == LeadState.FAILED
    body = admin_client.get("/admin/leads/donotcall/").content.decode()
    assert "Whole account" in body
    bad = admin_client.post("/admin/leads/donotcall/add/", {"number": "hello", "reason": ""})
    assert bad.status_code == 200
    assert "Invalid number" in bad.content.decode()


def record_data(lead: Lead, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "number": lead.number,
        "priority": lead.priority,
        "ticket_id": "",
        "lead_type": "",
        "note": "",
        "skill": "",
        "extension": "",
        "retries": "",
        "cool_off": "",
        "cool_off_2nd": "",
        "cool_off_3rd": "",
        "events-TOTAL_FORMS": 0,
        "events-INITIAL_FORMS": 0,
    }
    data.update(changes)
    return data


def test_a_number_already_a_lead_is_a_form_error_only(admin_client, campaign):  # type: ignore[no-untyped-def]
    LeadFactory(campaign=campaign, number="+12025550143")
    lead = LeadFactory(campaign=campaign, first_name="Ada", number="+12025550144", priority=1)
    url = f"{CHANGELIST}{lead.pk}/change/"
    response = admin_client.post(url, record_data(lead, number="(202) 555-0143", priority=9))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["number"] == ["+12025550143 is already a lead of this campaign."]
    assert not any("changed successfully" in m for m in messages_of(response))
    lead.refresh_from_db()
    assert (lead.number, lead.priority) == ("+12025550144", 1)
    assert not LeadEvent.objects.filter(lead=lead).exists()


def test_editing_a_do_not_call_number_stops_the_new_numbers_leads(admin_client, campaign):  # type: ignore[no-untyped-def]
    entry = DoNotCall.objects.create(number="+12025550143", reason="typo")
    lead = LeadFactory(campaign=campaign, number="+12025550144")
    response = admin_client.post(
        f"/admin/leads/donotcall/{entry.pk}/change/",
        {"number": "(202) 555-0144", "campaign": "", "reason": "typo fixed"},
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    entry.refresh_from_db()
    assert (entry.number, entry.reason) == ("+12025550144", "typo fixed")
    assert DoNotCall.objects.count() == 1
    lead.refresh_from_db()
    assert lead.state == LeadState.FAILED
