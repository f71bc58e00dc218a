"""When a lead may be dialed: pure rules over plain data (no queries, no clock reads).

Every rule is a set of wall-clock windows in a timezone: the campaign schedule rows in the
account timezone; Dial By Timezone, Dial by Schedule by Timezone and the legal calling hours
in each timezone the lead's number may ring in. A rule is open at an instant when the wall
clock there reads inside one of its windows (start inclusive, end exclusive). The rules are
turned into exact UTC intervals — cut where a zone's UTC offset changes, so DST gaps and
repeated hours are handled — and intersected. One answer then tells whether the lead is
dialable now, why not, when it next is, and when the open window closes (the dial deadline).

`build_rules(campaign, ...)` (in dialer.selector) turns model rows into `DialRules`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Interval = tuple[datetime, datetime]  # UTC, [start, end)
NaiveWindow = tuple[datetime, datetime]  # wall clock, [start, end)

# How far ahead to look for the next opening, in growing steps (a months rule may be a year off).
_HORIZONS = (timedelta(days=8), timedelta(days=64), timedelta(days=400))


@dataclass(frozen=True)
class ScheduleWindow:
    """A campaign schedule row (account timezone). The weekday, month day and month are those
    of the day the window starts: a Monday 22:00-02:00 row covers early Tuesday too."""

    weekdays: frozenset[int]  # 0 = Monday
    start: time
    end: time  # at or before start: the window crosses midnight
    month_days: tuple[int, int] | None = None  # inclusive; start > finish wraps the month end
    months: frozenset[int] = frozenset()  # empty: every month

    def opens_on(self, day: date) -> bool:
        if day.weekday() not in self.weekdays:
            return False
        if self.months and day.month not in self.months:
            return False
        if self.month_days is not None:
            first, last = self.month_days
            if first <= last:
                return first <= day.day <= last
            return day.day >= first or day.day <= last
        return True


@dataclass(frozen=True)
class DialRules:
    """Everything the window rules of one campaign need, as plain values."""

    account_zone: str
    schedule: tuple[ScheduleWindow, ...] = ()  # empty: the campaign schedule is always open
    legal: tuple[time, time] = (time(8), time(21))
    tz_window: tuple[time, time] | None = None  # Dial By Timezone, lead local time
    tz_slots: tuple[tuple[int, time], ...] = ()  # Dial by Schedule by Timezone: (day, start)
    tz_slot_length: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class WindowAnswer:
    open: bool
    open_until: datetime | None  # open: when the first window closes (None: not known)
    next_open: datetime | None  # closed: the next instant every window is open (None: no
    # opening within a year)
    closed_by: str  # closed: the first rule that is closed at the instant, in words


@dataclass(frozen=True)
class Verdict:
    dialable: bool
    reason: str  # empty when dialable; else a sentence a supervisor understands
    next_at: datetime | None  # not dialable: when it next may be (None: never, as things are)
    open_until: datetime | None = None  # dialable: the dial must start before this


# --- Wall-clock windows → UTC intervals ------------------------------------------------------


def _offset(zone: ZoneInfo, at: datetime) -> timedelta:
    offset = at.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _offset_pieces(zone: ZoneInfo, a: datetime, b: datetime) -> list[tuple[datetime, datetime]]:
    """[a, b) cut at every instant where the zone's UTC offset changes (tzdata changes fall
    on whole seconds, so the cut is found exactly by bisecting on POSIX seconds)."""
    pieces: list[tuple[datetime, datetime]] = []
    start = t = a
    base = _offset(zone, a)
    step = timedelta(hours=6)
    while t < b:
        t2 = min(t + step, b)
        if _offset(zone, t2) == base:
            t = t2
            continue
        lo, hi = math.floor(t.timestamp()), math.ceil(t2.timestamp())
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _offset(zone, datetime.fromtimestamp(mid, UTC)) == base:
                lo = mid
            else:
                hi = mid
        cut = datetime.fromtimestamp(hi, UTC)
        pieces.append((start, cut))
        start = t = cut
        base = _offset(zone, cut)
    if start < b:
        pieces.append((start, b))
    return pieces


def _intervals(
    zone_name: str, day_windows: Callable[[date], Iterable[NaiveWindow]], a: datetime, b: datetime
) -> list[Interval]:
    """UTC instants in [a, b) at which the wall clock in the zone is inside a window."""
    zone = _zone(zone_name)
    out: list[Interval] = []
    for p0, p1 in _offset_pieces(zone, a, b):
        offset = _offset(zone, p0)
        wall0 = (p0 + offset).replace(tzinfo=None)
        wall1 = (p1 + offset).replace(tzinfo=None)
        # Windows that start the day before may still be open (they cross midnight).
        day = wall0.date() - timedelta(days=1)
        while day <= wall1.date():
            for w_start, w_end in day_windows(day):
                s = max((w_start - offset).replace(tzinfo=UTC), p0)
                e = min((w_end - offset).replace(tzinfo=UTC), p1)
                if s < e:
                    out.append((s, e))
            day += timedelta(days=1)
    return _merge(out)


def _merge(intervals: list[Interval]) -> list[Interval]:
    intervals.sort()
    merged: list[Interval] = []
    for s, e in intervals:
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def _intersect(xs: Sequence[Interval], ys: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(xs) and j < len(ys):
        s = max(xs[i][0], ys[j][0])
        e = min(xs[i][1], ys[j][1])
        if s < e:
            out.append((s, e))
        if xs[i][1] < ys[j][1]:
            i += 1
        else:
            j += 1
    return out


def _daily(start: time, end: time) -> Callable[[date], list[NaiveWindow]]:
    def windows(day: date) -> list[NaiveWindow]:
        s = datetime.combine(day, start)
        e = datetime.combine(day if end > start else day + timedelta(days=1), end)
        return [(s, e)]

    return windows


def _schedule_windows(rows: tuple[ScheduleWindow, ...]) -> Callable[[date], list[NaiveWindow]]:
    def windows(day: date) -> list[NaiveWindow]:
        out = []
        for row in rows:
            if row.opens_on(day):
                out.extend(_daily(row.start, row.end)(day))
        return out

    return windows


def _slot_windows(rules: DialRules, created_day: date) -> Callable[[date], list[NaiveWindow]]:
    """Dial by Schedule by Timezone: day N after the lead's creation (its local date) opens
    the windows of day N. Days without times are skipped; the pattern repeats each week, so
    a lead is never stranded once its first week is over."""

    def windows(day: date) -> list[NaiveWindow]:
        offset = (day - created_day).days
        if offset < 0:
            return []
        out = []
        for slot_day, start in rules.tz_slots:
            if slot_day == offset % 7:
                s = datetime.combine(day, start)
                out.append((s, s + rules.tz_slot_length))
        return out

    return windows


@functools.lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _rule_intervals(
    rules: DialRules,
    zones: tuple[str, ...],
    created_days: tuple[date, ...] | None,
    a: datetime,
    b: datetime,
) -> list[tuple[str, list[Interval]]]:
    """Each rule's open intervals over [a, b), with the words that say it is closed."""
    out: list[tuple[str, list[Interval]]] = []
    if rules.schedule:
        out.append(
            (
                "outside the campaign schedule",
                _intervals(rules.account_zone, _schedule_windows(rules.schedule), a, b),
            )
        )
    legal_start, legal_end = rules.legal
    for i, zone in enumerate(zones):
        out.append(
            (
                f"outside legal calling hours {legal_start:%H:%M}-{legal_end:%H:%M} "
                f"lead time ({zone})",
                _intervals(zone, _daily(legal_start, legal_end), a, b),
            )
        )
        if rules.tz_window is not None:
            out.append(
                (
                    f"outside Dial By Timezone window {rules.tz_window[0]:%H:%M}-"
                    f"{rules.tz_window[1]:%H:%M} lead time ({zone})",
                    _intervals(zone, _daily(*rules.tz_window), a, b),
                )
            )
        if rules.tz_slots and created_days is not None:
            out.append(
                (
                    f"outside Dial by Schedule by Timezone windows ({zone})",
                    _intervals(zone, _slot_windows(rules, created_days[i]), a, b),
                )
            )
    return out


