"""Report queries: lead status, campaign activity and the dashboard's figures.

Reads only. Every figure is computed by the database (grouped queries); Python only adds up the
grouped rows (campaign-by-hour buckets), never individual calls. Days and hours are the account
timezone's (settings.ACCOUNT_TIMEZONE); the database stores UTC.

Definitions the dashboard uses (docs/ARCHITECTURE.md repeats them):

* attempt: one Call row (one dial request).
* answered: a person picked up: ``answered_at`` is set, except a voicemail the dialer dropped
  before any agent (an answering machine is not a person waiting for an agent) — unless it is
  known to have been a person AMD took for a machine (``Call.amd_mistake``): then it is
  answered and abandoned, as the compliance ledger counts it.
* connected: the call reached an agent (``agent_answered_at`` is set).
* abandoned: answered, finished, and never reached an agent. Abandon rate = abandoned / answered.
* connect rate = connected / attempts.
* dialing hours: the hours (account timezone) in which at least one attempt was placed.
  Calls per hour = attempts / dialing hours.
* occupancy: agents' logged-in time is not recorded yet, so an agent's occupancy is their talk
  time over the report's dialing hours (the hours the campaigns were dialing, when a
  logged-in agent could be taking calls).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncHour

from agents.models import Agent
from campaigns.models import Campaign, CampaignType
from dialer.models import AmdMistake, Call, CallResult
from leads.models import STATES_OF_STATUS, STATUS_OF_STATE, Lead, LeadStatus


def account_zone() -> ZoneInfo:
    return ZoneInfo(settings.ACCOUNT_TIMEZONE)


def day_start(day: date, zone: ZoneInfo | None = None) -> datetime:
    """Midnight at the start of an account-timezone day, as a UTC instant."""
    return datetime.combine(day, time(), tzinfo=zone or account_zone()).astimezone(UTC)


# --- Filters shared by the activity list, its export and the dashboard ---------------------


@dataclass(frozen=True)
class CallFilters:
    """Which calls a report covers. Dates are account-timezone days, both ends included."""

    date_from: date | None = None
    date_to: date | None = None
    campaign_id: int | None = None
    agent_id: int | None = None
    result: str | None = None
    disposition_id: int | None = None


# A machine is no answer by a person: by its result, or by AMD's verdict when something else
# ended the call (a Stop hangs up on a machine as "cancelled").
ANSWERED = Q(answered_at__isnull=False) & ~(
    (Q(result=CallResult.VOICEMAIL) | Q(amd_result__iexact="MACHINE"))
    & Q(agent_answered_at__isnull=True)
    & ~Q(amd_mistake=AmdMistake.HUMAN_AS_MACHINE)
)
CONNECTED = Q(agent_answered_at__isnull=False)
ABANDONED = ANSWERED & Q(agent_answered_at__isnull=True) & ~Q(result=CallResult.PENDING)


def calls_matching(filters: CallFilters) -> QuerySet[Call]:
    calls = Call.objects.all()
    if filters.date_from is not None:
        calls = calls.filter(requested_at__gte=day_start(filters.date_from))
    if filters.date_to is not None:
        calls = calls.filter(requested_at__lt=day_start(filters.date_to + timedelta(days=1)))
    if filters.campaign_id is not None:
        calls = calls.filter(campaign_id=filters.campaign_id)
    if filters.agent_id is not None:
        calls = calls.filter(agent_id=filters.agent_id)
    if filters.result:
        calls = calls.filter(result=filters.result)
    if filters.disposition_id is not None:
        calls = calls.filter(disposition_id=filters.disposition_id)
    return calls


# --- Campaign activity: keyset pages on (requested_at, id), newest first --------------------


class InvalidCursor(ValueError):
    """A page link was edited or is from another version; start from the first page."""


@dataclass(frozen=True)
class Cursor:
    requested_at: datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.requested_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            when, _, pk = raw.partition("|")
            requested_at = datetime.fromisoformat(when)
            if requested_at.tzinfo is None:
                raise ValueError("naive time")
            return cls(requested_at=requested_at, id=int(pk))
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidCursor("This page link is not valid; showing the newest calls.") from exc


# Columns the activity list and export read; the lead's CRM data stays in the database.
ACTIVITY_ONLY = (
    "id",
    "uuid",
    "requested_at",
    "attempt",
    "number",
    "caller_id_number",
    "caller_id_name",
    "result",
    "hangup_cause",
    "amd_result",
    "agent_id",
    "agent_name",
    "agent_extension",
    "ring_seconds",
    "talk_seconds",
    "customer_wait_seconds",
    "customer_wait_sla_met",
    "agent_sla_met",
    "campaign__id",
    "campaign__name",
    "campaign__type",
    "lead__id",
    "lead__first_name",
    "lead__last_name",
    "disposition__id",
    "disposition__label",
)


@dataclass
class ActivityPage:
    calls: list[Call]
    next_cursor: str | None
    previous_cursor: str | None


def activity_rows(filters: CallFilters) -> QuerySet[Call]:
    """The calls of the activity report, newest first, with the columns the report shows."""
    return (
        calls_matching(filters)
        .select_related("campaign", "lead", "disposition")
        .only(*ACTIVITY_ONLY)
        .order_by("-requested_at", "-id")
    )


def activity_page(
    filters: CallFilters, *, after: str | None = None, before: str | None = None, size: int = 50
) -> ActivityPage:
    """One page of the activity report without counting the table.

    ``after``: the page of older calls following that cursor; ``before``: the page of newer calls
    preceding it. Raises InvalidCursor on a tampered cursor."""
    rows = activity_rows(filters)
    if before:
        c = Cursor.decode(before)
        # (requested_at, id) > cursor, written so the index range starts at the cursor.
        newer = (
            rows.filter(requested_at__gte=c.requested_at)
            .filter(Q(requested_at__gt=c.requested_at) | Q(id__gt=c.id))
            .order_by("requested_at", "id")
        )
        calls = list(newer[: size + 1])
        more_newer = len(calls) > size
        calls = list(reversed(calls[:size]))
        return ActivityPage(
            calls=calls,
            next_cursor=_cursor_of(calls[-1]) if calls else None,
            previous_cursor=_cursor_of(calls[0]) if calls and more_newer else None,
        )
    if after:
        c = Cursor.decode(after)
        rows = rows.filter(requested_at__lte=c.requested_at).filter(
            Q(requested_at__lt=c.requested_at) | Q(id__lt=c.id)
        )
    calls = list(rows[: size + 1])
    more_older = len(calls) > size
    calls = calls[:size]
    return ActivityPage(
        calls=calls,
        next_cursor=_cursor_of(calls[-1]) if calls and more_older else None,
        previous_cursor=_cursor_of(calls[0]) if calls and after else None,
    )


def _cursor_of(call: Call) -> str:
    return Cursor(requested_at=call.requested_at, id=call.pk).encode()


# --- Leads Status ---------------------------------------------------------------------------


@dataclass
class StatusCounts:
    campaign_id: int | None
    campaign_name: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def ordered(self) -> list[tuple[str, str, int]]:
        """(status value, label, count) in the spec's order."""
        return [(s.value, s.label, self.counts[s.value]) for s in LeadStatus]


