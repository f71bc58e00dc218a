"""The live seam between the lead selector and the pacing policy (the impure adapter).

The selector calls ``predictive_calls_to_place`` every tick for each running Predictive
campaign. It builds a ``PacingSnapshot`` from what is true now — the agents of the campaign's
queue as the dialer daemons publish them (``dialer.livestate.node_snapshots``), the campaign's
calls in progress and its measured history (``dialer.models.Call``), the compliance ledger
(``dialer.compliance``) — and asks ``dialer.pacing.decide``, unchanged. Each decision is kept
in Redis (the latest, and a bounded sample for the campaign page).
"""

from __future__ import annotations

import datetime
import json
import logging
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import BooleanField, ExpressionWrapper, FloatField, Func, Max, Q
from django.db.models.functions import Coalesce

from agents.models import AgentDesk, DeskCallState, Tier
from dialer import compliance, livestate
from dialer.models import Call, CallResult
from dialer.pacing.policy import (
    AgentSnapshot,
    AgentState,
    CallSnapshot,
    CallState,
    PacingConfig,
    PacingDecision,
    PacingSnapshot,
    decide,
)
from dialer.pacing.stats import DialOutcomeStats, RingModel, TalkTimeModel, TalkTimeStats
from dialer.redisconn import redis_client

if TYPE_CHECKING:
    from campaigns.models import Campaign
    from dialer.livestate import QueueLive

log = logging.getLogger(__name__)

AVAILABLE = ("Available", "Available (On Demand)")
ON_BREAK = "On Break"
IN_CALL = ("In a queue call", "Receiving")
RING_HISTORY = 3000  # resolved dials behind the ring profile (the estimator's memory)
TALK_HISTORY = 300
HISTORY_LEN = 360  # kept decisions per campaign: one an hour at one every 10 s
HISTORY_EVERY = 10.0


def pacing_config(campaign: Campaign) -> PacingConfig:
    """The one configuration, scaled to the campaign's own cap and limits."""
    cap = compliance.cap_of(campaign)
    base = PacingConfig()
    return PacingConfig(
        abandon_cap=cap,
        target_abandon_rate=cap * base.target_abandon_rate / base.abandon_cap,
        max_lines_per_agent=float(campaign.max_lines_per_agent),
        max_calls_per_second=max(1, int(settings.DIALER_CALLS_PER_SECOND)),
        drop_wait_seconds=float(campaign.drop_seconds),
    )


class _Epoch(Func):
    """Seconds since 1970 of a datetime, as a float: 3,000 rows a tick are read as numbers, not
    parsed as dates (which was most of the read)."""

    output_field = FloatField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)::float8", **extra
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
            **extra,
        )


def measured_models(
    campaign: Campaign, *, now: datetime.datetime
) -> tuple[RingModel | None, TalkTimeModel | None]:
    """Ring profile and talk time measured on the campaign's recent finished calls.

    Read again every tick: the answer rate follows the last 150 dials and switches to them
    when they move, and the warm-up ends on the 30th dial outcome; a model held even 10 s
    paces on an answer rate that has moved, or keeps a team of 100 dialing progressive."""
    # A dial's outcome is known once it is answered or over. A live answer still queued or
    # talking counts already: left out until it hangs up, the answer rate would read low by
    # about one live answer per busy agent (more lines, more drops on a big team).
    rows = (
        Call.objects.filter(campaign=campaign, dialed_at__isnull=False)
        .filter(Q(hangup_at__isnull=False) | Q(answered_at__isnull=False))
        .exclude(result__in=(CallResult.CANCELLED, CallResult.SKIPPED, CallResult.FAILED))
        .order_by("-dialed_at")
        .annotate(
            dialed=_Epoch("dialed_at"),
            known=_Epoch(Coalesce("answered_at", "hangup_at")),
            live=ExpressionWrapper(
                Q(answered_at__isnull=False) & compliance.LIVE_ANSWER,
                output_field=BooleanField(),
            ),
        )
        .values_list("dialed", "known", "live")
    )[:RING_HISTORY]
    # In the order the outcomes became known, as the estimator's recent-dials memory expects
    # (by dial time, the newest quick outcomes would come in ahead of their unanswered peers).
    outcomes = sorted(rows, key=lambda row: row[1])
    dials = DialOutcomeStats()
    for dialed, known, live in outcomes:
        dials.record(max(0.0, known - dialed), live)
    # The calls that ended last, not those that started last: of the calls started lately,
    # the long ones are still going, so those that ended are the short ones.
    talk = TalkTimeStats()
    talks = (
        Call.objects.filter(
            campaign=campaign,
            talk_seconds__gt=0,
            agent_answered_at__isnull=False,
            hangup_at__isnull=False,
        )
        .order_by("-hangup_at")
        .values_list("talk_seconds", flat=True)
    )[:TALK_HISTORY]
    for seconds in reversed(list(talks)):
        if seconds is not None:
            talk.record(float(seconds))
    return dials.model(), talk.model()


