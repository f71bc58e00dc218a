"""The lead selector: which leads to dial now, how many, and the handoff to the dialer.

Celery beat runs `run_tick` every SELECTOR_TICK_SECONDS (dialer.tasks). For each running
campaign, under a Redis lock so a campaign is never ticked twice at once:

1. the campaign schedule (account timezone): closed → nothing ("Scheduled");
2. the inbound-priority gate (dialer.livestate): no dialer connected, or inbound customers
   waiting in the bound queue → nothing;
3. how many: Progressive = free agents - the queue's calls not yet with an agent; Predictive =
   dialer.pacing.live; Push Preview = one card per free agent without one; Preview = none
   (agents ask, `select_preview_lead`); personal callbacks go to their agent as a card;
4. `select_for_dialing`: SELECT … FOR UPDATE SKIP LOCKED on the partial index of dialable
   leads (callbacks due first, then priority, next-dial time, age), each candidate checked by
   the pure rules (dialer.eligibility); a lead due by its cool-off but outside a window gets
   next_dial_at = the window's next opening (so the index skips it until then); the rest are
   marked Dialing with a Call row each (its UUID is the dial request's) in one transaction,
   and the requests go on the stream after commit (dialer.handoff).

Every status change goes through leads.lifecycle.
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from agents.models import Agent, AgentStatus, DeskCallState
from campaigns.models import Campaign, CampaignType, RunStatus
from dialer import calls as call_services
from dialer import eligibility, handoff, livestate
from dialer.eligibility import DialRules, LeadFacts, ScheduleWindow, Verdict
from dialer.esl.events import CallTimes
from dialer.models import Call, CallResult
from dialer.redisconn import redis_client
from leads import lifecycle
from leads.models import DIALABLE_STATES, DoNotCall, Lead, LeadState

log = logging.getLogger("dialer.selector")

BATCH_LIMIT = 100  # most calls one campaign starts in one tick
_FETCH_ROUNDS = 4  # candidates held by windows are deferred; look again this many times
_NO_WINDOW_RECHECK = timedelta(days=1)
_LOCK_MS = 30_000
_NOT_CALLBACK_STATES = [s for s in DIALABLE_STATES if s != LeadState.CALLBACK]


def _request_ttl() -> timedelta:
    return timedelta(seconds=getattr(settings, "DIALER_REQUEST_TTL", 60))


def _reap_after() -> timedelta:
    return timedelta(seconds=getattr(settings, "DIALER_REAP_AFTER", 120))


# --- Rules from the campaign's rows -----------------------------------------------------------


def build_rules(campaign: Campaign) -> DialRules:
    """The campaign's window rules as plain values (two small queries)."""
    schedule = tuple(
        ScheduleWindow(
            weekdays=frozenset(int(d) for d in row.weekdays),
            start=row.start_time,
            end=row.end_time,
            month_days=(
                (row.month_day_start, row.month_day_finish)
                if row.month_day_start is not None and row.month_day_finish is not None
                else None
            ),
            months=frozenset(int(m) for m in row.months or ()),
        )
        for row in campaign.schedule_rows.all()
    )
    tz_window = None
    if campaign.tz_window_enabled and campaign.tz_window_from and campaign.tz_window_to:
        tz_window = (campaign.tz_window_from, campaign.tz_window_to)
    slots: tuple[tuple[int, time], ...] = ()
    if campaign.tz_schedule_enabled:
        slots = tuple((s.day_offset, s.start_time) for s in campaign.tz_slots.all())
    hours = Decimal(campaign.tz_schedule_window_hours or 1)
    return DialRules(
        account_zone=settings.ACCOUNT_TIMEZONE,
        schedule=schedule,
        legal=(settings.LEGAL_CALLING_START, settings.LEGAL_CALLING_END),
        tz_window=tz_window,
        tz_slots=slots,
        tz_slot_length=timedelta(seconds=int(hours * 3600)),
    )


def schedule_answer(rules: DialRules, now: datetime) -> eligibility.WindowAnswer:
    """The campaign schedule alone (what Running vs Scheduled means)."""
    only = DialRules(
        account_zone=rules.account_zone, schedule=rules.schedule, legal=(time(0), time(0))
    )
    return eligibility.window_answer(only, (rules.account_zone,), None, now)


