"""The live pacing seam and the compliance ledger on PostgreSQL and Redis: what a Predictive
campaign dials from the daemons' live state and its Call rows, and the ledger an admin exports."""

from __future__ import annotations

import csv
import io
import random
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from campaigns.models import RunStatus
from dialer import compliance, livestate
from dialer.models import Call, CallResult
from dialer.pacing import live as pacing_live
from dialer.redisconn import redis_client
from tests.factories import NOW, AgentFactory, CampaignFactory, LeadFactory, QueueFactory

QUEUE = "predictive@default"


@pytest.fixture(autouse=True)
def clean_redis():  # type: ignore[no-untyped-def]
    client = redis_client()

    def wipe() -> None:
        keys = [*client.keys("dialer:live:*"), *client.keys("pacing:*")]
        if keys:
            client.delete(*keys)

    wipe()
    yield
    wipe()


@pytest.fixture
def campaign(db):  # type: ignore[no-untyped-def]
    queue = QueueFactory(name=QUEUE, wrap_up_time=10)
    return CampaignFactory(queue=queue, type="predictive", run_status=RunStatus.RUNNING)


def team(campaign, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    names = []
    for _ in range(n):
        agent = AgentFactory()
        agent.tiers.create(queue=campaign.queue, level=1, position=1)
        names.append(agent.name)
    return names


def publish(agents: dict[str, tuple[str, str]], available: int) -> livestate.QueueLive:
    livestate.publish_dialer_snapshot(
        {
            "node": "fs1",
            "connected": True,
            "queues": {
                QUEUE: {"agents_available": available, "members_waiting": 0, "calls_in_flight": 0}
            },
            "campaigns": {},
            "agents": {n: {"status": s, "state": st} for n, (s, st) in agents.items()},
        }
    )
    return livestate.queue_live(QUEUE)


def history(campaign, *, dials: int, p: float, seed: int = 1, end=NOW) -> None:  # type: ignore[no-untyped-def]
    """Finished calls measured on the SCENARIOS.md call model, the last ending before ``end``."""
    rng = random.Random(seed)
    lead = LeadFactory(campaign=campaign)
    rows = []
    for i in range(dials):
        dialed = end - timedelta(seconds=40 * (dials - i) + 300)
        row = Call(
            campaign=campaign, lead=lead, attempt=1, number=lead.number,
            requested_at=dialed, dialed_at=dialed,
        )  # fmt: skip
        if rng.random() < p:
            row.answered_at = row.agent_answered_at = dialed + timedelta(
                seconds=2 + rng.gammavariate(4, 1.75)
            )
            row.talk_seconds = rng.lognormvariate(4.85, 0.83)
            row.hangup_at = row.answered_at + timedelta(seconds=row.talk_seconds)
            row.result = CallResult.CONNECTED
        else:
            row.hangup_at = dialed + timedelta(seconds=25)
            row.result = CallResult.NO_ANSWER
        rows.append(row)
    Call.objects.bulk_create(rows)


def test_no_agent_logged_in_stops_dialing_at_once(campaign):
    names = team(campaign, 3)
    history(campaign, dials=600, p=0.3)
    live = publish(dict.fromkeys(names, ("Logged Out", "Waiting")), available=0)
    n, reason = pacing_live.predictive_calls_to_place(campaign, live=live, now=NOW)
    assert n == 0
    assert "No agent" in reason
    live = publish(dict.fromkeys(names, ("On Break", "Waiting")), available=0)
    assert pacing_live.predictive_calls_to_place(campaign, live=live, now=NOW)[0] == 0
    live = publish(dict.fromkeys(names, ("Available", "Idle")), available=0)
    assert pacing_live.predictive_calls_to_place(campaign, live=live, now=NOW)[0] == 0


def test_no_dialer_connected_dials_nothing(campaign):
    team(campaign, 3)
    n, reason = pacing_live.predictive_calls_to_place(
        campaign, live=livestate.queue_live(QUEUE), now=NOW
    )
    assert n == 0
    assert "no dialer" in reason


def test_warm_up_is_progressive(campaign):
    names = team(campaign, 4)
    live = publish(dict.fromkeys(names, ("Available", "Waiting")), available=4)
    n, reason = pacing_live.predictive_calls_to_place(campaign, live=live, now=NOW)
    assert n == 4
    assert "Warm-up" in reason
    lead = LeadFactory(campaign=campaign)
    Call.objects.create(
        campaign=campaign, lead=lead, attempt=1, number=lead.number,
        requested_at=NOW - timedelta(seconds=3), dialed_at=NOW - timedelta(seconds=3),
    )  # fmt: skip
    assert pacing_live.predictive_calls_to_place(campaign, live=live, now=NOW)[0] == 3


def busy_team(campaign) -> livestate.QueueLive:  # type: ignore[no-untyped-def]
    """Ten agents of a measured campaign (p = 0.3), none free: seven talking, three finished a
    call 8 s ago (wrap-up ends in 2 s)."""
    names = team(campaign, 10)
    history(campaign, dials=900, p=0.3)
    lead = LeadFactory(campaign=campaign)
    for name in names[:7]:
        Call.objects.create(
            campaign=campaign, lead=lead, attempt=1, number=lead.number, agent_name=name,
            requested_at=NOW - timedelta(seconds=60), dialed_at=NOW - timedelta(seconds=60),
            answered_at=NOW - timedelta(seconds=50), agent_answered_at=NOW - timedelta(seconds=50),
        )  # fmt: skip
    for name in names[7:]:
        Call.objects.create(
            campaign=campaign, lead=lead, attempt=1, number=lead.number, agent_name=name,
            requested_at=NOW - timedelta(seconds=300), dialed_at=NOW - timedelta(seconds=300),
            answered_at=NOW - timedelta(seconds=290),
            agent_answered_at=NOW - timedelta(seconds=290),
            hangup_at=NOW - timedelta(seconds=8), result=CallResult.CONNECTED, talk_seconds=282,
        )  # fmt: skip
    agents = dict.fromkeys(names[:7], ("Available", "In a queue call"))
    agents |= dict.fromkeys(names[7:], ("Available", "Waiting"))
    return publish(agents, available=0)


def test_measured_campaign_dials_ahead_of_agents_in_wrap_up(campaign):
    live = busy_team(campaign)
    n, reason = pacing_live.predictive_calls_to_place(campaign, live=live, now=NOW)
    # Progressive would place nothing (no agent is free); p = 0.3 needs several lines each.
    assert n >= 3
    assert reason.startswith("Predictive")
    kept = pacing_live.latest_decision(campaign.pk)
    assert kept is not None
    assert kept["calls_to_place"] == n
    assert kept["mode"] == "predictive"
    assert kept["expected_free_agents"] >= 3
    # Asked every second for a minute: one kept sample every 10 s, not sixty.
    for s in range(1, 60):
        pacing_live.predictive_calls_to_place(campaign, live=live, now=NOW + timedelta(seconds=s))
    kept_history = pacing_live.decision_history(campaign.pk)
    assert len(kept_history) == 6  # at 0, 10, ... 50 s
    assert kept_history[0]["at"] == (NOW + timedelta(seconds=50)).timestamp()


def test_agents_held_for_a_disposition_count_as_wrapping_up_until_wrap_up_ends(campaign):
    from agents.models import Agent, AgentDesk, DeskCallState

    live = busy_team(campaign)
    ready = pacing_live.predictive_calls_to_place(campaign, live=live, now=NOW)[0]
    # The desktop holds the three agents who just hung up On Break until their calls have a
    # disposition (Ready again when the wrap-up time is over).
    wrapping = Agent.objects.filter(
        name__in=Call.objects.filter(
            campaign=campaign, hangup_at=NOW - timedelta(seconds=8)
        ).values("agent_name")
    )
    for agent in wrapping:
        AgentDesk.objects.update_or_create(
            agent=agent,
            defaults={
                "call_state": DeskCallState.WRAP_UP,
                "wrap_up_until": NOW + timedelta(seconds=2),
                "ready_after_wrap_up": True,
            },
        )
    talking = Call.objects.filter(campaign=campaign, result=CallResult.PENDING)
    agents = dict.fromkeys(
        talking.values_list("agent_name", flat=True), ("Available", "In a queue call")
    )
    agents |= {a.name: ("On Break", "Waiting") for a in wrapping}
    live = publish(agents, available=0)
    assert len(agents) == 10
    assert pacing_live.predictive_calls_to_place(campaign, live=live, now=NOW)[0] == ready
    # Wrap-up over and still no disposition: on a break until they set it, so fewer lines.
    later = NOW + timedelta(seconds=3)
    assert pacing_live.predictive_calls_to_place(campaign, live=live, now=later)[0] < ready


def test_lines_the_dialer_still_holds_count_as_just_placed(campaign):
    """Lines requested 20 s ago that the dialer holds at its concurrency cap have not rung yet.
    Taken as ringing for 20 s they would look nearly done (most live answers come sooner), and
    pacing would stack more lines on top, all to go out late together."""
    live = busy_team(campaign)
    lead = LeadFactory(campaign=campaign)
    for _ in range(3):
        Call.objects.create(
            campaign=campaign, lead=lead, attempt=1, number=lead.number,
            requested_at=NOW - timedelta(seconds=20),
        )  # fmt: skip
    n, reason = pacing_live.predictive_calls_to_place(campaign, live=live, now=NOW)
    assert n == 0
    assert "last lines placed 0.0 s ago" in reason


def test_answer_rate_follows_amd_mistakes_found_later(campaign):
    lead = LeadFactory(campaign=campaign)
    at = NOW - timedelta(minutes=5)

    def call(amd: str, agent: bool, mistake: str = "") -> Call:
        return Call(
            campaign=campaign, lead=lead, attempt=1, number=lead.number, requested_at=at,
            dialed_at=at, answered_at=at + timedelta(seconds=8),
            agent_answered_at=at + timedelta(seconds=9) if agent else None,
            hangup_at=at + timedelta(seconds=60), amd_result=amd, amd_mistake=mistake,
            result=CallResult.CONNECTED if agent else CallResult.VOICEMAIL,
        )  # fmt: skip

    Call.objects.bulk_create(
        [call("HUMAN", True) for _ in range(4)]
        + [call("MACHINE", False) for _ in range(2)]
        + [call("MACHINE", False, "human_as_machine") for _ in range(3)]  # people hung up on
        + [call("HUMAN", True, "machine_as_human")]  # voicemail an agent reached
    )
    ring, _ = pacing_live.measured_models(campaign, now=NOW)
    assert ring is not None
    assert (ring.dials, ring.live_answers) == (10, 7)


def test_live_answers_still_talking_count_in_the_answer_rate(campaign):
    """A big team keeps about one live answer per agent on the line: those calls have not hung
    up, but their outcome is known. Left out, the answer rate would read 10/95 and the pacing
    would dial for a rate lower than the list's."""
    lead = LeadFactory(campaign=campaign)

    def call(at, *, live: bool, done: bool) -> Call:  # type: ignore[no-untyped-def]
        return Call(
            campaign=campaign, lead=lead, attempt=1, number=lead.number, requested_at=at,
            dialed_at=at, answered_at=at + timedelta(seconds=9) if live else None,
            agent_answered_at=at + timedelta(seconds=10) if live else None,
            hangup_at=at + timedelta(seconds=25 if not live else 200) if done else None,
            result=CallResult.PENDING if not done else (
                CallResult.CONNECTED if live else CallResult.NO_ANSWER
            ),
        )  # fmt: skip

    earlier, recent = NOW - timedelta(minutes=10), NOW - timedelta(minutes=1)
    Call.objects.bulk_create(
        [call(earlier, live=True, done=True) for _ in range(10)]
        + [call(earlier, live=False, done=True) for _ in range(60)]
        + [call(recent, live=True, done=False) for _ in range(5)]  # with agents now
        + [call(recent, live=False, done=True) for _ in range(25)]
        + [call(NOW - timedelta(seconds=5), live=False, done=False)]  # still ringing: unknown
    )
    ring, _ = pacing_live.measured_models(campaign, now=NOW)
    assert ring is not None
    assert (ring.dials, ring.live_answers) == (100, 15)
    assert ring.live_probability == pytest.approx(0.15, abs=0.005)  # newer dials weigh more


def test_talk_time_is_measured_on_the_calls_that_ended_last(campaign):
    """At any moment the calls still going are mostly the long ones. Taking the calls started
    last that have ended keeps the short ones and drops the long ones: talk time reads short,
    and pacing expects agents free sooner than they will be (more lines, more drops)."""
    lead = LeadFactory(campaign=campaign)
    cycle = (60, 600, 120, 240, 180)  # every agent's calls in turn: 240 s on average
    start = NOW - timedelta(hours=1)
    rows = []
    for agent in range(100):  # back to back with a 10 s wrap-up, agents out of step
        at, k = start + timedelta(seconds=agent * 7 % 300), agent
        while at < NOW:
            talk = cycle[k % len(cycle)]
            end = at + timedelta(seconds=talk)
            ended = end <= NOW
            call = Call(
                campaign=campaign, lead=lead, attempt=1, number=lead.number,
                requested_at=at - timedelta(seconds=10), dialed_at=at - timedelta(seconds=10),
                answered_at=at, agent_answered_at=at, hangup_at=end if ended else None,
                talk_seconds=talk if ended else None,
                result=CallResult.CONNECTED if ended else CallResult.PENDING,
            )  # fmt: skip
            rows.append(call)
            at, k = end + timedelta(seconds=10), k + 1
    Call.objects.bulk_create(rows)
    _, talk = pacing_live.measured_models(campaign, now=NOW)
    assert talk is not None
    assert talk.mean > 225  # by start order it read 208 s


# --- the compliance ledger ------------------------------------------------------------------


def answered(campaign, at, *, agent_after: float | None, machine: bool = False, done: bool = True):  # type: ignore[no-untyped-def]
    lead = LeadFactory(campaign=campaign)
    return Call.objects.create(
        campaign=campaign, lead=lead, attempt=1, number=lead.number,
        requested_at=at - timedelta(seconds=10), dialed_at=at - timedelta(seconds=10),
        answered_at=at,
        agent_answered_at=at + timedelta(seconds=agent_after) if agent_after is not None else None,
        hangup_at=at + timedelta(seconds=30) if done else None,
        amd_result="MACHINE" if machine else "",
        result=CallResult.CONNECTED if agent_after is not None else (
            CallResult.ABANDONED if done else CallResult.PENDING
        ),
    )  # fmt: skip


def test_each_tick_paces_on_the_outcomes_known_by_then(campaign):
    names = team(campaign, 4)
    live = publish(dict.fromkeys(names, ("Available", "Waiting")), available=4)
    history(campaign, dials=20, p=0.5)
    reason = pacing_live.predictive_calls_to_place(campaign, live=live, now=NOW)[1]
    assert "20 of 30 dial outcomes measured" in reason
    history(campaign, dials=15, p=0.5, seed=2)
    # The next tick paces on all 35: the warm-up ends on its 30th outcome, not seconds later
    # (a team of 100 would dial progressive meanwhile).
    reason = pacing_live.predictive_calls_to_place(campaign, live=live, now=NOW)[1]
    assert "dial outcomes measured" not in reason
    ring, _ = pacing_live.measured_models(campaign, now=NOW)
    assert ring is not None
    assert ring.dials == 35
    # A run of live answers shows at once in the answer rate.
    before = ring.live_probability
    lead = LeadFactory(campaign=campaign)
    for i in range(30):
        at = NOW - timedelta(seconds=30 - i)
        Call.objects.create(
            campaign=campaign, lead=lead, attempt=1, number=lead.number, requested_at=at,
            dialed_at=at, answered_at=at + timedelta(seconds=5), result=CallResult.PENDING,
        )  # fmt: skip
    ring, _ = pacing_live.measured_models(campaign, now=NOW)
    assert ring is not None
    assert ring.dials == 65
    assert ring.live_probability > before


def test_ledger_30_day_window(campaign):
    for _ in range(3):
        answered(campaign, NOW - timedelta(days=29, hours=23), agent_after=1.0)
    answered(campaign, NOW - timedelta(days=29, hours=23), agent_after=None)  # abandoned
    answered(campaign, NOW - timedelta(days=30), agent_after=None)  # exactly 30 days: out
    answered(campaign, NOW - timedelta(days=31), agent_after=None)
    answered(campaign, NOW - timedelta(hours=1), agent_after=2.5)  # agent too late: abandon
    answered(campaign, NOW - timedelta(hours=1), agent_after=2.0)  # within 2 s: connected
    answered(campaign, NOW - timedelta(hours=1), agent_after=None, machine=True)  # not live
    answered(campaign, NOW - timedelta(seconds=1), agent_after=None, done=False)  # still waiting
    rate = compliance.campaign_window_rate(campaign, now=NOW)
    assert (rate.live_answers, rate.abandons) == (7, 2)
    # One second later the waiting customer has had no agent for 2 s: abandoned.
    later = compliance.campaign_window_rate(campaign, now=NOW + timedelta(seconds=1))
    assert (later.live_answers, later.abandons) == (7, 3)


def test_ledger_24_hour_window(campaign):
    campaign.abandon_window = "24h"
    answered(campaign, NOW - timedelta(hours=23, minutes=59), agent_after=None)
    answered(campaign, NOW - timedelta(hours=24), agent_after=None)  # exactly 24 h: out
    answered(campaign, NOW - timedelta(hours=2), agent_after=0.5)
    rate = compliance.campaign_window_rate(campaign, now=NOW)
    assert (rate.live_answers, rate.abandons) == (2, 1)
    us = compliance.campaign_window_rate(campaign, now=NOW, window="30d")
    assert (us.live_answers, us.abandons) == (3, 2)


def test_ledger_csv_is_the_proof(campaign):
    for _ in range(40):
        answered(campaign, NOW - timedelta(days=2), agent_after=1.0)
    dropped = answered(campaign, NOW - timedelta(days=1), agent_after=None)
    text = "".join(compliance.ledger_csv_lines(campaign, now=NOW))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == compliance.CSV_HEADER
    body = rows[1:42]
    assert len(body) == 41
    assert [r[6] for r in body].count("yes") == 1
    assert next(r for r in body if r[0] == str(dropped.uuid))[6] == "yes"
    totals = rows[-2]
    assert totals[:4] == ["live_answers", "41", "abandons", "1"]
    assert rows[-1][-1] == "yes"  # 2.4% is within the 3% cap


def test_pacing_page_explains_and_exports(campaign, client, admin_user, agent):
    names = team(campaign, 2)
    history(campaign, dials=300, p=0.3)
    answered(campaign, NOW - timedelta(minutes=5), agent_after=None)
    live = publish(dict.fromkeys(names, ("Available", "Waiting")), available=2)
    pacing_live.predictive_calls_to_place(campaign, live=live, now=NOW)
    client.force_login(agent.user)
    assert client.get(f"/campaigns/{campaign.pk}/pacing/").status_code == 403
    assert client.get(f"/campaigns/{campaign.pk}/pacing/ledger.csv").status_code == 403
    client.force_login(admin_user)
    page = client.get(f"/campaigns/{campaign.pk}/pacing/").content.decode()
    for shown in ("Dial level", "expected free", "Live-answer rate measured", "Why:", "Today"):
        assert shown in page
    assert "Export abandon ledger" in page
    edit = client.get(f"/campaigns/{campaign.pk}/edit/").content.decode()
    assert f"/campaigns/{campaign.pk}/pacing/" in edit
    response = client.get(f"/campaigns/{campaign.pk}/pacing/ledger.csv?window=24h")
    assert response["Content-Type"].startswith("text/csv")
    assert "24h" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == compliance.CSV_HEADER
    assert rows[-2][0] == "live_answers"


def test_pacing_page_figures_refresh_from_a_json_endpoint(campaign, client, admin_user, agent):
    url = f"/campaigns/{campaign.pk}/pacing/live/"
    client.force_login(agent.user)
    assert client.get(url).status_code == 403
    client.force_login(admin_user)
    page = client.get(f"/campaigns/{campaign.pk}/pacing/").content.decode()
    assert f'data-url="{url}"' in page
    assert "setInterval(refresh" in page
    before = client.get(url)
    assert before["Content-Type"] == "application/json"
    assert before["Cache-Control"] == "no-store"
    fig = before.json()
    assert (fig["has_decision"], fig["today_live"], fig["window_pct"]) == (False, 0, "0.00%")
    # The selector decides and a customer is dropped: the next poll sees both.
    names = team(campaign, 2)
    history(campaign, dials=300, p=0.3)
    live = publish(dict.fromkeys(names, ("Available", "Waiting")), available=2)
    pacing_live.predictive_calls_to_place(campaign, live=live, now=NOW)
    answered(campaign, timezone.now() - timedelta(seconds=5), agent_after=None)
    fig = client.get(url).json()
    decision = pacing_live.latest_decision(campaign.pk)
    assert decision is not None
    assert fig["has_decision"] is True
    assert fig["dial_level"] == f"{decision['dial_level']:.2f}"
    assert fig["free_agents"] == f"{decision['expected_free_agents']:.1f}"
    assert fig["answer_rate"].endswith("%")
    assert fig["reason"] == decision["reason"]
    assert (fig["today_live"], fig["today_abandons"], fig["today_pct"]) == (1, 1, "100.00%")
    assert fig["window_abandons"] == 1  # the measured history (connected calls) is in it too
    assert set(fig) >= {"slow_reason", "amd_abandons", "machines_excluded", "decision_age"}


def test_what_if_command_uses_the_measured_statistics(campaign):
    team(campaign, 10)
    history(campaign, dials=600, p=0.3)
    out = io.StringIO()
    # An 8-hour shift, the run the cap is promised on (an hour of 10 agents is ~170 answers).
    call_command("pacing_whatif", str(campaign.pk), "--hours", "8", "--seeds", "1", stdout=out)
    text = out.getvalue()
    assert "10 agents" in text
    measured = float(text.split("live-answer rate ")[1].split("%")[0])
    assert 24 <= measured <= 36  # the history was drawn at 30%
    lines = {line.split(" | ")[0]: line.split(" | ") for line in text.splitlines() if " | " in line}
    ours, progressive = lines["predictive (project)"], lines["progressive"]
    assert float(ours[1].rstrip("%")) > float(progressive[1].rstrip("%"))
    assert float(ours[2].rstrip("%")) <= 3.0


def test_what_if_refuses_a_campaign_without_history(campaign):
    with pytest.raises(CommandError, match="not enough measured calls"):
        call_command("pacing_whatif", campaign.name)


def test_admin_sets_the_predictive_compliance_settings(campaign, client, admin_user):
    client.force_login(admin_user)
    page = client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()
    assert "Predictive only: abandon cap and drops" in page
    for field in ("abandon_cap", "abandon_window", "safe_harbor_media", "drop_rule"):
        assert f'name="{field}"' in page


def test_the_selector_dials_a_predictive_campaign_through_the_seam(campaign):
    from dialer import selector

    names = team(campaign, 3)
    LeadFactory.create_batch(10, campaign=campaign)
    publish(dict.fromkeys(names, ("Available", "Waiting")), available=3)
    result = selector.tick_campaign(campaign, now=NOW, snapshots=livestate.node_snapshots())
    assert result.placed == 3
    assert "Warm-up" in result.reason
    again = selector.tick_campaign(campaign, now=NOW, snapshots=livestate.node_snapshots())
    assert again.placed == 0  # three calls ringing cover the three idle agents
    publish(dict.fromkeys(names, ("Logged Out", "Waiting")), available=0)
    gone = selector.tick_campaign(campaign, now=NOW, snapshots=livestate.node_snapshots())
    assert gone.placed == 0
    assert "No agent" in gone.reason