def lead_status_counts(
    campaigns: Iterable[Campaign] | None = None,
) -> tuple[list[StatusCounts], StatusCounts]:
    """Leads per spec status for each campaign (zeros included) and for all of them."""
    chosen = list(campaigns) if campaigns is not None else list(Campaign.objects.order_by("name"))
    rows = (
        Lead.objects.filter(campaign__in=[c.pk for c in chosen])
        .values_list("campaign_id", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    per: dict[int, dict[str, int]] = {c.pk: dict.fromkeys(LeadStatus.values, 0) for c in chosen}
    overall = StatusCounts(None, "All campaigns", dict.fromkeys(LeadStatus.values, 0))
    for campaign_id, state, n in rows:
        status = STATUS_OF_STATE[state]
        per[campaign_id][status] += n
        overall.counts[status] += n
    return [StatusCounts(c.pk, c.name, per[c.pk]) for c in chosen], overall


@dataclass(frozen=True)
class LeadFilters:
    campaign_id: int | None = None
    status: str | None = None
    number: str = ""
    name: str = ""


LEAD_LIST_ONLY = (
    "id",
    "campaign_id",
    "campaign__name",
    "number",
    "first_name",
    "last_name",
    "state",
    "attempts",
    "next_dial_at",
    "last_result",
    "last_dialed_at",
    "not_dialable_reason",
    "timezone",
)


def leads_matching(filters: LeadFilters) -> QuerySet[Lead]:
    """Leads by campaign, spec status, part of the number and part of the name, by id."""
    leads = Lead.objects.select_related("campaign").only(*LEAD_LIST_ONLY).order_by("id")
    if filters.campaign_id is not None:
        leads = leads.filter(campaign_id=filters.campaign_id)
    if filters.status:
        leads = leads.filter(state__in=STATES_OF_STATUS[filters.status])
    digits = "".join(ch for ch in filters.number if ch.isdigit())
    if digits:
        leads = leads.filter(number__contains=digits)
    for word in filters.name.split():
        leads = leads.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word))
    return leads


