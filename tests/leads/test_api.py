"""Lead REST API: list filters, cursor pages, detail, record edit, delete, sample, DNC, roles."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from campaigns.models import RunStatus
from leads.models import DoNotCall, Lead, LeadEvent, LeadState
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(user)
    return client


def ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.json()
    return [lead["id"] for lead in response.json()["results"]]


def test_list_filters_by_campaign_status_number_and_name(report_viewer) -> None:  # type: ignore[no-untyped-def]
    campaign = CampaignFactory()
    ada = LeadFactory(
        campaign=campaign, first_name="Ada", last_name="Lovelace", number="+12025550143"
    )
    grace = LeadFactory(campaign=campaign, first_name="Grace", state=LeadState.COOLOFF)
    callback = LeadFactory(campaign=campaign, first_name="Cal", state=LeadState.CALLBACK)
    dialing = LeadFactory(campaign=campaign, first_name="Dee", state=LeadState.DIALING)
    elsewhere = LeadFactory(first_name="Ada")
    client = client_for(report_viewer)
    base = "/api/leads/"
    assert ids(client.get(base, {"campaign": campaign.pk})) == [
        ada.pk,
        grace.pk,
        callback.pk,
        dialing.pk,
    ]
    assert ids(client.get(base, {"campaign": campaign.pk, "status": "cool_off"})) == [
        grace.pk,
        callback.pk,
    ]
    assert ids(client.get(base, {"status": "active,in_progress", "campaign": campaign.pk})) == [
        ada.pk,
        dialing.pk,
    ]
    assert ids(client.get(base, {"number": "(202) 555-0143"})) == [ada.pk]
    assert ids(client.get(base, {"number": "555014"})) == [ada.pk]
    assert ids(client.get(base, {"name": "lovel"})) == [ada.pk]
    assert ids(client.get(base, {"name": "ada"})) == [ada.pk, elsewhere.pk]
    bad = client.get(base, {"status": "dialing"})
    assert bad.status_code == 400
    assert "Unknown status dialing" in bad.json()["status"][0]


def test_list_pages_with_a_cursor(report_viewer) -> None:  # type: ignore[no-untyped-def]
    campaign = CampaignFactory()
    leads = [LeadFactory(campaign=campaign, number=f"+1202555{n:04d}") for n in range(5)]
    client = client_for(report_viewer)
    first = client.get("/api/leads/", {"campaign": campaign.pk, "page_size": 2}).json()
    assert [lead["id"] for lead in first["results"]] == [leads[0].pk, leads[1].pk]
    second = client.get(first["next"]).json()
    assert [lead["id"] for lead in second["results"]] == [leads[2].pk, leads[3].pk]


def test_detail_shows_status_and_keeps_html_as_text(report_viewer) -> None:  # type: ignore[no-untyped-def]
    lead = LeadFactory(first_name="<script>alert(1)</script>", state=LeadState.VOICEMAIL)
    body = client_for(report_viewer).get(f"/api/leads/{lead.pk}/").json()
    assert body["first_name"] == "<script>alert(1)</script>"
    assert (body["status"], body["status_display"], body["state"]) == (
        "voicemail",
        "Voicemail",
        "voicemail",
    )


def test_admin_edits_a_record_and_bad_values_are_400(admin_user) -> None:  # type: ignore[no-untyped-def]
    lead = LeadFactory(first_name="Ada")
    client = client_for(admin_user)
    ok = client.patch(
        f"/api/leads/{lead.pk}/", {"first_name": "Grace", "type": "vip"}, format="json"
    )
    assert ok.status_code == 200, ok.json()
    assert (ok.json()["first_name"], ok.json()["type"]) == ("Grace", "vip")
    assert LeadEvent.objects.filter(lead=lead, reason="customer record edited").exists()
    bad = client.patch(
        f"/api/leads/{lead.pk}/", {"number": "12", "state": "success"}, format="json"
    )
    assert bad.status_code == 400
    assert set(bad.json()) == {"number", "state"}
    lead.refresh_from_db()
    assert lead.state == LeadState.NEW


def test_admin_deletes_a_lead_unless_the_campaign_runs(admin_user) -> None:  # type: ignore[no-untyped-def]
    client = client_for(admin_user)
    lead = LeadFactory()
    assert client.delete(f"/api/leads/{lead.pk}/").status_code == 204
    running = LeadFactory(campaign=CampaignFactory(run_status=RunStatus.RUNNING))
    refused = client.delete(f"/api/leads/{running.pk}/")
    assert refused.status_code == 409
    assert Lead.objects.filter(pk=running.pk).exists()


def test_sample_csv_download(report_viewer) -> None:  # type: ignore[no-untyped-def]
    response = client_for(report_viewer).get("/api/leads/sample-csv/", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert 'filename="campaign-leads-sample.csv"' in response["Content-Disposition"]
    assert response.content.decode().startswith("number,priority,first_name")


def test_report_viewer_cannot_edit_or_delete_leads(report_viewer) -> None:  # type: ignore[no-untyped-def]
    lead = LeadFactory(first_name="Ada")
    client = client_for(report_viewer)
    assert (
        client.patch(f"/api/leads/{lead.pk}/", {"first_name": "X"}, format="json").status_code
        == 403
    )
    assert client.delete(f"/api/leads/{lead.pk}/").status_code == 403
    assert client.post("/api/do-not-call/", {"number": "+12025550143"}).status_code == 403
    lead.refresh_from_db()
    assert lead.first_name == "Ada"


def test_agent_gets_403_on_lead_endpoints(agent) -> None:  # type: ignore[no-untyped-def]
    lead = LeadFactory()
    client = client_for(agent.user)
    assert client.get("/api/leads/").status_code == 403
    assert client.get(f"/api/leads/{lead.pk}/").status_code == 403
    assert client.get("/api/leads/sample-csv/").status_code == 403
    assert (
        client.patch(f"/api/leads/{lead.pk}/", {"first_name": "X"}, format="json").status_code
        == 403
    )
    assert client.get("/api/do-not-call/").status_code == 403


def test_unauthenticated_lead_list_is_401() -> None:
    assert APIClient().get("/api/leads/").status_code == 401


def test_admin_adds_a_number_to_do_not_call(admin_user) -> None:  # type: ignore[no-untyped-def]
    lead = LeadFactory(number="+12025550143")
    client = client_for(admin_user)
    response = client.post(
        "/api/do-not-call/",
        {"number": "(202) 555-0143", "campaign": lead.campaign_id, "reason": "asked"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["number"] == "+12025550143"
    lead.refresh_from_db()
    assert lead.state == LeadState.FAILED
    assert client.post("/api/do-not-call/", {"number": "nope"}).status_code == 400
    listed = client.get("/api/do-not-call/").json()["results"]
    assert [(d["number"], d["campaign"]) for d in listed] == [("+12025550143", lead.campaign_id)]
    assert DoNotCall.objects.get().added_by == admin_user


@pytest.mark.parametrize(
    "body",
    [
        {"first_name": "Ada\u0000"},
        {"note": "\u0000"},
        {"first_name": ["Bob"]},
        {"number": ["+12025550188"]},
        {"priority": {"n": 1}},
        {"retries": True},
    ],
)
def test_record_edit_takes_one_text_or_number_per_field(admin_user, body) -> None:  # type: ignore[no-untyped-def]
    lead = LeadFactory(first_name="Ada", number="+12025550143", note="")
    response = client_for(admin_user).patch(f"/api/leads/{lead.pk}/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == set(body)
    lead.refresh_from_db()
    assert (lead.first_name, lead.number, lead.note) == ("Ada", "+12025550143", "")


def test_record_edit_as_a_form(admin_user) -> None:  # type: ignore[no-untyped-def]
    lead = LeadFactory(first_name="Ada", priority=1)
    response = client_for(admin_user).patch(
        f"/api/leads/{lead.pk}/", {"first_name": "Grace", "priority": "4"}, format="multipart"
    )
    assert response.status_code == 200, response.json()
    lead.refresh_from_db()
    assert (lead.first_name, lead.priority) == ("Grace", 4)


@pytest.mark.parametrize(
    "query",
    ["campaign=%C2%B2", "campaign=" + "9" * 5000, "campaign=-1", "name=%00", "name=a%00b"],
)
def test_list_refuses_filters_it_cannot_use(report_viewer, query) -> None:  # type: ignore[no-untyped-def]
    LeadFactory()
    response = client_for(report_viewer).get(f"/api/leads/?{query}")
    assert response.status_code == 400
    assert set(response.json()) == {query.split("=")[0]}


def test_list_by_a_campaign_id_too_large_for_any_campaign(report_viewer) -> None:  # type: ignore[no-untyped-def]
    LeadFactory()
    response = client_for(report_viewer).get("/api/leads/?campaign=" + "9" * 18)
    assert response.status_code == 200
    assert response.json()["results"] == []