def lead_facts(
    lead: Lead,
    *,
    campaign_retries: int | None = None,
    on_dnc: bool = False,
    agent_free: bool = True,
    call_in_progress: bool = False,
) -> LeadFacts:
    """The lead as the pure rules see it. `campaign_retries`: the campaign's retry limit, which
    the selector passes so that a batch of leads does not load its campaign once per lead."""
    zones = tuple(lead.timezones or ()) or (lead.timezone or settings.ACCOUNT_TIMEZONE,)
    if campaign_retries is None:
        campaign_retries = lead.campaign.retries
    return LeadFacts(
        state=lead.state,
        next_dial_at=lead.next_dial_at,
        zones=zones,
        display_zone=lead.timezone or zones[0],
        created_at=lead.created_at,
        on_dnc=on_dnc,
        callback_agent=f"agent #{lead.callback_agent_id}" if lead.callback_agent_id else "",
        callback_agent_free=agent_free,
        attempts=lead.attempts,
        max_attempts=lead.retries if lead.retries is not None else campaign_retries,
        call_in_progress=call_in_progress,
    )


def on_dnc_numbers(campaign: Campaign, numbers: list[str]) -> set[str]:
    if not numbers:
        return set()
    return set(
        DoNotCall.objects.filter(number__in=numbers)
        .filter(Q(campaign=None) | Q(campaign=campaign))
        .values_list("number", flat=True)
    )


def explain(lead: Lead, *, now: datetime) -> str:
    """Why the lead is or is not being dialed, in words (empty: it is dialable now)."""
    return explain_many([lead], now=now)[lead.pk]


def explain_many(leads: Iterable[Lead], *, now: datetime) -> dict[int, str]:
    """`explain` for a page of leads: rules once per campaign, one Do-Not-Call query each."""
    by_campaign: dict[int, list[Lead]] = defaultdict(list)
    for lead in leads:
        by_campaign[lead.campaign_id].append(lead)
    reasons: dict[int, str] = {}
    for group in by_campaign.values():
        campaign = group[0].campaign
        rules = build_rules(campaign)
        dnc = on_dnc_numbers(campaign, [lead.number for lead in group])
        in_call = set(
            Call.objects.filter(
                lead_id__in=[lead.pk for lead in group], result=CallResult.PENDING
            ).values_list("lead_id", flat=True)
        )
        sched = schedule_answer(rules, now)
        for lead in group:
            facts = lead_facts(
                lead,
                campaign_retries=campaign.retries,
                on_dnc=lead.number in dnc,
                call_in_progress=lead.pk in in_call,
            )
            verdict = eligibility.lead_verdict(rules, facts, now=now)
            reason = verdict.reason
            due = (
                lead.state in DIALABLE_STATES
                and lead.next_dial_at <= now
                and lead.number not in dnc
                and not eligibility.retries_used_up(facts)
            )
            # A stopped campaign is the first thing to know about any due lead of it,
            # whatever the hour; a cool-off or a final state still says its own reason.
            if due and not campaign.is_running:
                reason = "campaign stopped"
            elif verdict.dialable and not sched.open:
                reason = "outside the campaign schedule"
            reasons[lead.pk] = reason
    return reasons


# --- Selection ----------------------------------------------------------------------------


def _dialable(campaign: Campaign, now: datetime) -> QuerySet[Lead]:
    return Lead.objects.filter(campaign=campaign, next_dial_at__lte=now)


