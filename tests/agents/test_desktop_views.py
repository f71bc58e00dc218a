"""Agent desktop pages and actions: who may see and do what, CSRF, and lead data as text."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from agents.desktop import dialer_bridge, services
from agents.models import AgentMessage, DeskCallState, MessageKind
from leads.models import LeadState
from tests.factories import CallFactory, CampaignFactory, DispositionFactory, LeadFactory

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


FETCH = {"HTTP_X_REQUESTED_WITH": "fetch"}
EVIL_NAME = "<script>alert('name')</script>"
EVIL_NOTE = '<img src=x onerror="alert(1)">'


@pytest.fixture
def campaign(queue):  # type: ignore[no-untyped-def]
    return CampaignFactory(name="Renewals", queue=queue, run_status="running")


@pytest.fixture
def on_call(agent, campaign):  # type: ignore[no-untyped-def]
    """The agent, logged in and talking to a lead whose record holds markup."""
    services.agent_login(agent=agent, now=campaign.created_at)
    lead = LeadFactory(
        campaign=campaign,
        state=LeadState.DIALING,
        first_name=EVIL_NAME,
        note=EVIL_NOTE,
        ticket_id="T-<b>42</b>",
        crm_data={"<i>plan</i>": "<a href='javascript:alert(2)'>gold</a>"},
    )
    call = CallFactory(lead=lead, campaign=campaign)
    services.desk_call_bridged(agent=agent, call=call, now=timezone.now())
    return call


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    c = Client()
    c.force_login(user)
    return c


def test_strangers_go_to_login_and_non_agents_get_403(client, report_viewer):
    response = client.get(reverse("desktop:home"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert _client(report_viewer).get(reverse("desktop:home")).status_code == 403


def test_desktop_shows_status_and_my_campaigns(agent, campaign):
    page = _client(agent.user).get(reverse("desktop:home")).content.decode()
    assert "Logged out" in page
    assert "Log in to my queues" in page
    assert "Renewals" in page


def test_lead_fields_holding_html_render_as_text(agent, on_call):
    c = _client(agent.user)
    page = c.get(reverse("desktop:home")).content.decode()
    panels = json.loads(c.get(reverse("desktop:panels")).content)["panels"]["card"]["html"]
    for html in (page, panels):
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(&#x27;name&#x27;)&lt;/script&gt;" in html
        assert "<img src=x" not in html
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
        assert "<b>42</b>" not in html
        assert "<a href='javascript" not in html
        assert "&lt;i&gt;plan&lt;/i&gt;" in html


def test_masked_campaign_hides_the_number(agent, on_call, campaign):
    campaign.mask_lead_caller_id = True
    campaign.save()
    page = _client(agent.user).get(reverse("desktop:home")).content.decode()
    assert on_call.lead.number not in page
    assert "Hidden" in page


def test_csrf_is_enforced_on_actions(agent):
    c = Client(enforce_csrf_checks=True)
    c.force_login(agent.user)
    assert c.post(reverse("desktop:login")).status_code == 403
    c.get(reverse("desktop:home"))  # sets the CSRF cookie
    token = c.cookies["csrftoken"].value
    response = c.post(reverse("desktop:login"), HTTP_X_CSRFTOKEN=token, **FETCH)
    assert response.status_code == 200
    agent.refresh_from_db()
    assert agent.status == "On Break"


def test_actions_are_posts_only(agent):
    assert _client(agent.user).get(reverse("desktop:ready")).status_code == 405


def test_another_agents_call_and_lead_are_403(agent, other_agent, on_call, queue):
    code = DispositionFactory(queue=queue, outcome="successful")
    c = _client(other_agent.user)
    lead = on_call.lead
    posts = [
        (reverse("desktop:call_action", args=[on_call.pk, "hangup"]), {}),
        (reverse("desktop:call_action", args=[on_call.pk, "hold"]), {}),
        (reverse("desktop:call_action", args=[on_call.pk, "voicemail"]), {}),
        (reverse("desktop:disposition", args=[on_call.pk]), {"disposition": code.pk}),
        (reverse("desktop:connect", args=[lead.pk]), {}),
        (reverse("desktop:skip", args=[lead.pk]), {}),
        (reverse("desktop:record", args=[lead.pk]), {"note": "mine now"}),
        (reverse("desktop:callback", args=[lead.pk]), {"callback_at": "2099-01-01T10:00"}),
        (reverse("desktop:get_record", args=[on_call.campaign_id]), {}),
    ]
    for url, data in posts:
        assert c.post(url, data, **FETCH).status_code == 403, url
    lead.refresh_from_db()
    on_call.refresh_from_db()
    assert lead.note == EVIL_NOTE
    assert on_call.disposition is None
    # The agent's own message is theirs only.
    message = AgentMessage.objects.create(
        agent=agent, kind=MessageKind.SYSTEM, title="hi", created_at=on_call.requested_at
    )
    assert c.post(reverse("desktop:read_message", args=[message.pk])).status_code == 403


def test_a_callback_set_during_the_call_says_it_is_booked_when_the_call_ends(agent, on_call):
    c = _client(agent.user)
    day = (timezone.now() + timedelta(days=3)).date()
    response = c.post(
        reverse("desktop:callback", args=[on_call.lead_id]),
        {"callback_at": f"{day}T10:00"},
        **FETCH,
    )
    assert response.status_code == 200, response.content
    assert json.loads(response.content)["notice"] == (
        "Callback kept: it is booked when the call ends."
    )
    # The button works without a disposition code picked (the browser must not demand one).
    page = c.get(reverse("desktop:home")).content.decode()
    assert 'id="btn-callback" formnovalidate' in page


def test_owner_sets_disposition_with_callback_in_leads_time(agent, on_call, queue):
    code = DispositionFactory(queue=queue, label="Call back", outcome="callback")
    c = _client(agent.user)
    day = (timezone.now() + timedelta(days=20)).date()
    response = c.post(
        reverse("desktop:disposition", args=[on_call.pk]),
        {"disposition": code.pk, "callback_at": f"{day}T09:15", "personal": "on"},
        **FETCH,
    )
    assert response.status_code == 200, response.content
    data = json.loads(response.content)
    assert data["notice"] == "Disposition saved."
    assert "Call back" in data["panels"]["card"]["html"]
    on_call.lead.refresh_from_db()
    assert on_call.lead.state == LeadState.DIALING  # the customer is still on the line
    services.desk_call_ended(agent=agent, call=on_call, now=timezone.now())
    on_call.lead.refresh_from_db()
    assert on_call.lead.state == LeadState.CALLBACK
    # 09:15 on the lead's wall clock (New York), whatever the UTC offset that day.
    local = on_call.lead.next_dial_at.astimezone(ZoneInfo("America/New_York"))
    assert (local.date(), local.hour, local.minute) == (day, 9, 15)
    assert on_call.lead.callback_agent == agent


def test_refusals_come_back_as_400_with_words(agent, on_call):
    c = _client(agent.user)
    response = c.post(reverse("desktop:disposition", args=[on_call.pk]), {}, **FETCH)
    assert response.status_code == 400
    assert json.loads(response.content) == {"error": "Pick a disposition code."}
    response = c.post(
        reverse("desktop:callback", args=[on_call.lead_id]), {"callback_at": "tomorrow"}, **FETCH
    )
    assert "YYYY-MM-DD" in json.loads(response.content)["error"]


def test_without_script_actions_redirect_back(agent):
    response = _client(agent.user).post(reverse("desktop:ready"))
    assert response.status_code == 302
    assert response["Location"] == reverse("desktop:home")


def test_hangup_then_wrap_up_shows_the_timer_and_disposition_form(agent, on_call):
    c = _client(agent.user)
    assert c.post(reverse("desktop:call_action", args=[on_call.pk, "hold"]), **FETCH).status_code
    assert services.desk_for(agent).call_state == DeskCallState.HELD
    services.desk_call_ended(agent=agent, call=on_call, now=timezone.now())
    html = json.loads(c.get(reverse("desktop:panels")).content)["panels"]["card"]["html"]
    assert 'id="wrap-countdown"' in html
    assert "Save disposition" in html


# --- An old call gives no hold on a lead another agent is calling -------------------------------


@pytest.fixture
def bob(queue):  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import Group

    from agents.roles import AGENTS
    from tests.factories import AgentFactory

    b = AgentFactory(name="1002@default", extension="1002", user__username="bob_agent")
    b.user.groups.add(Group.objects.get(name=AGENTS))
    b.tiers.create(queue=queue, level=1, position=1)
    return b


def test_an_old_call_gives_no_hold_on_a_lead_another_agent_is_calling(agent, bob, campaign, queue):
    from dialer.models import CallResult

    now = timezone.now()
    lead = LeadFactory(campaign=campaign, state=LeadState.DIALING, attempts=1, note="as is")
    # Alice dialed the lead an hour ago (no answer, no disposition); Bob is talking to it now.
    old = CallFactory(lead=lead, agent=agent, result=CallResult.NO_ANSWER,
                      requested_at=now - timedelta(hours=1))  # fmt: skip
    live = CallFactory(lead=lead, requested_at=now, attempt=2)
    services.agent_login(agent=bob, now=now)
    services.desk_call_bridged(agent=bob, call=live, now=now)
    services.agent_login(agent=agent, now=now)
    failed = DispositionFactory(queue=queue, outcome="failed")
    c = _client(agent.user)
    posts = [
        (reverse("desktop:disposition", args=[old.pk]), {"disposition": failed.pk}),
        (reverse("desktop:call_action", args=[old.pk, "voicemail"]), {}),
        (reverse("desktop:callback", args=[lead.pk]), {"callback_at": "2099-01-01T10:00"}),
        (reverse("desktop:record", args=[lead.pk]), {"note": "edited by alice"}),
    ]
    for url, data in posts:
        response = c.post(url, data, **FETCH)
        assert response.status_code == 403, url
    lead.refresh_from_db()
    old.refresh_from_db()
    assert (lead.state, lead.note, old.disposition) == (LeadState.DIALING, "as is", None)
    # Bob's own disposition is his to set.
    sale = DispositionFactory(queue=queue, outcome="successful")
    response = _client(bob.user).post(
        reverse("desktop:disposition", args=[live.pk]), {"disposition": sale.pk}, **FETCH
    )
    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.state == LeadState.SUCCESS


# --- Bad input is a 400 in words, never a 500 ---------------------------------------------------


@pytest.mark.parametrize(
    ("url_name", "data"),
    [
        ("callback", {"callback_at": "9999-12-31T23:59"}),
        ("disposition", {"callback_at": "9999-12-31T23:59"}),
        ("disposition", {"disposition": "\u00b2"}),
        ("disposition", {"disposition": "99999999999999999999999"}),
        ("record", {"first_name": "Ann\x00"}),
        ("not_ready", {"reason": "Lunch\x00"}),
    ],
)
def test_bad_input_is_refused_in_words(agent, on_call, queue, url_name, data):
    callback_code = DispositionFactory(queue=queue, outcome="callback")
    data = {"disposition": callback_code.pk, **data} if url_name == "disposition" else data
    args = {
        "callback": [on_call.lead_id],
        "record": [on_call.lead_id],
        "disposition": [on_call.pk],
        "not_ready": [],
    }[url_name]
    c = Client(raise_request_exception=False)
    c.force_login(agent.user)
    response = c.post(reverse(f"desktop:{url_name}", args=args), data, **FETCH)
    assert response.status_code == 400, response.content
    assert json.loads(response.content)["error"]


def test_a_call_still_waiting_for_its_disposition_is_named_on_the_next_call(
    agent, on_call, campaign
):
    now = timezone.now()
    services.desk_call_ended(agent=agent, call=on_call, now=now)
    nxt = CallFactory(lead=LeadFactory(campaign=campaign, state=LeadState.DIALING))
    services.desk_call_bridged(agent=agent, call=nxt, now=now)  # before its disposition
    html = json.loads(_client(agent.user).get(reverse("desktop:panels")).content)["panels"]
    card = html["card"]["html"]
    assert 'id="owed-dispositions"' in card
    assert "&lt;script&gt;" in card  # the first lead's name, as text
