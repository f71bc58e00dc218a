"""The dialer's database writers: batched call writes, one call's writes in order, processes."""

from __future__ import annotations

import os
import queue
import threading
import time
from datetime import timedelta

import pytest

from dialer.calls import call_finish, call_record_answer
from dialer.esl.events import CallTimes
from dialer.models import CallResult
from dialer.recorder import Recorders, work_loop
from leads.models import Lead, LeadState
from tests.factories import NOW, CallFactory, LeadFactory


def dialing_call():
    lead = LeadFactory(state=LeadState.DIALING)
    return CallFactory(lead=lead, campaign=lead.campaign, dialed_at=NOW)


def times(hangup=30):
    return CallTimes(
        dialed_at=NOW,
        ringing_at=NOW + timedelta(seconds=1),
        answered_at=None,
        agent_answered_at=None,
        hangup_at=NOW + timedelta(seconds=hangup),
    )


def finish(call, cause="USER_BUSY"):
    return (
        call_finish,
        {"call_uuid": str(call.uuid), "now": NOW, "times": times(), "hangup_cause": cause},
    )


@pytest.mark.django_db(transaction=True)
def test_a_batch_of_call_writes_loses_none_when_one_fails_or_finds_its_lead_moved():
    """The dialer commits the call writes that pile up together; one bad write (or a lead the
    reaper moved meanwhile) must not cost the other calls their rows."""
    good = [dialing_call() for _ in range(3)]
    moved = dialing_call()
    moved.lead.state = LeadState.RETRY
    moved.lead.save(update_fields=["state"])
    work: queue.SimpleQueue = queue.SimpleQueue()

    work.put(finish(good[0]))
    work.put(finish(moved))
    work.put((call_record_answer, {"call_uuid": "not-a-uuid", "at": NOW}))
    work.put(finish(good[1]))
    work.put(finish(good[2]))
    work.put(None)
    work_loop(work.get, work.get_nowait)  # runs the five as one batch, then stops

    for call in [*good, moved]:
        call.refresh_from_db()
        assert call.result == CallResult.BUSY
    assert {Lead.objects.get(pk=c.lead_id).state for c in good} == {LeadState.COOLOFF}
    moved.lead.refresh_from_db()
    assert moved.lead.state == LeadState.RETRY


@pytest.mark.django_db(transaction=True)
def test_recorder_processes_write_every_call_and_run_closures_in_the_daemon():
    """On PostgreSQL the writers are processes of their own, on the daemon's database."""
    calls = [dialing_call() for _ in range(20)]
    recorders = Recorders(threads=1, processes=2)
    recorders.start()
    here: list[int] = []
    try:
        for call in calls:
            fn, kwargs = finish(call)
            recorders.put(str(call.uuid), fn, kwargs)
        # A closure (preview placing) cannot cross the pipe: it runs in this process.
        done = threading.Event()
        recorders.put("x", lambda: (here.append(os.getpid()), done.set()), {})
        assert done.wait(5)
    finally:
        recorders.stop()  # finishes what is queued first
    assert here == [os.getpid()]
    results = {c.result for c in type(calls[0]).objects.filter(pk__in=[c.pk for c in calls])}
    assert results == {CallResult.BUSY}
    assert not Lead.objects.filter(state=LeadState.DIALING).exists()


KILLED_DAEMON = """
import os, signal, sys, time
import django
django.setup()
from dialer.recorder import Recorders
recorders = Recorders(threads=1, processes=1)
recorders.start()
print(recorders._workers[0].pid, flush=True)
time.sleep(1.0)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return any(line.startswith("State:") and "Z" in line for line in status)
    except FileNotFoundError:
        return True


@pytest.mark.django_db(transaction=True)
def test_a_recorder_process_exits_when_its_daemon_is_killed():
    """SIGKILL sends the recorders no stop: they notice the daemon is gone and exit."""
    import subprocess
    import sys

    from django.db import connection

    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    daemon = subprocess.run(
        [sys.executable, "-c", KILLED_DAEMON],
        env={**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert daemon.returncode == -9
    recorder = int(daemon.stdout.split()[0])
    deadline = time.monotonic() + 10
    while not _gone(recorder) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(recorder)


@pytest.mark.django_db(transaction=True)
def test_recorder_processes_reach_the_daemons_freeswitch(monkeypatch):
    """A call a recorder process ends may put its agent On Break ("Disposition required"):
    that command must go to the FreeSWITCH the daemon talks to, not to the settings' default."""
    import socket

    from agents.desktop import dialer_bridge, services
    from tests.factories import AgentFactory

    monkeypatch.setattr(dialer_bridge, "fs_api", lambda command: "+OK")  # this process only
    agent = AgentFactory()
    services.agent_login(agent=agent, now=NOW)
    services.agent_go_ready(agent=agent, now=NOW)
    call = dialing_call()
    services.desk_call_bridged(agent=agent, call=call, now=NOW)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(10)
    host, port = listener.getsockname()
    recorders = Recorders(threads=1, processes=1, esl={"ESL_HOST": host, "ESL_PORT": port})
    recorders.start()
    try:
        answered = times()
        answered.answered_at = answered.agent_answered_at = NOW + timedelta(seconds=5)
        recorders.put(
            str(call.uuid),
            call_finish,
            {
                "call_uuid": str(call.uuid),
                "now": NOW + timedelta(seconds=60),
                "times": answered,
                "hangup_cause": "NORMAL_CLEARING",
                "agent_name": agent.name,
            },
        )
        connection, _ = listener.accept()  # the recorder's mod_callcenter command
        connection.close()
    finally:
        recorders.stop()
        listener.close()