def _take_eligible(
    campaign: Campaign,
    *,
    now: datetime,
    limit: int,
    rules: DialRules,
    cycle_pass: int | None,
    for_agent: Agent | None = None,
    callbacks_due: bool = True,
    personal_only: bool = False,
) -> list[tuple[Lead, Verdict]]:
    """Lock up to `limit` eligible leads (inside the caller's transaction). Candidates that
    the rules refuse are deferred (window) or ended (Do-Not-Call, retries used up) on the
    way. `personal_only`: only `for_agent`'s own due callbacks."""
    taken: list[tuple[Lead, Verdict]] = []
    for _round in range(_FETCH_ROUNDS):
        want = limit - len(taken)
        if want <= 0:
            break
        candidates = _candidates(
            campaign,
            now=now,
            want=want,
            cycle_pass=cycle_pass,
            agent=for_agent,
            callbacks_due=callbacks_due,
            personal_only=personal_only,
            # Rows this transaction took are still due, and its own locks do not make SKIP
            # LOCKED pass over them: a later round must leave them out itself.
            exclude=[lead.pk for lead, _ in taken],
        )
        if not candidates:
            break
        dnc = {lead.number for lead in candidates if getattr(lead, "on_dnc", False)}
        held: dict[tuple[datetime, str], list[int]] = defaultdict(list)
        blocked: list[Lead] = []
        used_up: list[Lead] = []
        for lead in candidates:
            facts = lead_facts(lead, campaign_retries=campaign.retries, on_dnc=lead.number in dnc)
            verdict = eligibility.lead_verdict(rules, facts, now=now)
            if verdict.dialable:
                taken.append((lead, verdict))
            elif lead.number in dnc:
                blocked.append(lead)
            elif eligibility.retries_used_up(facts):
                used_up.append(lead)
            else:
                until = verdict.next_at if verdict.next_at and verdict.next_at > now else None
                held[(until or now + _NO_WINDOW_RECHECK, verdict.reason)].append(lead.pk)
        for (until, reason), ids in held.items():
            lifecycle.leads_hold_for_window(ids, until=until, reason=reason)
        if blocked:
            lifecycle.transition_locked_batch(
                blocked,
                LeadState.FAILED,
                now=now,
                reason="number on Do-Not-Call",
                actor="selector",
                last_result="do not call",
                not_dialable_reason="on Do-Not-Call",
            )
        if used_up:
            # The retry limit was lowered below the attempts these leads had already spent:
            # they end as a failed attempt at the limit would have ended them.
            lifecycle.transition_locked_batch(
                used_up,
                LeadState.FAILED,
                now=now,
                reason="retries exhausted (retry limit lowered)",
                actor="selector",
                last_result="retries exhausted",
                not_dialable_reason="retries used up",
            )
        if len(candidates) < want:
            break  # the list has no more due leads
    return taken


def _candidates(
    campaign: Campaign,
    *,
    now: datetime,
    want: int,
    cycle_pass: int | None,
    agent: Agent | None,
    callbacks_due: bool = True,
    personal_only: bool = False,
    exclude: list[int] | None = None,
) -> list[Lead]:
    due = _due_with_dnc(campaign, now)
    if exclude:
        due = due.exclude(pk__in=exclude)
    locked: list[Lead] = []
    # Personal callbacks only ever go to their agent.
    if agent is not None:
        locked += list(
            due.filter(state=LeadState.CALLBACK, callback_agent=agent)
            .order_by("next_dial_at", "id")
            .select_for_update(skip_locked=True)[:want]
        )
    if personal_only:
        return locked
    if callbacks_due and len(locked) < want:
        locked += list(
            due.filter(state=LeadState.CALLBACK, callback_agent=None)
            .order_by("next_dial_at", "id")
            .select_for_update(skip_locked=True)[: want - len(locked)]
        )
    if len(locked) < want:
        rest = list_in_order(due, cycle_pass)
        locked += list(rest.select_for_update(skip_locked=True)[: want - len(locked)])
    return locked


def _due_with_dnc(campaign: Campaign, now: datetime) -> QuerySet[Lead]:
    # The Do-Not-Call check rides on the same query (an index probe per candidate).
    blocked = DoNotCall.objects.filter(number=OuterRef("number")).filter(
        Q(campaign=None) | Q(campaign=campaign)
    )
    # A lead whose call is still up is never dialed again, whatever its state says (a
    # callback booked during the conversation is due while the customer may still be on the
    # line). An index probe per candidate too (the Call lead_id index; no new index needed).
    in_call = Call.objects.filter(lead=OuterRef("pk"), result=CallResult.PENDING)
    return _dialable(campaign, now).annotate(on_dnc=Exists(blocked)).filter(~Exists(in_call))


