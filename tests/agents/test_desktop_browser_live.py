"""The agent desktop in Debian's Chromium with no stand-in for the dialer.

The FreeSWITCH simulator (in process, over a real Event Socket), the dialer daemon
(dialer.daemon.Dialer reading the selector's Redis Stream and publishing live state to
Redis), the real selector (dialer.selector.run_tick in a loop, Celery beat's job) and the
desktop in the browser. The simulated customer answers and talks; the simulated agent's phone
answers what mod_callcenter (or, for Preview, the daemon) offers it. Everything the agent does
goes through the page.

The simulator runs at time scale 1 here: mod_callcenter's wrap-up (the agent's wrap-up-time,
as dialer.management.commands.export_callcenter_config writes it), the daemon's free-agent
gate and the desk's wrap-up countdown then all count the same seconds, as they do in
production; the calls themselves last a few seconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import time as wall
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test.utils import override_settings
from django.utils import timezone
from playwright.sync_api import expect

from agents.desktop import services
from agents.models import AgentStatus, DeskCallState
from campaigns.models import CampaignType
from campaigns.services import campaign_start
from dialer import daemon as dialer_daemon
from dialer import handoff
from dialer.daemon import Dialer, default_request_source
from dialer.models import Call, CallResult
from dialer.redisconn import redis_client
from freeswitch.simulator import Simulator
from leads.models import LeadEvent, LeadState
from tests.browser import log_in
from tests.dialer.dialer_harness import SelectorTicks, wait_until
from tests.factories import CampaignFactory, DispositionFactory, LeadFactory

pytest_plugins = ["tests.browser"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUEUE = "sales@default"
WRAP_UP = 5  # seconds, the queue's and mod_callcenter's
CALL = 30_000  # ms: what a page may wait for a call to be placed, answered and bridged
SCENARIO = {
    "rules": [
        # Preview: the daemon rings the agent's own phone first; it answers and stays.
        {
            "match": r"(^|/)1001$",
            "action": "answer",
            "ring": 0.3,
            "answer_after": 0.5,
            "talk": None,
        },
        # Customers answer after a short ring and talk a few seconds, then hang up.
        {"match": r"^\+1312555", "action": "answer", "ring": 0.5, "answer_after": 1, "talk": 8},
    ],
    # The agent's phone answers mod_callcenter's offers; the customer ends the call.
    "agents": {"default": {"action": "answer", "ring": 0.3, "answer_after": 0.5, "talk": None}},
}


@pytest.fixture
def phone_system(agent, queue, settings) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Simulator + daemon + selector ticks, with the desktop's status commands pointed at the
    simulator's mod_callcenter."""
    queue.wrap_up_time = WRAP_UP
    queue.save()
    for pos, (code, label, outcome) in enumerate(
        [("sale", "Sale", "successful"), ("callback", "Call back", "callback")]
    ):
        DispositionFactory(queue=queue, code=code, label=label, outcome=outcome, position=pos)
    client = redis_client()
    client.delete(handoff.STREAM, handoff.CONTROL_STREAM, *client.keys("dialer:live:*"))
    handoff._group_ready = False
    dialer_daemon._control_ids.clear()  # the control stream was just deleted
    config = {
        "queues": {QUEUE: {"strategy": "longest-idle-agent", "moh-sound": "local_stream://moh"}},
        "agents": {
            agent.name: {
                "type": "callback",
                "contact": agent.contact,
                "status": "Logged Out",
                "wrap-up-time": WRAP_UP,
                "max-no-answer": 100,
            }
        },
        "tiers": [{"queue": QUEUE, "agent": agent.name}],
    }
    # The daemon and the selector run on the wall clock: legal hours open all day.
    legal_all_day = override_settings(LEGAL_CALLING_START=wall(0), LEGAL_CALLING_END=wall(0))
    legal_all_day.enable()
    sim = Simulator(scenario=SCENARIO, callcenter_config=config, time_scale=1, seed=3)
    sim.start()
    settings.ESL_HOST, settings.ESL_PORT = "127.0.0.1", sim.port
    dialer = Dialer(
        host="127.0.0.1",
        port=sim.port,
        password="ClueCon",
        node="fs1",
        gateway="carrier",
        requests=default_request_source("dialer-fs1"),
        calls_per_second=10,
        max_concurrent=10,
        originate_timeout=30,
    )
    dialer.start()
    assert dialer.conn.wait_connected(5)
    ticks = SelectorTicks(every=0.1)
    ticks.start()
    try:
        yield {"sim": sim, "dialer": dialer, "queue": queue}
    finally:
        ticks.stop()
        dialer.stop()
        sim.stop()
        legal_all_day.disable()


