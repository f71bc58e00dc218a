"""Call services: what the dialer writes about one attempt, and what it does to the lead.

The daemon calls these from its database workers (never from the ESL reading path). Each is
one transaction and idempotent: a finished Call (result no longer pending) is never rewritten,
so an event seen twice after a reconnect changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from agents.models import Agent
from campaigns.models import Campaign, CampaignType
from dialer.compliance import call_is_abandon, drop_hold_seconds
from dialer.esl.dialstring import LeadDial, UnsafeValue, is_e164, safe_caller_name
from dialer.esl.events import (
    CallTimes,
    LeadAction,
    Outcome,
    Result,
    decide_outcome,
    durations,
    is_machine,
)
from dialer.models import AmdMistake, Call, CallResult
from leads import lifecycle, phone
from leads.models import Lead, LeadState

log = logging.getLogger("dialer.calls")


# --- Caller ID ------------------------------------------------------------------------------


def caller_id_for(campaign: Campaign, *, rotation: int) -> tuple[str, str]:
    """The caller ID of one call: the campaign's enabled rows in turn, else the queue's
    number, else the account default. Rows whose number is not E.164 are skipped."""
    rows = [row for row in campaign.caller_ids.all() if row.enabled and is_e164(row.number)]
    if rows:
        row = rows[rotation % len(rows)]
        name = safe_caller_name(row.name) or safe_caller_name(settings.ACCOUNT_DEFAULT_CALLER_NAME)
        return row.number, name
    queue_number = campaign.queue.phone_number
    if is_e164(queue_number):
        return queue_number, safe_caller_name(settings.ACCOUNT_DEFAULT_CALLER_NAME)
    return (
        settings.ACCOUNT_DEFAULT_CALLER_ID,
        safe_caller_name(settings.ACCOUNT_DEFAULT_CALLER_NAME),
    )


def lead_dial_for(call: Call, *, node: str, gateway: str, originate_timeout: int) -> LeadDial:
    """Everything the customer leg's dial string is made of (validated by dialstring)."""
    if not phone.is_e164(call.number):
        # The shape check in dialstring lets any +digits through; this is the real one.
        raise UnsafeValue(f"lead number is not a valid E.164 number: {call.number!r}")
    campaign = call.campaign
    cid_number, cid_name = caller_id_for(campaign, rotation=call.pk)
    if campaign.mask_lead_caller_id:
        # The agent sees the campaign's caller ID, never the lead's number.
        shown_number, shown_name = cid_number, f"Campaign {campaign.pk}"
    else:
        shown_number, shown_name = call.number, f"Campaign {campaign.pk}"
    return LeadDial(
        call_uuid=str(call.uuid),
        call_id=call.pk,
        lead_id=call.lead_id,
        campaign_id=campaign.pk,
        attempt=call.attempt,
        number=call.number,
        caller_id_number=cid_number,
        caller_id_name=cid_name,
        gateway=gateway,
        node=node,
        originate_timeout=originate_timeout,
        agent_sees_number=shown_number,
        agent_sees_name=shown_name,
        kind=campaign.type,
    )


# --- Progress -------------------------------------------------------------------------------


def call_record_dialed(
    *,
    call_uuid: str,
    at: datetime,
    node: str,
    caller_id_number: str,
    caller_id_name: str,
    lead_id: int,
) -> None:
    Call.objects.filter(uuid=call_uuid, result=CallResult.PENDING).update(
        dialed_at=at,
        node=node[:60],
        caller_id_number=caller_id_number[:20],
        caller_id_name=caller_id_name[:60],
    )
    Lead.objects.filter(pk=lead_id).update(last_dialed_at=at)


def call_record_ringing(*, call_uuid: str, at: datetime) -> None:
    Call.objects.filter(uuid=call_uuid, ringing_at=None, result=CallResult.PENDING).update(
        ringing_at=at
    )


def call_record_answer(*, call_uuid: str, at: datetime, amd_result: str = "") -> None:
    values: dict[str, object] = {"answered_at": at}
    if amd_result:
        values["amd_result"] = amd_result[:20]
    Call.objects.filter(uuid=call_uuid, answered_at=None, result=CallResult.PENDING).update(
        **values
    )


def call_record_agent_answered(*, call_uuid: str, at: datetime, agent_name: str) -> None:
    agent = Agent.objects.filter(name=agent_name).select_related("user").first()
    updated = Call.objects.filter(uuid=call_uuid, result=CallResult.PENDING).update(
        agent_answered_at=at, **_agent_fields(agent, agent_name)
    )
    if updated:
        _tell_desk("bridged", call_uuid, agent_name, at)


