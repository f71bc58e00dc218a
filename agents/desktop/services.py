"""Agent desktop rules: status, lead cards, call actions, dispositions, callbacks, messages
and the negotiated logout.

Views and the dialer are thin callers. Every function takes the agent and `now`, runs in one
transaction on the agent's desk row (locked, so a click and a dialer event never interleave)
and pushes "changed" to the agent's browser after commit. `DesktopError` is a refusal the
agent reads; `NotYours` (403) is an agent reaching for another agent's call or lead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from agents.models import (
    Agent,
    AgentDesk,
    AgentMessage,
    AgentStatus,
    DeskCallState,
    Disposition,
    DispositionOutcome,
    MessageKind,
)
from campaigns.models import Campaign, CampaignType
from dialer.models import Call, CallResult
from leads import lifecycle
from leads.models import Lead, LeadState

from . import dialer_bridge as bridge
from .push import push_to_agent

log = logging.getLogger("agents.desktop")

# Seconds added to a known wait before logoff is authorized (the dialer's own latency).
LOGOUT_GRACE_SECONDS = 5
BREAK_REASONS = ("Break", "Lunch", "Meeting", "Training", "Coaching", "Technical issue")
LOGGED_IN_REASON = "Logged in"
LOGOUT_PENDING_REASON = "Logout pending"
DISPOSITION_REQUIRED_REASON = "Disposition required"
BUSY_STATES = (
    DeskCallState.DIALING,
    DeskCallState.OFFERED,
    DeskCallState.TALKING,
    DeskCallState.HELD,
    DeskCallState.WRAP_UP,
)
ON_CALL_STATES = (DeskCallState.TALKING, DeskCallState.HELD)
# The desk's call has not ended yet (being set up, or connected).
LIVE_STATES = (
    DeskCallState.DIALING,
    DeskCallState.OFFERED,
    DeskCallState.TALKING,
    DeskCallState.HELD,
)


class DesktopError(Exception):
    """A refusal in words the agent understands (nothing was changed)."""


class NotYours(PermissionDenied):
    """The call or lead belongs to another agent."""


# --- Helpers ------------------------------------------------------------------------------------


def desk_for(agent: Agent) -> AgentDesk:
    desk, _created = AgentDesk.objects.get_or_create(agent=agent)
    return desk


def _locked_desk(agent: Agent) -> AgentDesk:
    desk_for(agent)
    return AgentDesk.objects.select_for_update().select_related("agent__user").get(agent=agent)


def _changed(agent: Agent, what: str, **data: Any) -> None:
    push_to_agent(agent.pk, "changed", {"what": what, **data})


def _set_call_state(desk: AgentDesk, state: str, *, now: datetime, **fields: Any) -> None:
    desk.call_state = state
    desk.call_state_since = now
    for name, value in fields.items():
        setattr(desk, name, value)
    desk.save()


def _idle(desk: AgentDesk, *, now: datetime) -> None:
    _set_call_state(
        desk,
        DeskCallState.IDLE,
        now=now,
        lead=None,
        call=None,
        card_expires_at=None,
        wrap_up_until=None,
    )


def _message(
    agent: Agent, *, kind: str, title: str, text: str, now: datetime, **fields: Any
) -> AgentMessage:
    return AgentMessage.objects.create(
        agent=agent, kind=kind, title=title[:160], text=text, created_at=now, **fields
    )


def _is_logged_in(agent: Agent, desk: AgentDesk) -> bool:
    return agent.status != AgentStatus.LOGGED_OUT and desk.logged_in_at is not None


def _require_logged_in(agent: Agent, desk: AgentDesk) -> None:
    if not _is_logged_in(agent, desk):
        raise DesktopError("Log in to your queues first.")


def own_call(agent: Agent, call_id: int) -> Call:
    """The agent's call, or NotYours: the call on their desk, or one they talked on this
    session that still waits for their disposition. An old call of theirs is not enough:
    its lead may be another agent's now."""
    call = Call.objects.select_related("campaign__queue", "lead").filter(pk=call_id).first()
    if call is None:
        raise NotYours("No such call.")
    desk = desk_for(agent)
    if desk.call_id == call.pk or owed_dispositions(agent, desk).filter(pk=call.pk).exists():
        return call
    if call.agent_id == agent.pk:
        raise NotYours("This call is no longer on your desk.")
    raise NotYours("This call belongs to another agent.")


def own_lead(agent: Agent, lead_id: int) -> Lead:
    """The agent's lead, or NotYours: on their desk (card, call, wrap-up) or reserved for
    them, and not being called for another agent."""
    lead = Lead.objects.select_related("campaign__queue").filter(pk=lead_id).first()
    if lead is None:
        raise NotYours("No such lead.")
    desk = desk_for(agent)
    reserved = lead.state == LeadState.RESERVED and lead.reserved_by_id == agent.pk
    if desk.lead_id != lead.pk and not reserved:
        raise NotYours("This lead is not on your desk.")
    if _called_for_someone_else(lead, desk):
        raise NotYours("This lead is being called for another agent now.")
    return lead


def _called_for_someone_else(lead: Lead, desk: AgentDesk) -> bool:
    """A call of the lead is up and it is not the one on this desk."""
    return (
        Call.objects.filter(lead_id=lead.pk, result=CallResult.PENDING)
        .exclude(pk=desk.call_id or 0)
        .exists()
    )


def owed_dispositions(agent: Agent, desk: AgentDesk | None = None) -> QuerySet[Call]:
    """Calls the agent talked on since logging in that still need their disposition, other
    than the one on the desk (a next call reached them before they set it), oldest first."""
    desk = desk or desk_for(agent)
    if desk.logged_in_at is None:
        return Call.objects.none()
    return (
        Call.objects.filter(agent=agent, disposition=None, agent_answered_at__gte=desk.logged_in_at)
        .exclude(pk=desk.call_id or 0)
        .select_related("lead", "campaign__queue")
        .order_by("agent_answered_at", "pk")
    )