def list_in_order(due: QuerySet[Lead], cycle_pass: int | None = None) -> QuerySet[Lead]:
    """The calling list after the callbacks, in the order of `lead_dialable_idx`."""
    rest = due.filter(state__in=_NOT_CALLBACK_STATES)
    if cycle_pass is not None:
        rest = rest.filter(dial_cycle__lt=cycle_pass)
    return rest.order_by("-priority", "next_dial_at", "id")


def candidate_query(campaign: Campaign, now: datetime) -> QuerySet[Lead]:
    """The selector's main query, for EXPLAIN (bench, tests): lock with SKIP LOCKED, slice."""
    return list_in_order(_due_with_dnc(campaign, now))


def dial_deadline(
    open_until: datetime | None, now: datetime, *, agent_ring: timedelta = timedelta(0)
) -> datetime:
    """A dial request is not dialed after this: the close of the lead's window, or the request
    going stale (`DIALER_REQUEST_TTL`, plus `agent_ring` when the agent's phone rings first)."""
    deadline = now + _request_ttl() + agent_ring
    if open_until is not None:
        deadline = min(deadline, open_until)
    return deadline


def _dial_deadline(verdict: Verdict, now: datetime) -> datetime:
    return dial_deadline(verdict.open_until, now)


@dataclass
class _Plan:
    """What one campaign will dial this tick (decided before any lead is touched)."""

    campaign: Campaign
    want: int
    rules: DialRules
    cycle_pass: int | None
    callbacks_due: bool = True
    reason: str = ""
    cards: int = 0


def select_for_dialing(
    campaign: Campaign,
    *,
    now: datetime,
    limit: int,
    rules: DialRules | None = None,
    cycle_pass: int | None = None,
    callbacks_due: bool = True,
) -> list[Call]:
    """Take up to `limit` eligible leads, mark them Dialing, create their Calls and hand the
    dial requests to the dialer after commit. Concurrent callers never take the same lead."""
    plan = _Plan(campaign, limit, rules or build_rules(campaign), cycle_pass, callbacks_due)
    return _dial([plan], now=now).get(campaign.pk, [])


def _dial(plans: list[_Plan], *, now: datetime) -> dict[int, list[Call]]:
    """One transaction for every campaign of a tick: a locked selection per campaign, then one
    UPDATE of the leads, one insert of their history and one of the Calls, one commit (the
    round trips, not the rows, are what a tick of many campaigns spends its time on)."""
    plans = [p for p in plans if p.want > 0]
    out: dict[int, list[Call]] = {}
    if not plans:
        return out
    with transaction.atomic():
        _fast_commit()
        by_pass: dict[int, list[Lead]] = defaultdict(list)
        calls: list[Call] = []
        for plan in plans:
            campaign = plan.campaign
            try:
                taken = _take_eligible(
                    campaign,
                    now=now,
                    limit=min(plan.want, BATCH_LIMIT),
                    rules=plan.rules,
                    cycle_pass=plan.cycle_pass,
                    callbacks_due=plan.callbacks_due,
                )
            except DatabaseError:
                raise  # the transaction is lost: the next tick starts afresh
            except Exception:
                log.exception("selection failed", extra={"campaign_id": campaign.pk})
                continue
            mine = [
                Call(
                    uuid=uuid.uuid4(),
                    campaign=campaign,
                    lead=lead,
                    attempt=lead.attempts + 1,
                    number=lead.number,
                    requested_at=now,
                    dial_deadline=_dial_deadline(verdict, now),
                )
                for lead, verdict in taken
            ]
            by_pass[campaign.cycle_pass].extend(lead for lead, _ in taken)
            calls.extend(mine)
            out[campaign.pk] = mine
        if not calls:
            return out
        for cycle, leads in by_pass.items():
            lifecycle.transition_locked_batch(
                leads,
                LeadState.DIALING,
                now=now,
                reason="selected for dialing",
                actor="selector",
                last_dialed_at=now,
                dial_cycle=cycle,
                not_dialable_reason="",
                window_held=False,
            )
        Call.objects.bulk_create(calls)
        uuids = [str(c.uuid) for c in calls]
        transaction.on_commit(lambda: _publish(uuids))
    log.info(
        "leads selected",
        extra={"campaigns": len(out), "count": len(calls), "wanted": sum(p.want for p in plans)},
    )
    return out


_session_fast_commit = False  # run_tick turned it on for the whole connection


