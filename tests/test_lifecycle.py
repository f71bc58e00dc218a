"""The lead state machine: legal and illegal transitions, cool-off timers, history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leads import lifecycle
from leads.lifecycle import ALLOWED, IllegalTransition, StaleLead
from leads.models import Lead, LeadEvent, LeadState
from tests.factories import NOW, CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db

ALL_STATES = list(LeadState.values)
ILLEGAL = [(a, b) for a in ALL_STATES for b in ALL_STATES if b not in ALLOWED[a]]


@pytest.mark.parametrize(("from_state", "to_state"), ILLEGAL)
def test_illegal_transitions_raise_and_change_nothing(from_state: str, to_state: str) -> None:
    lead = LeadFactory(state=from_state)
    with pytest.raises(IllegalTransition):
        lifecycle.transition(lead, to_state, now=NOW, reason="test")
    lead.refresh_from_db()
    assert lead.state == from_state
    assert not LeadEvent.objects.filter(lead=lead).exists()


@pytest.mark.parametrize(
    ("from_state", "to_state"), [(a, b) for a in ALL_STATES for b in sorted(ALLOWED[a])]
)
def test_legal_transitions_are_recorded(from_state: str, to_state: str) -> None:
    lead = LeadFactory(state=from_state)
    lifecycle.transition(lead, to_state, now=NOW, reason="because", actor="tester")
    lead.refresh_from_db()
    assert lead.state == to_state
    event = LeadEvent.objects.get(lead=lead)
    assert (event.from_state, event.to_state, event.reason, event.actor) == (
        from_state,
        to_state,
        "because",
        "tester",
    )


def test_a_lead_moved_by_someone_else_is_stale() -> None:
    lead = LeadFactory(state=LeadState.NEW)
    Lead.objects.filter(pk=lead.pk).update(state=LeadState.DIALING)
    with pytest.raises(StaleLead):
        lifecycle.transition(lead, LeadState.DIALING, now=NOW, reason="second selector")
    assert LeadEvent.objects.count() == 0


def test_cool_off_by_attempt_uses_campaign_overrides() -> None:
    campaign = CampaignFactory(retries=5, cool_off=600, cool_off_2nd=1800, cool_off_3rd=None)
    lead = LeadFactory(campaign=campaign, cool_off=60, cool_off_2nd=120, cool_off_3rd=240)
    # 1st: the lead's own value beats the campaign's.
    assert lifecycle.cool_off_seconds(lead, campaign, 1) == 60
    # 2nd: the campaign's 2nd overrides the lead's.
    assert lifecycle.cool_off_seconds(lead, campaign, 2) == 1800
    # 3rd: no campaign value, so the lead's own.
    assert lifecycle.cool_off_seconds(lead, campaign, 3) == 240
    bare = LeadFactory(campaign=campaign)
    assert lifecycle.cool_off_seconds(bare, campaign, 1) == 600
    # 3rd with nothing set falls back to the previous (2nd) one.
    assert lifecycle.cool_off_seconds(bare, campaign, 3) == 1800
    assert lifecycle.cool_off_seconds(bare, campaign, 7) == 1800


def test_failed_attempts_cool_off_then_fail_when_retries_exhausted() -> None:
    campaign = CampaignFactory(retries=2, cool_off=3600)
    lead = LeadFactory(campaign=campaign, state=LeadState.DIALING)
    lifecycle.lead_attempt_failed(lead, now=NOW, result="no_answer")
    lead.refresh_from_db()
    assert lead.state == LeadState.COOLOFF
    assert lead.attempts == 1
    assert lead.next_dial_at == NOW + timedelta(hours=1)
    lifecycle.transition(lead, LeadState.DIALING, now=NOW, reason="redial")
    lifecycle.lead_attempt_failed(lead, now=NOW, result="busy")
    lead.refresh_from_db()
    assert lead.state == LeadState.FAILED
    assert lead.attempts == 2
    assert lead.get_status_display() == "Failed"


def test_return_to_retry_spends_no_attempt() -> None:
    lead = LeadFactory(state=LeadState.DIALING, attempts=1)
    lifecycle.lead_return_to_retry(lead, now=NOW, reason="campaign stopped")
    lead.refresh_from_db()
    assert (lead.state, lead.attempts, lead.get_status_display()) == (
        LeadState.RETRY,
        1,
        "In Progress",
    )


def test_voicemail_is_like_cool_off_but_shown_as_voicemail() -> None:
    lead = LeadFactory(state=LeadState.SUCCESS, campaign__retries=3)
    lifecycle.lead_mark_voicemail(lead, now=NOW, actor="agent alice")
    lead.refresh_from_db()
    assert lead.state == LeadState.VOICEMAIL
    assert lead.attempts == 1
    assert lead.next_dial_at > NOW


def test_callback_must_be_in_the_future() -> None:
    lead = LeadFactory(state=LeadState.SUCCESS)
    with pytest.raises(ValueError, match="future"):
        lifecycle.lead_schedule_callback(lead, now=NOW, at=NOW, agent_id=None, actor="a")


def test_reset_gives_a_failed_lead_a_fresh_start() -> None:
    lead = LeadFactory(state=LeadState.FAILED, attempts=3)
    lifecycle.lead_reset(lead, now=NOW, actor="admin")
    lead.refresh_from_db()
    assert (lead.state, lead.attempts) == (LeadState.NEW, 0)


def _personal_callback_card(agent_id: int) -> Lead:
    """A personal callback made due, then put on its agent's card (as the selector does)."""
    lead = LeadFactory(state=LeadState.DIALING)
    lifecycle.lead_schedule_callback(
        lead, now=NOW - timedelta(hours=1), at=NOW, agent_id=agent_id, actor="alice"
    )
    lifecycle.lead_reserve_for_agent(
        lead, now=NOW, agent_id=agent_id, until=NOW + timedelta(seconds=30)
    )
    return lead


