"""Compliance ledger arithmetic: the window a regulator would count, ending at ``now``; and the
campaign ledger on the Call rows with AMD mistakes counted (dialer.compliance)."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.admin.sites import site as admin_site

from agents.desktop import dialer_bridge, services
from campaigns.models import RunStatus
from dialer import compliance
from dialer.calls import (
    AmdMistakeRefused,
    amd_mistake_from_agent,
    call_record_amd_mistake,
)
from dialer.models import AmdMistake, Call, CallResult
from dialer.pacing.ledger import (
    DAY,
    UK_WINDOW,
    US_WINDOW,
    LedgerEntry,
    Outcome,
    RollingLedger,
    WindowRate,
    window_rate,
)
from leads.models import Lead, LeadState
from tests.factories import NOW, CampaignFactory, DispositionFactory, LeadFactory

LIVE, DROP = Outcome.LIVE_ANSWER, Outcome.ABANDON


def _entries(spec: list[tuple[float, Outcome]]) -> list[LedgerEntry]:
    return [LedgerEntry(at, outcome) for at, outcome in spec]


def test_thirty_day_window_drops_calls_older_than_thirty_days():
    now = 40 * DAY
    entries = _entries(
        [(5 * DAY, DROP), (5 * DAY, DROP)]  # 35 days old: outside the US window
        + [(20 * DAY, LIVE)] * 97
        + [(39 * DAY, DROP)] * 3
    )
    w = window_rate(entries, now, US_WINDOW)
    assert (w.live_answers, w.abandons) == (100, 3)
    assert w.rate == pytest.approx(0.03)


def test_uk_24_hour_window_only_counts_the_last_day():
    now = 10 * DAY
    entries = _entries([(now - 2 * DAY, DROP)] * 10 + [(now - 3600, LIVE)] * 49 + [(now, DROP)])
    assert window_rate(entries, now, UK_WINDOW).rate == pytest.approx(1 / 50)
    # The same calls over 30 days: the old drops are still in.
    assert window_rate(entries, now, US_WINDOW).rate == pytest.approx(11 / 60)


def test_window_boundary_is_open_at_the_old_end_and_closed_at_now():
    now = 31 * DAY
    entries = _entries([(now - US_WINDOW, DROP), (now, LIVE), (now + 1, DROP)])
    w = window_rate(entries, now)
    assert (w.live_answers, w.abandons) == (1, 0)


def test_empty_window_rate_is_zero_not_an_error():
    assert window_rate([], 0.0).rate == 0.0


def test_projected_rate_counts_future_abandons_as_answers_too():
    w = WindowRate(live_answers=97, abandons=2, window_start=0.0, window_end=1.0)
    assert w.projected(1) == pytest.approx(3 / 98)
    assert w.projected(0.5, 10) == pytest.approx(2.5 / 107)
    with pytest.raises(ValueError, match="include"):
        w.projected(2, 1)


def test_abandons_left_under_the_cap():
    w = WindowRate(live_answers=1000, abandons=20, window_start=0.0, window_end=1.0)
    k = w.abandons_left(0.03)
    # (20 + k) / (1000 + k) <= 3%: k = 10 fits, 11 does not.
    assert k == 10
    assert w.projected(k) <= 0.03 < w.projected(k + 1)
    over = WindowRate(live_answers=100, abandons=4, window_start=0.0, window_end=1.0)
    assert over.abandons_left(0.03) == -1
    exact = WindowRate(live_answers=100, abandons=3, window_start=0.0, window_end=1.0)
    assert exact.abandons_left(0.03) == 0


def test_standing_against_the_cap_allows_exactly_the_cap():
    def standing(live: int, abandons: int) -> str:
        window = WindowRate(live, abandons, 0.0, 1.0)
        return compliance.LedgerSummary(window, window, 0.03, "30 days").standing

    assert standing(0, 0) == "No live answers yet"
    assert standing(100, 3) == "Within the cap"  # 3.00% is at most 3%
    assert standing(100, 4) == "Over the cap"


def test_rolling_ledger_matches_the_plain_window_sum():
    spec = [(t * 3600.0, DROP if t % 7 == 0 else LIVE) for t in range(24 * 40)]
    ledger = RollingLedger()
    for at, outcome in spec:
        ledger.record(at, outcome)
    entries = _entries(spec)
    for now in (0.0, 12 * 3600.0, 30 * DAY, 30 * DAY + 1, 39 * DAY + 7):
        for window in (US_WINDOW, UK_WINDOW):
            assert ledger.rate(now, window) == window_rate(entries, now, window)


def test_rolling_ledger_forgets_only_what_no_window_needs():
    ledger = RollingLedger(window=UK_WINDOW)
    for h in range(48):
        ledger.record(h * 3600.0, DROP if h < 24 else LIVE)
    now = 47 * 3600.0
    before = ledger.rate(now)
    ledger.forget_before(now - UK_WINDOW)
    assert ledger.rate(now) == before
    assert before.abandons == 0  # the day of drops has left the 24 h window


def test_rolling_ledger_refuses_out_of_order_entries():
    ledger = RollingLedger()
    ledger.record(10.0, LIVE)
    with pytest.raises(ValueError, match="time order"):
        ledger.record(9.0, LIVE)


# --- AMD mistakes in the campaign's ledger (dialer.compliance on the Call rows) ---------------


@pytest.fixture
def campaign(queue):  # type: ignore[no-untyped-def]
    return CampaignFactory(queue=queue, type="predictive", run_status=RunStatus.RUNNING)


def _answered(campaign, at, *, agent_after=None, amd="", done=True, result=None):  # type: ignore[no-untyped-def]
    lead = LeadFactory(campaign=campaign, state=LeadState.DIALING)
    if result is None:
        result = CallResult.CONNECTED if agent_after is not None else (
            CallResult.VOICEMAIL if amd == "MACHINE" else CallResult.ABANDONED
        )  # fmt: skip
    return Call.objects.create(
        campaign=campaign, lead=lead, attempt=1, number=lead.number,
        requested_at=at - timedelta(seconds=10), dialed_at=at - timedelta(seconds=10),
        answered_at=at,
        agent_answered_at=at + timedelta(seconds=agent_after) if agent_after is not None else None,
        hangup_at=at + timedelta(seconds=30) if done else None,
        amd_result=amd, result=result if done else CallResult.PENDING,
    )  # fmt: skip


def _csv(campaign, **kw):  # type: ignore[no-untyped-def]
    text = "".join(compliance.ledger_csv_lines(campaign, now=NOW, **kw))
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.django_db
def test_person_taken_for_a_machine_is_a_live_answer_and_an_abandon(campaign):
    at = NOW - timedelta(hours=2)
    for _ in range(8):
        _answered(campaign, at, agent_after=1.0)
    machine = _answered(campaign, at, amd="MACHINE")  # a real machine: not in the ledger
    person = _answered(campaign, at, amd="MACHINE")  # AMD hung up on a person
    assert compliance.campaign_window_rate(campaign, now=NOW).live_answers == 8
    assert call_record_amd_mistake(
        call_id=person.pk, mistake=AmdMistake.HUMAN_AS_MACHINE, now=NOW, actor="qa"
    )
    rate = compliance.campaign_window_rate(campaign, now=NOW)
    assert (rate.live_answers, rate.abandons) == (9, 1)
    summary = compliance.campaign_ledger_summary(
        campaign, now=NOW, day_start=NOW - timedelta(hours=10)
    )
    assert (summary.window.live_answers, summary.window.abandons, summary.amd_abandons) == (
        9,
        1,
        1,
    )
    assert (summary.today.live_answers, summary.today.abandons) == (9, 1)
    rows = _csv(campaign)
    assert rows[0][-2:] == ["amd_mistake", "counted_because"]
    by_uuid = {r[0]: r for r in rows[1:10]}
    assert str(machine.uuid) not in by_uuid
    row = by_uuid[str(person.uuid)]
    assert (row[6], row[9]) == ("yes", "human_as_machine")
    assert row[10] == "abandon: AMD took a person for a machine and the dialer hung up"
    assert by_uuid[next(iter(by_uuid))][10].startswith("live answer: agent within 2 s")
    assert rows[-3][:3] == ["amd_mistakes", "people_hung_up_on_as_machines", "1"]
    assert rows[-2][:4] == ["live_answers", "9", "abandons", "1"]


@pytest.mark.django_db
def test_machine_taken_for_a_person_is_no_live_answer(campaign):
    at = NOW - timedelta(hours=1)
    _answered(campaign, at, agent_after=1.0)
    late = _answered(campaign, at, agent_after=3.0, amd="HUMAN")  # agent late: an abandon …
    assert compliance.campaign_window_rate(campaign, now=NOW).abandons == 1
    call_record_amd_mistake(
        call_id=late.pk, mistake=AmdMistake.MACHINE_AS_HUMAN, now=NOW, actor="a"
    )
    rate = compliance.campaign_window_rate(campaign, now=NOW)
    assert (rate.live_answers, rate.abandons) == (1, 0)  # … of a machine: out of the ledger
    rows = _csv(campaign)
    assert str(late.uuid) not in {r[0] for r in rows[1:] if r}
    assert rows[-3][3:] == ["machines_reached_by_agents_not_counted", "1"]
    summary = compliance.campaign_ledger_summary(campaign, now=NOW, day_start=at)
    assert summary.machines_excluded == 1


@pytest.mark.django_db
def test_amd_mistake_is_checked_idempotent_and_can_be_cleared(campaign):
    person = _answered(campaign, NOW - timedelta(hours=1), agent_after=1.0, amd="HUMAN")
    with pytest.raises(AmdMistakeRefused, match="did not say machine"):
        call_record_amd_mistake(
            call_id=person.pk, mistake=AmdMistake.HUMAN_AS_MACHINE, now=NOW, actor="qa"
        )
    machine = _answered(campaign, NOW - timedelta(hours=1), amd="MACHINE")
    with pytest.raises(AmdMistakeRefused, match="already said machine"):
        call_record_amd_mistake(
            call_id=machine.pk, mistake=AmdMistake.MACHINE_AS_HUMAN, now=NOW, actor="qa"
        )
    unanswered = Call.objects.create(
        campaign=campaign, lead=LeadFactory(campaign=campaign), attempt=1, number="+12025550111",
        requested_at=NOW, result=CallResult.NO_ANSWER, amd_result="MACHINE",
    )  # fmt: skip
    with pytest.raises(AmdMistakeRefused, match="never answered"):
        call_record_amd_mistake(
            call_id=unanswered.pk, mistake=AmdMistake.HUMAN_AS_MACHINE, now=NOW, actor="qa"
        )
    mark = {"call_id": machine.pk, "mistake": AmdMistake.HUMAN_AS_MACHINE, "actor": "qa"}
    assert call_record_amd_mistake(now=NOW, **mark) is True
    assert call_record_amd_mistake(now=NOW + timedelta(minutes=1), **mark) is False
    machine.refresh_from_db()
    assert (machine.amd_mistake, machine.amd_mistake_at, machine.amd_mistake_by) == (
        "human_as_machine",
        NOW,
        "qa",
    )
    call_record_amd_mistake(call_id=machine.pk, mistake=AmdMistake.NONE, now=NOW, actor="qa")
    machine.refresh_from_db()
    assert (machine.amd_mistake, machine.amd_mistake_at, machine.amd_mistake_by) == ("", None, "")


def test_what_an_agent_heard_says_about_amd():
    assert amd_mistake_from_agent(amd_result="HUMAN", voicemail=True) == "machine_as_human"
    assert amd_mistake_from_agent(amd_result="", voicemail=True) == "machine_as_human"
    assert amd_mistake_from_agent(amd_result="machine", voicemail=False) == "human_as_machine"
    assert amd_mistake_from_agent(amd_result="MACHINE", voicemail=True) == ""
    assert amd_mistake_from_agent(amd_result="NOTSURE", voicemail=False) == ""


@pytest.mark.django_db
def test_agent_reaching_voicemail_records_the_mistake(campaign, agent, monkeypatch):
    monkeypatch.setattr(dialer_bridge, "fs_api", lambda command: "+OK")
    services.agent_login(agent=agent, now=NOW)
    services.agent_go_ready(agent=agent, now=NOW)
    call = _answered(campaign, NOW - timedelta(seconds=20), agent_after=1.0, amd="HUMAN",
                     done=False)  # fmt: skip
    services.desk_call_bridged(agent=agent, call=call, now=NOW - timedelta(seconds=19))
    DispositionFactory(queue=campaign.queue, code="vm", label="Voicemail", outcome="voicemail")
    services.agent_mark_voicemail(agent=agent, call=call, now=NOW)
    call.refresh_from_db()
    assert (call.amd_mistake, call.amd_mistake_by, call.amd_mistake_at) == (
        "machine_as_human",
        agent.name,
        NOW,
    )
    assert compliance.campaign_window_rate(campaign, now=NOW).live_answers == 0


@pytest.mark.django_db
def test_admin_action_marks_a_person_hung_up_on(campaign, admin_user, client):
    machine = _answered(campaign, NOW - timedelta(hours=1), amd="MACHINE")
    human = _answered(campaign, NOW - timedelta(hours=1), agent_after=1.0, amd="HUMAN")
    assert Call in admin_site._registry
    client.force_login(admin_user)
    response = client.post(
        "/admin/dialer/call/",
        {"action": "mark_person_taken_for_machine", "_selected_action": [machine.pk, human.pk]},
        follow=True,
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "1 call(s) changed." in text
    assert "AMD did not say machine" in text
    machine.refresh_from_db()
    human.refresh_from_db()
    assert (machine.amd_mistake, machine.amd_mistake_by) == (
        "human_as_machine",
        admin_user.username,
    )
    assert human.amd_mistake == ""


@pytest.mark.django_db
def test_person_hung_up_on_as_a_machine_holds_the_lead_under_the_uk_rule(campaign):
    campaign.drop_rule = "no_repeat_72h"
    campaign.save(update_fields=["drop_rule"])
    at = NOW - timedelta(hours=1)
    call = _answered(campaign, at, amd="MACHINE")
    lead = call.lead
    # The machine verdict sent the lead to Voicemail with the usual cool-off, window-held.
    Lead.objects.filter(pk=lead.pk).update(
        state=LeadState.VOICEMAIL, next_dial_at=NOW + timedelta(hours=2), window_held=True
    )
    call_record_amd_mistake(call_id=call.pk, mistake=AmdMistake.HUMAN_AS_MACHINE, now=NOW,
                            actor="qa")  # fmt: skip
    lead.refresh_from_db()
    assert lead.state == LeadState.VOICEMAIL
    assert lead.next_dial_at == at + timedelta(hours=72)
    assert lead.window_held is False  # a campaign start cannot release it early
    event = lead.events.get()
    assert (event.from_state, event.to_state, event.actor) == ("voicemail", "voicemail", "qa")
    assert "hung up on" in event.reason


@pytest.mark.django_db
def test_late_found_abandon_keeps_a_longer_wait_and_spares_an_agent_call(campaign):
    campaign.drop_retry_minutes = 30
    campaign.save(update_fields=["drop_retry_minutes"])
    at = NOW - timedelta(minutes=10)
    hung_up = _answered(campaign, at, amd="MACHINE")
    later = NOW + timedelta(hours=5)
    Lead.objects.filter(pk=hung_up.lead_id).update(state=LeadState.COOLOFF, next_dial_at=later)
    call_record_amd_mistake(call_id=hung_up.pk, mistake=AmdMistake.HUMAN_AS_MACHINE, now=NOW,
                            actor="qa")  # fmt: skip
    hung_up.lead.refresh_from_db()
    assert hung_up.lead.next_dial_at == later  # the cool-off is already longer than the rule

    soon = NOW + timedelta(minutes=1)
    talked = _answered(campaign, at, agent_after=1.0, amd="MACHINE")  # an agent took it in time
    Lead.objects.filter(pk=talked.lead_id).update(state=LeadState.COOLOFF, next_dial_at=soon)
    call_record_amd_mistake(call_id=talked.pk, mistake=AmdMistake.HUMAN_AS_MACHINE, now=NOW,
                            actor="agent")  # fmt: skip
    talked.lead.refresh_from_db()
    assert talked.lead.next_dial_at == soon  # not an abandon: no hold

    dropped = _answered(campaign, at, amd="MACHINE")
    Lead.objects.filter(pk=dropped.lead_id).update(state=LeadState.COOLOFF, next_dial_at=soon)
    call_record_amd_mistake(call_id=dropped.pk, mistake=AmdMistake.HUMAN_AS_MACHINE, now=NOW,
                            actor="qa")  # fmt: skip
    dropped.lead.refresh_from_db()
    assert dropped.lead.next_dial_at == at + timedelta(minutes=30)