def _lead(campaign, first_name: str, number: str, **fields: Any):  # type: ignore[no-untyped-def]
    return LeadFactory(
        campaign=campaign,
        first_name=first_name,
        last_name="Lopez",
        number=number,
        timezone="America/Chicago",
        timezones=["America/Chicago"],
        next_dial_at=timezone.now() - timedelta(minutes=1),
        **fields,
    )


def _open_desktop(page, agent) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(page, agent.user.username)
    page.goto("/desktop/")
    expect(page.locator("#conn")).to_have_text("Live")
    page.click("#btn-login")
    expect(page.locator("#status-label")).to_have_text("Not Ready")


def test_progressive_calls_from_the_dialer_reach_the_desk(browser_page, agent, phone_system):
    page, sim = browser_page, phone_system["sim"]
    campaign = CampaignFactory(
        name="Spring Renewals",
        queue=phone_system["queue"],
        type=CampaignType.PROGRESSIVE,
        cool_off=0,
        agent_dial_timeout=30,
    )
    first = _lead(campaign, "Maria", "+13125550142", priority=9, ticket_id="TCK-1042")
    second = _lead(campaign, "Sam", "+13125550143", priority=1)
    campaign_start(campaign, now=timezone.now(), actor="test")

    _open_desktop(page, agent)
    assert (sim.agent(agent.name) or {}).get("status") == "On Break"
    page.click("#btn-ready")
    expect(page.locator("#status-label")).to_have_text("Ready")
    assert (sim.agent(agent.name) or {}).get("status") == "Available"

    # The selector dials the first lead, the customer answers, mod_callcenter offers the
    # call to the agent's phone, it answers: the desk shows the lead card.
    expect(page.locator("#lead-name")).to_have_text("Maria Lopez", timeout=CALL)
    expect(page.locator("#lead-ticket")).to_have_text("TCK-1042")
    expect(page.locator(".card-kicker")).to_contain_text("Connected")
    expect(page.locator("#status-label")).to_have_text("On call")
    call = Call.objects.get(lead=first)
    assert call.agent == agent

    # The customer hangs up: wrap-up, then the disposition and a callback, set in the page.
    expect(page.locator("#wrap-countdown")).to_be_visible(timeout=CALL)
    expect(page.locator("#status-label")).to_have_text("Wrap-up")
    lead_day = (timezone.now() + timedelta(days=1)).astimezone(ZoneInfo("America/Chicago"))
    page.select_option("#disposition", label="Call back")
    page.fill("#callback-at", f"{lead_day:%Y-%m-%d}T10:30")
    page.check("#callback-personal")
    page.click("#btn-disposition")
    expect(page.locator("#disposition-done")).to_have_text("✓ Call back")
    first.refresh_from_db()
    local = first.next_dial_at.astimezone(ZoneInfo("America/Chicago"))
    assert (first.state, local.hour, local.minute) == (LeadState.CALLBACK, 10, 30)
    assert first.callback_agent == agent
    call.refresh_from_db()
    assert call.result == CallResult.CONNECTED
    assert call.disposition is not None
    assert call.disposition.code == "callback"

    # Wrap-up ends: Ready again, and only then does the next lead's call come.
    expect(page.locator("#waiting-title")).to_be_visible(timeout=CALL)
    expect(page.locator("#lead-name")).to_have_text("Sam Lopez", timeout=CALL)
    expect(page.locator(".card-kicker")).to_contain_text("Connected")
    agent.refresh_from_db()
    assert agent.status == AgentStatus.AVAILABLE
    nxt = Call.objects.get(lead=second)
    assert nxt.dialed_at is not None
    assert call.hangup_at is not None
    assert nxt.dialed_at >= call.hangup_at + timedelta(seconds=WRAP_UP - 0.5)
    # One call at a time for one agent: no second dial while the first was up.
    assert Call.objects.filter(campaign=campaign).count() == 2


