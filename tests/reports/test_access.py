"""Who sees the reports: admins and report viewers; agents get 403; strangers log in first."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from campaigns.models import Campaign
from dialer.models import Call
from leads.models import DoNotCall, Lead

pytestmark = pytest.mark.django_db

PAGES = [
    "/reports/",
    "/reports/activity/",
    "/reports/activity/export.csv",
    "/reports/leads/",
    "/reports/leads/live/",
    "/reports/leads/export.csv",
    "/reports/compliance/",
]
API = [
    "/api/reports/lead-status/",
    "/api/reports/lead-status/export.csv",
    "/api/reports/activity/",
    "/api/reports/activity/export.csv",
    "/api/reports/dashboard/",
]


def logged_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("url", PAGES)
def test_admins_and_report_viewers_open_every_report(url, admin_user, report_viewer) -> None:  # type: ignore[no-untyped-def]
    assert logged_in(admin_user).get(url).status_code == 200
    assert logged_in(report_viewer).get(url).status_code == 200


@pytest.mark.parametrize("url", PAGES)
def test_agents_get_403_on_every_report(url, agent) -> None:  # type: ignore[no-untyped-def]
    assert logged_in(agent.user).get(url).status_code == 403


@pytest.mark.parametrize("url", PAGES)
def test_strangers_are_sent_to_the_login_page(url) -> None:  # type: ignore[no-untyped-def]
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("url", API)
def test_api_by_token_for_viewers_403_for_agents_401_for_strangers(  # type: ignore[no-untyped-def]
    url, report_viewer, agent
) -> None:
    viewer = APIClient()
    viewer.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=report_viewer).key}")
    assert viewer.get(url).status_code == 200
    assert viewer.post(url, {}).status_code in (403, 405)
    as_agent = APIClient()
    as_agent.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=agent.user).key}")
    assert as_agent.get(url).status_code == 403
    assert APIClient().get(url).status_code == 401


def test_the_report_viewer_cannot_change_campaigns_or_leads(report_viewer) -> None:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(report_viewer)
    assert client.post("/api/campaigns/", {"name": "x"}, format="json").status_code == 403
    assert logged_in(report_viewer).get("/admin/").status_code in (302, 403)


def test_the_report_viewer_changes_nothing_anywhere(report_viewer, call_set) -> None:  # type: ignore[no-untyped-def]
    campaign = call_set.renewals
    lead = call_set.calls[1].lead
    before = (
        Campaign.objects.values_list("name", "started_at", "stopped_at").get(pk=campaign.pk),
        Lead.objects.count(),
        Lead.objects.get(pk=lead.pk).first_name,
        DoNotCall.objects.count(),
        Call.objects.count(),
    )
    api = APIClient()
    api.force_authenticate(report_viewer)
    refused = [
        api.patch(f"/api/campaigns/{campaign.pk}/", {"name": "Hacked"}, format="json"),
        api.delete(f"/api/campaigns/{campaign.pk}/"),
        api.post("/api/leads/", {"campaign": campaign.pk, "number": "+12025550123"}),
        api.patch(f"/api/leads/{lead.pk}/", {"first_name": "Hacked"}, format="json"),
        api.delete(f"/api/leads/{lead.pk}/"),
        api.post("/api/do-not-call/", {"number": "+12025550123"}, format="json"),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    page = logged_in(report_viewer)
    for url in [
        f"/campaigns/{campaign.pk}/start/",
        f"/campaigns/{campaign.pk}/stop/",
        f"/campaigns/{campaign.pk}/leads/delete-all/",
        f"/campaigns/{campaign.pk}/leads/{lead.pk}/delete/",
        f"/campaigns/{campaign.pk}/edit/",
        "/campaigns/new/",
    ]:
        assert page.post(url, {"name": "Hacked"}).status_code == 403, url
    after = (
        Campaign.objects.values_list("name", "started_at", "stopped_at").get(pk=campaign.pk),
        Lead.objects.count(),
        Lead.objects.get(pk=lead.pk).first_name,
        DoNotCall.objects.count(),
        Call.objects.count(),
    )
    assert after == before


def test_report_pages_offer_a_viewer_nothing_to_change(report_viewer, call_set) -> None:  # type: ignore[no-untyped-def]
    client = logged_in(report_viewer)
    for url in ["/reports/", "/reports/activity/", "/reports/leads/"]:
        html = client.get(url).content.decode()
        # The only form that posts is "Log out"; no link leads to the back office.
        assert re.findall(r'<form[^>]*method="post"[^>]*>', html) == [
            '<form method="post" action="/accounts/logout/">'
        ], url
        assert 'href="/campaigns/' not in html, url
        assert 'href="/admin/' not in html, url


def test_agents_are_not_shown_the_reports(agent) -> None:  # type: ignore[no-untyped-def]
    desk = logged_in(agent.user).get("/desktop/")
    assert desk.status_code == 200
    assert b'href="/reports/' not in desk.content