def _fast_commit() -> None:
    """Commit without waiting for the WAL flush. Safe here: a selection lost in a database
    crash leaves no Call rows, so its requests are refused by the daemon's claim, and the
    leads are selected again. Half the selection's time on a busy disk is that flush."""
    if connection.vendor == "postgresql" and not _session_fast_commit:
        with connection.cursor() as cur:
            cur.execute("SET LOCAL synchronous_commit = off")


def _publish(uuids: list[str]) -> None:
    try:
        handoff.publish_requests(uuids)
    except Exception:
        # The Calls stay pending and their leads Dialing until the reaper gives them back.
        log.exception("dial requests not handed to the dialer", extra={"count": len(uuids)})


def _reserve(
    campaign: Campaign,
    agent: Agent,
    *,
    now: datetime,
    rules: DialRules,
    cycle_pass: int | None,
    personal_only: bool = False,
) -> Lead | None:
    with transaction.atomic():
        # Personal callbacks too go through every rule of the list (Do-Not-Call, a call
        # still in progress, windows).
        taken = _take_eligible(
            campaign,
            now=now,
            limit=1,
            rules=rules,
            cycle_pass=cycle_pass,
            for_agent=agent,
            personal_only=personal_only,
        )
        if not taken:
            return None
        lead, verdict = taken[0]
        until = now + timedelta(seconds=max(campaign.preview_timeout, 30))
        if campaign.type == CampaignType.PREVIEW:
            until = now + timedelta(seconds=max(campaign.preview_timeout, 300))
        if verdict.open_until is not None:
            # The card must be accepted early enough for the agent's phone to ring first and
            # the customer to be dialed inside the window.
            until = min(
                until, verdict.open_until - timedelta(seconds=campaign.agent_dial_timeout + 5)
            )
        if until <= now:
            return None
        return lifecycle.lead_reserve_for_agent(
            lead, now=now, agent_id=agent.pk, until=until, actor="selector"
        )


def select_preview_lead(campaign: Campaign, agent: Agent, now: datetime) -> Lead | None:
    """Preview: the agent asks for the next record (their personal callbacks first)."""
    if not campaign.is_running:
        return None
    rules = build_rules(campaign)
    if not schedule_answer(rules, now).open:
        return None
    return _reserve(
        campaign, agent, now=now, rules=rules, cycle_pass=_cycle_pass(campaign, now=now)
    )


# --- Dial cycles ------------------------------------------------------------------------------


def _cycle_pass(campaign: Campaign, *, now: datetime) -> int | None:
    """The pass to dial in (leads with a lower dial_cycle), None without a cycle limit, or -1
    when this window's cycles are used up."""
    if not campaign.dial_cycles or campaign.dial_cycles_time is None:
        return None
    window = eligibility.cycle_window_start(
        campaign.dial_cycles_time, settings.ACCOUNT_TIMEZONE, now
    )
    if campaign.cycle_window_start != window:
        Campaign.objects.filter(pk=campaign.pk).update(
            cycle_window_start=window, cycles_done=0, cycle_pass=F("cycle_pass") + 1
        )
        campaign.refresh_from_db(fields=["cycle_window_start", "cycles_done", "cycle_pass"])
    if campaign.cycles_done >= campaign.dial_cycles:
        return -1
    return campaign.cycle_pass


def _close_pass_if_done(campaign: Campaign) -> None:
    """A pass is complete once no dialable lead is left that it has not dialed."""
    left = Lead.objects.filter(
        campaign=campaign, state__in=_NOT_CALLBACK_STATES, dial_cycle__lt=campaign.cycle_pass
    ).exists()
    if left:
        return
    Campaign.objects.filter(pk=campaign.pk, cycle_pass=campaign.cycle_pass).update(
        cycles_done=F("cycles_done") + 1, cycle_pass=F("cycle_pass") + 1
    )
    campaign.refresh_from_db(fields=["cycles_done", "cycle_pass"])


# --- The tick ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TickResult:
    campaign_id: int
    placed: int
    reason: str


