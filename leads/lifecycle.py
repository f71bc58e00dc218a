"""The lead state machine. Every change of `Lead.state` goes through this module.

Each transition is a compare-and-set on the old state (so two processes can never both move
the same lead), checks that exactly one row changed, and writes a LeadEvent. Illegal
transitions raise IllegalTransition; a lead that another process moved first raises
StaleLead, and the caller decides whether that matters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q

from campaigns.models import Campaign

from .models import DIALABLE_STATES, Lead, LeadEvent, LeadState

S = LeadState
_DIALABLE = list(DIALABLE_STATES)

ALLOWED: dict[str, frozenset[str]] = {
    # A dialable lead is picked for a call or an agent's card, or ends Failed (DNC, admin).
    S.NEW: frozenset({S.DIALING, S.RESERVED, S.FAILED}),
    S.RETRY: frozenset({S.DIALING, S.RESERVED, S.FAILED}),
    S.COOLOFF: frozenset({S.DIALING, S.RESERVED, S.FAILED}),
    S.CALLBACK: frozenset({S.DIALING, S.RESERVED, S.FAILED}),
    S.VOICEMAIL: frozenset({S.DIALING, S.RESERVED, S.FAILED}),
    # An agent's card: accepted (dial), skipped or expired (back to the list).
    S.RESERVED: frozenset({S.DIALING, S.RETRY, S.CALLBACK, S.FAILED}),
    # A call's outcome.
    S.DIALING: frozenset({S.SUCCESS, S.COOLOFF, S.FAILED, S.RETRY, S.VOICEMAIL, S.CALLBACK}),
    # After the conversation the agent's disposition may still change the outcome.
    S.SUCCESS: frozenset({S.CALLBACK, S.VOICEMAIL, S.FAILED}),
    # Only an admin's reset brings a Failed lead back.
    S.FAILED: frozenset({S.NEW}),
}


class IllegalTransition(ValueError):
    def __init__(self, lead_id: int | None, from_state: str, to_state: str) -> None:
        super().__init__(f"lead {lead_id}: {from_state} → {to_state} is not allowed")
        self.from_state = from_state
        self.to_state = to_state


class StaleLead(RuntimeError):
    """The lead is no longer in the state the caller saw: someone else moved it first."""


def can_transition(from_state: str, to_state: str) -> bool:
    return to_state in ALLOWED.get(from_state, frozenset())


def transition(
    lead: Lead,
    to_state: str,
    *,
    now: datetime,
    reason: str,
    actor: str = "system",
    changes: dict[str, Any] | None = None,
    **fields: Any,
) -> Lead:
    """Move one lead from its current state to `to_state`, setting `fields` with it."""
    from_state = lead.state
    if not can_transition(from_state, to_state):
        raise IllegalTransition(lead.pk, from_state, to_state)
    values = {"state": to_state, "updated_at": now, **fields}
    # No savepoint inside a caller's transaction (the dialer ends a hundred calls a second in
    # batches): nothing is raised inside the block, so it never needs rolling back on its own.
    with transaction.atomic(savepoint=False):
        changed = Lead.objects.filter(pk=lead.pk, state=from_state).update(**values)
        if changed == 1:
            LeadEvent.objects.create(
                lead=lead,
                at=now,
                from_state=from_state,
                to_state=to_state,
                reason=reason[:200],
                actor=actor[:100],
                changes=changes or {},
            )
    if changed != 1:
        raise StaleLead(f"lead {lead.pk} is no longer {from_state}")
    for name, value in values.items():
        setattr(lead, name, value)
    return lead


def transition_locked_batch(
    leads: Sequence[Lead],
    to_state: str,
    *,
    now: datetime,
    reason: str,
    actor: str,
    **fields: Any,
) -> None:
    """Move many leads at once. The caller holds their row locks (SELECT … FOR UPDATE) in the
    current transaction, so the states it read are still the states in the table."""
    if not leads:
        return
    for lead in leads:
        if not can_transition(lead.state, to_state):
            raise IllegalTransition(lead.pk, lead.state, to_state)
    ids = [lead.pk for lead in leads]
    values = {"state": to_state, "updated_at": now, **fields}
    changed = Lead.objects.filter(pk__in=ids).update(**values)
    if changed != len(ids):
        raise StaleLead(f"{len(ids) - changed} of {len(ids)} leads vanished while locked")
    LeadEvent.objects.bulk_create(
        LeadEvent(
            lead_id=lead.pk,
            at=now,
            from_state=lead.state,
            to_state=to_state,
            reason=reason[:200],
            actor=actor,
        )
        for lead in leads
    )
    for lead in leads:
        for name, value in values.items():
            setattr(lead, name, value)


def leads_hold_for_window(ids: Sequence[int], *, until: datetime, reason: str) -> None:
    """Leads due by their cool-off but outside a dial window wait for its next opening (the
    state does not change; the selector's index then skips them until `until`)."""
    Lead.objects.filter(pk__in=ids, state__in=_DIALABLE).update(
        next_dial_at=until, not_dialable_reason=reason[:200], window_held=True
    )


def leads_release_window_holds(campaign: Campaign, *, now: datetime) -> int:
    """Start, or changed windows: held leads are looked at again under the current rules."""
    return Lead.objects.filter(campaign=campaign, window_held=True, state__in=_DIALABLE).update(
        next_dial_at=now, window_held=False, not_dialable_reason=""
    )


# Leads waiting for their next attempt: the states a late-found abandon can still hold back.
_WAITING = (S.NEW, S.RETRY, S.COOLOFF, S.VOICEMAIL)


def lead_hold_after_abandon(
    lead: Lead, *, now: datetime, not_before: datetime, reason: str, actor: str
) -> bool:
    """An abandon found after the call ended (a person AMD hung up on as a machine): a lead
    still waiting for its next attempt is not dialed before ``not_before`` (the drop rule).

    The state does not change; the history says why the lead waits. A callback, a lead being
    dialed or one already finished is left alone (a person has asked, or the call is placed).
    True when the lead was held back.
    """
    with transaction.atomic(savepoint=False):
        changed = (
            Lead.objects.filter(pk=lead.pk, state__in=_WAITING)
            .filter(Q(next_dial_at__isnull=True) | Q(next_dial_at__lt=not_before))
            # A window hold would be released to "now" on the next start: this hold is longer.
            .update(next_dial_at=not_before, window_held=False, not_dialable_reason="",
                    updated_at=now)
        )  # fmt: skip
        if changed:
            lead.refresh_from_db(fields=["state", "next_dial_at", "window_held"])
            LeadEvent.objects.create(
                lead=lead,
                at=now,
                from_state=lead.state,
                to_state=lead.state,
                reason=f"{reason}; not dialed before {not_before.isoformat()}"[:200],
                actor=actor[:100],
            )
    return bool(changed)


# --- Cool-off rules -------------------------------------------------------------------------


def cool_off_seconds(lead: Lead, campaign: Campaign, failed_attempt: int) -> int:
    """Cool-off after the `failed_attempt`-th failed dial (1-based).

    1st: the lead's cool_off, else the campaign's. 2nd and 3rd: the campaign's 2nd/3rd value
    when set (it overrides the lead's), else the lead's own, else the previous one. Later
    attempts keep the 3rd attempt's value.
    """
    first = lead.cool_off if lead.cool_off is not None else campaign.cool_off
    if failed_attempt <= 1:
        return first
    second = _first_set(campaign.cool_off_2nd, lead.cool_off_2nd, first)
    if failed_attempt == 2:
        return second
    return _first_set(campaign.cool_off_3rd, lead.cool_off_3rd, second)


def _first_set(*values: int | None) -> int:
    for value in values:
        if value is not None:
            return value
    raise ValueError("no value set")


# --- Services: one per thing that happens to a lead ----------------------------------------


def lead_attempt_failed(
    lead: Lead, *, now: datetime, result: str, actor: str = "dialer", voicemail: bool = False
) -> Lead:
    """A dial did not reach a person (no answer, busy, abandoned, machine …).

    Spends an attempt: cool-off with the attempt's timer, or Failed when retries are used up.
    A voicemail outcome is treated like cool-off (spec) but shown as Voicemail.
    """
    attempts = lead.attempts + 1
    if attempts >= lead.max_attempts:
        return transition(
            lead,
            S.FAILED,
            now=now,
            reason=f"{result}; retries exhausted ({attempts}/{lead.max_attempts})",
            actor=actor,
            attempts=attempts,
            last_result=result,
            reserved_by=None,
            reserved_until=None,
        )
    wait = cool_off_seconds(lead, lead.campaign, attempts)
    return transition(
        lead,
        S.VOICEMAIL if voicemail else S.COOLOFF,
        now=now,
        reason=f"{result}; attempt {attempts}/{lead.max_attempts}, cool-off {wait} s",
        actor=actor,
        attempts=attempts,
        last_result=result,
        next_dial_at=now + timedelta(seconds=wait),
        reserved_by=None,
        reserved_until=None,
    )


def lead_dropped(
    lead: Lead, *, now: datetime, not_before_seconds: int, actor: str = "dialer"
) -> Lead:
    """A live answer the dialer dropped (no agent within the drop time; safe-harbor message).

    Spends an attempt like any abandon, and the lead is not dialed again for at least
    ``not_before_seconds`` (the campaign's drop rule: a retry delay, or the UK 72 hours).
    """
    attempts = lead.attempts + 1
    if attempts >= lead.max_attempts:
        return lead_attempt_failed(lead, now=now, result="abandoned", actor=actor)
    wait = max(cool_off_seconds(lead, lead.campaign, attempts), not_before_seconds)
    return transition(
        lead,
        S.COOLOFF,
        now=now,
        reason=f"abandoned (dropped); attempt {attempts}/{lead.max_attempts}, not before {wait} s",
        actor=actor,
        attempts=attempts,
        last_result="abandoned",
        next_dial_at=now + timedelta(seconds=wait),
        reserved_by=None,
        reserved_until=None,
    )


def lead_connected(lead: Lead, *, now: datetime, actor: str = "dialer") -> Lead:
    """The customer reached an agent."""
    return transition(
        lead,
        S.SUCCESS,
        now=now,
        reason="connected to an agent",
        actor=actor,
        last_result="connected",
        reserved_by=None,
        reserved_until=None,
    )


def lead_return_to_retry(
    lead: Lead,
    *,
    now: datetime,
    reason: str,
    actor: str = "dialer",
    not_before: datetime | None = None,
) -> Lead:
    """Back to the list without spending an attempt (stop, capacity refusal, skip, reaper)."""
    return transition(
        lead,
        S.RETRY,
        now=now,
        reason=reason,
        actor=actor,
        next_dial_at=not_before or now,
        reserved_by=None,
        reserved_until=None,
    )


def lead_mark_voicemail(lead: Lead, *, now: datetime, actor: str) -> Lead:
    """Agent or dialer reached an answering machine: like a failed attempt, shown as Voicemail."""
    # From Success too: a machine the agent reached is a failed attempt, not a connection.
    return lead_attempt_failed(lead, now=now, result="voicemail", actor=actor, voicemail=True)


def lead_schedule_callback(
    lead: Lead,
    *,
    now: datetime,
    at: datetime,
    agent_id: int | None,
    actor: str,
) -> Lead:
    if at <= now:
        raise ValueError("A callback must be in the future.")
    who = "the agent personally" if agent_id else "the campaign"
    return transition(
        lead,
        S.CALLBACK,
        now=now,
        reason=f"callback at {at.isoformat()} for {who}",
        actor=actor,
        next_dial_at=at,
        callback_agent_id=agent_id,
        reserved_by=None,
        reserved_until=None,
    )


def lead_mark_failed(lead: Lead, *, now: datetime, reason: str, actor: str) -> Lead:
    return transition(
        lead,
        S.FAILED,
        now=now,
        reason=reason,
        actor=actor,
        last_result=reason[:40],
        reserved_by=None,
        reserved_until=None,
    )


def lead_reset(lead: Lead, *, now: datetime, actor: str) -> Lead:
    """Admin: give a Failed lead a fresh start."""
    return transition(
        lead,
        S.NEW,
        now=now,
        reason="reset by admin",
        actor=actor,
        attempts=0,
        dial_cycle=0,
        next_dial_at=now,
        last_result="",
        callback_agent=None,
    )


def lead_reserve_for_agent(
    lead: Lead, *, now: datetime, agent_id: int, until: datetime, actor: str = "selector"
) -> Lead:
    return transition(
        lead,
        S.RESERVED,
        now=now,
        reason=f"lead card for agent {agent_id}",
        actor=actor,
        reserved_by_id=agent_id,
        reserved_until=until,
    )


# A personal callback card skipped or left to expire comes back to its agent this much later
# (at once would put the same card straight back on the desk that just let it go).
CALLBACK_CARD_RETRY = timedelta(minutes=5)


def _reserved_from(lead: Lead) -> str:
    """The state the lead was in when its current card was made (its history says)."""
    event = (
        LeadEvent.objects.filter(lead_id=lead.pk, to_state=S.RESERVED)
        .exclude(from_state=S.RESERVED)
        .order_by("-at", "-id")
        .values_list("from_state", flat=True)
        .first()
    )
    return event or ""


def lead_release_card(lead: Lead, *, now: datetime, reason: str, actor: str) -> Lead:
    """Skip, reject or countdown expiry: a card goes back to the list without an attempt.

    A personal callback's card stays that agent's callback, due again after
    CALLBACK_CARD_RETRY; any other card goes back to the list (Retry, due at once)."""
    if (
        lead.state == S.RESERVED
        and lead.callback_agent_id is not None
        and _reserved_from(lead) == S.CALLBACK
    ):
        due = now + CALLBACK_CARD_RETRY
        return transition(
            lead,
            S.CALLBACK,
            now=now,
            reason=f"{reason}; personal callback due again at {due.isoformat()}",
            actor=actor,
            next_dial_at=due,
            reserved_by=None,
            reserved_until=None,
        )
    return lead_return_to_retry(lead, now=now, reason=reason, actor=actor)


# --- What an agent chose while the lead's call was still up ------------------------------------

# A lead whose call is up stays Dialing: a Callback or Voicemail chosen during the conversation
# would make it dialable while the customer is still on the line. The choice is kept in the
# lead's history (keyed by the call) and applied when the call ends.
KEPT_OUTCOMES = ("callback", "voicemail")


@dataclass(frozen=True)
class KeptOutcome:
    outcome: str  # one of KEPT_OUTCOMES
    callback_at: datetime | None
    callback_agent_id: int | None


def lead_keep_outcome(
    lead: Lead,
    *,
    call_id: int,
    outcome: str,
    now: datetime,
    actor: str,
    callback_at: datetime | None = None,
    callback_agent_id: int | None = None,
) -> None:
    """Record the agent's Callback or Voicemail for `call_id` (the state does not change);
    `lead_apply_kept_outcome` applies the latest one when the call ends."""
    if outcome not in KEPT_OUTCOMES:
        raise ValueError(f"{outcome!r} is not kept until the call ends")
    if outcome == "callback" and callback_at is None:
        raise ValueError("A callback needs its time.")
    what = (
        f"callback at {callback_at.isoformat()}"
        f" for {'the agent personally' if callback_agent_id else 'the campaign'}"
        if callback_at is not None
        else outcome
    )
    LeadEvent.objects.create(
        lead=lead,
        at=now,
        from_state=lead.state,
        to_state=lead.state,
        reason=f"{what} chosen during the call; applied when it ends"[:200],
        actor=actor[:100],
        changes={
            "kept_for_call": call_id,
            "outcome": outcome,
            "callback_at": callback_at.isoformat() if callback_at else None,
            "callback_agent": callback_agent_id,
        },
    )


def lead_kept_outcome(lead: Lead, *, call_id: int) -> KeptOutcome | None:
    """The latest choice kept for `call_id`, if any."""
    event = (
        LeadEvent.objects.filter(lead_id=lead.pk, changes__kept_for_call=call_id)
        .order_by("-at", "-id")
        .first()
    )
    if event is None:
        return None
    at = event.changes.get("callback_at")
    return KeptOutcome(
        outcome=event.changes["outcome"],
        callback_at=datetime.fromisoformat(at) if at else None,
        callback_agent_id=event.changes.get("callback_agent"),
    )


def lead_apply_kept_outcome(lead: Lead, *, call_id: int, now: datetime, actor: str) -> bool:
    """The call ended: apply what the agent chose during it. Only a lead the call left Dialing
    or Successful is moved (anything else was decided meanwhile); a callback time that passed
    during the call becomes due at the hang-up. True when the lead moved."""
    kept = lead_kept_outcome(lead, call_id=call_id)
    if kept is None or lead.state not in (S.DIALING, S.SUCCESS):
        return False
    if kept.outcome == "voicemail":
        lead_mark_voicemail(lead, now=now, actor=actor)
        return True
    if kept.callback_at is None:
        return False
    lead_schedule_callback(
        lead,
        now=now,
        at=max(kept.callback_at, now + timedelta(seconds=1)),
        agent_id=kept.callback_agent_id,
        actor=actor,
    )
    return True


def lead_record_edit(
    lead: Lead, *, now: datetime, actor: str, changes: dict[str, tuple[Any, Any]]
) -> None:
    """Keep a customer-record edit in the lead's history (the state does not change)."""
    LeadEvent.objects.create(
        lead=lead,
        at=now,
        from_state=lead.state,
        to_state=lead.state,
        reason="customer record edited",
        actor=actor[:100],
        changes={k: [str(old), str(new)] for k, (old, new) in changes.items()},
    )