def agent_queue_ids(agent: Agent) -> list[int]:
    return list(agent.tiers.values_list("queue_id", flat=True))


# --- Status: login, Ready, Not Ready ----------------------------------------------------------


def agent_login(*, agent: Agent, now: datetime) -> AgentDesk:
    """Log in to the agent's queues, Not Ready until they choose Ready. Campaigns that
    started before the login are announced now."""
    with transaction.atomic():
        desk = _locked_desk(agent)
        desk.logged_in_at = now
        desk.logout_requested_at = None
        desk.logout_authorized_at = None
        # Not Ready until they choose Ready: a Preview call ending must not make them Ready.
        desk.ready_after_wrap_up = False
        desk.save()
        bridge.set_agent_status(agent, AgentStatus.ON_BREAK, reason=LOGGED_IN_REASON, now=now)
        _announce_running_campaigns(agent, now=now)
        _changed(agent, "status")
    return desk


def agent_go_ready(*, agent: Agent, now: datetime) -> None:
    with transaction.atomic():
        desk = _locked_desk(agent)
        _require_logged_in(agent, desk)
        if desk.logout_pending:
            raise DesktopError("Your logout is pending: you cannot take calls now.")
        if owed_dispositions(agent, desk).exists():
            if desk.call_state != DeskCallState.IDLE:
                raise DesktopError(
                    "Set the disposition of your earlier call first: its form comes back when "
                    "this one is done."
                )
            # Nothing on the desk to finish first (it missed an event): the owed call's form
            # comes back now, and the agent is Ready once it is set.
            _free_desk(agent, desk, now=now)
            desk.ready_after_wrap_up = True
            desk.save()
            return
        if desk.call_state == DeskCallState.WRAP_UP and not _disposition_set(desk):
            desk.ready_after_wrap_up = True
            desk.save()
            if desk.wrap_up_until and now >= desk.wrap_up_until:
                raise DesktopError("Set a disposition for your last call first.")
            return  # Ready again as soon as wrap-up ends
        try:
            bridge.set_agent_status(agent, AgentStatus.AVAILABLE, now=now)
        except bridge.PhoneSystemError as exc:
            raise DesktopError(f"The phone system did not make you Ready: {exc}") from exc
        _changed(agent, "status")


def agent_go_not_ready(*, agent: Agent, reason: str, now: datetime) -> None:
    reason = reason.strip()
    if not reason:
        raise DesktopError("Pick a reason for Not Ready.")
    if len(reason) > 100:
        raise DesktopError("Keep the reason under 100 characters.")
    # Refused before FreeSWITCH hears of the break (the database would refuse a NUL later).
    if not reason.isprintable():
        raise DesktopError("The reason cannot hold control characters.")
    with transaction.atomic():
        desk = _locked_desk(agent)
        _require_logged_in(agent, desk)
        if desk.logout_pending:
            raise DesktopError("Your logout is pending.")
        desk.ready_after_wrap_up = False
        desk.save()
        bridge.set_agent_status(agent, AgentStatus.ON_BREAK, reason=reason, now=now)
        _changed(agent, "status")


# --- Negotiated logout ------------------------------------------------------------------------


@dataclass(frozen=True)
class LogoutResult:
    completed: bool
    authorized_at: datetime | None  # None: after the current call and its wrap-up


def _logout_eta(desk: AgentDesk, *, now: datetime) -> datetime | None:
    grace = timedelta(seconds=LOGOUT_GRACE_SECONDS)
    if desk.call_state in (DeskCallState.DIALING, DeskCallState.OFFERED):
        # A call being set up for the agent: it rings for at most the campaign's timeout.
        campaign = desk.call.campaign if desk.call_id and desk.call else None
        setup = campaign.agent_dial_timeout if campaign else 30
        return now + timedelta(seconds=setup) + grace
    if desk.call_state == DeskCallState.WRAP_UP and desk.wrap_up_until:
        if not _disposition_set(desk):
            return None  # waits for the disposition, however long that takes
        return max(desk.wrap_up_until, now) + grace
    return None  # on a call: known when it ends


def agent_request_logout(*, agent: Agent, now: datetime) -> LogoutResult:
    """Log out now, or, when the dialer chose the agent for a call being set up or they are on
    a call or in wrap-up, stop offering them calls at once and log out when authorized."""
    with transaction.atomic():
        desk = _locked_desk(agent)
        _require_logged_in(agent, desk)
        if desk.logout_pending:
            return LogoutResult(False, desk.logout_authorized_at)
        if desk.call_state == DeskCallState.CARD and desk.lead_id:
            # A preview card without a call: the record simply goes back to the list.
            _release_card(agent, desk, now=now, reason="agent logged out")
        if desk.call_state not in BUSY_STATES:
            _complete_logout(agent, desk, now=now, negotiated=False)
            return LogoutResult(True, now)
        eta = _logout_eta(desk, now=now)
        desk.logout_requested_at = now
        desk.logout_authorized_at = eta
        desk.save()
        # On Break at once: neither mod_callcenter nor the selector counts the agent any more.
        bridge.set_agent_status(agent, AgentStatus.ON_BREAK, reason=LOGOUT_PENDING_REASON, now=now)
        _message(
            agent,
            kind=MessageKind.LOGOUT,
            title="Awaiting logoff authorization",
            text=_logout_text(desk),
            now=now,
            countdown_until=eta,
        )
        _changed(agent, "logout", authorized_at=eta.isoformat() if eta else None)
    return LogoutResult(False, eta)


def _logout_text(desk: AgentDesk) -> str:
    if desk.logout_authorized_at is None and desk.call_state == DeskCallState.WRAP_UP:
        return (
            "Set the disposition of your last call to finish logging out; no new calls are "
            "offered to you."
        )
    if desk.logout_authorized_at is None:
        return (
            "You asked to log out during a call. Logoff is authorized when the call and its "
            "wrap-up end; no new calls are offered to you."
        )
    return (
        "You asked to log out while a call was being set up or wrapped up for you. No new "
        "calls are offered to you; logoff is authorized when the countdown ends."
    )


