"""Faults: the socket drops mid-campaign; the daemon is killed with SIGKILL and restarted."""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time
from datetime import time as wall
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import override_settings
from django.utils import timezone

from dialer import daemon as daemon_module
from dialer import handoff
from dialer.models import Call, CallResult
from dialer.redisconn import redis_client
from freeswitch.simulator import Simulator
from freeswitch.simulator.scenario import Rule
from freeswitch.simulator.testing import RawEslClient
from leads.models import Lead, LeadState
from tests.dialer.dialer_harness import (
    SelectorTicks,
    callcenter_config,
    campaign_finished,
    wait_until,
)
from tests.dialer.test_e2e_progressive import (  # noqa: F401 - system: the e2e fixture
    QUEUE,
    SCENARIO,
    build_campaign,
    expected_state,
    system,
)

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def assert_consistent(campaign, sim_log: list[str]) -> None:
    states = dict(Lead.objects.filter(campaign=campaign).values_list("number", "state"))
    wrong = {n: s for n, s in states.items() if s != expected_state(n)}
    assert not wrong, wrong
    calls = list(Call.objects.filter(campaign=campaign).order_by("lead_id", "requested_at"))
    assert not [c for c in calls if c.result == CallResult.PENDING]
    # One originate per dialed Call row, never the same call twice.
    uuids = [line.split("origination_uuid=")[1][:36] for line in sim_log]
    assert len(uuids) == len(set(uuids))
    dialed = {str(c.uuid) for c in calls if c.dialed_at is not None}
    assert set(uuids) <= dialed
    # No lead had two calls at once.
    by_lead: dict[int, list[Call]] = {}
    for c in calls:
        by_lead.setdefault(c.lead_id, []).append(c)
    for rows in by_lead.values():
        rows = [c for c in rows if c.dialed_at]
        rows.sort(key=lambda c: c.dialed_at)
        for earlier, later in itertools.pairwise(rows):
            assert earlier.hangup_at <= later.dialed_at, (earlier.uuid, later.uuid)


# The daemon runs on the wall clock: open the legal hours all day for this test only.
@override_settings(LEGAL_CALLING_START=wall(0), LEGAL_CALLING_END=wall(0))
def test_socket_drop_mid_campaign_reconnects_fast_and_loses_nothing(request):
    """The whole path: the real selector's ticks, the Redis stream, the daemon, the simulator."""
    sim, _requests, dialer, _observer = request.getfixturevalue("system")
    campaign = build_campaign(90)
    dialer.start()
    ticks = SelectorTicks(every=0.05)
    try:
        assert dialer.conn.wait_connected(5)
        ticks.start()
        assert wait_until(lambda: dialer.stats.originates >= 25, timeout=30)
        dropped_at = time.monotonic()
        sim.call(lambda: [lst.transport.abort() for lst in list(sim.server.listeners)])
        assert wait_until(
            lambda: dialer.conn.connects >= 2 and dialer.conn.connected, timeout=2, step=0.01
        )
        assert time.monotonic() - dropped_at < 2.0
        assert wait_until(
            lambda: campaign_finished(campaign),
            timeout=90,
            step=0.2,
        )
        time.sleep(0.3)
        log = list(sim.core.originate_log)
    finally:
        ticks.stop()
    assert_consistent(campaign, log)


def start_daemon(port: int) -> subprocess.Popen[bytes]:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": "tests-only",
        "DIALER_CALLS_PER_SECOND": "100",
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "run_dialer",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )


@override_settings(LEGAL_CALLING_START=wall(0), LEGAL_CALLING_END=wall(0))
def test_sigkill_and_restart_leaves_nothing_stuck():
    """The real selector hands requests over on the Redis stream to a `run_dialer` process."""
    client = redis_client()
    client.delete(handoff.STREAM, handoff.CONTROL_STREAM, *client.keys("dialer:live:*"))
    handoff._group_ready = False
    campaign = build_campaign(60)
    reaper_window = 10.0
    with Simulator(
        scenario=SCENARIO,
        callcenter_config=callcenter_config(QUEUE, 5),
        time_scale=20,
        seed=5,
        sps=1000,
    ) as sim:
        selector = SelectorTicks(every=0.05)
        daemon = start_daemon(sim.port)
        try:
            selector.start()
            assert wait_until(
                lambda: (
                    Call.objects.filter(campaign=campaign, dialed_at__isnull=False).count() >= 15
                ),
                timeout=30,
            )
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(5)
            killed_at = time.monotonic()
            was_dialing = set(
                Lead.objects.filter(campaign=campaign, state=LeadState.DIALING).values_list(
                    "pk", flat=True
                )
            )
            assert was_dialing
            pending_at_kill = {
                str(u)
                for u in Call.objects.filter(
                    campaign=campaign, result=CallResult.PENDING, dialed_at__isnull=False
                ).values_list("uuid", flat=True)
            }
            daemon = start_daemon(sim.port)

            def settled() -> bool:
                # Every call left pending by the dead daemon is finished or still really up
                # (then the new daemon adopted it): no lead stays dialing on a dead call.
                up = {ch.get("uuid") for ch in sim.channels()}
                pending = {
                    str(u)
                    for u in Call.objects.filter(
                        uuid__in=pending_at_kill, result=CallResult.PENDING
                    ).values_list("uuid", flat=True)
                }
                return pending <= up

            assert wait_until(settled, timeout=reaper_window)
            assert time.monotonic() - killed_at < reaper_window + 1
            assert wait_until(
                lambda: campaign_finished(campaign),
                timeout=120,
                step=0.3,
            )
            time.sleep(0.5)
            log = list(sim.core.originate_log)
        finally:
            selector.stop()
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(10)
            except subprocess.TimeoutExpired:
                daemon.kill()
    assert_consistent(campaign, log)
    lost = Call.objects.filter(campaign=campaign, hangup_cause="DIALER_RESTART")
    assert all(c.lead.state in (LeadState.SUCCESS, LeadState.FAILED) for c in lost)


def left_pending() -> tuple[Lead, Call]:
    """A lead a killed daemon left Dialing, with its dialed Call row still pending on fs1."""
    campaign = build_campaign(1)
    lead = campaign.leads.get()
    lead.state = LeadState.DIALING
    lead.save(update_fields=["state"])
    now = timezone.now()
    call = Call.objects.create(
        campaign=campaign, lead=lead, attempt=1, number=lead.number, requested_at=now,
        dialed_at=now, node="fs1", result=CallResult.PENDING,
    )  # fmt: skip
    return lead, call


def closed(call: Call) -> bool:
    """Whether the call's row stops being pending within 5 s."""
    return wait_until(lambda: Call.objects.get(pk=call.pk).result != CallResult.PENDING, 5)


def answering_machine(sim: Simulator, lead: Lead) -> None:
    """The lead's number answers with a machine that would talk for a long while (simulated)
    if nobody hung up on it."""
    machine = {"action": "machine", "ring": 0.5, "answer_after": 0.5, "talk": 3000}
    sim.core.scenario.rules.insert(0, Rule(re.compile(re.escape(lead.number) + "$"), machine))


def channel_of(sim: Simulator, call: Call) -> dict[str, str] | None:
    return next((c for c in sim.channels() if c.get("uuid") == str(call.uuid)), None)


def assert_hung_up_before_any_agent(sim: Simulator, call: Call, lead: Lead) -> None:
    assert wait_until(lambda: channel_of(sim, call) is None, 5), "the machine was not hung up on"
    assert closed(call)
    call.refresh_from_db()
    lead.refresh_from_db()
    assert call.agent_answered_at is None
    assert lead.state != LeadState.SUCCESS


def test_a_call_that_hangs_up_while_it_is_adopted_is_not_left_pending(request, monkeypatch):
    """After a crash the new daemon adopts calls still up; one that hangs up between its
    `show channels` and the adoption must still be closed, or its lead stays dialing."""
    sim, _requests, dialer, _observer = request.getfixturevalue("system")
    lead, call = left_pending()
    esl = RawEslClient(sim.port)
    esl.connect()
    esl.api(f"originate {{origination_uuid={call.uuid}}}null/left-behind &park()")
    assert wait_until(lambda: any(c.get("uuid") == str(call.uuid) for c in sim.channels()), 5)

    real = daemon_module.call_services.pending_calls_on_node

    def hang_up_first(*args, **kwargs):  # type: ignore[no-untyped-def]
        esl.api(f"uuid_kill {call.uuid}")  # after the daemon's `show channels`
        assert wait_until(lambda: not sim.channels(), 5)
        return real(*args, **kwargs)

    monkeypatch.setattr(daemon_module.call_services, "pending_calls_on_node", hang_up_first)
    dialer.start()
    try:
        assert dialer.conn.wait_connected(5)
        assert closed(call)
    finally:
        esl.close()
    call.refresh_from_db()
    lead.refresh_from_db()
    assert (call.result, call.hangup_cause) == (CallResult.FAILED, "DIALER_RESTART")
    assert lead.state != LeadState.DIALING