def _agents(
    campaign: Campaign, snapshots: list[dict[str, Any]], *, now: datetime.datetime
) -> tuple[AgentSnapshot, ...] | None:
    """The queue's agents as the daemons see them; None when no daemon lists them."""
    names = set(Tier.objects.filter(queue=campaign.queue).values_list("agent__name", flat=True))
    seen: dict[str, dict[str, Any]] = {}
    for snap in snapshots:
        for name, agent in (snap.get("agents") or {}).items():
            if name in names:
                seen[name] = agent
    if not seen:
        return None
    t = now.timestamp()
    wrap = float(campaign.queue.wrap_up_time)
    talk_start = dict(
        Call.objects.filter(
            agent_name__in=seen, result=CallResult.PENDING, agent_answered_at__isnull=False
        ).values_list("agent_name", "agent_answered_at")
    )
    last_hangup = dict(
        Call.objects.filter(
            agent_name__in=seen, hangup_at__gt=now - datetime.timedelta(seconds=wrap)
        )
        .values("agent_name")
        .annotate(last=Max("hangup_at"))
        .values_list("agent_name", "last")
    )
    # The desktop puts an agent On Break at hang-up until the call has its disposition, and
    # back to Ready when it has one and the wrap-up time is over: within that time the agent
    # is wrapping up, not on a break. Past it (no disposition yet) they stay on break.
    wrapping_up = dict(
        AgentDesk.objects.filter(
            agent__name__in=seen,
            call_state=DeskCallState.WRAP_UP,
            ready_after_wrap_up=True,
            logout_requested_at__isnull=True,
            wrap_up_until__gt=now,
        ).values_list("agent__name", "wrap_up_until")
    )
    out = []
    for name, agent in seen.items():
        status, state = agent.get("status", ""), agent.get("state", "")
        if status == ON_BREAK and (until := wrapping_up.get(name)) is not None:
            end = until.timestamp()
            out.append(AgentSnapshot(AgentState.WRAPUP, end - wrap, end))
        elif status == ON_BREAK or state == "Idle":  # mod_callcenter offers Idle agents nothing
            out.append(AgentSnapshot(AgentState.BREAK, t))
        elif status not in AVAILABLE:
            continue  # logged out: not part of the campaign now
        elif state in IN_CALL:
            started = talk_start.get(name)
            out.append(AgentSnapshot(AgentState.TALKING, started.timestamp() if started else t))
        elif (ended := last_hangup.get(name)) is not None:
            end = ended.timestamp() + wrap
            out.append(AgentSnapshot(AgentState.WRAPUP, ended.timestamp(), end))
        else:
            out.append(AgentSnapshot(AgentState.IDLE, t))
    return tuple(out)