def _update_logout_countdown(agent: Agent, desk: AgentDesk, *, now: datetime) -> None:
    if not desk.logout_pending:
        return
    desk.logout_authorized_at = _logout_eta(desk, now=now)
    desk.save()
    AgentMessage.objects.filter(
        agent=agent, kind=MessageKind.LOGOUT, created_at__gte=desk.logout_requested_at
    ).update(countdown_until=desk.logout_authorized_at, text=_logout_text(desk), read_at=None)


def _complete_logout(agent: Agent, desk: AgentDesk, *, now: datetime, negotiated: bool) -> None:
    if negotiated:
        # Confirm in the same message the agent was watching, and unread again.
        AgentMessage.objects.filter(
            agent=agent, kind=MessageKind.LOGOUT, created_at__gte=desk.logout_requested_at
        ).update(
            title="Logoff authorized",
            text=f"Logoff was authorized at {_hms(now)}; you are logged out of your queues.",
            countdown_until=now,
            read_at=None,
        )
    desk.logged_in_at = None
    desk.logout_requested_at = None
    desk.logout_authorized_at = now if negotiated else None
    desk.ready_after_wrap_up = True
    _idle(desk, now=now)
    bridge.set_agent_status(agent, AgentStatus.LOGGED_OUT, now=now)
    _changed(agent, "logged_out")


def _hms(at: datetime) -> str:
    from django.conf import settings

    return at.astimezone(ZoneInfo(settings.ACCOUNT_TIMEZONE)).strftime("%H:%M:%S")


# --- The clock: countdowns that end -------------------------------------------------------------


def desk_tick(*, agent: Agent, now: datetime) -> None:
    """Apply what is due: a Push Preview card whose countdown ended, the end of wrap-up, an
    authorized logoff. The browser calls it when a countdown it shows reaches zero; a
    periodic task may call `desk_tick_all`."""
    with transaction.atomic():
        desk = _locked_desk(agent)
        if (
            desk.call_state == DeskCallState.CARD
            and desk.card_expires_at is not None
            and now >= desk.card_expires_at
        ):
            lead = desk.lead
            _release_card(agent, desk, now=now, reason="lead card countdown ended")
            _message(
                agent,
                kind=MessageKind.SYSTEM,
                title="Lead card returned to the list",
                text=f"The countdown for {lead.full_name if lead else 'the lead'} ended.",
                now=now,
            )
            _changed(agent, "card_expired")
        if (
            desk.call_state == DeskCallState.WRAP_UP
            and desk.wrap_up_until
            and (now >= desk.wrap_up_until)
        ):
            if _disposition_set(desk):
                _end_wrap_up(agent, desk, now=now)
            elif agent.status == AgentStatus.AVAILABLE:
                # No next call before the last one has its disposition.
                bridge.set_agent_status(
                    agent, AgentStatus.ON_BREAK, reason=DISPOSITION_REQUIRED_REASON, now=now
                )
                _changed(agent, "disposition_required")
        if (
            desk.logout_pending
            and desk.call_state in (DeskCallState.IDLE, DeskCallState.CARD)
            and (desk.logout_authorized_at is None or now >= desk.logout_authorized_at)
        ):
            _complete_logout(agent, desk, now=now, negotiated=True)


def desk_tick_all(*, now: datetime) -> int:
    """Tick every desk with something due (for a periodic task)."""
    from django.db.models import Q

    due = AgentDesk.objects.filter(
        Q(card_expires_at__lte=now, call_state=DeskCallState.CARD)
        | Q(wrap_up_until__lte=now, call_state=DeskCallState.WRAP_UP)
        | Q(logout_requested_at__isnull=False)
    ).select_related("agent__user")
    count = 0
    for desk in due:
        desk_tick(agent=desk.agent, now=now)
        count += 1
    return count


def _disposition_set(desk: AgentDesk) -> bool:
    return desk.call is not None and desk.call.disposition_id is not None


def _require_disposition(agent: Agent, *, now: datetime) -> None:
    """No next call before the last one has its disposition: On Break at once (mod_callcenter
    runs its own wrap-up timer and would offer the next call when it ends)."""
    if agent.status == AgentStatus.AVAILABLE:
        bridge.set_agent_status(
            agent, AgentStatus.ON_BREAK, reason=DISPOSITION_REQUIRED_REASON, now=now
        )
        _changed(agent, "disposition_required")


def _free_desk(agent: Agent, desk: AgentDesk, *, now: datetime) -> bool:
    """The desk's card or call is done: back to the oldest call still waiting for the
    agent's disposition (False), or idle (True)."""
    owed = owed_dispositions(agent, desk).first()
    if owed is None:
        _idle(desk, now=now)
        return True
    _set_call_state(
        desk,
        DeskCallState.WRAP_UP,
        now=now,
        call=owed,
        lead=owed.lead,
        card_expires_at=None,
        wrap_up_until=now,
    )
    _require_disposition(agent, now=now)
    _changed(agent, "disposition_required", call_id=owed.pk)
    return False


def _end_wrap_up(agent: Agent, desk: AgentDesk, *, now: datetime) -> None:
    ready = desk.ready_after_wrap_up and not desk.logout_pending
    if not _free_desk(agent, desk, now=now):
        return  # another call still needs its disposition
    if ready and agent.status != AgentStatus.AVAILABLE:
        try:
            bridge.set_agent_status(agent, AgentStatus.AVAILABLE, now=now)
        except bridge.PhoneSystemError as exc:
            _message(
                agent,
                kind=MessageKind.SYSTEM,
                title="Could not make you Ready",
                text=f"The phone system said: {exc}. Choose Ready to try again.",
                now=now,
            )
    _changed(agent, "wrap_up_ended")