@dataclass
class TickFacts:
    """What one tick reads once for every campaign (two queries, not two per campaign)."""

    snapshots: list[dict[str, Any]]
    unconnected: dict[int, int]  # queue id → dial requests and calls not yet with an agent
    personal_callbacks: set[int]  # campaigns with a personal callback due
    campaign_callbacks: set[int] = field(default_factory=set)  # with a campaign callback due

    @classmethod
    def read(cls, *, now: datetime, snapshots: list[dict[str, Any]] | None = None) -> TickFacts:
        unconnected = dict(
            Call.objects.filter(result=CallResult.PENDING, agent_answered_at=None)
            .values_list("campaign__queue_id")
            .annotate(n=Count("id"))
            .values_list("campaign__queue_id", "n")
        )
        personal: set[int] = set()
        general: set[int] = set()
        for campaign_id, agent_id in Lead.objects.filter(
            state=LeadState.CALLBACK, next_dial_at__lte=now
        ).values_list("campaign_id", "callback_agent_id"):
            (personal if agent_id else general).add(campaign_id)
        if snapshots is None:
            snapshots = livestate.node_snapshots()
        return cls(snapshots, unconnected, personal, general)


def _free_agents(campaign: Campaign, snapshots: list[dict[str, Any]]) -> list[Agent]:
    """Agents of the queue who are Available, Waiting in mod_callcenter, with an idle desk."""
    waiting = {
        name
        for snap in snapshots
        for name, a in snap.get("agents", {}).items()
        if a.get("state") == "Waiting" and str(a.get("status", "")).startswith("Available")
    }
    agents = (
        Agent.objects.filter(tiers__queue_id=campaign.queue_id, status=AgentStatus.AVAILABLE)
        .filter(Q(desk__isnull=True) | Q(desk__call_state=DeskCallState.IDLE))
        .filter(Q(desk__isnull=True) | Q(desk__logout_requested_at__isnull=True))
        .distinct()
        .order_by("id")
    )
    return [a for a in agents if a.name in waiting]


def _offer_card(agent: Agent, lead: Lead, now: datetime) -> None:
    from agents.desktop.services import desk_card_offered

    desk_card_offered(agent=agent, lead=lead, now=now, expires_at=lead.reserved_until)


def offer_cards(
    campaign: Campaign,
    *,
    now: datetime,
    rules: DialRules,
    snapshots: list[dict[str, Any]],
    cycle_pass: int | None,
    personal_only: bool,
) -> int:
    """One card per free agent without one (Push Preview), or only agents' own callbacks."""
    offered = 0
    for agent in _free_agents(campaign, snapshots):
        lead = _reserve(
            campaign,
            agent,
            now=now,
            rules=rules,
            cycle_pass=cycle_pass,
            personal_only=personal_only,
        )
        if lead is not None:
            _offer_card(agent, lead, now)
            offered += 1
    return offered


def _plan_campaign(campaign: Campaign, *, now: datetime, facts: TickFacts) -> _Plan | TickResult:
    """How many calls the campaign should start now (cards are offered here), or why none."""
    snapshots = facts.snapshots
    rules = build_rules(campaign)
    sched = schedule_answer(rules, now)
    if not sched.open:
        when = (
            eligibility.local_time(sched.next_open, rules.account_zone)
            if sched.next_open
            else "not within a year"
        )
        return TickResult(campaign.pk, 0, f"Scheduled: outside the campaign schedule; opens {when}")
    if campaign.type == CampaignType.PREVIEW:
        return TickResult(campaign.pk, 0, "Preview: agents ask for records")
    live = livestate.queue_live(campaign.queue.name, snapshots)
    if not live.fresh:
        return TickResult(campaign.pk, 0, f"Paused: no dialer connected for queue {live.queue}")
    if live.members_waiting > 0:
        return TickResult(
            campaign.pk,
            0,
            f"Paused: {live.members_waiting} inbound customer(s) waiting in {live.queue}",
        )
    cycle_pass = _cycle_pass(campaign, now=now)
    if cycle_pass == -1:
        return TickResult(
            campaign.pk, 0, f"Dial cycles done: {campaign.dial_cycles} pass(es) in this window"
        )
    push = campaign.type == CampaignType.PUSH_PREVIEW
    cards = 0
    if live.agents_available > 0 and (push or campaign.pk in facts.personal_callbacks):
        cards = offer_cards(
            campaign,
            now=now,
            rules=rules,
            snapshots=snapshots,
            cycle_pass=cycle_pass,
            personal_only=not push,
        )
    if push:
        return TickResult(campaign.pk, cards, f"Push Preview: {cards} card(s) offered")
    if campaign.type == CampaignType.PREDICTIVE:
        from dialer.pacing.live import predictive_calls_to_place

        want, reason = predictive_calls_to_place(campaign, live=live, now=now)
    elif live.agents_available <= 0:
        want, reason = 0, "Progressive: no agent available"
    else:
        unconnected = facts.unconnected.get(campaign.queue_id, 0)
        want = live.agents_available - cards - unconnected
        reason = (
            f"Progressive: {live.agents_available} free agent(s), {unconnected} call(s) "
            "not yet with an agent"
        )
    want = max(0, min(want, BATCH_LIMIT))
    # Another campaign on the same queue, later in this tick, must not count these agents free.
    facts.unconnected[campaign.queue_id] = (
        facts.unconnected.get(campaign.queue_id, 0) + want + cards
    )
    return _Plan(
        campaign,
        want,
        rules,
        cycle_pass,
        callbacks_due=campaign.pk in facts.campaign_callbacks,
        reason=reason,
        cards=cards,
    )