def test_a_machine_that_answered_while_no_dialer_listened_is_hung_up_on(request):
    """A call that answers while its daemon is away (killed, or its socket down) sits parked,
    and its answer event is lost. Back, the daemon reads AMD's verdict from the channel: an
    answering machine is hung up on, never queued for an agent."""
    sim, _requests, dialer, _observer = request.getfixturevalue("system")
    lead, call = left_pending()
    answering_machine(sim, lead)
    esl = RawEslClient(sim.port)
    esl.connect()
    try:
        esl.api(
            f"originate {{origination_uuid={call.uuid}}}sofia/gateway/carrier/{lead.number} &park()"
        )
        assert wait_until(lambda: (channel_of(sim, call) or {}).get("callstate") == "ACTIVE", 5)
        dialer.start()
        assert dialer.conn.wait_connected(5)
        assert_hung_up_before_any_agent(sim, call, lead)
    finally:
        esl.close()


@override_settings(LEGAL_CALLING_START=wall(0), LEGAL_CALLING_END=wall(0))
def test_a_machine_that_answered_while_the_socket_was_down_is_hung_up_on(request, monkeypatch):
    """The same on a socket drop: the daemon placed the call, the machine answered and the
    answer event went down with the socket. Reconnected, the daemon finds the customer leg
    answered and parked, and must read AMD's verdict before doing anything with it."""
    sim, _requests, dialer, _observer = request.getfixturevalue("system")
    campaign = build_campaign(1)
    lead = campaign.leads.get()
    answering_machine(sim, lead)
    lost: list[str] = []
    handlers = dict(daemon_module.Dialer._handlers)
    handlers["CHANNEL_ANSWER"] = lambda _dialer, event: lost.append(event.get("Unique-ID", ""))
    monkeypatch.setattr(daemon_module.Dialer, "_handlers", handlers)
    dialer.start()
    ticks = SelectorTicks(every=0.05)
    try:
        assert dialer.conn.wait_connected(5)
        ticks.start()
        assert wait_until(lambda: Call.objects.filter(lead=lead).exists(), 10)
        call = Call.objects.get(lead=lead)
        assert wait_until(lambda: str(call.uuid) in lost, 10)
        assert (channel_of(sim, call) or {}).get("callstate") == "ACTIVE"
        monkeypatch.undo()  # events flow again once the socket is back
        connects = dialer.conn.connects
        sim.call(lambda: [lst.transport.abort() for lst in list(sim.server.listeners)])
        assert wait_until(lambda: dialer.conn.connects > connects and dialer.conn.connected, 5)
        assert_hung_up_before_any_agent(sim, call, lead)
    finally:
        ticks.stop()


def test_a_break_freeswitch_never_heard_is_applied_when_the_dialer_connects(request):
    """The desk recorded an agent On Break ("Disposition required") while FreeSWITCH could
    not be told; mod_callcenter still has them Available. The dialer, connecting, tells it."""
    from agents.models import AgentStatus
    from tests.factories import AgentFactory

    sim, _requests, dialer, _observer = request.getfixturevalue("system")
    AgentFactory(name="1001@default", status=AgentStatus.ON_BREAK)
    AgentFactory(name="1002@default", status=AgentStatus.AVAILABLE)
    status = "callcenter_config agent get status {}@default"
    assert sim.run_api(status.format(1001)) == "Available"
    dialer.start()
    assert dialer.conn.wait_connected(5)
    assert wait_until(lambda: sim.run_api(status.format(1001)) == "On Break", 5)
    assert sim.run_api(status.format(1002)) == "Available"  # never made Available by this
