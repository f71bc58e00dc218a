"""Report figures against the hand-built day of calls in conftest.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from leads.models import LeadState
from reports.selectors import (
    CallFilters,
    Cursor,
    InvalidCursor,
    LeadFilters,
    activity_page,
    dashboard,
    lead_page,
    lead_status_counts,
)
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db

NOV18 = CallFilters(date_from=date(2026, 11, 18), date_to=date(2026, 11, 18))


def numbers(calls) -> list[int]:  # type: ignore[no-untyped-def]
    """The conftest numbers (1 … 10) of calls, from their lead's first name."""
    return [int(c.lead.first_name.removeprefix("Lead")) for c in calls]


def test_a_day_is_the_account_timezone_day_not_the_utc_day(call_set) -> None:  # type: ignore[no-untyped-def]
    # Call 7 is 23:50 in New York (04:50 UTC on the 19th); call 8 is 00:10 on the 19th.
    page = activity_page(NOV18, size=50)
    assert numbers(page.calls) == [7, 10, 9, 6, 5, 4, 3, 2, 1]
    next_day = activity_page(
        CallFilters(date_from=date(2026, 11, 19), date_to=date(2026, 11, 19)), size=50
    )
    assert numbers(next_day.calls) == [8]


def test_activity_filters_by_campaign_agent_result_and_disposition(call_set) -> None:  # type: ignore[no-untyped-def]
    s = call_set

    def only(**kw) -> list[int]:  # type: ignore[no-untyped-def]
        return numbers(activity_page(CallFilters(**kw), size=50).calls)

    assert only(campaign_id=s.winback.pk) == [8, 7, 10, 6]
    assert only(agent_id=s.alice.pk) == [7, 1]
    assert only(result="voicemail") == [10, 4]
    assert only(disposition_id=s.sale.pk) == [1]
    assert only(campaign_id=s.renewals.pk, result="connected", agent_id=s.bob.pk) == [2]


def test_activity_date_range_ends_are_account_timezone_days(call_set) -> None:  # type: ignore[no-untyped-def]
    def only(**kw) -> list[int]:  # type: ignore[no-untyped-def]
        return numbers(activity_page(CallFilters(**kw), size=50).calls)

    # Call 7 (23:50 New York, already the 19th in UTC) stays on the 18th at either end.
    assert only(date_to=date(2026, 11, 18)) == [7, 10, 9, 6, 5, 4, 3, 2, 1]
    assert only(date_from=date(2026, 11, 19)) == [8]
    assert only(date_from=date(2026, 11, 18), date_to=date(2026, 11, 19)) == [
        8, 7, 10, 9, 6, 5, 4, 3, 2, 1
    ]  # fmt: skip
    assert only(date_from=date(2026, 11, 20)) == []


def test_activity_pages_forward_and_back_without_losing_or_repeating_a_call(call_set) -> None:  # type: ignore[no-untyped-def]
    # Two calls at the same instant: the id breaks the tie, so neither is skipped.
    call_set.calls[5].requested_at = call_set.calls[6].requested_at
    call_set.calls[5].save()
    seen: list[int] = []
    page = activity_page(CallFilters(), size=3)
    pages = [page]
    assert page.previous_cursor is None
    while page.next_cursor:
        page = activity_page(CallFilters(), after=page.next_cursor, size=3)
        pages.append(page)
    for p in pages:
        seen += numbers(p.calls)
    assert sorted(seen) == list(range(1, 11))
    assert len(seen) == 10
    assert [len(p.calls) for p in pages] == [3, 3, 3, 1]
    # Back from the last page gives the third page again, and so on to the first.
    back = activity_page(CallFilters(), before=pages[-1].previous_cursor, size=3)
    assert numbers(back.calls) == numbers(pages[2].calls)
    back = activity_page(CallFilters(), before=back.previous_cursor, size=3)
    back = activity_page(CallFilters(), before=back.previous_cursor, size=3)
    assert numbers(back.calls) == numbers(pages[0].calls)
    assert back.previous_cursor is None
    assert back.next_cursor is not None


