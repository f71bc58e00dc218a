"""Compliance ledger of a campaign: live answers and abandons over its rolling window.

Read from the Call rows (one per attempt), nothing stored twice:

* live answer: a call answered by a person (``answered_at`` set, AMD did not say machine);
  a machine that an agent took counts too (a person was on the line after all);
* abandon: a live answer with no agent within the campaign's drop time (2 s by default) —
  the customer hung up first, or the dialer dropped the call with the safe-harbor message.
  A live answer still waiting for its drop time is not counted yet.
* AMD mistakes (``Call.amd_mistake``, recorded by ``dialer.calls.call_record_amd_mistake``):
  a person taken for a machine is a live answer, and an abandon when the dialer hung up on
  them (no agent within the drop time); a machine taken for a person — an agent reached
  voicemail — is no live answer, so neither counted nor abandoned.

Window: 30 days (US, FTC TSR / FCC) or 24 hours (UK, Ofcom) ending at ``now``; an answer
exactly one window old has dropped out (the same rule as ``dialer.pacing.ledger``).
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import BooleanField, Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.utils.text import slugify

from campaigns.models import AbandonWindow, Campaign, DropRule
from dialer.models import AmdMistake, Call
from dialer.pacing.ledger import UK_WINDOW, US_WINDOW, WindowRate

WINDOWS = {AbandonWindow.DAYS_30.value: US_WINDOW, AbandonWindow.HOURS_24.value: UK_WINDOW}


def window_seconds(campaign: Campaign, window: str | None = None) -> float:
    return WINDOWS.get(window or campaign.abandon_window, US_WINDOW)


def chosen_window(campaign: Campaign, window: str | None) -> str:
    """The window a caller asked for (30d or 24h), else the campaign's own."""
    return window if window in WINDOWS else campaign.abandon_window


def window_start(
    campaign: Campaign, now: datetime.datetime, window: str | None = None
) -> datetime.datetime:
    return now - datetime.timedelta(seconds=window_seconds(campaign, window))


def drop_hold_seconds(campaign: Campaign) -> int:
    """How long a dropped lead waits before it is dialed again (the campaign's drop rule)."""
    if campaign.drop_rule == DropRule.NO_REPEAT_72H:
        return 72 * 3600
    return campaign.drop_retry_minutes * 60


def cap_of(campaign: Campaign) -> float:
    return float(campaign.abandon_cap) / 100.0


def _answered(
    campaign: Campaign, start: datetime.datetime, now: datetime.datetime
) -> QuerySet[Call]:
    return Call.objects.filter(campaign=campaign, answered_at__gt=start, answered_at__lte=now)


def _live_answers(
    campaign: Campaign, start: datetime.datetime, now: datetime.datetime
) -> QuerySet[Call]:
    return _counted(_answered(campaign, start, now))


# A live answer (among answered calls), as the ledger counts it: a person picked up. AMD
# mistakes found later correct AMD's verdict; pacing's answer rate uses the same rule.
LIVE_ANSWER = ~(
    Q(amd_result__iexact="MACHINE")
    & Q(agent_answered_at__isnull=True)
    & ~Q(amd_mistake=AmdMistake.HUMAN_AS_MACHINE)
) & ~Q(amd_mistake=AmdMistake.MACHINE_AS_HUMAN)


_AGENT_DELAY = ExpressionWrapper(
    F("agent_answered_at") - F("answered_at"), output_field=DurationField()
)


def _counted(calls: QuerySet[Call]) -> QuerySet[Call]:
    """The calls among ``calls`` that are live answers, with their agent delay."""
    return calls.filter(LIVE_ANSWER).annotate(agent_delay=_AGENT_DELAY)


def _abandon_q(campaign: Campaign, now: datetime.datetime) -> Q:
    drop = datetime.timedelta(seconds=campaign.drop_seconds)
    never = Q(agent_answered_at__isnull=True) & (
        Q(hangup_at__isnull=False) | Q(answered_at__lte=now - drop)
    )
    return never | Q(agent_delay__gt=drop)