# --- What the dialer tells the desktop ------------------------------------------------------------


def desk_card_offered(
    *, agent: Agent, lead: Lead, now: datetime, expires_at: datetime | None = None
) -> None:
    """Push Preview: the selector reserved `lead` for the agent; the card arrives by itself
    and must be accepted before `expires_at` (default: the campaign's countdown)."""
    with transaction.atomic():
        desk = _locked_desk(agent)
        busy = desk.call_state in (*LIVE_STATES, DeskCallState.CARD) or (
            desk.call_state == DeskCallState.WRAP_UP and not _disposition_set(desk)
        )
        if busy and desk.lead_id != lead.pk:
            # The selector saw the agent free a moment ago; the desk's call or card (or a
            # disposition still to set) comes first, and the card goes back at once.
            log.info(
                "card of lead %s refused: desk of %s is %s", lead.pk, agent.name, desk.call_state
            )
            bridge.preview_skip(agent=agent, lead=lead, now=now, reason="agent busy")
            return
        if expires_at is None:
            expires_at = now + timedelta(seconds=lead.campaign.preview_timeout)
        _set_call_state(
            desk, DeskCallState.CARD, now=now, lead=lead, call=None, card_expires_at=expires_at
        )
        _changed(agent, "card", lead_id=lead.pk)


def desk_call_offered(*, agent: Agent, call: Call, now: datetime) -> None:
    """mod_callcenter chose the agent for `call` (their phone rings)."""
    with transaction.atomic():
        desk = _locked_desk(agent)
        _note_disposition_left(agent, desk, call, now=now)
        _set_call_state(
            desk, DeskCallState.OFFERED, now=now, call=call, lead=call.lead, card_expires_at=None
        )
        _update_logout_countdown(agent, desk, now=now)
        _changed(agent, "offered", call_id=call.pk)


def desk_call_bridged(*, agent: Agent, call: Call, now: datetime) -> None:
    """The customer and the agent are talking: the lead card appears (Progressive,
    Predictive) or turns into a call (Preview, Push Preview)."""
    with transaction.atomic():
        desk = _locked_desk(agent)
        _note_disposition_left(agent, desk, call, now=now)
        if call.agent_id != agent.pk or call.agent_answered_at is None:
            # The dialer records the bridge first; a desk told of a bridge without it (a
            # missed event) still knows the agent talked on this call and owes a disposition.
            call.agent = agent
            call.agent_answered_at = call.agent_answered_at or now
            Call.objects.filter(pk=call.pk).update(
                agent=agent,
                agent_name=agent.display_name[:150],
                agent_extension=agent.extension,
                agent_answered_at=call.agent_answered_at,
            )
        _set_call_state(
            desk,
            DeskCallState.TALKING,
            now=now,
            call=call,
            lead=call.lead,
            card_expires_at=None,
            wrap_up_until=None,
        )
        _update_logout_countdown(agent, desk, now=now)
        _changed(agent, "bridged", call_id=call.pk)


def _note_disposition_left(agent: Agent, desk: AgentDesk, call: Call, *, now: datetime) -> None:
    """A next call reaches the agent before the wrap-up's disposition is set (mod_callcenter's
    wrap-up ended first): the new call takes the desk, and the old one stays owed
    (`owed_dispositions`): listed on the card, back on the desk when the new call is done."""
    if (
        desk.call_state != DeskCallState.WRAP_UP
        or desk.call is None
        or desk.call_id == call.pk
        or _disposition_set(desk)
    ):
        return
    log.warning(
        "agent %s got call %s before disposing of call %s", agent.name, call.pk, desk.call_id
    )
    name = desk.lead.full_name if desk.lead else "your last call"
    _message(
        agent,
        kind=MessageKind.SYSTEM,
        title=f"Disposition still needed: {name}",
        text=(
            f"A new call reached you before you set the disposition of your call with {name}. "
            "Its form comes back when this call is done; no further call is offered to you "
            "until it is set."
        ),
        now=now,
    )


def _apply_kept_choice(agent: Agent, call: Call, *, now: datetime) -> None:
    """The call ended: the Callback or Voicemail the agent chose during it moves the lead now."""
    lead = (
        Lead.objects.select_for_update(of=("self",)).select_related("campaign").get(pk=call.lead_id)
    )
    try:
        lifecycle.lead_apply_kept_outcome(lead, call_id=call.pk, now=now, actor=agent.name)
    except (lifecycle.IllegalTransition, lifecycle.StaleLead, ValueError) as exc:
        log.warning("kept choice for call %s not applied: %s", call.pk, exc)
        _message(
            agent,
            kind=MessageKind.SYSTEM,
            title=f"Not applied: {lead.full_name}",
            text=(
                "What you chose during the call could not be applied when it ended: the lead "
                f"is {lead.get_status_display()} now."
            ),
            now=now,
        )


def desk_call_ended(*, agent: Agent, call: Call, now: datetime) -> None:
    """The call hung up. After a conversation: wrap-up for the queue's wrap-up time, On Break
    at once while a disposition is missing. A dial that never reached the agent leaves
    nothing to wrap up. What the agent chose during the call is applied to the lead now."""
    with transaction.atomic():
        desk = _locked_desk(agent)
        if desk.call_id not in (None, call.pk):
            return  # an old call's late event
        if desk.call_id == call.pk and desk.call_state in LIVE_STATES:
            _apply_kept_choice(agent, call, now=now)
        if desk.call_state in ON_CALL_STATES:
            seconds = call.campaign.queue.wrap_up_time
            # The disposition may have been set during the call.
            call.refresh_from_db(fields=["disposition"])
            desk.ready_after_wrap_up = agent.status == AgentStatus.AVAILABLE or (
                desk.ready_after_wrap_up and agent.status != AgentStatus.LOGGED_OUT
            )
            _set_call_state(
                desk,
                DeskCallState.WRAP_UP,
                now=now,
                call=call,
                lead=call.lead,
                wrap_up_until=now + timedelta(seconds=seconds),
            )
            if not _disposition_set(desk) or owed_dispositions(agent, desk).exists():
                _require_disposition(agent, now=now)
            _update_logout_countdown(agent, desk, now=now)
            _changed(agent, "wrap_up", call_id=call.pk)
        elif desk.call_state in (DeskCallState.DIALING, DeskCallState.OFFERED):
            call.refresh_from_db()
            _call_not_reached(
                agent,
                desk,
                call,
                title=f"Call not connected: {call.get_result_display()}",
                text=f"{call.lead.full_name}: the call ended before it was connected to you.",
                what="call_ended",
                now=now,
            )
    desk_tick(agent=agent, now=now)


