"""Drops: no agent within the drop time (Predictive) or the campaign stopped while a person
waited → the safe-harbor message, the call recorded abandoned, the lead held by the
campaign's drop rule (any dial mode)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dialer import daemon as daemon_module
from dialer.calls import call_finish
from dialer.daemon import Dialer, LiveCall
from dialer.esl.events import CallTimes
from dialer.models import CallResult
from leads.models import LeadState
from tests.factories import NOW, CallFactory, CampaignFactory, LeadFactory

QUEUE = "predictive@default"


@pytest.fixture
def timers(monkeypatch):  # type: ignore[no-untyped-def]
    """The daemon's gevent timers, captured: (seconds, function, args)."""
    scheduled: list[tuple[float, object, tuple]] = []
    monkeypatch.setattr(
        daemon_module, "gevent_later", lambda s, fn, *a: scheduled.append((s, fn, a)) or object()
    )
    return scheduled


def answered_predictive(dialer: Dialer, *, drop_seconds: int, safe_harbor: str) -> LiveCall:
    dialer._campaign_cache[7] = (
        0.0, {"drop_seconds": drop_seconds, "safe_harbor": safe_harbor, "type": "predictive"},
    )  # fmt: skip
    live = LiveCall("6f1c2a4e-0000-4000-8000-000000000001", 1, 1, 7, QUEUE, "predictive")
    dialer._enqueue_customer(live)
    return live


def make_dialer(sent: list[str]) -> Dialer:
    dialer = Dialer(host="127.0.0.1", port=1, password="x", node="fs9", gateway="carrier")
    dialer._send = sent.append  # type: ignore[method-assign]
    return dialer


def test_no_agent_within_the_drop_time_plays_the_safe_harbor_message(timers):
    sent: list[str] = []
    dialer = make_dialer(sent)
    live = answered_predictive(dialer, drop_seconds=2, safe_harbor="/sounds/acme-optout.wav")
    drops = [(s, fn, a) for s, fn, a in timers if getattr(fn, "__name__", "") == "_drop"]
    assert [s for s, _, _ in drops] == [2.0]
    _, fn, args = drops[0]
    fn(*args)  # two seconds later, still no agent
    assert sent[-1] == f"uuid_transfer {live.uuid} playback:/sounds/acme-optout.wav inline"


def test_an_agent_in_time_means_no_drop(timers):
    sent: list[str] = []
    dialer = make_dialer(sent)
    live = answered_predictive(dialer, drop_seconds=2, safe_harbor="/sounds/acme-optout.wav")
    live.agent_name = "1001@default"  # bridge-agent-start came first
    before = list(sent)
    for _, fn, args in timers:
        if getattr(fn, "__name__", "") == "_drop":
            fn(*args)
    assert sent == before


def test_without_a_message_the_drop_hangs_up_and_progressive_never_drops(timers):
    sent: list[str] = []
    dialer = make_dialer(sent)
    live = answered_predictive(dialer, drop_seconds=3, safe_harbor="")
    for s, fn, args in timers:
        if getattr(fn, "__name__", "") == "_drop":
            assert s == 3.0
            fn(*args)
    assert sent[-1] == f"uuid_kill {live.uuid} NORMAL_CLEARING"
    timers.clear()
    progressive = LiveCall("6f1c2a4e-0000-4000-8000-000000000002", 2, 2, 8, QUEUE, "progressive")
    dialer._enqueue_customer(progressive)
    assert not [fn for _, fn, _ in timers if getattr(fn, "__name__", "") == "_drop"]


def test_stop_drops_a_waiting_customer_once_and_nothing_plays_after_the_message(timers):
    sent: list[str] = []
    dialer = make_dialer(sent)
    dialer.conn.run_in_loop = lambda fn, *args: fn(*args)  # type: ignore[method-assign]
    live = answered_predictive(dialer, drop_seconds=2, safe_harbor="/sounds/acme-optout.wav")
    live.times.answered_at = NOW
    live.greeting, live.moh = "/sounds/hello.wav", "local_stream://moh"
    dialer.calls[live.uuid] = live
    assert dialer.stop_campaign(7) == 1
    message = f"uuid_transfer {live.uuid} playback:/sounds/acme-optout.wav inline"
    assert sent.count(message) == 1
    assert not any(command.startswith("uuid_kill") for command in sent)
    for _, fn, args in timers:  # the drop time, the greeting and the hold music come due
        fn(*args)
    assert sent.count(message) == 1
    assert sent[-1] == message


def test_a_person_answering_a_call_the_stop_is_hanging_up_hears_the_message(timers):
    sent: list[str] = []
    dialer = make_dialer(sent)
    dialer._campaign_cache[7] = (0.0, {"safe_harbor": "/sounds/acme-optout.wav"})
    live = LiveCall("6f1c2a4e-0000-4000-8000-000000000003", 3, 3, 7, QUEUE, "predictive")
    dialer.calls[live.uuid] = live
    dialer.stop_campaign(7)  # still ringing: hung up on
    assert sent == [f"uuid_kill {live.uuid} ORIGINATOR_CANCEL"]
    dialer._answered(live, "HUMAN")  # the answer beat the hang-up
    assert sent[-1] == f"uuid_transfer {live.uuid} playback:/sounds/acme-optout.wav inline"
    assert not any("callcenter" in command for command in sent)


@pytest.mark.django_db
@pytest.mark.parametrize("campaign_type", ["predictive", "progressive"])
@pytest.mark.parametrize("stopped", [False, True], ids=["dropped", "stopped"])
@pytest.mark.parametrize(
    ("rule", "hold"),
    [("retry", timedelta(minutes=45)), ("no_repeat_72h", timedelta(hours=72))],
    ids=["retry-after-delay", "uk-72-hours"],
)
def test_a_dropped_call_is_abandoned_and_the_lead_follows_the_drop_rule(
    rule, hold, stopped, campaign_type
):
    """Whatever the dial mode, and also when a Stop ended the call: the ledger counts every
    live answer that never reached an agent as an abandon, so the lead is held alike."""
    campaign = CampaignFactory(
        type=campaign_type, drop_rule=rule, drop_retry_minutes=45, cool_off=60
    )
    lead = LeadFactory(campaign=campaign, state=LeadState.DIALING)
    call = CallFactory(lead=lead, campaign=campaign, dialed_at=NOW)
    hangup = NOW + timedelta(seconds=20)
    call_finish(
        call_uuid=str(call.uuid),
        now=hangup,
        times=CallTimes(dialed_at=NOW, answered_at=NOW + timedelta(seconds=8), hangup_at=hangup),
        hangup_cause="ORIGINATOR_CANCEL" if stopped else "NORMAL_CLEARING",
        cancelled=stopped,
    )
    call.refresh_from_db()
    lead.refresh_from_db()
    assert call.result == CallResult.ABANDONED
    assert lead.state == LeadState.COOLOFF
    assert lead.attempts == 1
    assert lead.next_dial_at == hangup + hold
