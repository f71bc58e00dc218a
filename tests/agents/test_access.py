"""Roles on pages: the campaign builder and the admin are for admins only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from agents.roles import AGENTS
from tests.factories import CampaignFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(queue):  # type: ignore[no-untyped-def]
    return CampaignFactory(queue=queue, name="Renewals")


def builder_urls(campaign) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    lead = LeadFactory(campaign=campaign)
    pk = campaign.pk
    return [
        ("get", "/campaigns/"),
        ("get", "/campaigns/new/"),
        ("post", "/campaigns/new/"),
        ("get", f"/campaigns/{pk}/edit/"),
        ("post", f"/campaigns/{pk}/edit/"),
        ("post", f"/campaigns/{pk}/start/"),
        ("post", f"/campaigns/{pk}/stop/"),
        ("post", f"/campaigns/{pk}/leads/upload/"),
        ("post", f"/campaigns/{pk}/leads/sync/"),
        ("get", f"/campaigns/{pk}/leads/export.csv"),
        ("post", f"/campaigns/{pk}/leads/delete-all/"),
        ("post", f"/campaigns/{pk}/leads/{lead.pk}/delete/"),
        ("get", "/campaigns/leads/sample.csv"),
    ]


def user_of(request, who):  # type: ignore[no-untyped-def]
    found = request.getfixturevalue(who)
    return getattr(found, "user", found)  # the agent fixture is an Agent


ADMIN_URLS = [
    "/admin/",
    "/admin/campaigns/campaign/",
    "/admin/leads/lead/",
    "/admin/agents/queue/",
    "/admin/dialer/call/",
    "/admin/auth/user/",
    "/admin/login/",
]


@pytest.mark.parametrize("who", ["agent", "report_viewer"])
def test_agent_and_report_viewer_get_403_on_every_builder_page(client, request, who, campaign):  # type: ignore[no-untyped-def]
    client.force_login(user_of(request, who))
    for method, url in builder_urls(campaign):
        response = getattr(client, method)(url)
        assert response.status_code == 403, (who, method, url)
    campaign.refresh_from_db()
    assert campaign.run_status == "stopped"
    assert campaign.leads.count() == 1


@pytest.mark.parametrize("who", ["agent", "report_viewer"])
def test_agent_and_report_viewer_get_403_on_the_admin(client, request, who):  # type: ignore[no-untyped-def]
    client.force_login(user_of(request, who))
    for url in ADMIN_URLS:
        assert client.get(url).status_code == 403, (who, url)


def test_staff_flag_alone_does_not_open_the_admin(client, db):  # type: ignore[no-untyped-def]
    staff_agent = UserFactory(username="sam_staff", is_staff=True)
    staff_agent.groups.add(Group.objects.get(name=AGENTS))
    client.force_login(staff_agent)
    assert client.get("/admin/").status_code == 403
    assert client.get("/admin/leads/lead/").status_code == 403


def test_anonymous_is_sent_to_login(client, campaign):  # type: ignore[no-untyped-def]
    for method, url in builder_urls(campaign):
        response = getattr(client, method)(url)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith("/accounts/login/?next="), url
    response = client.get("/admin/leads/lead/")
    assert response.status_code == 302
    # The admin's own login page hands over to the back office's sign-in page.
    follow = client.get(response["Location"])
    assert follow.status_code == 302
    assert follow["Location"].startswith("/accounts/login/?next=")
    assert client.get("/accounts/login/").status_code == 200


def test_admins_open_builder_and_admin_without_staff_flag(client, campaign, db):  # type: ignore[no-untyped-def]
    from agents.roles import ADMINS

    admin = UserFactory(username="ada_no_staff", is_staff=False)
    admin.groups.add(Group.objects.get(name=ADMINS))
    client.force_login(admin)
    assert client.get("/campaigns/").status_code == 200
    assert client.get(f"/campaigns/{campaign.pk}/edit/").status_code == 200
    assert client.get("/admin/").status_code == 200
    r = client.get("/admin/leads/lead/")
    assert r.status_code == 200, r.content.decode()[-3000:]


def test_menu_shows_only_what_the_role_may_open(client, admin_user, agent):  # type: ignore[no-untyped-def]
    client.force_login(admin_user)
    page = client.get("/campaigns/").content.decode()
    assert 'href="/admin/"' in page
    client.force_login(agent.user)
    refused = client.get("/campaigns/")
    assert refused.status_code == 403
    body = refused.content.decode()
    assert "for admins only" in body
    assert 'href="/admin/"' not in body


@pytest.mark.parametrize(
    ("who", "start"),
    [("admin_user", "/campaigns/"), ("report_viewer", "/reports/"), ("agent", "/desktop/")],
)
def test_signing_in_lands_each_role_on_a_page_it_may_open(client, request, who, start):  # type: ignore[no-untyped-def]
    user = user_of(request, who)
    user.set_password("s3cret-pass")
    user.save()
    response = client.post(
        "/accounts/login/", {"username": user.username, "password": "s3cret-pass"}, follow=True
    )
    assert response.redirect_chain[-1][0] == start
    assert response.status_code == 200


def test_the_root_sends_a_stranger_to_sign_in(client, db):  # type: ignore[no-untyped-def]
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"