def test_preview_connect_rings_the_agent_then_the_customer(browser_page, agent, phone_system):
    page, sim = browser_page, phone_system["sim"]
    campaign = CampaignFactory(
        name="Warm Leads",
        queue=phone_system["queue"],
        type=CampaignType.PREVIEW,
        agent_dial_timeout=30,
    )
    lead = _lead(campaign, "Ada", "+13125550171", priority=5)
    campaign_start(campaign, now=timezone.now(), actor="test")
    _open_desktop(page, agent)

    page.click(f"[data-get-record='{campaign.pk}']")
    expect(page.locator("#lead-name")).to_have_text("Ada Lopez")
    page.click("#btn-connect")
    expect(page.locator(".card-kicker")).to_contain_text("Dialing the customer")
    # The daemon rings the agent's phone, it answers, then the customer's: they talk.
    expect(page.locator(".card-kicker")).to_contain_text("Connected", timeout=CALL)
    expect(page.locator("#lead-name")).to_have_text("Ada Lopez")
    log = list(sim.core.originate_log)
    assert len(log) == 2, log
    assert agent.contact in log[0]
    assert "sofia/gateway/carrier/+13125550171" in log[1]

    # The customer hangs up: wrap-up on the desk, the attempt recorded as connected.
    expect(page.locator("#wrap-countdown")).to_be_visible(timeout=CALL)
    call = Call.objects.get(lead=lead)
    assert wait_until(lambda: Call.objects.get(pk=call.pk).result != CallResult.PENDING, 10)
    call.refresh_from_db()
    assert call.result == CallResult.CONNECTED
    assert call.agent == agent
    assert call.dialed_at <= call.agent_answered_at <= call.hangup_at
    page.select_option("#disposition", label="Sale")
    page.click("#btn-disposition")
    expect(page.locator("#disposition-done")).to_have_text("✓ Sale")
    lead.refresh_from_db()
    assert lead.state == LeadState.SUCCESS


def test_push_preview_card_arrives_from_the_selector_and_accept_connects(
    browser_page, agent, phone_system
):
    page, sim = browser_page, phone_system["sim"]
    campaign = CampaignFactory(
        name="Push List",
        queue=phone_system["queue"],
        type=CampaignType.PUSH_PREVIEW,
        preview_timeout=60,
        agent_dial_timeout=30,
    )
    cleo = _lead(campaign, "Cleo", "+13125550181", priority=9)
    _lead(campaign, "Eve", "+13125550182", priority=1)
    campaign_start(campaign, now=timezone.now(), actor="test")
    _open_desktop(page, agent)
    page.click("#btn-ready")
    expect(page.locator("#status-label")).to_have_text("Ready")

    # The selector reserves the first record for the free agent: the card arrives by itself.
    expect(page.locator("#lead-name")).to_have_text("Cleo Lopez", timeout=CALL)
    expect(page.locator("#card-countdown")).to_have_text(re.compile(r"\d\d:\d\d"))
    expect(page.locator("#btn-connect")).to_have_text("Accept")
    rejected_at = timezone.now()
    page.click("#btn-skip")  # Reject: the record goes back, the next card comes by itself

    def next_card() -> int | None:
        desk = services.desk_for(agent)
        fresh = desk.call_state == DeskCallState.CARD and desk.call_state_since > rejected_at
        return desk.lead_id if fresh else None

    assert wait_until(lambda: next_card() is not None, timeout=CALL / 1000)
    # The rejected record went back to the list without an attempt (it may come again).
    assert LeadEvent.objects.filter(lead=cleo, to_state=LeadState.RETRY, reason__contains="reject")
    assert not Call.objects.filter(lead=cleo, dialed_at__lt=rejected_at).exists()
    lead_id = next_card()
    card = page.locator(f"#lead-card[data-lead-id='{lead_id}']")
    expect(card.locator("#btn-connect")).to_have_text("Accept")
    expect(page.locator("#card-countdown")).to_have_text(re.compile(r"\d\d:\d\d"))
    page.click("#btn-connect")
    expect(page.locator(".card-kicker")).to_contain_text("Connected", timeout=CALL)
    log = list(sim.core.originate_log)
    assert len(log) == 2, log
    assert agent.contact in log[0]
    assert "sofia/gateway/carrier/+1312555018" in log[1]

    expect(page.locator("#wrap-countdown")).to_be_visible(timeout=CALL)
    assert wait_until(
        lambda: Call.objects.get(lead_id=lead_id).result != CallResult.PENDING, timeout=10
    )
    call = Call.objects.get(lead_id=lead_id)
    assert call.result == CallResult.CONNECTED
    assert call.agent == agent
