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
from datetime import datetime

from django.db import transaction

from agents.models import Agent
from campaigns.models import CampaignType
from dialer import handoff
from dialer.models import Call
from leads import lifecycle
from leads.models import Lead, LeadState

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
    commit the dialer rings the agent, then the customer."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().select_related("campaign").get(pk=lead.pk)
        _check_card(lead, agent)
        if not lead.campaign.is_running:
            raise PreviewError("The campaign was stopped: this record cannot be dialed now.")
        if lead.reserved_until is not None and lead.reserved_until <= now:
            # The card's time ends before the lead's dial window closes (dialer.selector).
            raise PreviewError("This lead card's time is up; ask for another record.")
        call = Call.objects.create(
            uuid=uuid.uuid4(),
            campaign=lead.campaign,
            lead=lead,
            attempt=lead.attempts + 1,
            number=lead.number,
            requested_at=now,
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
    log.info("preview accepted", extra={"lead_id": lead.pk, "agent": agent.name})
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