def test_an_edited_page_link_is_refused(call_set) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidCursor):
        activity_page(CallFilters(), after="not-a-cursor")
    naive = Cursor.decode(activity_page(CallFilters(), size=1).next_cursor or "")
    assert naive.requested_at.tzinfo is not None


def test_dashboard_totals_of_the_day(call_set) -> None:  # type: ignore[no-untyped-def]
    t = dashboard(NOV18).overall
    assert t.attempts == 9
    # Answered: people who picked up (1, 2, 3, 7, 9, 10); the dropped machine (4) is not one.
    assert t.answered == 6
    # Connected: reached an agent (1, 2, 7, 10 — an agent who met a machine still took it).
    assert t.connected == 4
    # Abandoned: answered, finished, no agent: only 3 (9 is still waiting).
    assert t.abandoned == 1
    # Voicemail: the dropped machine (4) and the one an agent reached (10).
    assert t.voicemail == 2
    assert t.connect_rate == pytest.approx(4 / 9)
    assert t.abandon_rate == pytest.approx(1 / 6)
    assert t.avg_ring == pytest.approx((8 + 5 + 6 + 10 + 30 + 4 + 3 + 7) / 8)
    assert t.avg_wait == pytest.approx((2 + 4 + 30 + 1 + 3) / 5)
    assert t.avg_talk == pytest.approx((120 + 60 + 600 + 15) / 4)
    # Dialing hours: 10:00, 11:00 and 23:00 New York time.
    assert t.dialing_hours == 3
    assert t.calls_per_hour == pytest.approx(3.0)
    assert t.wait_sla_rate == pytest.approx(1 / 3)
    assert t.agent_sla_rate == pytest.approx(1.0)


def test_a_person_hung_up_on_as_a_machine_is_answered_and_abandoned(call_set) -> None:  # type: ignore[no-untyped-def]
    call_set.calls[4].amd_mistake = "human_as_machine"  # the "machine" (4) was a person
    call_set.calls[4].save(update_fields=["amd_mistake"])
    t = dashboard(NOV18).overall
    assert (t.answered, t.abandoned) == (7, 2)
    assert t.abandon_rate == pytest.approx(2 / 7)


def test_a_machine_a_stop_hung_up_on_is_no_answer_and_no_abandon(call_set) -> None:  # type: ignore[no-untyped-def]
    machine = call_set.calls[4]  # AMD said machine; a Stop ended the call before the dialer did
    machine.result, machine.amd_result = "cancelled", "MACHINE"
    machine.save(update_fields=["result", "amd_result"])
    t = dashboard(NOV18).overall
    assert (t.answered, t.abandoned) == (6, 1)


def test_the_sla_figures_are_progressive_calls_only(call_set) -> None:  # type: ignore[no-untyped-def]
    from dialer.models import Call

    # The dialer flags Predictive calls' SLAs too; the dashboard's SLA figures are Progressive's.
    predictive = CampaignFactory(type="predictive", queue=call_set.renewals.queue)
    Call.objects.filter(pk=call_set.calls[5].pk).update(
        campaign=predictive, customer_wait_sla_met=False, agent_sla_met=False
    )
    t = dashboard(NOV18).overall
    assert (t.wait_sla_rate, t.agent_sla_rate) == (pytest.approx(1 / 3), pytest.approx(1.0))


def test_dashboard_per_campaign(call_set) -> None:  # type: ignore[no-untyped-def]
    figures = {c.campaign_name: c.totals for c in dashboard(NOV18).campaigns}
    assert list(figures) == ["Renewals", "Winback"]
    renewals, winback = figures["Renewals"], figures["Winback"]
    assert (renewals.attempts, renewals.answered, renewals.connected, renewals.abandoned) == (
        6,
        4,
        2,
        1,
    )
    assert renewals.dialing_hours == 2
    assert renewals.calls_per_hour == pytest.approx(3.0)
    assert (winback.attempts, winback.answered, winback.connected, winback.abandoned) == (
        3,
        2,
        2,
        0,
    )
    assert winback.abandon_rate == 0
    assert winback.avg_talk == pytest.approx((600 + 15) / 2)


