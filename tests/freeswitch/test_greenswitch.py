"""The simulator driven by greenswitch 0.0.19, the ESL client the dialer uses.

`test_trace_10_greenswitch_smoke` reproduces ../shared/esl/traces/10_greenswitch_smoke.out.txt
(greenswitch against a real FreeSWITCH 1.10.12); the others cover what the dialer relies
on through greenswitch: replies, the BACKGROUND_JOB quirk, an answered originate,
callcenter_config and a member bridged to an agent.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from freeswitch.simulator import Simulator

from .conftest import SCENARIO as OUTCOMES
from .test_traces import CALLCENTER
from .test_traces import SCENARIO as TRACE_SCENARIO
from .trace_tools import TRACES

greenswitch = pytest.importorskip("greenswitch")
gevent = pytest.importorskip("gevent")

# Events a real FreeSWITCH sends that the simulator does not (docs/simulator.md).
NOT_SIMULATED = {"CODEC", "CALL_UPDATE", "CHANNEL_UUID"}


@pytest.fixture
def esl_sim() -> Iterator[Simulator]:
    with Simulator(
        scenario=TRACE_SCENARIO, callcenter_config=CALLCENTER, time_scale=25,
        heartbeat_interval=3600,
    ) as s:  # fmt: skip
        yield s


def connect(sim: Simulator) -> Any:
    esl = greenswitch.InboundESL(host="127.0.0.1", port=sim.port, password="ClueCon", timeout=5)
    esl.connect()
    return esl


def send(esl: Any, command: str) -> Any:
    # greenswitch blocks forever on a lost reply (REFERENCE.md section 5): bound it.
    with gevent.Timeout(5):
        return esl.send(command)


def wait_until(pred: Callable[[], bool], seconds: float = 10) -> None:
    with gevent.Timeout(seconds):
        while not pred():
            gevent.sleep(0.01)


def per_channel(tuples: list[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    """(name, cause) sequences keyed by first-seen order of Unique-ID: 'leg0', 'leg1'..."""
    roles: dict[str, str] = {}
    out: dict[str, list[tuple[Any, ...]]] = {}
    for name, uid, cause, _job in tuples:
        if uid is None or name in NOT_SIMULATED:
            continue
        role = roles.setdefault(uid, f"leg{len(roles)}")
        out.setdefault(role, []).append((name, cause))
    return out


@pytest.mark.skipif(not TRACES.is_dir(), reason="recorded traces not found")
def test_trace_10_greenswitch_smoke(esl_sim: Simulator) -> None:
    lines = (TRACES / "10_greenswitch_smoke.out.txt").read_text().splitlines()
    real = [ast.literal_eval(x) for x in lines if x.startswith("(")]
    esl = connect(esl_sim)
    seen: list[tuple[Any, ...]] = []

    def record(ev: Any) -> None:
        h = ev.headers
        seen.append((h.get("Event-Name"), h.get("Unique-ID"), h.get("Hangup-Cause"),
                     h.get("Job-UUID")))  # fmt: skip

    esl.register_handle("*", record)
    r = send(esl, "event plain ALL")
    assert lines[0] == f"events reply: {r.headers['Reply-Text']}"
    # The recording's api command answered "0\n"; an empty queue count does too.
    r = send(esl, "api callcenter_config queue count members support@default")
    assert lines[1] == f"api data: {r.data!r} {r.headers!r}"
    r = send(esl, "bgapi originate loopback/lead_answer_2/default &park()")
    job = r.headers["Job-UUID"]
    assert r.headers == {
        "Content-Type": "command/reply", "Reply-Text": f"+OK Job-UUID: {job}", "Job-UUID": job,
    }  # fmt: skip
    assert lines[2].split(" {")[0] == f"bgapi reply: {r.headers['Reply-Text']}".replace(
        job, lines[2].split("Job-UUID: ")[1].split(" ")[0]
    )
    wait_until(lambda: sum(1 for t in seen if t[0] == "CHANNEL_DESTROY") == 2)
    esl.stop()
    assert per_channel(seen) == per_channel(real)
    jobs = [t for t in seen if t[0] == "BACKGROUND_JOB"]
    assert [t[3] for t in jobs] == [job]


def test_greenswitch_replies_and_background_job(esl_sim: Simulator) -> None:
    esl = connect(esl_sim)
    bodies: dict[str, Any] = {}
    esl.register_handle("BACKGROUND_JOB", lambda ev: bodies.setdefault(ev.headers["Job-UUID"], ev))
    assert send(esl, "event plain BACKGROUND_JOB").headers["Reply-Text"] == (
        "+OK event listener enabled plain"
    )
    r = send(esl, "api uuid_exists nope")
    assert (r.data, r.headers) == ("false", {"Content-Type": "api/response", "Content-Length": "5"})
    assert send(esl, "api bogus").data == "-ERR bogus Command not found!\n"
    job = send(esl, "bgapi originate error/user_busy &park()").headers["Job-UUID"]
    wait_until(lambda: job in bodies)
    # greenswitch glues the body to the inner Content-Length (REFERENCE.md section 5, 1).
    assert bodies[job].headers["Content-Length"] == "15\n\n-ERR USER_BUSY"
    esl.stop()


def test_greenswitch_answered_originate_and_kill(esl_sim: Simulator) -> None:
    esl = connect(esl_sim)
    events: list[Any] = []
    esl.register_handle("*", events.append)
    send(esl, "event plain ALL")
    r = send(esl, "api originate {origination_uuid=gs-1,my_lead_id=7}loopback/park_me &park()")
    assert r.data == "+OK gs-1\n"
    assert send(esl, "api uuid_getvar gs-1 my_lead_id").data == "7"
    assert send(esl, "api uuid_kill gs-1 USER_BUSY").data == "+OK\n"
    wait_until(lambda: any(e.headers.get("Event-Name") == "CHANNEL_DESTROY"
                           and e.headers.get("Unique-ID") == "gs-1" for e in events))  # fmt: skip
    esl.stop()
    mine = [e.headers for e in events if e.headers.get("Unique-ID") == "gs-1"]
    names = [h["Event-Name"] for h in mine if not h["Event-Name"].endswith("STATE")]
    assert names == [
        "CHANNEL_UUID", "CHANNEL_OUTGOING", "CHANNEL_CREATE", "CHANNEL_ORIGINATE",
        "CHANNEL_ANSWER", "CHANNEL_EXECUTE", "CHANNEL_PARK", "CHANNEL_HANGUP",
        "CHANNEL_UNPARK", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY",
    ]  # fmt: skip
    create = next(h for h in mine if h["Event-Name"] == "CHANNEL_CREATE")
    assert (create["Call-Direction"], create["variable_my_lead_id"]) == ("outbound", "7")
    done = next(h for h in mine if h["Event-Name"] == "CHANNEL_HANGUP_COMPLETE")
    assert (done["Hangup-Cause"], done["variable_hangup_cause_q850"]) == ("USER_BUSY", "17")


def test_greenswitch_callcenter_member_bridged(esl_sim: Simulator) -> None:
    esl = connect(esl_sim)
    cc: list[dict[str, str]] = []
    esl.register_handle("callcenter::info", lambda ev: cc.append(dict(ev.headers)))
    send(esl, "event plain CUSTOM callcenter::info")
    cfg = "api callcenter_config "
    assert send(esl, cfg + "agent add gs1 callback").data == "+OK\n"
    assert send(esl, cfg + "agent set contact gs1 user/gs1").data == "+OK\n"
    assert send(esl, cfg + "agent set status gs1 Available").data == "+OK\n"
    assert send(esl, cfg + "tier add support@default gs1 1 1").data == "+OK\n"
    for name in ("agent1", "agent2"):
        assert send(esl, cfg + f"agent set status {name} 'On Break'").data == "+OK\n"
    assert send(esl, cfg + "queue count agents support@default Available").data == "1\n"
    member = "{origination_uuid=gs-m}loopback/park_me &callcenter(support@default)"
    send(esl, "bgapi originate " + member)
    wait_until(lambda: any(e.get("CC-Action") == "bridge-agent-start" for e in cc))
    start = next(e for e in cc if e.get("CC-Action") == "bridge-agent-start")
    assert (start["CC-Agent"], start["CC-Member-Session-UUID"]) == ("gs1", "gs-m")
    assert send(esl, "api uuid_kill gs-m").data == "+OK\n"
    wait_until(lambda: any(e.get("CC-Action") == "bridge-agent-end" for e in cc))
    wait_until(lambda: cc[-1].get("CC-Agent-State") == "Waiting")
    esl.stop()
    actions = [e["CC-Action"] for e in cc]
    assert actions[actions.index("member-queue-start") :] == [
        "member-queue-start", "members-count", "agent-state-change", "agent-offering",
        "bridge-agent-start", "members-count", "agent-state-change", "bridge-agent-end",
        "member-queue-end", "agent-state-change",
    ]  # fmt: skip
    assert [e["CC-Agent-State"] for e in cc if "CC-Agent-State" in e] == [
        "Receiving", "In a queue call", "Waiting",
    ]  # fmt: skip
    end = next(e for e in cc if e.get("CC-Action") == "member-queue-end")
    assert (end["CC-Cause"], end["CC-Agent"], end["Unique-ID"]) == ("Terminated", "gs1", "gs-m")


@pytest.mark.parametrize(
    ("number", "variables", "cause"),
    [
        ("+15551110000", "", "USER_BUSY"),
        ("+15553330000", "", "UNALLOCATED_NUMBER"),
        ("+15552220000", "originate_timeout=3,", "NO_ANSWER"),
    ],
)
def test_greenswitch_failed_originates(number: str, variables: str, cause: str) -> None:
    with Simulator(scenario=OUTCOMES, time_scale=25, heartbeat_interval=3600) as sim:
        esl = connect(sim)
        jobs: dict[str, Any] = {}
        ends: list[dict[str, str]] = []
        esl.register_handle(
            "BACKGROUND_JOB", lambda ev: jobs.setdefault(ev.headers["Job-UUID"], ev)
        )
        esl.register_handle("CHANNEL_HANGUP_COMPLETE", lambda ev: ends.append(dict(ev.headers)))
        send(esl, "event plain BACKGROUND_JOB CHANNEL_HANGUP_COMPLETE")
        job = send(
            esl,
            f"bgapi originate {{{variables}ignore_early_media=true}}"
            f"sofia/gateway/gw/{number} &park()",
        ).headers["Job-UUID"]
        wait_until(lambda: job in jobs and bool(ends))
        # the body glued to the inner Content-Length, its final newline lost by greenswitch
        body = f"-ERR {cause}\n"
        assert jobs[job].headers["Content-Length"] == f"{len(body)}\n\n{body.rstrip()}"
        assert (ends[0]["Hangup-Cause"], ends[0]["Caller-Destination-Number"]) == (cause, number)
        esl.stop()


def test_greenswitch_abandoned_member(esl_sim: Simulator) -> None:
    esl = connect(esl_sim)
    cc: list[dict[str, str]] = []
    esl.register_handle("callcenter::info", lambda ev: cc.append(dict(ev.headers)))
    send(esl, "event plain CUSTOM callcenter::info")
    for name in ("agent1", "agent2"):
        send(esl, f"api callcenter_config agent set status {name} 'On Break'")
    send(
        esl, "bgapi originate {origination_uuid=gs-ab}loopback/park_me &callcenter(support@default)"
    )
    wait_until(lambda: any(e.get("CC-Action") == "member-queue-start" for e in cc))
    assert send(esl, "api uuid_kill gs-ab").data == "+OK\n"
    wait_until(lambda: any(e.get("CC-Action") == "member-queue-end" for e in cc))
    end = next(e for e in cc if e.get("CC-Action") == "member-queue-end")
    assert (end["CC-Cause"], end["CC-Cancel-Reason"], end["Unique-ID"]) == (
        "Cancel", "BREAK_OUT", "gs-ab",
    )  # fmt: skip
    members = send(esl, "api callcenter_config queue list members support@default").data
    assert "|Abandoned|" in members
    esl.stop()