def _call_not_reached(
    agent: Agent, desk: AgentDesk, call: Call, *, title: str, text: str, what: str, now: datetime
) -> None:
    """A call set up for the agent never reached them: say why, free the desk (a pending
    logout may complete now) and refresh the desktop."""
    _message(agent, kind=MessageKind.SYSTEM, title=title, text=text, now=now)
    _free_desk(agent, desk, now=now)
    _update_logout_countdown(agent, desk, now=now)
    _changed(agent, what, call_id=call.pk)


def desk_call_missed(*, agent: Agent, call: Call, now: datetime) -> None:
    """The agent's phone rang for the call and they did not take it (mod_callcenter may offer
    it to another agent): the desk is free again, and a pending logout can complete."""
    with transaction.atomic():
        desk = _locked_desk(agent)
        if desk.call_id != call.pk or desk.call_state != DeskCallState.OFFERED:
            return
        _call_not_reached(
            agent,
            desk,
            call,
            title="Missed call",
            text=f"{call.lead.full_name}: your phone rang but the call did not reach you.",
            what="call_missed",
            now=now,
        )
    desk_tick(agent=agent, now=now)


def _agent_and_call(call_uuid: str, agent_name: str | None) -> tuple[Agent, Call] | None:
    call = Call.objects.select_related("campaign__queue", "lead").filter(uuid=call_uuid).first()
    if call is None:
        return None
    agent = (
        Agent.objects.select_related("user").filter(name=agent_name).first()
        if agent_name
        else call.agent
    )
    return (agent, call) if agent is not None else None


def desk_event(*, event: str, call_uuid: str, agent_name: str | None, now: datetime) -> None:
    """The daemon's vocabulary (a call UUID and a mod_callcenter agent name): `event` is
    "offered" (agent-offering), "missed" (bridge-agent-fail), "bridged" (bridge-agent-start)
    or "ended" (hangup). Unknown calls and agents are ignored: not every call has a desktop."""
    found = _agent_and_call(call_uuid, agent_name)
    if found is None:
        return
    agent, call = found
    handler = {
        "offered": desk_call_offered,
        "missed": desk_call_missed,
        "bridged": desk_call_bridged,
    }.get(event)
    if handler is not None:
        handler(agent=agent, call=call, now=now)
    elif event == "ended":
        desk_call_ended(agent=agent, call=call, now=now)


# --- Preview and Push Preview cards -------------------------------------------------------------


def agent_get_preview_record(*, agent: Agent, campaign: Campaign, now: datetime) -> Lead:
    """Preview: the agent asks for the next record of the calling list."""
    with transaction.atomic():
        desk = _locked_desk(agent)
        _require_logged_in(agent, desk)
        if desk.logout_pending:
            raise DesktopError("Your logout is pending.")
        if desk.call_state != DeskCallState.IDLE:
            raise DesktopError("Finish the current lead card or call first.")
        if campaign.queue_id not in agent_queue_ids(agent):
            raise NotYours("You are not assigned to this campaign.")
        if not campaign.is_running:
            raise DesktopError(f"{campaign.name} is not running.")
        if campaign.type != CampaignType.PREVIEW:
            raise DesktopError(f"{campaign.name} sends its records to you by itself.")
        lead = bridge.select_preview_lead(campaign, agent, now)
        if lead is None:
            raise DesktopError(f"No record of {campaign.name} can be called now.")
        # The card shows how long it is held for the agent; when that ends the desk lets
        # it go and says so (the dialer's reaper would take it back all the same).
        _set_call_state(
            desk,
            DeskCallState.CARD,
            now=now,
            lead=lead,
            call=None,
            card_expires_at=lead.reserved_until,
        )
        _changed(agent, "card", lead_id=lead.pk)
    return lead


def _own_card(agent: Agent, desk: AgentDesk, lead: Lead) -> None:
    if desk.lead_id != lead.pk or desk.call_state != DeskCallState.CARD:
        if lead.reserved_by_id not in (None, agent.pk):
            raise NotYours("This lead card belongs to another agent.")
        raise DesktopError("This lead card is no longer yours to connect or skip.")


def agent_connect_card(*, agent: Agent, lead: Lead, now: datetime) -> Call:
    """Preview Connect or Push Preview Accept: dial the customer for this agent."""
    refused = ""
    with transaction.atomic():
        desk = _locked_desk(agent)
        _own_card(agent, desk, lead)
        if desk.card_expires_at is not None and now >= desk.card_expires_at:
            raise DesktopError("The countdown ended: the card went back to the list.")
        lead.refresh_from_db()
        if lead.state != LeadState.RESERVED or lead.reserved_by_id != agent.pk:
            _idle(desk, now=now)
            _changed(agent, "card_lost")
            raise DesktopError("This record was taken back; ask for another one.")
        try:
            call = bridge.preview_accept(agent=agent, lead=lead, now=now)
        except bridge.CardError as exc:
            lead.refresh_from_db()
            if lead.state == LeadState.RESERVED and lead.reserved_by_id == agent.pk:
                raise DesktopError(str(exc)) from exc
            # The refusal moved the lead off the card (its number went on Do-Not-Call): that
            # must commit, so the desk lets the card go and the refusal is raised after.
            _free_desk(agent, desk, now=now)
            _changed(agent, "card_lost")
            refused = str(exc)
        else:
            _set_call_state(
                desk, DeskCallState.DIALING, now=now, call=call, lead=lead, card_expires_at=None
            )
            _changed(agent, "dialing", call_id=call.pk)
    if refused:
        raise DesktopError(refused)
    return call