def test_dashboard_one_campaign_only(call_set) -> None:  # type: ignore[no-untyped-def]
    figures = dashboard(
        CallFilters(
            date_from=date(2026, 11, 18),
            date_to=date(2026, 11, 19),
            campaign_id=call_set.winback.pk,
        )
    )
    assert [c.campaign_name for c in figures.campaigns] == ["Winback"]
    assert figures.overall.attempts == 4
    assert [a.name for a in figures.agents] == ["Alice Agent", "Bob Caller"]


def test_dashboard_per_agent_calls_talk_time_and_occupancy(call_set) -> None:  # type: ignore[no-untyped-def]
    agents = {a.name: a for a in dashboard(NOV18).agents}
    # Calls without an agent (abandoned, voicemail, busy …) belong to nobody.
    assert set(agents) == {"Alice Agent", "Bob Caller"}
    alice, bob = agents["Alice Agent"], agents["Bob Caller"]
    assert (alice.extension, alice.calls, alice.connected, alice.talk_seconds) == (
        "1001",
        2,
        2,
        720,
    )
    assert (bob.calls, bob.talk_seconds) == (2, 75)
    # Occupancy: talk time over the 3 dialing hours.
    assert alice.occupancy == pytest.approx(720 / (3 * 3600))
    assert bob.avg_talk == pytest.approx(37.5)
    assert bob.occupancy == pytest.approx(75 / (3 * 3600))
    # Busiest agent first.
    assert [a.name for a in dashboard(NOV18).agents] == ["Alice Agent", "Bob Caller"]
    # Looking at one agent does not shrink the hours the campaigns were dialing.
    only_alice = dashboard(replace(NOV18, agent_id=call_set.alice.pk)).agents
    assert [a.occupancy for a in only_alice] == [pytest.approx(720 / (3 * 3600))]


def test_dashboard_of_the_day_after_midnight(call_set) -> None:  # type: ignore[no-untyped-def]
    # Call 7 started at 23:50 and talked past midnight: it stays on the 18th. Only call 8
    # (00:10, not answered) is the 19th's.
    figures = dashboard(CallFilters(date_from=date(2026, 11, 19), date_to=date(2026, 11, 19)))
    t = figures.overall
    assert (t.attempts, t.answered, t.connected, t.abandoned) == (1, 0, 0, 0)
    assert t.connect_rate == 0
    assert t.abandon_rate is None  # nobody answered: no rate, not 0 %
    assert t.avg_talk is None
    assert t.dialing_hours == 1
    assert [h.start.strftime("%Y-%m-%d %H:%M") for h in figures.hours] == ["2026-11-19 00:00"]
    assert figures.agents == []


def test_dashboard_hours_are_local_hours_in_a_half_hour_zone(call_set, settings) -> None:  # type: ignore[no-untyped-def]
    # Kolkata is UTC+05:30: an hour of its clock is not a UTC hour, so the buckets must be
    # cut on Kolkata's clock (call 1, 10:00 New York, is 20:30 there: the 20:00 bucket).
    settings.ACCOUNT_TIMEZONE = "Asia/Kolkata"
    figures = dashboard(CallFilters())
    assert [(h.start.strftime("%Y-%m-%d %H:%M %z"), h.totals.attempts) for h in figures.hours] == [
        ("2026-11-18 20:00 +0530", 2),
        ("2026-11-18 21:00 +0530", 2),
        ("2026-11-18 22:00 +0530", 4),
        ("2026-11-19 10:00 +0530", 2),
    ]
    assert figures.overall.dialing_hours == 4
    # Days too are Kolkata's: calls 7 and 8 are on the 19th there.
    nov19 = dashboard(CallFilters(date_from=date(2026, 11, 19), date_to=date(2026, 11, 19)))
    assert nov19.overall.attempts == 2