def call_offered(*, call_uuid: str, at: datetime, agent_name: str) -> None:
    """mod_callcenter rings an agent for the call (agent-offering): the desk shows the call
    being set up, so a logout from now on is negotiated."""
    _tell_desk("offered", call_uuid, agent_name, at)


def call_offer_missed(*, call_uuid: str, at: datetime, agent_name: str) -> None:
    """The offered agent did not take the call (bridge-agent-fail); it may go to another."""
    _tell_desk("missed", call_uuid, agent_name, at)


def _tell_desk(event: str, call_uuid: str, agent_name: str | None, now: datetime) -> None:
    """The agent's desktop hears what happened to the call (agents.desktop.services.desk_event:
    the lead card at the bridge, wrap-up at the hang-up). A desk failure never fails the call."""
    from agents.desktop.services import desk_event

    try:
        desk_event(event=event, call_uuid=call_uuid, agent_name=agent_name or None, now=now)
    except Exception:
        log.exception("desk not told", extra={"call_uuid": call_uuid, "desk_event": event})


def _agent_fields(agent: Agent | None, agent_name: str) -> dict[str, object]:
    if agent is None:
        return {"agent_name": agent_name[:150]} if agent_name else {}
    return {
        "agent": agent,
        "agent_name": agent.display_name[:150],
        "agent_extension": agent.extension,
    }


# --- The end of an attempt ------------------------------------------------------------------


@dataclass(frozen=True)
class Finished:
    call: Call
    outcome: Outcome
    lead_state: str | None  # None: the lead had already been moved by someone else


def call_finish(
    *,
    call_uuid: str,
    now: datetime,
    times: CallTimes,
    hangup_cause: str,
    amd_result: str = "",
    agent_name: str = "",
    cancelled: bool = False,
) -> Finished | None:
    """Complete the Call row and move the lead. None when the call was already finished."""
    with transaction.atomic():
        # Only the Call row: locking the joined campaign too would make every call end of a
        # campaign wait for the one before it (and block start/stop).
        call = (
            Call.objects.select_for_update(of=("self",))
            .select_related("campaign")
            .filter(uuid=call_uuid)
            .first()
        )
        if call is None or call.result != CallResult.PENDING:
            return None
        outcome = decide_outcome(
            hangup_cause=hangup_cause,
            answered=times.answered_at is not None,
            agent_answered=times.agent_answered_at is not None,
            amd_result=amd_result,
            cancelled=cancelled,
        )
        campaign = call.campaign
        progressive = campaign.type in (CampaignType.PROGRESSIVE, CampaignType.PREDICTIVE)
        spans = durations(
            times,
            customer_wait_sla=campaign.customer_wait_sla if progressive else None,
            agent_dial_timeout=campaign.agent_dial_timeout if progressive else None,
        )
        call.result = outcome.result.value
        call.hangup_cause = (hangup_cause or "")[:40]
        call.amd_result = (amd_result or call.amd_result)[:20]
        call.dialed_at = call.dialed_at or times.dialed_at
        call.ringing_at = call.ringing_at or times.ringing_at
        call.answered_at = call.answered_at or times.answered_at
        call.agent_answered_at = call.agent_answered_at or times.agent_answered_at
        call.hangup_at = times.hangup_at or now
        call.ring_seconds = spans.ring_seconds
        call.talk_seconds = spans.talk_seconds
        call.customer_wait_seconds = spans.customer_wait_seconds
        call.customer_wait_sla_met = spans.customer_wait_sla_met
        call.agent_sla_met = spans.agent_sla_met
        written = [*_FINISH_FIELDS]
        if agent_name and not call.agent_name:
            agent = Agent.objects.filter(name=agent_name).select_related("user").first()
            for field, value in _agent_fields(agent, agent_name).items():
                setattr(call, field, value)
                written.append(field)
        call.save(update_fields=written)
        lead_state = _move_lead(call, outcome, now=now)
    log.info(
        "call finished",
        extra={
            "call_uuid": call_uuid,
            "lead_id": call.lead_id,
            "campaign_id": call.campaign_id,
            "result": call.result,
            "hangup_cause": call.hangup_cause,
            "lead_state": lead_state,
            "reason": outcome.reason,
        },
    )
    if agent_name or call.agent_id:
        # A call that never had an agent has no desk to tell (the lookup costs every
        # unanswered call of a busy campaign two queries).
        _tell_desk("ended", call_uuid, agent_name, now)
    return Finished(call, outcome, lead_state)


