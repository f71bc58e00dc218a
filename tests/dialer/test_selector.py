"""The lead selector on PostgreSQL and Redis: order, windows, Do-Not-Call, concurrency, the
inbound-priority gate, start/stop, dial cycles, lead cards, the handoff and the reaper."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection, connections, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.models import AgentStatus, DeskCallState
from campaigns.models import RunStatus, ScheduleRow
from campaigns.services import campaign_start, campaign_stop
from dialer import handoff, livestate, selector
from dialer.models import Call, CallResult
from dialer.redisconn import redis_client
from leads import lifecycle
from leads.models import DoNotCall, Lead, LeadState
from leads.services import dnc_add, lead_update_record
from tests.dialer.test_eligibility import ZONES, oracle_open, rule_sets
from tests.factories import (
    NOW,
    AgentFactory,
    CallFactory,
    CampaignFactory,
    LeadFactory,
    QueueFactory,
)

QUEUE = "sales@default"


@pytest.fixture(autouse=True)
def clean_redis():  # type: ignore[no-untyped-def]
    """The selector's Redis keys only (the test Redis database, never production's)."""
    client = redis_client()

    def wipe() -> None:
        keys = [
            *client.keys("dialer:live:*"),
            *client.keys("selector:*"),
            handoff.STREAM,
            handoff.CONTROL_STREAM,
        ]
        if keys:
            client.delete(*keys)
        handoff._group_ready = False
        handoff._own_pending_done.clear()

    wipe()
    yield client
    wipe()


def live(queue: str = QUEUE, *, available: int = 0, waiting: int = 0, agents=None, node="fs1"):
    """What a dialer daemon would publish for one queue."""
    livestate.publish_dialer_snapshot(
        {
            "node": node,
            "connected": True,
            "queues": {
                queue: {
                    "agents_available": available,
                    "members_waiting": waiting,
                    "calls_in_flight": 0,
                }
            },
            "campaigns": {},
            "agents": agents or {},
        }
    )


def running_campaign(**kw):  # type: ignore[no-untyped-def]
    kw.setdefault("queue", QueueFactory(name=QUEUE))
    return CampaignFactory(run_status=RunStatus.RUNNING, type=kw.pop("type", "progressive"), **kw)


def stream_uuids(client) -> list[str]:  # type: ignore[no-untyped-def]
    return [f["call_uuid"] for _id, f in client.xrange(handoff.STREAM)]


def control_commands(client) -> list[dict]:  # type: ignore[no-untyped-def]
    return [json.loads(f["payload"]) for _id, f in client.xrange(handoff.CONTROL_STREAM)]


# --- Which leads, in which order ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_callbacks_due_come_first_then_priority_then_next_dial_time_then_age(clean_redis):
    campaign = running_campaign()
    low = LeadFactory(campaign=campaign, priority=1)
    high_late = LeadFactory(campaign=campaign, priority=9, next_dial_at=NOW - timedelta(minutes=1))
    high_early = LeadFactory(campaign=campaign, priority=9, next_dial_at=NOW - timedelta(hours=1))
    callback = LeadFactory(
        campaign=campaign, priority=0, state=LeadState.CALLBACK, next_dial_at=NOW - timedelta(1)
    )
    LeadFactory(campaign=campaign, priority=99, next_dial_at=NOW + timedelta(hours=1))  # cooling
    calls = selector.select_for_dialing(campaign, now=NOW, limit=10)
    assert [c.lead_id for c in calls] == [callback.pk, high_early.pk, high_late.pk, low.pk]
    for lead in Lead.objects.filter(pk__in=[c.lead_id for c in calls]):
        assert lead.state == LeadState.DIALING
    # Each request is on the stream once, under the Call's UUID.
    assert stream_uuids(clean_redis) == [str(c.uuid) for c in calls]
    assert {c.attempt for c in calls} == {1}


@pytest.mark.django_db(transaction=True)
def test_a_lead_outside_its_window_is_held_until_it_opens_with_the_reason_shown():
    campaign = running_campaign()
    # 15:00 UTC: 10:00 in New York, 07:00 in Los Angeles (before legal hours).
    west = LeadFactory(
        campaign=campaign, timezone="America/Los_Angeles", timezones=["America/Los_Angeles"]
    )
    east = LeadFactory(campaign=campaign)
    calls = selector.select_for_dialing(campaign, now=NOW, limit=10)
    assert [c.lead_id for c in calls] == [east.pk]
    west.refresh_from_db()
    assert west.state == LeadState.NEW
    assert west.next_dial_at == datetime(2026, 11, 18, 16, 0, tzinfo=UTC)  # 08:00 Pacific
    assert "legal calling hours" in west.not_dialable_reason
    assert west.window_held
    # The call may not start after New York's 21:00.
    assert calls[0].dial_deadline == NOW + timedelta(seconds=60)
    assert selector.select_for_dialing(campaign, now=NOW + timedelta(minutes=30), limit=10) == []
    later = selector.select_for_dialing(campaign, now=west.next_dial_at, limit=10)
    assert [c.lead_id for c in later] == [west.pk]


@pytest.mark.django_db(transaction=True)
def test_a_full_batch_with_a_held_lead_is_filled_from_the_rest_of_the_list():
    campaign = running_campaign()
    held = LeadFactory(
        campaign=campaign,
        priority=9,
        timezone="America/Los_Angeles",
        timezones=["America/Los_Angeles"],
    )
    first = LeadFactory(campaign=campaign, priority=8)
    second = LeadFactory(campaign=campaign, priority=7)
    LeadFactory(campaign=campaign, priority=1)
    calls = selector.select_for_dialing(campaign, now=NOW, limit=2)
    assert [c.lead_id for c in calls] == [first.pk, second.pk]
    held.refresh_from_db()
    assert held.window_held


@pytest.mark.django_db(transaction=True)
def test_the_dial_deadline_is_the_window_close_when_that_comes_first():
    campaign = running_campaign()
    LeadFactory(campaign=campaign)
    near_close = datetime(2026, 11, 19, 1, 59, 30, tzinfo=UTC)  # 20:59:30 in New York
    (call,) = selector.select_for_dialing(campaign, now=near_close, limit=1)
    assert call.dial_deadline == datetime(2026, 11, 19, 2, 0, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_a_do_not_call_number_is_never_dialed_and_ends_failed():
    campaign = running_campaign()
    blocked = LeadFactory(campaign=campaign, number="+12025550199")
    DoNotCall.objects.create(number="+12025550199")
    assert selector.select_for_dialing(campaign, now=NOW, limit=10) == []
    blocked.refresh_from_db()
    assert blocked.state == LeadState.FAILED
    assert blocked.not_dialable_reason == "on Do-Not-Call"


@pytest.mark.django_db(transaction=True)
def test_a_personal_callback_on_do_not_call_is_never_put_on_the_agents_card():
    # The number went on Do-Not-Call while its call was up (dnc_add leaves a lead being
    # dialed alone); the agent then booked a personal callback.
    campaign = running_campaign()
    agent = AgentFactory(status=AgentStatus.AVAILABLE)
    lead = LeadFactory(campaign=campaign, state=LeadState.DIALING, number="+12025550142")
    dnc_add(number="+12025550142", campaign=None, reason="customer asked", now=NOW)
    lifecycle.lead_connected(lead, now=NOW)
    lifecycle.lead_schedule_callback(
        lead, now=NOW, at=NOW + timedelta(hours=1), agent_id=agent.pk, actor="agent"
    )
    later = NOW + timedelta(hours=1, minutes=1)
    rules = selector.build_rules(campaign)
    card = selector._reserve(
        campaign, agent, now=later, rules=rules, cycle_pass=None, personal_only=True
    )
    assert card is None
    lead.refresh_from_db()
    assert (lead.state, lead.not_dialable_reason) == (LeadState.FAILED, "on Do-Not-Call")
    assert selector.select_preview_lead(campaign, agent, later) is None


@pytest.mark.django_db(transaction=True)
def test_a_lead_past_a_lowered_retry_limit_is_not_dialed_and_ends_failed():
    campaign = running_campaign(retries=5)
    due = NOW - timedelta(minutes=1)
    by_campaign = LeadFactory(
        campaign=campaign, state=LeadState.COOLOFF, attempts=4, next_dial_at=due
    )
    by_lead = LeadFactory(campaign=campaign, state=LeadState.COOLOFF, attempts=3, next_dial_at=due)
    under = LeadFactory(campaign=campaign, state=LeadState.COOLOFF, attempts=2, next_dial_at=due)
    campaign.retries = 3  # the supervisor lowers the limit mid-campaign
    campaign.save()
    lead_update_record(lead=by_lead, changes={"retries": "2"}, now=NOW, actor="admin")
    assert selector.explain(by_campaign, now=NOW) == (
        "retries used up: 4 failed attempt(s), limit 3"
    )
    by_lead.refresh_from_db()
    assert selector.explain(by_lead, now=NOW) == "retries used up: 3 failed attempt(s), limit 2"
    calls = selector.select_for_dialing(campaign, now=NOW, limit=10)
    assert [(c.lead_id, c.attempt) for c in calls] == [(under.pk, 3)]
    for lead in (by_campaign, by_lead):
        lead.refresh_from_db()
        assert (lead.state, lead.last_result) == (LeadState.FAILED, "retries exhausted")


@pytest.mark.django_db(transaction=True)
def test_a_booked_callback_is_dialed_once_even_past_a_lowered_retry_limit():
    # A callback is an appointment with a person, not a retry; its dial still spends an
    # attempt, so if it fails the lead ends Failed (lifecycle).
    campaign = running_campaign(retries=3)
    callback = LeadFactory(
        campaign=campaign,
        state=LeadState.CALLBACK,
        attempts=3,
        next_dial_at=NOW - timedelta(minutes=1),
    )
    assert selector.explain(callback, now=NOW) == ""
    (call,) = selector.select_for_dialing(campaign, now=NOW, limit=10)
    assert (call.lead_id, call.attempt) == (callback.pk, 4)


@pytest.mark.django_db(transaction=True)
def test_a_lead_whose_call_is_still_up_is_never_dialed_or_carded_again():
    # A callback booked during the conversation becomes due while the customer may still be
    # on the line: no second call to them.
    campaign = running_campaign(type="preview")
    agent = AgentFactory(status=AgentStatus.AVAILABLE)
    general = LeadFactory(
        campaign=campaign, state=LeadState.CALLBACK, next_dial_at=NOW - timedelta(minutes=1)
    )
    personal = LeadFactory(
        campaign=campaign,
        state=LeadState.CALLBACK,
        callback_agent=agent,
        next_dial_at=NOW - timedelta(minutes=1),
    )
    for lead in (general, personal):
        CallFactory(lead=lead, agent=agent, answered_at=NOW, agent_answered_at=NOW)
    assert selector.explain(general, now=NOW) == "a call to the lead is still in progress"
    assert selector.select_for_dialing(campaign, now=NOW, limit=10) == []
    rules = selector.build_rules(campaign)
    assert (
        selector._reserve(
            campaign, agent, now=NOW, rules=rules, cycle_pass=None, personal_only=True
        )
        is None
    )
    assert selector.select_preview_lead(campaign, agent, NOW) is None
    # Once the call has ended, the callback is dialed.
    Call.objects.filter(lead=general).update(result=CallResult.CONNECTED, hangup_at=NOW)
    (call,) = selector.select_for_dialing(campaign, now=NOW, limit=10)
    assert call.lead_id == general.pk


@pytest.mark.django_db(transaction=True)
def test_explain_says_why_a_lead_is_not_dialed():
    campaign = running_campaign()
    lead = LeadFactory(campaign=campaign, next_dial_at=NOW + timedelta(minutes=65))
    assert selector.explain(lead, now=NOW) == "cool-off until Wed 18 Nov 11:05 lead time"
    campaign.run_status = RunStatus.STOPPED
    campaign.save()
    fresh = LeadFactory(campaign=campaign)
    assert selector.explain(fresh, now=NOW) == "campaign stopped"
    # Late at night the stopped campaign is still what a supervisor needs to read first.
    night = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)  # 22:00 in New York
    assert selector.explain(fresh, now=night) == "campaign stopped"
    assert selector.explain(lead, now=NOW).startswith("cool-off until")


def _select_all(campaign_id: int, out: list[int], barrier: threading.Barrier) -> None:
    from campaigns.models import Campaign

    try:
        campaign = Campaign.objects.get(pk=campaign_id)
        barrier.wait()
        while True:
            calls = selector.select_for_dialing(campaign, now=NOW, limit=100)
            if not calls:
                break
            out.extend(c.lead_id for c in calls)
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_selectors_never_take_the_same_lead():
    campaign = running_campaign()
    Lead.objects.bulk_create(
        Lead(
            campaign=campaign,
            number=f"+1202{i:07d}",
            first_name="L",
            priority=i % 7,
            timezone="America/New_York",
            timezones=["America/New_York"],
            created_at=NOW,
            next_dial_at=NOW - timedelta(seconds=i % 100),
        )
        for i in range(10_000)
    )
    a: list[int] = []
    b: list[int] = []
    barrier = threading.Barrier(2)
    threads = [
        threading.Thread(target=_select_all, args=(campaign.pk, out, barrier)) for out in (a, b)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not set(a) & set(b)
    assert len(a) + len(b) == len(set(a) | set(b)) == 10_000
    assert a  # both really ran
    assert b
    assert Call.objects.filter(campaign=campaign).count() == 10_000


@pytest.mark.django_db(transaction=True)
def test_the_selection_query_uses_the_partial_index():
    campaign = running_campaign()
    LeadFactory(campaign=campaign)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")  # a tiny table; ask what the plan would use
        qs = selector.candidate_query(campaign, NOW).select_for_update(skip_locked=True)[:100]
        plan = qs.explain()
    assert "lead_dialable_idx" in plan
    assert "Sort" not in plan  # the index gives the order


# --- The tick: gate and pacing -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_progressive_dials_free_agents_minus_calls_in_flight():
    campaign = running_campaign()
    LeadFactory.create_batch(10, campaign=campaign)
    live(available=3)
    result = selector.tick_campaign(campaign, now=NOW, snapshots=livestate.node_snapshots())
    assert result.placed == 3
    again = selector.tick_campaign(campaign, now=NOW, snapshots=livestate.node_snapshots())
    assert again.placed == 0  # three calls not yet with an agent cover the three agents
    assert "3 call(s) not yet with an agent" in again.reason


@pytest.mark.django_db(transaction=True)
def test_a_tick_dials_a_due_campaign_callback_before_higher_priority_leads():
    campaign = running_campaign()
    LeadFactory.create_batch(3, campaign=campaign, priority=9)
    callback = LeadFactory(
        campaign=campaign, state=LeadState.CALLBACK, next_dial_at=NOW - timedelta(minutes=5)
    )
    live(available=1)
    (result,) = selector.run_tick(now=NOW)
    assert result.placed == 1
    assert Call.objects.get().lead_id == callback.pk


@pytest.mark.django_db(transaction=True)
def test_two_campaigns_on_one_queue_share_its_free_agents_within_a_tick():
    first = running_campaign()
    second = running_campaign(queue=first.queue)
    LeadFactory.create_batch(5, campaign=first)
    LeadFactory.create_batch(5, campaign=second)
    live(available=3)
    assert sum(r.placed for r in selector.run_tick(now=NOW)) == 3


@pytest.mark.django_db(transaction=True)
def test_inbound_customers_waiting_pause_the_campaign():
    campaign = running_campaign()
    LeadFactory.create_batch(5, campaign=campaign)
    live(available=4, waiting=2)
    result = selector.tick_campaign(campaign, now=NOW, snapshots=livestate.node_snapshots())
    assert result.placed == 0
    assert "2 inbound customer(s) waiting" in result.reason


@pytest.mark.django_db(transaction=True)
def test_no_dialer_connected_means_no_dialing():
    campaign = running_campaign()
    LeadFactory.create_batch(5, campaign=campaign)
    result = selector.tick_campaign(campaign, now=NOW, snapshots=livestate.node_snapshots())
    assert result.placed == 0
    assert "no dialer connected" in result.reason


@pytest.mark.django_db(transaction=True)
def test_outside_the_schedule_a_running_campaign_is_scheduled_and_dials_nothing():
    campaign = running_campaign()
    ScheduleRow.objects.create(
        campaign=campaign, weekdays=[5, 6], start_time="09:00", end_time="17:00"
    )
    LeadFactory.create_batch(5, campaign=campaign)
    live(available=4)
    result = selector.tick_campaign(campaign, now=NOW, snapshots=livestate.node_snapshots())
    assert result.placed == 0
    assert result.reason.startswith("Scheduled: outside the campaign schedule; opens Sat")
    from campaigns.services import campaign_display_status

    assert campaign_display_status(campaign, now=NOW) == "Scheduled"


@pytest.mark.django_db(transaction=True)
def test_run_tick_skips_a_campaign_another_tick_holds_and_records_the_reason(clean_redis):
    busy = running_campaign()
    LeadFactory.create_batch(3, campaign=busy)
    live(available=2)
    with selector.campaign_lock(busy.pk) as got:
        assert got
        assert selector.run_tick(now=NOW) == []
    (result,) = selector.run_tick(now=NOW)
    assert result.placed == 2
    assert selector.dialing_status(busy)["placed"] == 2


@pytest.mark.django_db(transaction=True)
def test_push_preview_offers_one_card_per_free_agent_without_one():
    campaign = running_campaign(type="push_preview", preview_timeout=30)
    free = AgentFactory(name="1001@default", status=AgentStatus.AVAILABLE)
    busy = AgentFactory(name="1002@default", status=AgentStatus.AVAILABLE)
    for a in (free, busy):
        a.tiers.create(queue=campaign.queue, level=1, position=1)
    LeadFactory.create_batch(4, campaign=campaign)
    live(
        available=1,
        agents={
            free.name: {"status": "Available", "state": "Waiting"},
            busy.name: {"status": "Available", "state": "In a queue call"},
        },
    )
    result = selector.tick_campaign(campaign, now=NOW, snapshots=livestate.node_snapshots())
    assert result.placed == 1
    card = Lead.objects.get(state=LeadState.RESERVED)
    assert card.reserved_by == free
    assert card.reserved_until == NOW + timedelta(seconds=30)
    free.desk.refresh_from_db()
    assert free.desk.call_state == DeskCallState.CARD
    # The agent holds a card now: no second one.
    again = selector.tick_campaign(campaign, now=NOW, snapshots=livestate.node_snapshots())
    assert again.placed == 0


@pytest.mark.django_db(transaction=True)
def test_preview_reserves_only_when_the_agent_asks_and_personal_callbacks_come_first():
    campaign = running_campaign(type="preview")
    agent = AgentFactory(status=AgentStatus.AVAILABLE)
    other = AgentFactory()
    LeadFactory(campaign=campaign, priority=50)
    theirs = LeadFactory(
        campaign=campaign, state=LeadState.CALLBACK, callback_agent=other, priority=99
    )
    mine = LeadFactory(
        campaign=campaign,
        state=LeadState.CALLBACK,
        callback_agent=agent,
        next_dial_at=NOW - timedelta(minutes=1),
    )
    live(available=1)
    assert selector.tick_campaign(campaign, now=NOW, snapshots=[]).placed == 0
    assert not Lead.objects.filter(state=LeadState.RESERVED).exists()
    lead = selector.select_preview_lead(campaign, agent, NOW)
    assert lead is not None
    assert lead.pk == mine.pk
    assert selector.select_preview_lead(campaign, agent, NOW).priority == 50
    assert selector.select_preview_lead(campaign, agent, NOW) is None  # theirs is not mine
    theirs.refresh_from_db()
    assert theirs.state == LeadState.CALLBACK


@pytest.mark.django_db(transaction=True)
def test_dial_cycles_stop_after_n_passes_until_the_reset_time():
    from leads import lifecycle

    campaign = running_campaign(dial_cycles=1, dial_cycles_time=time(6), cool_off=0)
    a, b = LeadFactory.create_batch(2, campaign=campaign)

    def tick(now: datetime, agents: int) -> selector.TickResult:
        Call.objects.filter(result=CallResult.PENDING).update(result=CallResult.NO_ANSWER)
        live(available=agents)
        return selector.tick_campaign(campaign, now=now, snapshots=livestate.node_snapshots())

    assert tick(NOW, 1).placed == 1
    # That lead's attempt fails and it is due again at once; the pass still owes the other.
    first = Lead.objects.get(state=LeadState.DIALING)
    lifecycle.lead_attempt_failed(first, now=NOW, result="no_answer")
    assert tick(NOW, 5).placed == 1
    assert {c.lead_id for c in Call.objects.all()} == {a.pk, b.pk}
    campaign.refresh_from_db()
    assert campaign.cycles_done == 1  # both dialed once: this window's one pass is done
    lifecycle.lead_attempt_failed(Lead.objects.get(state=LeadState.DIALING), now=NOW, result="x")
    done = tick(NOW, 5)
    assert (done.placed, done.reason) == (0, "Dial cycles done: 1 pass(es) in this window")
    # 06:30 in New York the next day: a new window (and 08:00 brings legal hours).
    assert tick(datetime(2026, 11, 19, 13, 0, tzinfo=UTC), 5).placed == 2


# --- Start, stop, handoff, reaper -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_stop_closes_undialed_requests_and_keeps_cool_offs_across_restart(clean_redis):
    campaign = running_campaign()
    cooling = LeadFactory(
        campaign=campaign, state=LeadState.COOLOFF, next_dial_at=NOW + timedelta(hours=2)
    )
    LeadFactory.create_batch(2, campaign=campaign)
    requested = selector.select_for_dialing(campaign, now=NOW, limit=2)
    dialed = handoff.claim_request(str(requested[0].uuid), now=NOW)
    assert dialed is not None
    campaign_stop(campaign, now=NOW, actor="ada")
    undialed = Call.objects.get(pk=requested[1].pk)
    assert undialed.result == CallResult.CANCELLED
    assert Lead.objects.get(pk=undialed.lead_id).state == LeadState.RETRY
    # The dialed call is the daemon's to hang up: it was told.
    assert {"action": "stop", "campaign_id": campaign.pk} in control_commands(clean_redis)
    assert Call.objects.get(pk=requested[0].pk).result == CallResult.PENDING
    campaign_start(campaign, now=NOW + timedelta(minutes=5), actor="ada")
    cooling.refresh_from_db()
    assert (cooling.state, cooling.next_dial_at) == (LeadState.COOLOFF, NOW + timedelta(hours=2))
    assert {"action": "start", "campaign_id": campaign.pk} in control_commands(clean_redis)


@pytest.mark.django_db(transaction=True)
def test_start_looks_again_at_leads_held_by_old_windows():
    campaign = running_campaign()
    ScheduleRow.objects.create(
        campaign=campaign, weekdays=[2], start_time="09:00", end_time="17:00"
    )
    west = LeadFactory(
        campaign=campaign, timezone="America/Los_Angeles", timezones=["America/Los_Angeles"]
    )
    selector.select_for_dialing(campaign, now=NOW, limit=5)  # 07:00 in Los Angeles
    west.refresh_from_db()
    assert west.window_held
    campaign_start(campaign, now=NOW, actor="ada")
    west.refresh_from_db()
    assert (west.window_held, west.next_dial_at) == (False, NOW)


@pytest.mark.django_db(transaction=True)
def test_a_redelivered_request_is_dialed_once_and_a_late_one_not_at_all():
    campaign = running_campaign()
    LeadFactory.create_batch(2, campaign=campaign)
    first, second = selector.select_for_dialing(campaign, now=NOW, limit=2)
    assert handoff.claim_request(str(first.uuid), now=NOW) is not None
    assert handoff.claim_request(str(first.uuid), now=NOW) is None
    late = second.dial_deadline + timedelta(seconds=1)
    assert handoff.claim_request(str(second.uuid), now=late) is None
    second.refresh_from_db()
    assert second.result == CallResult.FAILED
    assert second.hangup_cause == "WINDOW_CLOSED"
    lead = Lead.objects.get(pk=second.lead_id)
    assert (lead.state, lead.attempts) == (LeadState.RETRY, 0)


@pytest.mark.django_db(transaction=True)
def test_the_stream_redelivers_what_a_dead_consumer_never_acknowledged():
    campaign = running_campaign()
    LeadFactory.create_batch(3, campaign=campaign)
    calls = selector.select_for_dialing(campaign, now=NOW, limit=3)
    read = handoff.read_requests(consumer="fs1-a", count=10, block_ms=10)
    assert [r.call_uuid for r in read] == [str(c.uuid) for c in calls]
    handoff.ack(read[0].message_id)
    # Restarted, the same consumer first gets back what it had read and not acknowledged.
    handoff._own_pending_done.clear()
    again = handoff.read_requests(consumer="fs1-a", count=10, block_ms=10)
    assert [r.call_uuid for r in again] == [str(c.uuid) for c in calls[1:]]
    # Another node takes them over once they are idle long enough.
    taken = handoff.reclaim(consumer="fs2-a", min_idle_ms=0)
    assert {r.call_uuid for r in taken} == {str(c.uuid) for c in calls[1:]}


@pytest.mark.django_db(transaction=True)
def test_the_reaper_gives_back_leads_whose_request_no_dialer_took():
    campaign = running_campaign()
    LeadFactory.create_batch(3, campaign=campaign)
    stuck, dialed, young = selector.select_for_dialing(campaign, now=NOW, limit=3)
    handoff.claim_request(str(dialed.uuid), now=NOW)
    Call.objects.filter(pk=young.pk).update(requested_at=NOW + timedelta(seconds=100))
    assert selector.reap_stuck_requests(now=NOW + timedelta(seconds=121)) == 1
    stuck.refresh_from_db()
    assert (stuck.result, stuck.hangup_cause) == (CallResult.FAILED, "REQUEST_NOT_TAKEN")
    lead = Lead.objects.get(pk=stuck.lead_id)
    assert (lead.state, lead.attempts) == (LeadState.RETRY, 0)
    assert Call.objects.get(pk=dialed.pk).result == CallResult.PENDING
    assert Call.objects.get(pk=young.pk).result == CallResult.PENDING


# --- Property: never outside a window, never DNC, every eligible lead within one tick -------


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rules=rule_sets(),
    zones=st.lists(
        st.lists(st.sampled_from(ZONES), min_size=1, max_size=2, unique=True),
        min_size=6,
        max_size=6,
    ),
    offsets=st.lists(st.integers(-3 * 86400, 86400), min_size=6, max_size=6),
    now=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
    ),
    dnc=st.lists(st.booleans(), min_size=6, max_size=6),
)
@pytest.mark.django_db(transaction=True)
def test_selection_obeys_every_window_and_misses_no_eligible_lead(rules, zones, offsets, now, dnc):
    from django.test.utils import override_settings

    with override_settings(
        ACCOUNT_TIMEZONE=rules.account_zone,
        LEGAL_CALLING_START=rules.legal[0],
        LEGAL_CALLING_END=rules.legal[1],
    ):
        campaign = running_campaign(
            queue=QueueFactory(),
            tz_window_enabled=rules.tz_window is not None,
            tz_window_from=rules.tz_window[0] if rules.tz_window else None,
            tz_window_to=rules.tz_window[1] if rules.tz_window else None,
            tz_schedule_enabled=bool(rules.tz_slots),
            tz_schedule_window_hours=rules.tz_slot_length.total_seconds() / 3600,
        )
        for row in rules.schedule:
            ScheduleRow.objects.create(
                campaign=campaign,
                weekdays=sorted(row.weekdays),
                start_time=row.start,
                end_time=row.end,
                month_day_start=row.month_days[0] if row.month_days else None,
                month_day_finish=row.month_days[1] if row.month_days else None,
                months=sorted(row.months),
            )
        for day, start in set(rules.tz_slots):
            campaign.tz_slots.create(day_offset=day, start_time=start)
        leads = []
        for i in range(6):
            lead = LeadFactory(
                campaign=campaign,
                timezone=zones[i][0],
                timezones=zones[i],
                created_at=now - timedelta(days=i),
                next_dial_at=now + timedelta(seconds=offsets[i]),
            )
            if dnc[i]:
                DoNotCall.objects.create(number=lead.number, campaign=campaign)
            leads.append(lead)
        expected = {
            lead.pk
            for i, lead in enumerate(leads)
            if lead.next_dial_at <= now
            and not dnc[i]
            and oracle_open(rules, tuple(zones[i]), lead.created_at, now)
        }
        selected = {c.lead_id for c in selector.select_for_dialing(campaign, now=now, limit=100)}
        assert selected == expected
        # Deferred leads are not lost: each comes back once its window opens.
        for lead in Lead.objects.filter(campaign=campaign, window_held=True):
            if "no opening within a year" in lead.not_dialable_reason:
                continue  # looked at again daily
            i = next(k for k, x in enumerate(leads) if x.pk == lead.pk)
            assert oracle_open(rules, tuple(zones[i]), lead.created_at, lead.next_dial_at)