def window_answer(
    rules: DialRules, zones: tuple[str, ...], created_at: datetime | None, at: datetime
) -> WindowAnswer:
    """Are all windows open at `at` (UTC)? If so until when; if not, why and when next.

    `zones` are every timezone the number may ring in (a window must be open in each);
    `created_at` matters only for Dial by Schedule by Timezone (the lead's day 0, a local
    date in each zone).
    """
    zones = zones or (rules.account_zone,)
    days = None
    if rules.tz_slots and created_at is not None:
        days = tuple(created_at.astimezone(_zone(z)).date() for z in zones)
    return _window_answer(rules, zones, days, at)


@functools.lru_cache(maxsize=8192)
def _window_answer(
    rules: DialRules, zones: tuple[str, ...], created_days: tuple[date, ...] | None, at: datetime
) -> WindowAnswer:
    closed_by = ""
    a = at
    for horizon in _HORIZONS:
        b = at + horizon
        per_rule = _rule_intervals(rules, zones, created_days, a, b)
        if a == at:
            for words, intervals in per_rule:
                if not intervals or intervals[0][0] > at:
                    closed_by = words
                    break
        both: list[Interval] = [(a, b)]
        for _words, intervals in per_rule:
            both = _intersect(both, intervals)
            if not both:
                break
        if both:
            first_start, first_end = both[0]
            if first_start == at:
                # Open now; the window may run past this horizon, which only makes the
                # deadline earlier than it could be (the safe side).
                return WindowAnswer(True, first_end, None, "")
            return WindowAnswer(False, None, first_start, closed_by)
        a = b
    return WindowAnswer(False, None, None, closed_by or "no dial window in the next year")