_HUMAN_AS_MACHINE = Q(amd_mistake=AmdMistake.HUMAN_AS_MACHINE)
_MACHINE_AS_HUMAN = Q(amd_mistake=AmdMistake.MACHINE_AS_HUMAN)


def _ledger_counts(live: Q, abandon: Q) -> dict[str, Count]:
    """live, abandons, and amd_abandons (abandons of people AMD took for machines) among the
    calls matching ``live``; the calls need their ``agent_delay`` annotated."""
    return {
        "live": Count("id", filter=live),
        "abandons": Count("id", filter=live & abandon),
        "amd_abandons": Count("id", filter=live & abandon & _HUMAN_AS_MACHINE),
    }


def call_is_abandon(call: Call, *, now: datetime.datetime) -> bool:
    """Whether the ledger counts ``call`` as an abandon (the same rule as the window counts)."""
    return _counted(Call.objects.filter(pk=call.pk)).filter(_abandon_q(call.campaign, now)).exists()


def _counts(campaign: Campaign, start: datetime.datetime, now: datetime.datetime) -> dict[str, int]:
    return (
        _answered(campaign, start, now)
        .annotate(agent_delay=_AGENT_DELAY)
        .aggregate(**_ledger_counts(LIVE_ANSWER, _abandon_q(campaign, now)))
    )


def _machines_excluded(campaign: Campaign, start: datetime.datetime, now: datetime.datetime) -> int:
    """Answers in the window left out because an agent found a machine AMD passed."""
    return _answered(campaign, start, now).filter(_MACHINE_AS_HUMAN).count()


def campaign_window_rate(
    campaign: Campaign, *, now: datetime.datetime, window: str | None = None
) -> WindowRate:
    """Live answers and abandons over the campaign's window (or ``window``) ending at ``now``."""
    start = window_start(campaign, now, window)
    counts = _counts(campaign, start, now)
    return WindowRate(counts["live"], counts["abandons"], start.timestamp(), now.timestamp())


@dataclass(frozen=True)
class LedgerSummary:
    window: WindowRate
    today: WindowRate
    cap: float
    window_label: str
    # AMD mistakes inside the window: people hung up on as machines (among the abandons), and
    # machines an agent reached that are left out of the live answers.
    amd_abandons: int = 0
    machines_excluded: int = 0

    @property
    def standing(self) -> str:
        """The window against the cap, as a compliance officer reads it (the cap is "at most")."""
        if not self.window.live_answers:
            return "No live answers yet"
        return "Over the cap" if self.window.rate > self.cap else "Within the cap"


def campaign_ledger_summary(
    campaign: Campaign,
    *,
    now: datetime.datetime,
    day_start: datetime.datetime,
    window: str | None = None,
) -> LedgerSummary:
    """The window rate (the campaign's, or ``window``) and today's (from ``day_start``, the
    account-timezone midnight), counted in one query: the compliance page lists every campaign."""
    chosen = chosen_window(campaign, window)
    start = window_start(campaign, now, chosen)
    abandon = _abandon_q(campaign, now)
    in_window = Q(answered_at__gt=start)
    today = LIVE_ANSWER & Q(answered_at__gt=day_start)
    counts = (
        _answered(campaign, min(start, day_start), now)
        .annotate(agent_delay=_AGENT_DELAY)
        .aggregate(
            **_ledger_counts(LIVE_ANSWER & in_window, abandon),
            today_live=Count("id", filter=today),
            today_abandons=Count("id", filter=today & abandon),
            machines_excluded=Count("id", filter=in_window & _MACHINE_AS_HUMAN),
        )
    )
    return LedgerSummary(
        WindowRate(counts["live"], counts["abandons"], start.timestamp(), now.timestamp()),
        WindowRate(
            counts["today_live"], counts["today_abandons"], day_start.timestamp(), now.timestamp()
        ),
        cap_of(campaign),
        AbandonWindow(chosen).label,
        counts["amd_abandons"],
        counts["machines_excluded"],
    )