def lead_page(filters: LeadFilters, *, after_id: int | None = None, size: int = 50) -> list[Lead]:
    """Up to ``size + 1`` leads after ``after_id`` (the extra one tells there is a next page)."""
    leads = leads_matching(filters)
    if after_id is not None:
        leads = leads.filter(id__gt=after_id)
    return list(leads[: size + 1])


# --- Dashboard ------------------------------------------------------------------------------


@dataclass
class Totals:
    """Additive figures (counts and sums) of a set of calls; rates and averages derive."""

    attempts: int = 0
    answered: int = 0
    connected: int = 0
    abandoned: int = 0
    voicemail: int = 0
    ring_sum: float = 0.0
    ring_n: int = 0
    wait_sum: float = 0.0
    wait_n: int = 0
    talk_sum: float = 0.0
    talk_n: int = 0
    wait_sla_ok: int = 0
    wait_sla_n: int = 0
    agent_sla_ok: int = 0
    agent_sla_n: int = 0
    dialing_hours: int = 0

    def add(self, other: Totals) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @staticmethod
    def _ratio(part: float, whole: float) -> float | None:
        return part / whole if whole else None

    @property
    def connect_rate(self) -> float | None:
        return self._ratio(self.connected, self.attempts)

    @property
    def answer_rate(self) -> float | None:
        return self._ratio(self.answered, self.attempts)

    @property
    def abandon_rate(self) -> float | None:
        return self._ratio(self.abandoned, self.answered)

    @property
    def avg_ring(self) -> float | None:
        return self._ratio(self.ring_sum, self.ring_n)

    @property
    def avg_wait(self) -> float | None:
        return self._ratio(self.wait_sum, self.wait_n)

    @property
    def avg_talk(self) -> float | None:
        return self._ratio(self.talk_sum, self.talk_n)

    @property
    def wait_sla_rate(self) -> float | None:
        return self._ratio(self.wait_sla_ok, self.wait_sla_n)

    @property
    def agent_sla_rate(self) -> float | None:
        return self._ratio(self.agent_sla_ok, self.agent_sla_n)

    @property
    def calls_per_hour(self) -> float | None:
        return self._ratio(self.attempts, self.dialing_hours)


_PROGRESSIVE = Q(campaign__type=CampaignType.PROGRESSIVE)


def _totals_aggregates() -> dict[str, Count | Sum]:
    return {
        "attempts": Count("id"),
        "answered": Count("id", filter=ANSWERED),
        "connected": Count("id", filter=CONNECTED),
        "abandoned": Count("id", filter=ABANDONED),
        "voicemail": Count("id", filter=Q(result=CallResult.VOICEMAIL)),
        "ring_sum": Sum("ring_seconds"),
        "ring_n": Count("ring_seconds"),
        "wait_sum": Sum("customer_wait_seconds"),
        "wait_n": Count("customer_wait_seconds"),
        "talk_sum": Sum("talk_seconds", filter=CONNECTED),
        "talk_n": Count("talk_seconds", filter=CONNECTED),
        # The SLA figures are Progressive's (the page says so); Predictive calls carry the
        # flags too.
        "wait_sla_ok": Count("id", filter=_PROGRESSIVE & Q(customer_wait_sla_met=True)),
        "wait_sla_n": Count("customer_wait_sla_met", filter=_PROGRESSIVE),
        "agent_sla_ok": Count("id", filter=_PROGRESSIVE & Q(agent_sla_met=True)),
        "agent_sla_n": Count("agent_sla_met", filter=_PROGRESSIVE),
    }


_TOTALS_COLUMNS = tuple(_totals_aggregates())


@dataclass
class HourBucket:
    start: datetime  # aware, in the account timezone
    totals: Totals


@dataclass
class CampaignFigures:
    campaign_id: int
    campaign_name: str
    campaign_type: str
    totals: Totals


@dataclass
class AgentFigures:
    agent_id: int
    name: str
    extension: str
    calls: int
    connected: int
    talk_seconds: float
    occupancy: float | None

    @property
    def avg_talk(self) -> float | None:
        return self.talk_seconds / self.connected if self.connected else None


@dataclass
class Dashboard:
    overall: Totals
    campaigns: list[CampaignFigures]
    agents: list[AgentFigures]
    hours: list[HourBucket] = field(default_factory=list)

    @property
    def has_progressive(self) -> bool:
        return any(c.campaign_type == "progressive" for c in self.campaigns)


def whole_hour_offsets(zone: ZoneInfo, around: datetime) -> bool:
    """Whether the zone is a whole number of hours from UTC in winter and summer.

    Then an hour of the account's clock is exactly one UTC hour, and grouping by UTC hour
    spares the database a timezone conversion per call (about a third of the dashboard's
    time over a million calls)."""
    year = around.year
    return all(
        (offset := datetime(year, month, 1, tzinfo=zone).utcoffset()) is not None
        and offset.total_seconds() % 3600 == 0
        for month in (1, 7)
    )