# --- The verdict for one lead ---------------------------------------------------------------


@dataclass(frozen=True)
class LeadFacts:
    """What the rules need of a lead (no model instance: the rules stay pure)."""

    state: str
    next_dial_at: datetime
    zones: tuple[str, ...]
    display_zone: str
    created_at: datetime | None
    on_dnc: bool = False
    callback_agent: str = ""  # a personal callback's agent name
    callback_agent_free: bool = True
    attempts: int = 0  # failed dials so far
    max_attempts: int | None = None  # the lead's retry limit (its own, else the campaign's)
    call_in_progress: bool = False  # a Call of the lead has no result yet


_NOT_DIALABLE_STATES = {
    "reserved": "on an agent's lead card",
    "dialing": "being dialed now",
    "success": "Successful: connected to an agent",
    "failed": "Failed: not dialed again unless reset",
}


def local_time(at: datetime, zone: str) -> str:
    return at.astimezone(_zone(zone)).strftime("%a %d %b %H:%M")


def retries_used_up(lead: LeadFacts) -> bool:
    """The lead has had as many failed dials as its retry limit allows (the limit may have been
    lowered since its last attempt). A callback is exempt: it was booked with a person, and
    its own dial still spends an attempt, so a failed callback ends the lead (lifecycle)."""
    # A lead is dialed at least once whatever the limit says, as the lifecycle counts it.
    return (
        lead.max_attempts is not None
        and lead.attempts >= max(lead.max_attempts, 1)
        and lead.state != "callback"
    )


def lead_verdict(rules: DialRules, lead: LeadFacts, *, now: datetime) -> Verdict:
    """Is the lead dialable at `now`? If not, why (in words) and when next."""
    if lead.on_dnc:
        return Verdict(False, "on Do-Not-Call", None)
    if lead.state in _NOT_DIALABLE_STATES:
        return Verdict(False, _NOT_DIALABLE_STATES[lead.state], None)
    if lead.call_in_progress:
        # e.g. a callback booked during the call: the customer may still be on the line.
        return Verdict(False, "a call to the lead is still in progress", None)
    if retries_used_up(lead):
        return Verdict(
            False,
            f"retries used up: {lead.attempts} failed attempt(s), limit {lead.max_attempts}",
            None,
        )
    at = max(now, lead.next_dial_at)
    windows = window_answer(rules, lead.zones, lead.created_at, at)
    if lead.next_dial_at > now:
        what = {
            "callback": "callback due",
            "voicemail": "voicemail cool-off until",
        }.get(lead.state, "cool-off until")
        next_at = at if windows.open else windows.next_open
        return Verdict(
            False, f"{what} {local_time(lead.next_dial_at, lead.display_zone)} lead time", next_at
        )
    if not windows.open:
        if windows.next_open is None:
            return Verdict(False, f"{windows.closed_by}; no opening within a year", None)
        when = local_time(windows.next_open, lead.display_zone)
        return Verdict(False, f"{windows.closed_by}; next {when} lead time", windows.next_open)
    if lead.callback_agent and not lead.callback_agent_free:
        return Verdict(False, f"personal callback for {lead.callback_agent}, who is not free", now)
    return Verdict(True, "", None, windows.open_until)


# --- Dial cycles ----------------------------------------------------------------------------


def cycle_window_start(reset_at: time, zone: str, now: datetime) -> datetime:
    """The start of the current dial-cycle window: the latest `reset_at` (wall clock in the
    account timezone) at or before `now`."""
    tz = _zone(zone)
    local = now.astimezone(tz)
    candidate = datetime.combine(local.date(), reset_at, tzinfo=tz)
    if candidate.astimezone(UTC) > now:
        candidate = datetime.combine(local.date() - timedelta(days=1), reset_at, tzinfo=tz)
    return candidate.astimezone(UTC)