def test_dashboard_hourly_buckets_are_new_york_hours(call_set) -> None:  # type: ignore[no-untyped-def]
    hours = dashboard(NOV18).hours
    assert [(h.start.strftime("%Y-%m-%d %H:%M %z"), h.totals.attempts) for h in hours] == [
        ("2026-11-18 10:00 -0500", 3),
        ("2026-11-18 11:00 -0500", 5),
        ("2026-11-18 23:00 -0500", 1),
    ]
    ten = hours[0].totals
    assert (ten.answered, ten.connected, ten.abandoned) == (3, 2, 1)


def test_dashboard_of_an_empty_period(call_set) -> None:  # type: ignore[no-untyped-def]
    figures = dashboard(CallFilters(date_from=date(2026, 1, 1), date_to=date(2026, 1, 1)))
    assert figures.overall.attempts == 0
    assert figures.overall.connect_rate is None
    assert figures.overall.calls_per_hour is None
    assert figures.agents == []
    assert figures.hours == []


def test_lead_status_counts_group_states_into_the_spec_statuses(db) -> None:  # type: ignore[no-untyped-def]
    a = CampaignFactory(name="Alpha")
    b = CampaignFactory(name="Beta")
    empty = CampaignFactory(name="Gamma")
    for state in [
        LeadState.NEW,
        LeadState.NEW,
        LeadState.DIALING,
        LeadState.RETRY,
        LeadState.RESERVED,
        LeadState.COOLOFF,
        LeadState.CALLBACK,
        LeadState.VOICEMAIL,
        LeadState.SUCCESS,
        LeadState.FAILED,
    ]:
        LeadFactory(campaign=a, state=state)
    LeadFactory(campaign=b, state=LeadState.SUCCESS)
    rows, overall = lead_status_counts()
    by_name = {r.campaign_name: r for r in rows}
    assert by_name["Alpha"].counts == {
        "active": 2,
        "in_progress": 3,
        "cool_off": 2,
        "voicemail": 1,
        "successful": 1,
        "failed": 1,
    }
    assert by_name["Gamma"].total == 0
    assert overall.counts["successful"] == 2
    assert overall.total == 11
    assert [label for _, label, _ in overall.ordered()] == [
        "Active",
        "In Progress",
        "Cool Off",
        "Voicemail",
        "Successful",
        "Failed",
    ]
    only_b, _ = lead_status_counts([b])
    assert [r.campaign_name for r in only_b] == ["Beta"]
    assert empty.pk not in {r.campaign_id for r in only_b}


def test_lead_list_filters_by_status_number_and_name(db) -> None:  # type: ignore[no-untyped-def]
    c = CampaignFactory()
    ada = LeadFactory(campaign=c, first_name="Ada", last_name="Lovelace", number="+12025550143")
    LeadFactory(campaign=c, first_name="Grace", last_name="Hopper", number="+12025550199",
                state=LeadState.COOLOFF,
                not_dialable_reason="Cool-off until 11:00")  # fmt: skip
    other = CampaignFactory()
    LeadFactory(campaign=other, first_name="Ada", last_name="Byron", number="+12025550144")

    def names(after_id=None, **kw) -> list[str]:  # type: ignore[no-untyped-def]
        return [lead.full_name for lead in lead_page(LeadFilters(**kw), after_id=after_id)]

    assert names(campaign_id=c.pk) == ["Ada Lovelace", "Grace Hopper"]
    assert names(campaign_id=c.pk, status="cool_off") == ["Grace Hopper"]
    assert names(number="(202) 555-0143") == ["Ada Lovelace"]
    assert names(name="ada") == ["Ada Lovelace", "Ada Byron"]
    assert names(name="ada love") == ["Ada Lovelace"]
    assert names(campaign_id=c.pk, after_id=ada.pk) == ["Grace Hopper"]
