"""The pure dial-window rules (dialer.eligibility), checked against a wall-clock oracle."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.eligibility import (
    DialRules,
    LeadFacts,
    ScheduleWindow,
    cycle_window_start,
    lead_verdict,
    window_answer,
)

NY = "America/New_York"
WEEKDAYS = frozenset(range(5))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def due_lead(zones=(NY,), *, next_dial_at=None, created_at=None, **kw) -> LeadFacts:
    return LeadFacts(
        state=kw.pop("state", "new"),
        next_dial_at=next_dial_at or utc(2020, 1, 1),
        zones=tuple(zones),
        display_zone=zones[0],
        created_at=created_at or utc(2026, 3, 2, 12),
        **kw,
    )


# --- Examples a supervisor would check by hand -------------------------------------------


def test_weekday_schedule_in_account_time_and_legal_hours_in_lead_time():
    rules = DialRules(NY, schedule=(ScheduleWindow(WEEKDAYS, time(9), time(17)),))
    monday_10_ny = utc(2026, 3, 9, 14)  # 07:00 in Los Angeles: before legal hours there
    verdict = lead_verdict(rules, due_lead(("America/Los_Angeles",)), now=monday_10_ny)
    assert not verdict.dialable
    assert "legal calling hours 08:00-21:00" in verdict.reason
    assert verdict.next_at == utc(2026, 3, 9, 15)  # 08:00 Pacific
    open_now = lead_verdict(rules, due_lead(), now=monday_10_ny)
    assert open_now.dialable
    assert open_now.open_until == utc(2026, 3, 9, 21)  # 17:00 New York closes the window


def test_sunday_is_outside_a_weekday_schedule_and_the_reason_names_the_next_opening():
    rules = DialRules(NY, schedule=(ScheduleWindow(WEEKDAYS, time(9), time(17)),))
    verdict = lead_verdict(rules, due_lead(), now=utc(2026, 3, 8, 16))
    assert not verdict.dialable
    assert verdict.reason.startswith("outside the campaign schedule; next Mon 09 Mar 09:00")
    assert verdict.next_at == utc(2026, 3, 9, 13)


def test_a_window_crossing_midnight_belongs_to_the_day_it_starts():
    friday_night = ScheduleWindow(frozenset({4}), time(20), time(2))
    rules = DialRules(NY, schedule=(friday_night,), legal=(time(0), time(0)))
    assert window_answer(rules, (NY,), None, utc(2026, 3, 7, 6)).open  # Sat 01:00 EST
    assert not window_answer(rules, (NY,), None, utc(2026, 3, 8, 6)).open  # Sun 01:00


def test_month_days_and_months_restrict_the_schedule():
    row = ScheduleWindow(frozenset(range(7)), time(9), time(17), (10, 20), frozenset({3}))
    rules = DialRules(NY, schedule=(row,))
    assert not window_answer(rules, (NY,), None, utc(2026, 3, 9, 15)).open  # the 9th
    assert window_answer(rules, (NY,), None, utc(2026, 3, 10, 15)).open
    later = window_answer(rules, (NY,), None, utc(2026, 3, 21, 15))
    assert later.next_open == utc(2027, 3, 10, 14)  # next March (still EST on the 10th)


def test_a_number_spanning_zones_is_dialed_only_while_every_zone_is_open():
    rules = DialRules(NY)
    zones = ("America/Chicago", "America/New_York")
    verdict = lead_verdict(rules, due_lead(zones), now=utc(2026, 3, 9, 12, 30))  # 07:30 CT
    assert not verdict.dialable
    assert "America/Chicago" in verdict.reason
    closing = lead_verdict(rules, due_lead(zones), now=utc(2026, 3, 9, 20))
    assert closing.open_until == utc(2026, 3, 10, 1)  # 21:00 in New York, the first to close


def test_spring_forward_gap_opens_at_the_first_instant_after_it():
    rules = DialRules(NY, legal=(time(2, 30), time(3, 30)))
    answer = window_answer(rules, (NY,), None, utc(2026, 3, 8, 5))
    assert answer.next_open == utc(2026, 3, 8, 7)  # 03:00 EDT: 02:30 never happens


def test_the_repeated_hour_of_fall_back_is_open_twice():
    rules = DialRules(NY, legal=(time(0), time(1, 30)))
    during_gap = window_answer(rules, (NY,), None, utc(2026, 11, 1, 5, 45))  # 01:45 EDT
    assert not during_gap.open
    assert during_gap.next_open == utc(2026, 11, 1, 6)  # 01:00 EST, the second time


def test_dial_by_timezone_window_in_lead_time():
    rules = DialRules(NY, tz_window=(time(10), time(12)))
    verdict = lead_verdict(rules, due_lead(("Europe/London",)), now=utc(2026, 6, 1, 8))
    assert "Dial By Timezone window 10:00-12:00" in verdict.reason
    assert verdict.next_at == utc(2026, 6, 1, 9)  # 10:00 BST


def test_dial_by_schedule_by_timezone_counts_days_from_the_lead_local_creation_date():
    rules = DialRules(NY, tz_slots=((0, time(9)), (2, time(14))), tz_slot_length=timedelta(hours=2))
    created = utc(2026, 3, 2, 3)  # Sunday 1 March, 22:00 in New York: that is day 0
    lead = due_lead(created_at=created)
    day_1 = lead_verdict(rules, lead, now=utc(2026, 3, 2, 15))
    assert not day_1.dialable  # day 1 has no times: skipped
    assert day_1.next_at == utc(2026, 3, 3, 19)  # day 2 at 14:00 EST
    assert lead_verdict(rules, lead, now=utc(2026, 3, 3, 20, 59)).dialable
    assert not lead_verdict(rules, lead, now=utc(2026, 3, 3, 21)).dialable  # 2 h later


def test_cool_off_do_not_call_and_final_states_say_why():
    rules = DialRules(NY)
    now = utc(2026, 3, 9, 15)
    cooling = lead_verdict(rules, due_lead(next_dial_at=utc(2026, 3, 9, 18, 5)), now=now)
    assert cooling.reason == "cool-off until Mon 09 Mar 14:05 lead time"
    assert cooling.next_at == utc(2026, 3, 9, 18, 5)
    late = lead_verdict(rules, due_lead(next_dial_at=utc(2026, 3, 10, 2)), now=now)
    assert late.next_at == utc(2026, 3, 10, 12)  # cool-off ends at night: 08:00 next day
    dnc = lead_verdict(rules, due_lead(on_dnc=True), now=now)
    assert (dnc.dialable, dnc.reason, dnc.next_at) == (False, "on Do-Not-Call", None)
    assert "Failed" in lead_verdict(rules, due_lead(state="failed"), now=now).reason


def test_a_lead_at_its_retry_limit_is_not_dialed_but_a_booked_callback_is():
    rules = DialRules(NY)
    now = utc(2026, 3, 9, 15)
    used_up = lead_verdict(rules, due_lead(state="cooloff", attempts=4, max_attempts=3), now=now)
    assert (used_up.dialable, used_up.next_at) == (False, None)
    assert used_up.reason == "retries used up: 4 failed attempt(s), limit 3"
    assert lead_verdict(rules, due_lead(state="retry", attempts=2, max_attempts=2), now=now).reason
    assert lead_verdict(
        rules, due_lead(state="cooloff", attempts=2, max_attempts=3), now=now
    ).dialable
    callback = due_lead(state="callback", attempts=3, max_attempts=3)
    assert lead_verdict(rules, callback, now=now).dialable
    # A limit of 0 still gives a new lead its one dial, as the lifecycle counts attempts.
    assert lead_verdict(rules, due_lead(state="new", attempts=0, max_attempts=0), now=now).dialable


def test_a_lead_whose_call_is_still_up_is_not_dialed():
    rules = DialRules(NY)
    lead = due_lead(state="callback", call_in_progress=True)
    verdict = lead_verdict(rules, lead, now=utc(2026, 3, 9, 15))
    assert (verdict.dialable, verdict.reason) == (False, "a call to the lead is still in progress")


def test_personal_callback_waits_for_its_agent():
    rules = DialRules(NY)
    lead = due_lead(state="callback", callback_agent="1001@default", callback_agent_free=False)
    verdict = lead_verdict(rules, lead, now=utc(2026, 3, 9, 15))
    assert not verdict.dialable
    assert "1001@default" in verdict.reason


def test_dial_cycle_window_starts_at_the_last_reset_time():
    now = utc(2026, 3, 9, 12)  # 08:00 in New York
    assert cycle_window_start(time(9), NY, now) == utc(2026, 3, 8, 13)  # yesterday 09:00 EDT
    assert cycle_window_start(time(7), NY, now) == utc(2026, 3, 9, 11)


# --- Property: the rules agree with the wall clock everywhere ----------------------------

ZONES = [
    "America/New_York",
    "America/Los_Angeles",
    "America/St_Johns",
    "Europe/London",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "UTC",
]
# Instants near the 2026 DST changes of the zones above, and anywhere in the year.
TRANSITIONS = [
    utc(2026, 3, 8, 7),
    utc(2026, 3, 29, 1),
    utc(2026, 4, 5, 16),
    utc(2026, 9, 27, 14),
    utc(2026, 10, 4, 16),
    utc(2026, 10, 25, 1),
    utc(2026, 11, 1, 6),
    utc(2026, 11, 1, 9),
]
quarter_hours = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
instants = st.one_of(
    st.builds(
        lambda t, m: t + timedelta(minutes=m), st.sampled_from(TRANSITIONS), st.integers(-600, 600)
    ),
    st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
    ),
)


@st.composite
def rule_sets(draw: st.DrawFn) -> DialRules:
    rows = draw(
        st.lists(
            st.builds(
                ScheduleWindow,
                weekdays=st.frozensets(st.integers(0, 6), min_size=1),
                start=quarter_hours,
                end=quarter_hours,
                month_days=st.one_of(st.none(), st.tuples(st.integers(1, 31), st.integers(1, 31))),
                months=st.frozensets(st.integers(1, 12), max_size=4),
            ).filter(lambda r: r.start != r.end),
            max_size=3,
        )
    )
    mode = draw(st.sampled_from(["none", "window", "slots"]))
    tz_window = None
    slots: tuple[tuple[int, time], ...] = ()
    if mode == "window":
        tz_window = draw(st.tuples(quarter_hours, quarter_hours).filter(lambda w: w[0] != w[1]))
    elif mode == "slots":
        slots = tuple(
            draw(st.lists(st.tuples(st.integers(0, 6), quarter_hours), min_size=1, max_size=4))
        )
    legal = draw(st.sampled_from([(time(8), time(21)), (time(9), time(20)), (time(7), time(1))]))
    return DialRules(
        account_zone=draw(st.sampled_from(ZONES)),
        schedule=tuple(rows),
        legal=legal,
        tz_window=tz_window,
        tz_slots=slots,
        tz_slot_length=timedelta(minutes=draw(st.sampled_from([15, 60, 90, 300]))),
    )


def _in_daily(start: time, end: time, wall: datetime, day_ok) -> bool:  # type: ignore[no-untyped-def]
    """Wall clock inside a start-end window that belongs to the day it starts."""
    t = wall.time()
    if start < end:
        return day_ok(wall.date()) and start <= t < end
    return (day_ok(wall.date()) and t >= start) or (
        day_ok(wall.date() - timedelta(days=1)) and t < end
    )


def oracle_open(rules: DialRules, zones: tuple[str, ...], created: datetime, t: datetime) -> bool:
    """The definition, read off the wall clock of each zone at the instant."""
    if rules.schedule:
        wall = t.astimezone(ZoneInfo(rules.account_zone)).replace(tzinfo=None)
        if not any(_in_daily(r.start, r.end, wall, r.opens_on) for r in rules.schedule):
            return False
    for zone in zones:
        wall = t.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        if not _in_daily(*rules.legal, wall, lambda d: True):
            return False
        if rules.tz_window and not _in_daily(*rules.tz_window, wall, lambda d: True):
            return False
        if rules.tz_slots:
            day0: date = created.astimezone(ZoneInfo(zone)).date()
            ok = False
            for back in range(2):  # a slot may start the day before and run past midnight
                d = wall.date() - timedelta(days=back)
                n = (d - day0).days
                for slot_day, start in rules.tz_slots:
                    if n >= 0 and n % 7 == slot_day:
                        s = datetime.combine(d, start)
                        ok = ok or s <= wall < s + rules.tz_slot_length
            if not ok:
                return False
    return True


@settings(max_examples=400, deadline=None)
@given(
    rules=rule_sets(),
    zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=2, unique=True),
    now=instants,
    created=instants,
    cool_off=st.one_of(st.none(), st.integers(60, 5 * 86400)),
    on_dnc=st.booleans(),
)
def test_verdicts_match_the_wall_clock_definition(rules, zones, now, created, cool_off, on_dnc):
    zones = tuple(zones)
    next_dial = now + timedelta(seconds=cool_off) if cool_off else now - timedelta(seconds=1)
    lead = due_lead(zones, next_dial_at=next_dial, created_at=created, on_dnc=on_dnc)
    verdict = lead_verdict(rules, lead, now=now)
    due_and_open = next_dial <= now and oracle_open(rules, zones, created, now)
    # Safety and liveness at once: dialable exactly when the definition says so.
    assert verdict.dialable == (due_and_open and not on_dnc)
    if verdict.dialable:
        assert verdict.open_until is not None
        assert verdict.open_until > now
        last = verdict.open_until - timedelta(seconds=1)
        assert oracle_open(rules, zones, created, last)  # open all the way to the deadline
    if verdict.next_at is not None and not on_dnc:
        assert verdict.next_at >= max(now, next_dial)
        assert oracle_open(rules, zones, created, verdict.next_at)
        # Nothing opened earlier: a second before it the windows were still closed.
        before = verdict.next_at - timedelta(seconds=1)
        if before >= max(now, next_dial):
            assert not oracle_open(rules, zones, created, before)
