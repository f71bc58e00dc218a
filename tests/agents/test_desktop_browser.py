"""The agent desktop in Debian's Chromium against the live app.

The dialer's part ("the customer is bridged to the agent", "the call hung up", "a Push Preview
card is reserved for the agent") is driven by calling the same desktop services the dialer
daemon calls (agents.desktop.services.desk_event / desk_card_offered); FreeSWITCH commands
(status, uuid_kill) are captured instead of sent. Everything the agent does goes through the
page: clicks, keyboard, the event stream. test_desktop_browser_live.py runs the Progressive,
Preview and Push Preview flows again with no stand-in: the real selector, the dialer daemon and
the FreeSWITCH simulator.
"""

from __future__ import annotations

import re
from datetime import time as dtime
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from agents.desktop import dialer_bridge, services
from agents.models import AgentStatus, DeskCallState
from campaigns.models import CampaignType
from campaigns.services import campaign_start
from dialer import preview as dialer_preview
from dialer.models import Call
from leads.models import LeadState
from tests.browser import log_in, screenshot
from tests.factories import CallFactory, CampaignFactory, DispositionFactory, LeadFactory

pytest_plugins = ["tests.browser"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CLOCK = re.compile(r"\d\d:\d\d:\d\d")


@pytest.fixture
def phone(monkeypatch):  # type: ignore[no-untyped-def]
    """FreeSWITCH stand-in: records commands; a hang-up comes back as the dialer would
    report it (the call ended)."""
    sent: list[str] = []

    def api(command: str) -> str:
        sent.append(command)
        return "+OK"

    monkeypatch.setattr(dialer_bridge, "fs_api", api)
    monkeypatch.setattr(dialer_preview, "send_control", lambda command: sent.append("preview"))

    def hangup(call: Call) -> None:
        sent.append(f"uuid_kill {call.uuid}")
        services.desk_event(
            event="ended", call_uuid=str(call.uuid), agent_name=None, now=timezone.now()
        )

    monkeypatch.setattr(dialer_bridge, "call_hangup", hangup)
    return sent


@pytest.fixture
def world(agent, queue, settings):  # type: ignore[no-untyped-def]
    # The app runs on the wall clock and Get record goes through the real selector: open the
    # legal calling hours all day, or these desk tests would fail at night in Chicago (the
    # legal guard itself is tested in tests/dialer/).
    settings.LEGAL_CALLING_START = dtime(0)
    settings.LEGAL_CALLING_END = dtime(0)
    queue.wrap_up_time = 10
    queue.save()
    for pos, (code, label, outcome) in enumerate(
        [
            ("sale", "Sale", "successful"),
            ("callback", "Call back", "callback"),
            ("not-interested", "Not interested", "failed"),
        ]
    ):
        DispositionFactory(queue=queue, code=code, label=label, outcome=outcome, position=pos)
    progressive = CampaignFactory(
        name="Spring Renewals", queue=queue, type=CampaignType.PROGRESSIVE
    )
    campaign_start(progressive, now=timezone.now() - timedelta(minutes=5), actor="test")
    return {"agent": agent, "queue": queue, "progressive": progressive}


def _lead(campaign, **fields: Any):  # type: ignore[no-untyped-def]
    defaults = {
        "first_name": "Maria",
        "last_name": "Lopez",
        "ticket_id": "TCK-1042",
        "lead_type": "renewal",
        "note": "Asked about the family plan; prefers calls after 10 am.",
        "crm_data": {"plan": "Gold", "customer_since": "2019"},
        "timezone": "America/Chicago",
        "timezones": ["America/Chicago"],
    }
    return LeadFactory(campaign=campaign, **{**defaults, **fields})


def _bridge(agent, campaign, **lead_fields: Any) -> Call:  # type: ignore[no-untyped-def]
    """The dialer connects a customer to the agent (Progressive)."""
    lead = _lead(campaign, state=LeadState.DIALING, **lead_fields)
    call = CallFactory(lead=lead, campaign=campaign, requested_at=timezone.now())
    services.desk_event(
        event="bridged", call_uuid=str(call.uuid), agent_name=agent.name, now=timezone.now()
    )
    return call


def _open_desktop(page, agent, *, ready: bool = True) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(page, agent.user.username)
    page.goto("/desktop/")
    expect(page.locator("#conn")).to_have_text("Live")
    expect(page.locator("#status-label")).to_have_text("Logged out")
    page.click("#btn-login")
    expect(page.locator("#status-label")).to_have_text("Not Ready")
    if ready:
        page.click("#btn-ready")
        expect(page.locator("#status-label")).to_have_text("Ready")


def test_progressive_call_disposition_callback_then_next_call(browser_page, world, phone):
    page, agent = browser_page, world["agent"]
    _open_desktop(page, agent)
    expect(page.locator("#status-clock")).to_have_text(CLOCK)
    # The campaign began before the login: its message arrived at login.
    expect(page.locator(".message.kind-campaign")).to_contain_text(
        "Campaign started: Spring Renewals"
    )
    expect(page.locator("#panel-campaigns")).to_contain_text("Started")
    screenshot(page, "desktop-ready")

    call = _bridge(agent, world["progressive"])
    card = page.locator("#lead-card")
    expect(card).to_be_visible()
    expect(page.locator("#lead-name")).to_have_text("Maria Lopez")
    expect(page.locator("#lead-ticket")).to_have_text("TCK-1042")
    expect(page.locator("#lead-number")).to_have_text(call.lead.number)
    expect(page.locator("#crm-fields")).to_contain_text("Gold")
    expect(page.locator("#status-label")).to_have_text("On call")
    screenshot(page, "desktop-call")

    page.click("#btn-hold")
    expect(page.locator("#btn-resume")).to_be_visible()
    page.click("#btn-resume")
    expect(page.locator("#btn-hold")).to_be_visible()
    assert f"uuid_hold off {call.uuid}" in phone
    page.click("#btn-hangup")
    expect(page.locator("#wrap-countdown")).to_be_visible()
    expect(page.locator("#status-label")).to_have_text("Wrap-up")
    assert f"uuid_kill {call.uuid}" in phone

    # Disposition "Call back" with the date and time in the lead's timezone, by keyboard.
    lead_day = (timezone.now() + timedelta(days=1)).astimezone(ZoneInfo("America/Chicago"))
    page.select_option("#disposition", label="Call back")
    page.fill("#callback-at", f"{lead_day:%Y-%m-%d}T10:30")
    page.check("#callback-personal")
    screenshot(page, "desktop-wrap-up")
    page.focus("#btn-disposition")
    page.keyboard.press("Enter")
    expect(page.locator("#disposition-done")).to_have_text("✓ Call back")
    call.lead.refresh_from_db()
    local = call.lead.next_dial_at.astimezone(ZoneInfo("America/Chicago"))
    assert (call.lead.state, local.hour, local.minute) == (LeadState.CALLBACK, 10, 30)
    assert call.lead.callback_agent == agent

    # Wrap-up ends by itself: the agent is offered calls again.
    expect(page.locator("#waiting-title")).to_be_visible(timeout=20_000)
    agent.refresh_from_db()
    assert agent.status == AgentStatus.AVAILABLE
    evil_note = '<img src=x onerror="window.pwned=1"> Wants a quote.'
    _bridge(agent, world["progressive"], first_name="Sam", last_name="Okafor", note=evil_note)
    expect(page.locator("#lead-name")).to_have_text("Sam Okafor")
    expect(page.locator("#lead-note")).to_have_text(evil_note)  # shown as text, never run
    assert page.evaluate("window.pwned") is None


def test_preview_get_record_skip_and_connect(browser_page, world, phone):
    page, agent = browser_page, world["agent"]
    preview = CampaignFactory(name="Warm Leads", queue=world["queue"], type=CampaignType.PREVIEW)
    campaign_start(preview, now=timezone.now(), actor="test")
    first = _lead(preview, first_name="Ada", priority=9, number="+13125550101")
    _lead(preview, first_name="Ben", priority=1, number="+13125550102")
    _open_desktop(page, agent, ready=False)

    page.click(f"[data-get-record='{preview.pk}']")
    expect(page.locator("#lead-name")).to_have_text("Ada Lopez")
    expect(page.locator("#btn-connect")).to_have_text("Connect")
    screenshot(page, "desktop-preview")
    page.click("#btn-skip")
    expect(page.locator("#lead-card")).to_have_count(0)
    first.refresh_from_db()
    assert first.state == LeadState.RETRY

    page.click(f"[data-get-record='{preview.pk}']")
    expect(page.locator("#lead-name")).to_have_text("Ada Lopez")
    page.click("#btn-connect")
    expect(page.locator(".card-kicker")).to_contain_text("Dialing the customer")
    call = Call.objects.get(lead=first)
    assert call.agent == agent
    assert "preview" in phone  # handed to the dialer's control stream
    services.desk_event(
        event="bridged", call_uuid=str(call.uuid), agent_name=agent.name, now=timezone.now()
    )
    expect(page.locator(".card-kicker")).to_contain_text("Connected")


def test_push_preview_accept_reject_and_countdown_expiry(browser_page, world, phone):
    page, agent = browser_page, world["agent"]
    push = CampaignFactory(
        name="Push List", queue=world["queue"], type=CampaignType.PUSH_PREVIEW, preview_timeout=5
    )
    campaign_start(push, now=timezone.now(), actor="test")
    _open_desktop(page, agent)

    def offer(name: str):  # type: ignore[no-untyped-def]
        lead = _lead(push, first_name=name, state=LeadState.RESERVED, reserved_by=agent)
        services.desk_card_offered(agent=agent, lead=lead, now=timezone.now())
        expect(page.locator("#lead-name")).to_have_text(f"{name} Lopez")
        return lead

    # Countdown expiry: the card goes back to the list by itself.
    expired = offer("Cleo")
    expect(page.locator("#card-countdown")).to_have_text(re.compile(r"00:0\d"))
    screenshot(page, "desktop-push-preview")
    expect(page.locator("#lead-card")).to_have_count(0, timeout=10_000)
    expect(page.locator(".message.kind-system").first).to_contain_text(
        "Lead card returned to the list"
    )
    expired.refresh_from_db()
    assert expired.state == LeadState.RETRY

    rejected = offer("Dev")
    expect(page.locator("#btn-skip")).to_have_text("Reject")
    page.click("#btn-skip")
    expect(page.locator("#lead-card")).to_have_count(0)
    rejected.refresh_from_db()
    assert rejected.state == LeadState.RETRY

    accepted = offer("Eve")
    page.click("#btn-connect")
    expect(page.locator(".card-kicker")).to_contain_text("Dialing the customer")
    accepted.refresh_from_db()
    assert accepted.state == LeadState.DIALING


def test_campaign_start_message_arrives_live(browser_page, world, phone):
    page, agent = browser_page, world["agent"]
    _open_desktop(page, agent)
    unread = int(page.locator("#unread-count").inner_text())
    autumn = CampaignFactory(name="Autumn Offers", queue=world["queue"])
    campaign_start(autumn, now=timezone.now(), actor="test")
    expect(page.locator("#panel-messages")).to_contain_text("Campaign started: Autumn Offers")
    expect(page.locator("#unread-count")).to_have_text(str(unread + 1))
    expect(page.locator("#panel-campaigns")).to_contain_text("Autumn Offers")
    page.click("text=Mark all read")
    expect(page.locator("#unread-count")).to_have_text("0")


def test_negotiated_logout_countdown_survives_dismissal_and_completes(browser_page, world, phone):
    page, agent = browser_page, world["agent"]
    _open_desktop(page, agent)
    call = _bridge(agent, world["progressive"])
    expect(page.locator("#lead-card")).to_be_visible()

    page.click("#btn-logout")
    dialog = page.locator("#logout-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Awaiting logoff authorization")
    expect(page.locator("#logout-dialog-countdown")).to_contain_text("call and its wrap-up")
    agent.refresh_from_db()
    assert agent.status == AgentStatus.ON_BREAK  # no new calls from this moment
    page.keyboard.press("Escape")  # dismiss
    expect(dialog).to_be_hidden()

    # The call ends without its disposition: the logout waits for it and says so, in My
    # Messages and in the status icon's tooltip; the dismissed dialog stays dismissed.
    services.desk_event(
        event="ended", call_uuid=str(call.uuid), agent_name=agent.name, now=timezone.now()
    )
    countdown = page.locator(".message.kind-logout .message-countdown")
    expect(countdown).to_contain_text("its disposition")
    page.hover("#status-icon")
    expect(page.locator("#status-tip")).to_contain_text("its disposition")
    expect(dialog).to_be_hidden()
    screenshot(page, "desktop-logout-pending")
    # With the disposition set, the countdown is the rest of the wrap-up plus a few seconds.
    page.select_option("#disposition", label="Sale")
    page.click("#btn-disposition")
    expect(countdown).to_contain_text(re.compile(r"Logoff authorized in \d\d:\d\d"))

    expect(page.locator("#status-label")).to_have_text("Logged out", timeout=25_000)
    expect(page.locator(".message.kind-logout")).to_contain_text("✓ Logoff authorized")
    page.hover("#status-icon")
    expect(page.locator("#status-tip")).to_contain_text("Logoff authorized at")
    agent.refresh_from_db()
    assert agent.status == AgentStatus.LOGGED_OUT
    assert services.desk_for(agent).call_state == DeskCallState.IDLE


def test_logout_dialog_confirms_when_kept_open(browser_page, world, phone):
    page, agent = browser_page, world["agent"]
    _open_desktop(page, agent)
    call = _bridge(agent, world["progressive"])
    services.desk_event(
        event="ended", call_uuid=str(call.uuid), agent_name=agent.name, now=timezone.now()
    )
    expect(page.locator("#wrap-countdown")).to_be_visible()
    page.select_option("#disposition", label="Sale")
    page.click("#btn-disposition")
    page.click("#btn-logout")
    expect(page.locator("#logout-dialog-countdown")).to_contain_text("Logoff authorized in")
    screenshot(page, "desktop-logout-dialog")
    expect(page.locator("#logout-dialog-title")).to_have_text("Logoff authorized", timeout=25_000)
    # The logout completes on the page's tick post and the next panel refresh: on a loaded
    # machine (the whole suite) that round trip has taken longer than the 5 s default.
    expect(page.locator("#status-label")).to_have_text("Logged out", timeout=15_000)


def test_status_changes_reach_mod_callcenter_in_the_simulator(browser_page, world, settings):
    """No stand-in here: login, Ready, Not Ready and Log out travel over the Event Socket
    (dialer.agent_control → dialer.esl.oneshot) to the FreeSWITCH simulator's mod_callcenter."""
    from freeswitch.simulator.testing import running_simulator

    page, agent = browser_page, world["agent"]
    config = {
        "queues": {"sales@default": {}},
        "agents": {agent.name: {"contact": "user/1001", "status": "Logged Out"}},
        "tiers": [{"queue": "sales@default", "agent": agent.name}],
    }
    with running_simulator(callcenter_config=config) as sim:
        settings.ESL_HOST, settings.ESL_PORT = "127.0.0.1", sim.port

        def fs_status() -> str:
            return (sim.agent(agent.name) or {}).get("status", "")

        _open_desktop(page, agent)
        assert fs_status() == "Available"
        page.select_option("#not-ready-reason", "Lunch")
        page.click("#btn-not-ready")
        expect(page.locator("#status-pill-reason, .status-reason")).to_contain_text("Lunch")
        assert fs_status() == "On Break"
        page.click("#btn-logout")
        expect(page.locator("#status-label")).to_have_text("Logged out")
        assert fs_status() == "Logged Out"
    # With the phone system gone, Ready is refused in words and the agent stays Not Ready.
    settings.ESL_PORT = sim.port
    page.click("#btn-login")
    expect(page.locator("#status-label")).to_have_text("Not Ready")
    page.click("#btn-ready")
    expect(page.locator("#toast")).to_contain_text("did not make you Ready")
    expect(page.locator("#status-label")).to_have_text("Not Ready")