def test_a_released_personal_callback_card_stays_that_agents_callback() -> None:
    from tests.factories import AgentFactory

    alice = AgentFactory()
    lead = _personal_callback_card(alice.pk)
    lifecycle.lead_release_card(lead, now=NOW + timedelta(seconds=31), reason="card expired",
                                actor="dialer")  # fmt: skip
    lead.refresh_from_db()
    assert (lead.state, lead.callback_agent_id, lead.reserved_by_id) == (
        LeadState.CALLBACK,
        alice.pk,
        None,
    )
    # Not straight back on the desk that let it go: due again five minutes later.
    assert lead.next_dial_at == NOW + timedelta(seconds=31) + lifecycle.CALLBACK_CARD_RETRY


def test_any_other_released_card_goes_back_to_the_list_whatever_its_old_callback() -> None:
    from tests.factories import AgentFactory

    alice, bob = AgentFactory(), AgentFactory()
    # Once Alice's personal callback, dialed and cooled off since: a card for Bob now.
    lead = _personal_callback_card(alice.pk)
    lifecycle.transition(lead, LeadState.DIALING, now=NOW, reason="accepted")
    lifecycle.lead_attempt_failed(lead, now=NOW, result="no_answer")
    lifecycle.lead_reserve_for_agent(lead, now=NOW, agent_id=bob.pk, until=NOW)
    lifecycle.lead_release_card(lead, now=NOW, reason="skipped", actor="bob")
    lead.refresh_from_db()
    assert (lead.state, lead.next_dial_at) == (LeadState.RETRY, NOW)


def test_a_kept_callback_moves_the_lead_only_when_its_call_ends() -> None:
    lead = LeadFactory(state=LeadState.DIALING)
    at = NOW + timedelta(hours=2)
    lifecycle.lead_keep_outcome(
        lead, call_id=7, outcome="callback", now=NOW, actor="alice", callback_at=at
    )
    lead.refresh_from_db()
    assert lead.state == LeadState.DIALING
    assert lifecycle.lead_kept_outcome(lead, call_id=8) is None
    lifecycle.lead_connected(lead, now=NOW + timedelta(minutes=1))  # the call ends
    assert lifecycle.lead_apply_kept_outcome(
        lead, call_id=7, now=NOW + timedelta(minutes=1), actor="alice"
    )
    lead.refresh_from_db()
    assert (lead.state, lead.next_dial_at, lead.callback_agent_id) == (
        LeadState.CALLBACK,
        at,
        None,
    )
    # Applied once: the lead is no longer what the call left it.
    assert not lifecycle.lead_apply_kept_outcome(lead, call_id=7, now=NOW, actor="alice")