CSV_HEADER = [
    "call_uuid",
    "lead_id",
    "number",
    "answered_at",
    "agent_answered_at",
    "seconds_to_agent",
    "abandoned",
    "amd_result",
    "result",
    "amd_mistake",
    "counted_because",
]


def counted_because(
    *,
    abandoned: bool,
    amd_mistake: str,
    seconds_to_agent: float | None,
    drop_seconds: int,
) -> str:
    """Why one ledger row counts, in words (pure): the CSV's last column."""
    person_as_machine = amd_mistake == AmdMistake.HUMAN_AS_MACHINE
    if abandoned:
        if person_as_machine and seconds_to_agent is None:
            return "abandon: AMD took a person for a machine and the dialer hung up"
        if seconds_to_agent is None:
            return f"abandon: no agent within {drop_seconds} s"
        return f"abandon: agent after {seconds_to_agent:.1f} s (over {drop_seconds} s)"
    if seconds_to_agent is None:
        return f"live answer: waiting for an agent (under {drop_seconds} s so far)"
    if person_as_machine:
        return f"live answer: agent within {drop_seconds} s (AMD had said machine)"
    return f"live answer: agent within {drop_seconds} s"


def ledger_csv_rows(
    campaign: Campaign, *, now: datetime.datetime, window: str | None = None
) -> Iterator[list[str]]:
    """The proof: every live answer of the window, one line each with why it counts, then
    the totals (AMD mistakes included)."""
    start = window_start(campaign, now, window)
    rows = (
        _live_answers(campaign, start, now)
        .annotate(
            is_abandon=ExpressionWrapper(_abandon_q(campaign, now), output_field=BooleanField())
        )
        .order_by("answered_at", "id")
        .values_list(
            "uuid",
            "lead_id",
            "number",
            "answered_at",
            "agent_answered_at",
            "agent_delay",
            "is_abandon",
            "amd_result",
            "result",
            "amd_mistake",
        )
    )
    yield CSV_HEADER
    live = abandons = amd_abandons = 0
    for (
        uuid,
        lead_id,
        number,
        answered,
        agent_at,
        delay,
        is_abandon,
        amd,
        result,
        mistake,
    ) in rows.iterator(chunk_size=2000):
        live += 1
        abandons += bool(is_abandon)
        amd_abandons += bool(is_abandon) and mistake == AmdMistake.HUMAN_AS_MACHINE
        seconds = delay.total_seconds() if delay is not None else None
        yield [
            str(uuid),
            str(lead_id),
            number,
            answered.isoformat() if answered else "",
            agent_at.isoformat() if agent_at else "",
            f"{seconds:.1f}" if seconds is not None else "",
            "yes" if is_abandon else "no",
            amd,
            result,
            mistake,
            counted_because(
                abandoned=bool(is_abandon),
                amd_mistake=mistake,
                seconds_to_agent=seconds,
                drop_seconds=campaign.drop_seconds,
            ),
        ]
    rate = abandons / live if live else 0.0
    yield []
    yield ["window_start", start.isoformat(), "window_end", now.isoformat()]
    yield [
        "amd_mistakes",
        "people_hung_up_on_as_machines",
        str(amd_abandons),
        "machines_reached_by_agents_not_counted",
        str(_machines_excluded(campaign, start, now)),
    ]
    yield ["live_answers", str(live), "abandons", str(abandons), "abandon_rate", f"{rate:.4%}"]
    yield [
        "cap",
        f"{cap_of(campaign):.2%}",
        "within_cap",
        "yes" if rate <= cap_of(campaign) else "no",
    ]


def ledger_filename(campaign: Campaign, *, window: str, now: datetime.datetime) -> str:
    return f"{slugify(campaign.name) or 'campaign'}-abandon-ledger-{window}-{now:%Y%m%d-%H%M}.csv"


class _Echo:
    def write(self, value: str) -> str:
        return value


def ledger_csv_lines(
    campaign: Campaign, *, now: datetime.datetime, window: str | None = None
) -> Iterator[str]:
    writer = csv.writer(_Echo())
    for row in ledger_csv_rows(campaign, now=now, window=window):
        yield writer.writerow(row)