def _result(plan: _Plan, calls: list[Call]) -> TickResult:
    if plan.cycle_pass is not None and len(calls) < plan.want:
        _close_pass_if_done(plan.campaign)
    reason = plan.reason
    if plan.want and not calls:
        reason += "; no lead is dialable now"
    return TickResult(plan.campaign.pk, len(calls) + plan.cards, reason)


def tick_campaign(
    campaign: Campaign,
    *,
    now: datetime,
    snapshots: list[dict[str, Any]] | None = None,
    facts: TickFacts | None = None,
) -> TickResult:
    """One tick of one running campaign: how many to dial now, and dial them."""
    if facts is None:
        facts = TickFacts.read(now=now, snapshots=snapshots)
    plan = _plan_campaign(campaign, now=now, facts=facts)
    if isinstance(plan, TickResult):
        return plan
    return _result(plan, _dial([plan], now=now).get(campaign.pk, []))


def _lock_key(campaign_id: int) -> str:
    return f"selector:lock:{campaign_id}"


def _acquire_locks(campaign_ids: list[int]) -> dict[int, str]:
    """Redis locks with expiry, all in one round trip: {campaign id: token} for those won."""
    if not campaign_ids:
        return {}
    tokens = {cid: secrets.token_hex(8) for cid in campaign_ids}
    pipe = redis_client().pipeline(transaction=False)
    for cid, token in tokens.items():
        pipe.set(_lock_key(cid), token, nx=True, px=_LOCK_MS)
    won = pipe.execute()
    return {cid: token for (cid, token), ok in zip(tokens.items(), won, strict=True) if ok}


def _release_locks(tokens: dict[int, str]) -> None:
    if not tokens:
        return
    pipe = redis_client().pipeline(transaction=False)
    for cid, token in tokens.items():
        pipe.eval(_RELEASE, 1, _lock_key(cid), token)
    pipe.execute()


@contextmanager
def campaign_lock(campaign_id: int) -> Iterator[bool]:
    """A tick never runs twice at once for one campaign (the lock run_tick takes)."""
    tokens = _acquire_locks([campaign_id])
    try:
        yield bool(tokens)
    finally:
        _release_locks(tokens)


_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""

STATUS_KEY = "selector:status:{}"