# What call_finish writes on the Call row (only these: a full save compiles and sends every
# column, for each of the hundred calls a second that end).
_FINISH_FIELDS = (
    "result",
    "hangup_cause",
    "amd_result",
    "dialed_at",
    "ringing_at",
    "answered_at",
    "agent_answered_at",
    "hangup_at",
    "ring_seconds",
    "talk_seconds",
    "customer_wait_seconds",
    "customer_wait_sla_met",
    "agent_sla_met",
)


def _move_lead(call: Call, outcome: Outcome, *, now: datetime) -> str | None:
    lead = Lead.objects.get(pk=call.lead_id)
    lead.campaign = call.campaign  # already read with the Call: no second join
    if lead.state != LeadState.DIALING:
        # The reaper, a stop or an admin moved it first; the Call row still tells the story.
        log.warning(
            "lead not dialing at the end of its call; left as it is",
            extra={"lead_id": lead.pk, "call_uuid": str(call.uuid), "state": lead.state},
        )
        return None
    try:
        if outcome.lead_action == LeadAction.CONNECTED:
            lifecycle.lead_connected(lead, now=now)
            # A Callback or Voicemail the agent chose while the customer was on the line is
            # applied with the call's end, even if the desktop never hears of the hang-up.
            lifecycle.lead_apply_kept_outcome(lead, call_id=call.pk, now=now, actor="dialer")
        elif outcome.lead_action == LeadAction.VOICEMAIL:
            lifecycle.lead_mark_voicemail(lead, now=now, actor="dialer")
        elif outcome.lead_action == LeadAction.RETRY:
            lifecycle.lead_return_to_retry(lead, now=now, reason=outcome.reason)
        elif call.result == CallResult.ABANDONED:
            # Whatever the dial mode: the ledger counts every live answer that never reached
            # an agent (dialer.compliance), so each is held by the campaign's drop rule.
            hold = drop_hold_seconds(lead.campaign)
            lifecycle.lead_dropped(lead, now=now, not_before_seconds=hold)
        else:
            lifecycle.lead_attempt_failed(lead, now=now, result=call.result)
    except lifecycle.StaleLead:
        return None
    return lead.state


# --- AMD mistakes (the compliance ledger counts them) --------------------------------------


class AmdMistakeRefused(ValueError):
    """The call's own record contradicts the claimed mistake."""


def amd_mistake_refusal(call: Call, mistake: AmdMistake) -> str | None:
    """Why ``mistake`` cannot be true of ``call`` (None: it can). Pure.

    A person taken for a machine needs AMD to have said machine on an answered call; a machine
    taken for a person needs an answered call AMD did not call a machine."""
    if mistake == AmdMistake.NONE:
        return None
    if call.answered_at is None:
        return "the call was never answered"
    machine = is_machine(call.amd_result)
    if mistake == AmdMistake.HUMAN_AS_MACHINE and not machine:
        return "AMD did not say machine on this call"
    if mistake == AmdMistake.MACHINE_AS_HUMAN and machine:
        return "AMD already said machine on this call"
    return None


def call_record_amd_mistake(
    *, call_id: int, mistake: AmdMistake, now: datetime, actor: str
) -> bool:
    """Record what AMD got wrong on a call (``AmdMistake.NONE`` clears a wrong record).

    Who learns it calls this: the agent desk when an agent reaches voicemail on a call AMD
    passed as a person, or gives a person's disposition to a call AMD said was a machine; an
    admin (Call admin action) when a person is known to have been hung up on as a machine
    (a complaint, a recording). Idempotent; True when the row changed.

    A person hung up on as a machine is an abandon (Ofcom), so the campaign's drop rule holds
    the lead back as it would after a drop (the UK 72 hours from the answer). Clearing the
    mistake later does not shorten a hold already applied.
    """
    with transaction.atomic():
        call = Call.objects.select_for_update(of=("self",)).get(pk=call_id)
        if call.amd_mistake == mistake:
            return False
        refusal = amd_mistake_refusal(call, mistake)
        if refusal is not None:
            raise AmdMistakeRefused(refusal)
        Call.objects.filter(pk=call_id).update(
            amd_mistake=mistake.value,
            amd_mistake_at=now if mistake != AmdMistake.NONE else None,
            amd_mistake_by=actor[:150] if mistake != AmdMistake.NONE else "",
        )
        if mistake == AmdMistake.HUMAN_AS_MACHINE:
            call.amd_mistake = mistake.value
            _hold_lead_after_late_abandon(call, now=now, actor=actor)
    log.info(
        "amd mistake recorded",
        extra={"call_id": call_id, "amd_mistake": mistake.value, "actor": actor},
    )
    return True