def agent_skip_card(*, agent: Agent, lead: Lead, now: datetime) -> None:
    """Preview Skip or Push Preview Reject: the record goes back to the list."""
    with transaction.atomic():
        desk = _locked_desk(agent)
        _own_card(agent, desk, lead)
        reject = lead.campaign.type == CampaignType.PUSH_PREVIEW
        _release_card(
            agent, desk, now=now, reason="rejected by agent" if reject else "skipped by agent"
        )
        _changed(agent, "card_skipped")


def _release_card(agent: Agent, desk: AgentDesk, *, now: datetime, reason: str) -> None:
    lead = desk.lead
    if lead is not None:
        lead.refresh_from_db()
        if lead.state == LeadState.RESERVED and lead.reserved_by_id == agent.pk:
            bridge.preview_skip(agent=agent, lead=lead, now=now, reason=reason)
    _free_desk(agent, desk, now=now)


# --- Call actions ---------------------------------------------------------------------------------


def _require_on_call(desk: AgentDesk, call: Call) -> None:
    if desk.call_id != call.pk or desk.call_state not in ON_CALL_STATES:
        raise DesktopError("This call is not connected any more.")


def agent_hangup(*, agent: Agent, call: Call, now: datetime) -> None:
    desk = desk_for(agent)
    if desk.call_id != call.pk or desk.call_state not in (
        *ON_CALL_STATES,
        DeskCallState.DIALING,
        DeskCallState.OFFERED,
    ):
        raise DesktopError("This call is not connected any more.")
    try:
        bridge.call_hangup(call)
    except bridge.PhoneSystemError as exc:
        raise DesktopError(f"Hang-up failed: {exc}") from exc
    # The dialer sees the hangup and calls desk_call_ended.


def agent_hold(*, agent: Agent, call: Call, now: datetime) -> None:
    with transaction.atomic():
        desk = _locked_desk(agent)
        _require_on_call(desk, call)
        if desk.call_state == DeskCallState.HELD:
            return
        try:
            bridge.call_hold(call)
        except bridge.PhoneSystemError as exc:
            raise DesktopError(f"Hold failed: {exc}") from exc
        desk.call_state = DeskCallState.HELD
        desk.save(update_fields=["call_state"])
        _changed(agent, "held")


def agent_resume(*, agent: Agent, call: Call, now: datetime) -> None:
    with transaction.atomic():
        desk = _locked_desk(agent)
        _require_on_call(desk, call)
        if desk.call_state != DeskCallState.HELD:
            return
        try:
            bridge.call_resume(call)
        except bridge.PhoneSystemError as exc:
            raise DesktopError(f"Resume failed: {exc}") from exc
        desk.call_state = DeskCallState.TALKING
        desk.save(update_fields=["call_state"])
        _changed(agent, "resumed")


# --- Dispositions, callbacks, voicemail, record edits ------------------------------------------


def callback_time(local: datetime, lead: Lead) -> datetime:
    """A date and time the agent typed in the lead's timezone, as an aware UTC datetime."""
    if timezone.is_aware(local):
        return local
    zone = ZoneInfo(lead.timezone)
    aware = local.replace(tzinfo=zone, fold=0)
    try:
        round_trip = aware.astimezone(ZoneInfo("UTC")).astimezone(zone).replace(tzinfo=None)
    except OverflowError:
        raise DesktopError("Pick a callback date within the next year.") from None
    # A wall time that does not exist (spring forward) or exists twice is refused, not guessed.
    if round_trip != local:
        raise DesktopError(f"{local:%Y-%m-%d %H:%M} does not exist in {lead.timezone}.")
    if aware.utcoffset() != aware.replace(fold=1).utcoffset():
        raise DesktopError(
            f"{local:%Y-%m-%d %H:%M} happens twice in {lead.timezone} (the clocks go back): "
            "pick a time outside that hour."
        )
    return aware


def _call_up(desk: AgentDesk, call: Call) -> bool:
    """The desk's call has not ended: the lead stays Dialing until it does."""
    return desk.call_id == call.pk and desk.call_state in LIVE_STATES


def _called_again(call: Call) -> bool:
    """The lead has a newer attempt than `call`: its state is that attempt's business now."""
    return Call.objects.filter(lead_id=call.lead_id, pk__gt=call.pk).exists()