def run_tick(*, now: datetime) -> list[TickResult]:
    """Tick every running campaign (the Celery beat task's body): plan each one, then dial
    them all in one transaction."""
    global _session_fast_commit
    facts = TickFacts.read(now=now)
    running = list(
        Campaign.objects.filter(run_status=RunStatus.RUNNING)
        .select_related("queue")
        .prefetch_related("schedule_rows", "tz_slots")
    )
    tokens = _acquire_locks([c.pk for c in running])
    results: list[TickResult] = []
    plans: list[_Plan] = []
    postgres = connection.vendor == "postgresql"
    if postgres and not connection.in_atomic_block:
        with connection.cursor() as cur:
            cur.execute("SET synchronous_commit = off")  # see _fast_commit; reset below
        _session_fast_commit = True
    try:
        for campaign in running:
            if campaign.pk not in tokens:
                continue  # another tick has it
            try:
                plan = _plan_campaign(campaign, now=now, facts=facts)
            except Exception:
                log.exception("selector tick failed", extra={"campaign_id": campaign.pk})
                continue
            if isinstance(plan, TickResult):
                results.append(plan)
            else:
                plans.append(plan)
        try:
            dialed = _dial(plans, now=now)
        except Exception:
            log.exception("selection failed", extra={"campaigns": len(plans)})
            dialed = {}
        results.extend(_result(plan, dialed.get(plan.campaign.pk, [])) for plan in plans)
    finally:
        _release_locks(tokens)
        if _session_fast_commit:
            _session_fast_commit = False
            with connection.cursor() as cur:
                cur.execute("RESET synchronous_commit")
    pipe = redis_client().pipeline(transaction=False)
    for result in results:
        status = {"at": now.isoformat(), "placed": result.placed, "reason": result.reason}
        pipe.set(STATUS_KEY.format(result.campaign_id), json.dumps(status), ex=60)
    pipe.execute()
    return results


def dialing_status(campaign: Campaign) -> dict[str, Any] | None:
    """What the last tick did for the campaign (shown on the campaign pages)."""
    raw = redis_client().get(STATUS_KEY.format(campaign.pk))
    return json.loads(raw) if raw else None


# --- Start, stop and the reaper -------------------------------------------------------------


def campaign_started(campaign: Campaign, *, now: datetime) -> None:
    """Start: windows held under the old settings are looked at again; daemons dial again."""
    lifecycle.leads_release_window_holds(campaign, now=now)
    transaction.on_commit(lambda: _control({"action": "start", "campaign_id": campaign.pk}))


def campaign_stopped(campaign: Campaign, *, now: datetime) -> int:
    """Stop: dial requests not yet dialed are closed and their leads go back to retry; the
    daemons hang up the campaign's calls not yet with an agent (their leads retry too).
    Leads in cool-off keep their timers. Returns how many undialed requests were closed."""
    closed = 0
    with transaction.atomic():
        undialed = list(
            Call.objects.select_for_update(skip_locked=True)
            .filter(campaign=campaign, result=CallResult.PENDING, dialed_at=None)
            .exclude(node__gt="")  # a preview agent leg already ringing: the daemon ends it
            .values_list("uuid", flat=True)
        )
        for call_uuid in undialed:
            if call_services.call_finish(
                call_uuid=str(call_uuid),
                now=now,
                times=CallTimes(),
                hangup_cause="CAMPAIGN_STOPPED",
                cancelled=True,
            ):
                closed += 1
    transaction.on_commit(lambda: _control({"action": "stop", "campaign_id": campaign.pk}))
    return closed


def _control(command: dict[str, Any]) -> None:
    try:
        handoff.send_control(command)
    except Exception:
        log.exception("control command not sent", extra={"command": command})


def reap_stuck_requests(*, now: datetime) -> int:
    """Dial requests no dialer took (Redis lost them, or every daemon was down): their Calls
    are closed as lost and the leads go back to retry without spending an attempt."""
    cutoff = now - _reap_after()
    reaped = 0
    stale = Call.objects.filter(
        result=CallResult.PENDING, dialed_at=None, requested_at__lt=cutoff
    ).select_related("campaign")
    for call in stale[:1000]:
        # A preview call's agent leg may ring for the agent dial timeout before the dial.
        if call.node and call.requested_at > now - timedelta(
            seconds=call.campaign.agent_dial_timeout + 60
        ):
            continue
        with transaction.atomic():
            locked = (
                Call.objects.select_for_update(skip_locked=True)
                .filter(pk=call.pk, result=CallResult.PENDING, dialed_at=None)
                .first()
            )
            if locked is None:
                continue
            if call_services.call_lost(
                call_uuid=str(call.uuid), now=now, reason="REQUEST_NOT_TAKEN"
            ):
                reaped += 1
    if reaped:
        log.warning("stuck dial requests reaped", extra={"count": reaped})
    return reaped