def _hold_lead_after_late_abandon(call: Call, *, now: datetime, actor: str) -> None:
    if call.answered_at is None or not call_is_abandon(call, now=now):
        return
    not_before = call.answered_at + timedelta(seconds=drop_hold_seconds(call.campaign))
    if not_before <= now:
        return
    lead = Lead.objects.get(pk=call.lead_id)
    if lifecycle.lead_hold_after_abandon(
        lead, now=now, not_before=not_before, actor=actor,
        reason="abandoned: a person AMD took for a machine was hung up on",
    ):  # fmt: skip
        log.info(
            "lead held after a late-found abandon",
            extra={"lead_id": lead.pk, "call_id": call.pk, "until": not_before.isoformat()},
        )


def amd_mistake_from_agent(*, amd_result: str, voicemail: bool) -> AmdMistake:
    """What an agent's verdict on an answered call says about AMD (pure): voicemail on a call
    AMD passed as a person is a machine taken for a person; a person's disposition on a call
    AMD said was a machine is a person taken for one."""
    machine = is_machine(amd_result)
    if voicemail and not machine:
        return AmdMistake.MACHINE_AS_HUMAN
    if not voicemail and machine:
        return AmdMistake.HUMAN_AS_MACHINE
    return AmdMistake.NONE


def call_agent_verdict(*, call_id: int, voicemail: bool, now: datetime, actor: str) -> None:
    """The agent said what answered (voicemail or a person): record an AMD mistake if that
    contradicts AMD. Called by the agent desk inside its own transaction."""
    call = Call.objects.filter(pk=call_id).only("amd_result", "answered_at").first()
    if call is None or call.answered_at is None:
        return
    mistake = amd_mistake_from_agent(amd_result=call.amd_result, voicemail=voicemail)
    if mistake != AmdMistake.NONE:
        call_record_amd_mistake(call_id=call_id, mistake=mistake, now=now, actor=actor)


def call_lost(*, call_uuid: str, now: datetime, reason: str) -> Finished | None:
    """The dialer lost track of a call (restart, missed events while disconnected, dial never
    placed): close its row as failed and give the lead back without spending an attempt."""
    with transaction.atomic():
        call = Call.objects.select_for_update().filter(uuid=call_uuid).first()
        if call is None or call.result != CallResult.PENDING:
            return None
        call.result = CallResult.FAILED
        call.hangup_cause = reason[:40]
        call.hangup_at = now
        call.save(update_fields=["result", "hangup_cause", "hangup_at"])
        outcome = Outcome(Result.FAILED, LeadAction.RETRY, reason)
        lead_state = _move_lead(call, outcome, now=now)
    log.warning("call lost", extra={"call_uuid": call_uuid, "reason": reason})
    _tell_desk("ended", call_uuid, None, now)
    return Finished(call, outcome, lead_state)


def call_refused_number(*, call_uuid: str, now: datetime, reason: str) -> Finished | None:
    """The lead's number cannot be dialed (not E.164): never dial it, end the lead Failed."""
    with transaction.atomic():
        call = Call.objects.select_for_update().filter(uuid=call_uuid).first()
        if call is None or call.result != CallResult.PENDING:
            return None
        call.result = CallResult.INVALID
        call.hangup_cause = "NOT_DIALED"
        call.hangup_at = now
        call.save(update_fields=["result", "hangup_cause", "hangup_at"])
        lead = Lead.objects.get(pk=call.lead_id)
        state = None
        if lead.state == LeadState.DIALING:
            lifecycle.lead_mark_failed(lead, now=now, reason=reason, actor="dialer")
            state = lead.state
    log.error("number refused", extra={"call_uuid": call_uuid, "reason": reason})
    return Finished(call, Outcome(Result.INVALID, LeadAction.ATTEMPT_FAILED, reason), state)


def call_assign_node(*, call_uuid: str, node: str) -> None:
    Call.objects.filter(uuid=call_uuid, result=CallResult.PENDING).update(node=node[:60])


def pending_calls_on_node(node: str, *, now: datetime, orphan_after: float = 10.0) -> list[str]:
    """UUIDs of this node's calls that were dialed and have no result yet, and of claimed calls
    no node ever named (a dialer died between claiming and naming) older than `orphan_after`."""
    orphans = Q(node="", dialed_at__lt=now - timedelta(seconds=orphan_after))
    mine = Q(node=node) if node else Q(pk__in=[])
    return [
        str(u)
        for u in Call.objects.filter(
            mine | orphans, result=CallResult.PENDING, dialed_at__isnull=False
        ).values_list("uuid", flat=True)
    ]