def agent_set_disposition(
    *,
    agent: Agent,
    call: Call,
    disposition: Disposition,
    now: datetime,
    callback_at: datetime | None = None,
    personal: bool = False,
) -> Call:
    """The agent's disposition code for `call` (on their desk, or one still owed): stored on
    the call and applied to the lead (Successful, Failed, Callback — with `callback_at` in the
    lead's time —, Voicemail, DNC). While the call is up, Callback and Voicemail are kept and
    applied when it ends (the lead must not become dialable with the customer on the line)."""
    if disposition.queue_id != call.campaign.queue_id:
        raise DesktopError("This disposition code belongs to another queue.")
    with transaction.atomic():
        desk = _locked_desk(agent)
        if (
            desk.call_id != call.pk
            and not owed_dispositions(agent, desk).filter(pk=call.pk).exists()
        ):
            raise NotYours("This call is not yours to give a disposition.")
        locked = Call.objects.select_for_update().get(pk=call.pk)
        if locked.disposition_id is not None:
            raise DesktopError("This call already has its disposition.")
        lead = (
            Lead.objects.select_for_update(of=("self",))
            .select_related("campaign")
            .get(pk=call.lead_id)
        )
        if _called_again(call):
            # Stored for the record; only a Do-Not-Call request still reaches the number.
            if disposition.outcome == DispositionOutcome.DO_NOT_CALL:
                _apply_outcome(
                    agent,
                    lead,
                    call,
                    disposition,
                    now=now,
                    callback_at=None,
                    personal=False,
                    call_up=False,
                )
        else:
            _apply_outcome(
                agent,
                lead,
                call,
                disposition,
                now=now,
                callback_at=callback_at,
                personal=personal,
                call_up=_call_up(desk, call),
            )
        Call.objects.filter(pk=call.pk).update(disposition=disposition)
        # What the agent heard tells whether AMD was wrong (the compliance ledger counts it).
        bridge.agent_verdict(
            agent=agent,
            call=call,
            voicemail=disposition.outcome == DispositionOutcome.VOICEMAIL,
            now=now,
        )
        call.disposition = disposition
        if desk.call_id == call.pk and desk.call is not None:
            desk.call.disposition = disposition
        wrap_up_over = (
            desk.call_id == call.pk
            and desk.call_state == DeskCallState.WRAP_UP
            and desk.wrap_up_until is not None
            and now >= desk.wrap_up_until
        )
        if wrap_up_over:
            _end_wrap_up(agent, desk, now=now)
        elif desk.call_id == call.pk:
            _update_logout_countdown(agent, desk, now=now)  # a pending logout may count down now
        _changed(agent, "disposition", call_id=call.pk)
    return call


def _apply_outcome(
    agent: Agent,
    lead: Lead,
    call: Call,
    disposition: Disposition,
    *,
    now: datetime,
    callback_at: datetime | None,
    personal: bool,
    call_up: bool,
) -> None:
    actor = agent.name
    outcome = disposition.outcome
    why = f"disposition {disposition.code}"
    try:
        if outcome == DispositionOutcome.SUCCESSFUL:
            if lead.state == LeadState.DIALING:
                lifecycle.lead_connected(lead, now=now, actor=actor)
        elif outcome == DispositionOutcome.FAILED:
            if lead.state != LeadState.FAILED:
                lifecycle.lead_mark_failed(lead, now=now, reason=why, actor=actor)
        elif outcome == DispositionOutcome.VOICEMAIL:
            if call_up:
                lifecycle.lead_keep_outcome(
                    lead, call_id=call.pk, outcome="voicemail", now=now, actor=actor
                )
            elif lead.state in (LeadState.DIALING, LeadState.SUCCESS):
                lifecycle.lead_mark_voicemail(lead, now=now, actor=actor)
        elif outcome == DispositionOutcome.CALLBACK:
            if callback_at is not None:
                _schedule(
                    agent,
                    lead,
                    at=callback_at,
                    personal=personal,
                    now=now,
                    keep_for=call if call_up else None,
                )
            elif not _callback_chosen(lead, call, call_up=call_up):
                raise DesktopError(f"“{disposition.label}” needs the callback date and time.")
        elif outcome == DispositionOutcome.DO_NOT_CALL:
            from leads.services import dnc_add

            dnc_add(
                number=lead.number,
                campaign=None,
                reason=f"agent {agent.name}: {disposition.label}",
                actor_user=agent.user,
                now=now,
            )
            lead.refresh_from_db()
            if lifecycle.can_transition(lead.state, LeadState.FAILED):
                lifecycle.lead_mark_failed(lead, now=now, reason="on Do-Not-Call", actor=actor)
    except lifecycle.IllegalTransition as exc:
        raise DesktopError(
            f"“{disposition.label}” cannot apply to a lead that is {lead.get_status_display()}."
        ) from exc
    except lifecycle.StaleLead as exc:
        raise DesktopError("The lead changed meanwhile; try again.") from exc


def _callback_chosen(lead: Lead, call: Call, *, call_up: bool) -> bool:
    """A callback is already set for this lead (or kept for this call while it is up)."""
    if call_up:
        kept = lifecycle.lead_kept_outcome(lead, call_id=call.pk)
        return kept is not None and kept.outcome == "callback"
    return lead.state == LeadState.CALLBACK


def _schedule(
    agent: Agent,
    lead: Lead,
    *,
    at: datetime,
    personal: bool,
    now: datetime,
    keep_for: Call | None = None,
) -> None:
    """Schedule the callback, or with `keep_for` (a call still up) keep it until that call
    ends."""
    if at <= now:
        raise DesktopError("The callback must be in the future.")
    if at > now + timedelta(days=365):
        raise DesktopError("The callback must be within a year.")
    agent_id = agent.pk if personal else None
    if keep_for is not None:
        lifecycle.lead_keep_outcome(
            lead,
            call_id=keep_for.pk,
            outcome="callback",
            now=now,
            actor=agent.name,
            callback_at=at,
            callback_agent_id=agent_id,
        )
        return
    if lead.state == LeadState.CALLBACK:
        raise DesktopError("A callback is already scheduled for this lead.")
    if not lifecycle.can_transition(lead.state, LeadState.CALLBACK):
        raise DesktopError(f"A {lead.get_status_display()} lead cannot get a callback.")
    lifecycle.lead_schedule_callback(lead, now=now, at=at, agent_id=agent_id, actor=agent.name)


def agent_schedule_callback(
    *, agent: Agent, lead: Lead, at: datetime, personal: bool, now: datetime
) -> Lead:
    """Schedule a callback (for the agent personally or for the campaign). `at` is the
    agent's entry in the lead's timezone (naive) or an aware datetime. During the call it is
    kept and applied when the call ends."""
    aware = callback_time(at, lead)
    with transaction.atomic():
        desk = _locked_desk(agent)
        lead = Lead.objects.select_for_update().select_related("campaign").get(pk=lead.pk)
        if desk.lead_id != lead.pk or _called_for_someone_else(lead, desk):
            raise NotYours("This lead is not on your desk.")
        live = desk.call if desk.call is not None and _call_up(desk, desk.call) else None
        try:
            _schedule(agent, lead, at=aware, personal=personal, now=now, keep_for=live)
        except (lifecycle.IllegalTransition, lifecycle.StaleLead) as exc:
            raise DesktopError("The lead changed meanwhile; try again.") from exc
        _changed(agent, "callback", lead_id=lead.pk)
    return lead