def _calls(campaign: Campaign, *, now: datetime.datetime) -> tuple[CallSnapshot, ...]:
    """The campaign's calls not yet with an agent: ringing, or answered and waiting.

    A line requested but not dialed yet (held by the dialer at its calls-per-second or
    concurrency cap) counts as placed this instant: its ring has not started.
    """
    out = []
    rows = Call.objects.filter(
        campaign=campaign, result=CallResult.PENDING, agent_answered_at__isnull=True
    ).values_list("dialed_at", "answered_at", "amd_result")
    t = now.timestamp()
    for dialed, answered, amd in rows:
        if answered is None:
            out.append(CallSnapshot(CallState.RINGING, dialed.timestamp() if dialed else t))
        elif amd.upper() != "MACHINE":
            out.append(CallSnapshot(CallState.WAITING, answered.timestamp()))
    return tuple(out)


def build_snapshot(
    campaign: Campaign, *, live: QueueLive, now: datetime.datetime,
    snapshots: list[dict[str, Any]] | None = None,
) -> PacingSnapshot:  # fmt: skip
    if snapshots is None:
        snapshots = livestate.node_snapshots()
    t = now.timestamp()
    agents = _agents(campaign, snapshots, now=now)
    if agents is None:  # no per-agent view: the queue's counts (available agents idle)
        agents = tuple(AgentSnapshot(AgentState.IDLE, t) for _ in range(live.agents_available))
    ring, talk = measured_models(campaign, now=now)
    return PacingSnapshot(
        now=t,
        agents=agents,
        calls=_calls(campaign, now=now),
        ring=ring,
        talk_time=talk,
        wrapup_seconds=float(campaign.queue.wrap_up_time),
        abandons=compliance.campaign_window_rate(campaign, now=now),
        dials_last_second=Call.objects.filter(
            campaign=campaign, requested_at__gt=now - datetime.timedelta(seconds=1)
        ).count(),
    )


def _keep(
    campaign_id: int, decision: PacingDecision, now: float, answer_rate: float | None = None
) -> None:
    """The latest decision, and one every HISTORY_EVERY seconds of ``now``, bounded."""
    data = json.dumps({"at": now, "answer_rate": answer_rate, **asdict(decision)})
    client = redis_client()
    history = f"pacing:history:{campaign_id}"
    sampled = f"pacing:sampled:{campaign_id}"
    pipe = client.pipeline()
    pipe.set(f"pacing:decision:{campaign_id}", data, ex=3600)
    pipe.get(sampled)
    _, last = pipe.execute()
    if last is None or now - float(last) >= HISTORY_EVERY or now < float(last):
        pipe = client.pipeline()
        pipe.set(sampled, repr(now), ex=86_400)
        pipe.lpush(history, data)
        pipe.ltrim(history, 0, HISTORY_LEN - 1)
        pipe.expire(history, 86_400)
        pipe.execute()


def latest_decision(campaign_id: int) -> dict[str, Any] | None:
    raw = redis_client().get(f"pacing:decision:{campaign_id}")
    return json.loads(raw) if raw else None


def decision_history(campaign_id: int, limit: int = HISTORY_LEN) -> list[dict[str, Any]]:
    return [
        json.loads(x) for x in redis_client().lrange(f"pacing:history:{campaign_id}", 0, limit - 1)
    ]


def predictive_calls_to_place(
    campaign: Campaign, *, live: QueueLive, now: datetime.datetime
) -> tuple[int, str]:
    """How many new calls to place now for a Predictive campaign, and why."""
    if not live.fresh:
        return 0, f"Paused: no dialer connected for queue {live.queue}."
    snapshot = build_snapshot(campaign, live=live, now=now)
    decision = decide(snapshot, pacing_config(campaign))
    answer_rate = snapshot.ring.live_probability if snapshot.ring is not None else None
    try:
        _keep(campaign.pk, decision, now.timestamp(), answer_rate)
    except Exception:  # explaining must never stop dialing
        log.exception("pacing decision not kept", extra={"campaign_id": campaign.pk})
    return decision.calls_to_place, decision.reason
