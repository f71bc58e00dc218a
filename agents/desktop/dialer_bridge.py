"""The desktop's seam to the dialer: agent status, call commands and lead cards.

Thin: status goes through dialer.agent_control (FreeSWITCH first), call commands through the
one-shot Event Socket client (dialer.esl.oneshot), lead cards through dialer.selector and
dialer.preview, what the agent heard on a call through dialer.calls (AMD mistakes). Every
command argument is a validated name or a UUID, never user text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from agents.models import Agent, AgentStatus
from campaigns.models import Campaign
from campaigns.services import campaign_display_status as _campaign_display_status
from dialer import agent_control, preview, selector
from dialer import calls as dialer_calls
from dialer.esl import oneshot
from dialer.models import Call
from leads.models import Lead

log = logging.getLogger("agents.desktop.bridge")


class PhoneSystemError(RuntimeError):
    """FreeSWITCH refused or did not answer a call command."""


class CardError(ValueError):
    """The dialer refused a lead-card action (no longer reserved, another agent's …)."""


# --- Agent status (mod_callcenter) ----------------------------------------------------------

# Tests may replace FreeSWITCH: a function taking one api command and returning the reply.
# None: the dialer's one-shot ESL client.
fs_api: Callable[[str], str] | None = None


def _api() -> Callable[[str], str]:
    return fs_api if fs_api is not None else oneshot.api


def set_agent_status(agent: Agent, status: str, *, reason: str = "", now: datetime) -> None:
    """Tell mod_callcenter, then record the status (dialer.agent_control.agent_set_status).

    Fails safe: going Available is refused (PhoneSystemError) when FreeSWITCH does not accept
    it, so the desktop never shows Ready for an agent who would get no calls. Going On Break
    or Logged Out is recorded even then: fewer offers is the safe direction, and the dialer
    re-applies recorded breaks when it connects (`Dialer._apply_recorded_breaks`)."""
    try:
        agent_control.agent_set_status(
            agent, status=status, now=now, break_reason=reason, api=_api()
        )
    except Exception as exc:
        if status == AgentStatus.AVAILABLE:
            raise PhoneSystemError(str(exc)) from exc
        log.warning("status %r of agent %s recorded, not applied: %s", status, agent.name, exc)
    Agent.objects.filter(pk=agent.pk).update(
        status=status, break_reason=reason[:100], status_changed_at=now
    )
    agent.status, agent.break_reason, agent.status_changed_at = status, reason[:100], now


# --- Call commands ----------------------------------------------------------------------------


def _call_command(command: str) -> None:
    """`command` holds only fixed words and the call's UUID (a UUIDField): no user text."""
    try:
        reply = _api()(command)
    except Exception as exc:
        raise PhoneSystemError(f"the phone system is not reachable ({exc})") from exc
    if reply.strip().startswith("-ERR"):
        raise PhoneSystemError(reply.strip())


def call_hangup(call: Call) -> None:
    _call_command(f"uuid_kill {call.uuid} NORMAL_CLEARING")


def call_hold(call: Call) -> None:
    _call_command(f"uuid_hold {call.uuid}")


def call_resume(call: Call) -> None:
    _call_command(f"uuid_hold off {call.uuid}")


# --- Campaign status and lead cards ----------------------------------------------------------


def campaign_display_status(campaign: Campaign, *, now: datetime) -> str:
    """Running, Scheduled (running, outside its schedule) or Stopped."""
    return _campaign_display_status(campaign, now=now)


def select_preview_lead(campaign: Campaign, agent: Agent, now: datetime) -> Lead | None:
    """Reserve the next record of the calling list for the agent's card (state Reserved)."""
    return selector.select_preview_lead(campaign, agent, now)


def preview_accept(*, agent: Agent, lead: Lead, now: datetime) -> Call:
    """The agent connects a card: a Call row and the lead Dialing; the dialer rings the agent's
    phone, then the customer's."""
    try:
        return preview.preview_accept(agent=agent, lead=lead, now=now)
    except preview.PreviewError as exc:
        raise CardError(str(exc)) from exc


def preview_skip(*, agent: Agent, lead: Lead, now: datetime, reason: str) -> None:
    """Skip, reject or countdown expiry: the record goes back to the list, no attempt spent."""
    try:
        preview.preview_skip(agent=agent, lead=lead, now=now, reason=reason)
    except preview.PreviewError as exc:
        log.info("card of lead %s already left agent %s: %s", lead.pk, agent.name, exc)


# --- What the agent heard (AMD mistakes for the compliance ledger) ---------------------------


def agent_verdict(*, agent: Agent, call: Call, voicemail: bool, now: datetime) -> None:
    """The agent reached voicemail (``voicemail``) or a person on ``call``: when that
    contradicts answering-machine detection, the Call row records the AMD mistake."""
    dialer_calls.call_agent_verdict(call_id=call.pk, voicemail=voicemail, now=now, actor=agent.name)