def agent_mark_voicemail(*, agent: Agent, call: Call, now: datetime) -> None:
    """The agent reached an answering machine: the lead is Voicemail (like a cool-off), when
    the call ends if it is still up."""
    code = (
        Disposition.objects.filter(
            queue_id=call.campaign.queue_id, outcome=DispositionOutcome.VOICEMAIL
        )
        .order_by("position")
        .first()
    )
    if code is not None and call.disposition_id is None:
        agent_set_disposition(agent=agent, call=call, disposition=code, now=now)
        return
    with transaction.atomic():
        desk = _locked_desk(agent)
        if desk.call_id != call.pk:
            raise NotYours("This call is no longer on your desk.")
        lead = Lead.objects.select_for_update().select_related("campaign").get(pk=call.lead_id)
        if _call_up(desk, call):
            lifecycle.lead_keep_outcome(
                lead, call_id=call.pk, outcome="voicemail", now=now, actor=agent.name
            )
        elif lead.state not in (LeadState.DIALING, LeadState.SUCCESS) or _called_again(call):
            raise DesktopError(f"The lead is {lead.get_status_display()} already.")
        else:
            lifecycle.lead_mark_voicemail(lead, now=now, actor=agent.name)
        bridge.agent_verdict(agent=agent, call=call, voicemail=True, now=now)
        _changed(agent, "voicemail", call_id=call.pk)


def agent_update_lead_record(
    *, agent: Agent, lead: Lead, changes: dict[str, Any], now: datetime
) -> Lead:
    """Edit the customer record; the change is kept in the lead's history."""
    from leads.services import lead_update_record

    for field, value in changes.items():
        if isinstance(value, str) and "\x00" in value:
            raise DesktopError(f"{field}: remove the invisible control character.")
    try:
        updated = lead_update_record(lead=lead, changes=changes, now=now, actor=agent.name)
    except ValidationError as exc:
        problems = "; ".join(
            f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()
        )
        raise DesktopError(problems) from exc
    _changed(agent, "record", lead_id=lead.pk)
    return updated


# --- My Messages and campaign notifications ---------------------------------------------


def agent_read_message(*, agent: Agent, message_id: int, now: datetime) -> None:
    changed = AgentMessage.objects.filter(agent=agent, pk=message_id, read_at=None).update(
        read_at=now
    )
    if not AgentMessage.objects.filter(agent=agent, pk=message_id).exists():
        raise NotYours("No such message.")
    if changed:
        _changed(agent, "messages")


def agent_read_all_messages(*, agent: Agent, now: datetime) -> int:
    count = AgentMessage.objects.filter(agent=agent, read_at=None).update(read_at=now)
    if count:
        _changed(agent, "messages")
    return count


def _campaign_message(agent: Agent, campaign: Campaign, *, now: datetime, late: bool) -> bool:
    started = campaign.started_at or now
    when = _hms(started)
    text = (
        f"{campaign.name} ({campaign.get_type_display()}) began at {when}, before you logged "
        "in. You are assigned to it through your queue."
        if late
        else f"{campaign.name} ({campaign.get_type_display()}) has begun and you are assigned "
        "to it through your queue."
    )
    try:
        with transaction.atomic():
            _message(
                agent,
                kind=MessageKind.CAMPAIGN,
                title=f"Campaign started: {campaign.name}",
                text=text,
                now=now,
                campaign=campaign,
                campaign_started_at=started,
            )
    except IntegrityError:
        return False  # already told about this start
    return True


def _announce_running_campaigns(agent: Agent, *, now: datetime) -> None:
    for campaign in Campaign.objects.filter(
        queue_id__in=agent_queue_ids(agent), run_status="running"
    ):
        _campaign_message(agent, campaign, now=now, late=True)


def notify_campaign_started(campaign: Campaign, now: datetime) -> int:
    """Campaign start: each logged-in agent of the campaign's queue gets a message at once
    (agents who log in later get it at login). Returns how many were told."""
    told = 0
    agents = Agent.objects.filter(tiers__queue_id=campaign.queue_id).exclude(
        status=AgentStatus.LOGGED_OUT
    )
    for agent in agents.distinct():
        if _campaign_message(agent, campaign, now=now, late=False):
            _changed(agent, "campaign_started", campaign_id=campaign.pk)
            told += 1
    return told


# --- What the desktop shows ----------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignRow:
    campaign: Campaign
    status: str  # Running, Scheduled, Stopped
    can_get_record: bool


def my_campaigns(agent: Agent, *, now: datetime) -> list[CampaignRow]:
    """The campaigns of the agent's queues: running ones first."""
    rows = []
    campaigns = Campaign.objects.filter(queue__tiers__agent=agent).select_related("queue")
    for campaign in campaigns:
        status = bridge.campaign_display_status(campaign, now=now)
        rows.append(
            CampaignRow(
                campaign,
                status,
                campaign.is_running and campaign.type == CampaignType.PREVIEW,
            )
        )
    order = {"Running": 0, "Started": 0, "Scheduled": 1}
    rows.sort(key=lambda r: (order.get(r.status, 2), r.campaign.name))
    return rows


def previous_attempts(lead: Lead, *, limit: int = 5) -> list[Call]:
    return list(
        Call.objects.filter(lead=lead)
        .exclude(result=CallResult.PENDING)
        .select_related("disposition")
        .order_by("-requested_at")[:limit]
    )