def dashboard(filters: CallFilters) -> Dashboard:
    """The dashboard's figures in two grouped queries: by (campaign, hour) and by agent."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # JIT-compiling the two scans costs more than it saves (35 ms quiet, over 100 ms on
            # a loaded machine, for ~250 ms of scanning a million calls).
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        return _dashboard(filters)


def _dialing_hours(filters: CallFilters, bucket_zone: tzinfo, counted: int) -> int:
    """Hours the campaigns were dialing, whoever took the calls: an agent's occupancy is over
    these, not over the hours of the calls an agent, result or disposition filter keeps."""
    if filters.agent_id is None and filters.result is None and filters.disposition_id is None:
        return counted
    every = calls_matching(replace(filters, agent_id=None, result=None, disposition_id=None))
    return (
        every.annotate(hour=TruncHour("requested_at", tzinfo=bucket_zone))
        .values("hour")
        .distinct()
        .count()
    )


def _dashboard(filters: CallFilters) -> Dashboard:
    zone = account_zone()
    calls = calls_matching(filters)
    # The migration dialer/0002_reports_indexes gives PostgreSQL statistics on the UTC hour,
    # so it sees ~24 groups per campaign-day (not a million) and aggregates in parallel.
    bucket_zone = UTC if whole_hour_offsets(zone, datetime.now(UTC)) else zone
    by_campaign_hour = (
        calls.annotate(hour=TruncHour("requested_at", tzinfo=bucket_zone))
        .values("campaign_id", "hour")
        .annotate(**_totals_aggregates())
        .order_by()
        .values_list("campaign_id", "hour", *_TOTALS_COLUMNS)
    )
    # Sums per campaign and per hour as plain lists (a few thousand grouped rows).
    width = len(_TOTALS_COLUMNS)
    hour_sums: dict[datetime, list[float]] = {}
    campaign_sums: dict[int, list[float]] = {}
    campaign_hours: dict[int, int] = {}
    for campaign_id, hour, *values in by_campaign_hour:
        for sums in (
            hour_sums.setdefault(hour, [0] * width),
            campaign_sums.setdefault(campaign_id, [0] * width),
        ):
            for i, value in enumerate(values):
                if value:
                    sums[i] += value
        campaign_hours[campaign_id] = campaign_hours.get(campaign_id, 0) + 1

    def totals(sums: list[float], dialing_hours: int) -> Totals:
        return Totals(**dict(zip(_TOTALS_COLUMNS, sums, strict=True)), dialing_hours=dialing_hours)  # type: ignore[arg-type]

    hours = {hour: totals(sums, 1) for hour, sums in hour_sums.items()}
    per_campaign = {pk: totals(sums, campaign_hours[pk]) for pk, sums in campaign_sums.items()}
    overall = Totals()
    for bucket in hours.values():
        overall.add(bucket)

    names = {
        c.pk: (c.name, c.type)
        for c in Campaign.objects.filter(pk__in=per_campaign).only("id", "name", "type")
    }
    campaigns = sorted(
        (
            CampaignFigures(pk, names[pk][0], names[pk][1], totals)
            for pk, totals in per_campaign.items()
        ),
        key=lambda c: c.campaign_name.lower(),
    )

    seconds_dialing = _dialing_hours(filters, bucket_zone, overall.dialing_hours) * 3600
    # Names come from the agents table: a MAX() over the snapshot text costs a collation
    # comparison per call.
    by_agent = (
        calls.filter(agent_id__isnull=False)
        .values("agent_id")
        .annotate(
            calls=Count("id"),
            connected=Count("id", filter=CONNECTED),
            talk=Sum("talk_seconds", filter=CONNECTED),
        )
        .order_by()
    )
    rows = list(by_agent)
    people = {
        a.pk: (a.display_name, a.extension)
        for a in Agent.objects.filter(pk__in=[r["agent_id"] for r in rows]).select_related("user")
    }
    agents = sorted(
        (
            AgentFigures(
                agent_id=row["agent_id"],
                name=people.get(row["agent_id"], (f"Agent {row['agent_id']}", ""))[0],
                extension=people.get(row["agent_id"], ("", ""))[1],
                calls=row["calls"],
                connected=row["connected"],
                talk_seconds=row["talk"] or 0.0,
                occupancy=(row["talk"] or 0.0) / seconds_dialing if seconds_dialing else None,
            )
            for row in rows
        ),
        key=lambda a: (-a.talk_seconds, a.name.lower()),
    )
    return Dashboard(
        overall=overall,
        campaigns=campaigns,
        agents=agents,
        hours=[
            HourBucket(start=start.astimezone(zone), totals=hours[start]) for start in sorted(hours)
        ],
    )
