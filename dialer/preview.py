"""Preview and Push Preview: the agent sees the lead card first, then connects or skips it.

Which leg is dialed first: the AGENT's. On accept, the dialer rings the agent's phone, and
only when the agent answers does it dial the customer; the customer's answer is bridged to
the waiting agent at once. The spec holds the customer "until an agent accepts": dialing the
customer first would leave an answered customer in silence while an agent's phone rings (an
abandoned call in the making, and a compliance problem). The agent hears ringback instead.

The services here are what the desktop and the API call; the daemon does the dialing after
the transaction commits (a `preview_dial` command on the `dialer:control` stream).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.db import transaction

from agents.models import Agent
from campaigns.models import CampaignType
from dialer import eligibility, handoff, selector
from dialer.models import Call
from leads import lifecycle
from leads.models import Lead, LeadState
from leads.services import DNC_REASON

log = logging.getLogger("dialer.preview")

PREVIEW_TYPES = (CampaignType.PREVIEW, CampaignType.PUSH_PREVIEW)


class PreviewError(ValueError):
    """The card cannot be accepted or skipped (not this agent's, no longer reserved …)."""


def _check_card(lead: Lead, agent: Agent) -> None:
    if lead.campaign.type not in PREVIEW_TYPES and not (
        lead.callback_agent_id == agent.pk and lead.state == LeadState.RESERVED
    ):
        raise PreviewError("This campaign does not use lead cards.")
    if lead.state != LeadState.RESERVED:
        raise PreviewError("This lead card is no longer on your desk.")
    if lead.reserved_by_id != agent.pk:
        raise PreviewError("This lead card belongs to another agent.")


def preview_accept(*, agent: Agent, lead: Lead, now: datetime) -> Call:
    """The agent connects the card: the lead is Dialing, a Call row is created, and after
    commit the dialer rings the agent, then the customer.

    Do-Not-Call is checked once more (the list may have changed while the card was on the
    desk): a number on it ends Failed and the accept is refused. The Call gets the dial
    deadline every dial request has (see `_create_call`)."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().select_related("campaign").get(pk=lead.pk)
        _check_card(lead, agent)
        campaign = lead.campaign
        if not campaign.is_running:
            raise PreviewError("The campaign was stopped: this record cannot be dialed now.")
        if lead.reserved_until is not None and lead.reserved_until <= now:
            # The card's time ends before the lead's dial window closes (dialer.selector).
            raise PreviewError("This lead card's time is up; ask for another record.")
        on_dnc = bool(selector.on_dnc_numbers(campaign, [lead.number]))
        if on_dnc:
            # The refusal is raised after this block commits: the lead leaves the card for
            # good (unless the caller's own transaction rolls it back; it stays undialable).
            lifecycle.lead_mark_failed(lead, now=now, reason=DNC_REASON, actor=agent.name)
        else:
            call = _create_call(lead, agent, now=now)
    if on_dnc:
        raise PreviewError("This number is on the Do-Not-Call list: it will not be dialed.")
    log.info("preview accepted", extra={"lead_id": lead.pk, "agent": agent.name})
    return call


def _dial_deadline(lead: Lead, *, now: datetime) -> datetime:
    """The deadline every dial request has: the close of the lead's window (read as the
    selector reads it), or the request going stale. The customer is dialed only after the
    agent's phone has rung, so the ring time is added to the staleness, never past the
    window. A window already closed (the rules changed while the card was on the desk) gives
    `now`: the dialer does not dial the customer, and the lead goes back without an attempt."""
    facts = selector.lead_facts(lead, campaign_retries=lead.campaign.retries)
    rules = selector.build_rules(lead.campaign)
    window = eligibility.window_answer(rules, facts.zones, facts.created_at, now)
    if not window.open:
        return now
    ring = timedelta(seconds=lead.campaign.agent_dial_timeout)
    return selector.dial_deadline(window.open_until, now, agent_ring=ring)


def _create_call(lead: Lead, agent: Agent, *, now: datetime) -> Call:
    deadline = _dial_deadline(lead, now=now)
    call = Call.objects.create(
        uuid=uuid.uuid4(),
        campaign=lead.campaign,
        lead=lead,
        attempt=lead.attempts + 1,
        number=lead.number,
        requested_at=now,
        dial_deadline=deadline,
        agent=agent,
        agent_name=agent.display_name[:150],
        agent_extension=agent.extension,
    )
    lifecycle.transition(
        lead,
        LeadState.DIALING,
        now=now,
        reason=f"agent {agent.name} connected the lead card",
        actor=agent.name,
        reserved_until=None,
    )
    command = {
        "action": "preview_dial",
        "call_uuid": str(call.uuid),
        "contact": agent.contact,
        "agent": agent.name,
    }
    transaction.on_commit(lambda: send_control(command))
    return call


def preview_skip(*, agent: Agent, lead: Lead, now: datetime, reason: str = "skipped") -> Lead:
    """Skip, reject or countdown expiry: the lead goes back to the list, no attempt spent."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().select_related("campaign").get(pk=lead.pk)
        _check_card(lead, agent)
        return lifecycle.lead_release_card(lead, now=now, reason=reason[:200], actor=agent.name)


def preview_expire(*, now: datetime) -> int:
    """Cards whose countdown ran out go back to the list (Celery beat or the selector)."""
    count = 0
    for lead in Lead.objects.select_related("campaign").filter(
        state=LeadState.RESERVED, reserved_until__lt=now
    ):
        try:
            lifecycle.lead_release_card(lead, now=now, reason="card expired", actor="dialer")
            count += 1
        except (lifecycle.StaleLead, lifecycle.IllegalTransition):
            continue
    return count


def send_control(command: dict[str, str]) -> None:
    try:
        handoff.send_control(command)
    except Exception:
        # The Call stays pending and the lead Dialing until the selector's reaper frees it.
        log.exception("preview dial not handed to the dialer", extra={"command": command})
