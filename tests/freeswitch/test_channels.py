"""Originate, far ends, hangup causes, channel APIs and limits."""

from __future__ import annotations

import json

import pytest

from freeswitch.simulator import Simulator
from freeswitch.simulator.testing import RawEslClient

VARS = (
    "{origination_uuid=%s,ignore_early_media=true,originate_timeout=30,"
    "origination_caller_id_number=15550100,origination_caller_id_name=Acme,"
    "dialer_lead_id=42}"
)


def originate(c: RawEslClient, uuid: str, number: str, app: str = "&park()") -> str:
    job = "job-" + uuid
    c.command(f"bgapi originate {VARS % uuid}sofia/gateway/gw1/{number} {app}", [("Job-UUID", job)])
    return c.wait_event(lambda d: d.get("Job-UUID") == job, timeout=10)["_body"]


def names_for(c: RawEslClient, uuid: str) -> list[str]:
    return [e["Event-Name"] for e in c.events() if e.get("Unique-ID") == uuid]


def test_answered_originate_event_order_and_headers(sim: Simulator, client: RawEslClient) -> None:
    client.command("event plain ALL")
    assert originate(client, "u-1", "+15550001234") == "+OK u-1\n"
    client.wait_event(
        lambda d: d.get("Event-Name") == "CHANNEL_DESTROY" and d["Unique-ID"] == "u-1"
    )
    seq = [n for n in names_for(client, "u-1") if n not in ("CHANNEL_STATE", "CHANNEL_CALLSTATE")]
    assert seq == [
        "CHANNEL_UUID", "CHANNEL_OUTGOING", "CHANNEL_CREATE", "CHANNEL_ORIGINATE",
        "CHANNEL_PROGRESS", "CHANNEL_ANSWER", "CHANNEL_EXECUTE", "CHANNEL_PARK",
        "CHANNEL_HANGUP", "CHANNEL_UNPARK", "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY",
    ]  # fmt: skip
    ev = {e["Event-Name"]: e for e in client.events() if e.get("Unique-ID") == "u-1"}
    create = ev["CHANNEL_CREATE"]
    assert create["Call-Direction"] == "outbound"
    assert create["Channel-Call-UUID"] == "u-1"
    assert create["Answer-State"] == "ringing"
    assert create["variable_dialer_lead_id"] == "42"
    assert create["Caller-Caller-ID-Number"] == "15550100"
    assert create["Caller-Destination-Number"] == "+15550001234"
    assert ev["CHANNEL_ANSWER"]["Answer-State"] == "answered"
    assert ev["CHANNEL_ANSWER"]["variable_amd_result"] == "HUMAN"
    done = ev["CHANNEL_HANGUP_COMPLETE"]
    assert done["Hangup-Cause"] == "NORMAL_CLEARING"
    assert done["variable_billsec"] == "5"
    assert done["variable_answersec"] == "1"
    assert done["variable_hangup_cause_q850"] == "16"


@pytest.mark.parametrize(
    ("number", "cause", "q850", "sip"),
    [
        ("+15551110000", "USER_BUSY", "17", "486"),
        ("+15553330000", "UNALLOCATED_NUMBER", "1", "404"),
        ("+15555550000", "CALL_REJECTED", "21", "603"),
        ("+15557770000", "NORMAL_TEMPORARY_FAILURE", "41", "503"),  # a carrier's 503
    ],
)
def test_failures(client: RawEslClient, number: str, cause: str, q850: str, sip: str) -> None:
    client.command("event plain CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB")
    assert originate(client, "f-" + cause, number) == f"-ERR {cause}\n"
    ev = client.wait_event(lambda d: d.get("Event-Name") == "CHANNEL_HANGUP_COMPLETE")
    assert ev["Hangup-Cause"] == cause
    assert (ev["variable_hangup_cause_q850"], ev["variable_sip_term_status"]) == (q850, sip)
    assert ev["variable_billsec"] == "0"  # never answered


def test_no_answer_times_out(client: RawEslClient) -> None:
    client.command("event plain CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB")
    job = "na"
    client.command(
        "bgapi originate {originate_timeout=5}sofia/gateway/gw1/+15552220000 &park()",
        [("Job-UUID", job)],
    )
    assert client.wait_event(lambda d: d.get("Job-UUID") == job)["_body"] == "-ERR NO_ANSWER\n"
    assert client.wait_event(lambda d: "Hangup-Cause" in d)["Hangup-Cause"] == "NO_ANSWER"


def test_machine_answer_is_marked(client: RawEslClient) -> None:
    client.command("event plain CHANNEL_ANSWER BACKGROUND_JOB")
    assert originate(client, "m-1", "+15554440000") == "+OK m-1\n"
    assert (
        client.wait_event(lambda d: d.get("Event-Name") == "CHANNEL_ANSWER")["variable_amd_result"]
        == "MACHINE"
    )


def test_uuid_apis_and_kill(sim: Simulator, client: RawEslClient) -> None:
    client.command("event plain CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB")
    assert originate(client, "k-1", "+15556660000") == "+OK k-1\n"
    assert client.api("uuid_exists k-1") == "true"
    assert client.api("uuid_setvar k-1 foo bar") == "+OK\n"
    assert client.api("uuid_getvar k-1 foo") == "bar"
    assert client.api("uuid_getvar k-1 dialer_lead_id") == "42"
    assert client.api("uuid_broadcast k-1 tone_stream://%(100,0,440) aleg") == "+OK Message sent\n"
    rows = json.loads(client.api("show channels as json"))
    assert rows["row_count"] == 1
    assert rows["rows"][0]["uuid"] == "k-1"
    assert client.api("show channels").endswith("\n\n1 total.\n")
    assert client.api("uuid_kill k-1") == "+OK\n"
    assert client.wait_event(lambda d: d.get("Unique-ID") == "k-1")["Hangup-Cause"] == (
        "NORMAL_CLEARING"
    )
    assert client.api("uuid_kill k-1") == "-ERR No such channel!\n"
    assert client.api("uuid_exists k-1") == "false"
    assert client.api("show channels as json") == '{"row_count": 0}\n'
    assert sim.originate_log[0].endswith("sofia/gateway/gw1/+15556660000 &park()")


def test_uuid_bridge_and_transfer(client: RawEslClient) -> None:
    client.command("event plain CHANNEL_BRIDGE BACKGROUND_JOB")
    assert originate(client, "b-1", "+15556660001") == "+OK b-1\n"
    assert originate(client, "b-2", "+15556660002") == "+OK b-2\n"
    assert client.api("uuid_bridge b-1 b-2") == "+OK b-2\n"
    ev = client.wait_event(lambda d: d.get("Event-Name") == "CHANNEL_BRIDGE")
    assert (ev["Bridge-A-Unique-ID"], ev["Bridge-B-Unique-ID"]) == ("b-1", "b-2")
    assert client.api("uuid_bridge b-1 nope") == "-ERR Invalid uuid\n"
    assert client.api("uuid_transfer b-2 &park()") == "+OK\n"
    assert client.api("hupall") == "+OK hangup all channels with cause MANAGER_REQUEST\n"


def test_endpoints(client: RawEslClient) -> None:
    assert client.api("originate error/user_busy &park()") == "-ERR USER_BUSY\n"
    assert client.api("originate nosuch/foo &park()") == "-ERR CHAN_NOT_IMPLEMENTED\n"
    assert client.api("originate null/x &park()").startswith("+OK ")
    assert client.api("originate {ignore_early_media=true}user/1001 &park()").startswith("+OK ")
    assert client.api("originate loopback/+15550001/default &park()").startswith("+OK ")
    assert client.api("originate sofia/internal/+15550002@10.0.0.1 &park()").startswith("+OK ")
    assert client.api("originate onlyone").startswith("-USAGE:")


def test_sessions_per_second_and_max_sessions() -> None:
    # A slow clock: the whole test runs inside one simulated second.
    with Simulator(time_scale=0.01, heartbeat_interval=3600) as s:
        c = RawEslClient(s.port)
        c.connect()
        assert c.api("fsctl sps 3") == "+OK sessions per second: 3\n"
        results = [c.api("originate null/x &park()") for _ in range(4)]
        # FreeSWITCH decrements before it checks: sps N lets N - 1 sessions a second.
        assert [r.split(" ")[0] for r in results] == ["+OK", "+OK", "-ERR", "-ERR"]
        assert results[2] == "-ERR DESTINATION_OUT_OF_ORDER\n"
        assert s.channel_count() == 2  # a refused originate makes no channel
        assert c.api("fsctl sps 1000") == "+OK sessions per second: 1000\n"
        assert c.api("fsctl max_sessions 3") == "+OK max sessions: 3\n"
        assert c.api("originate null/y &park()").startswith("+OK ")
        assert c.api("originate null/z &park()") == "-ERR DESTINATION_OUT_OF_ORDER\n"
        status = c.api("status")
        assert "3 session(s) - peak 3, last 5min 3" in status
        assert "session(s) per Sec out of max 1000" in status
        assert "3 session(s) max" in status


def test_heartbeat_event() -> None:
    with Simulator(time_scale=100, heartbeat_interval=20) as s:
        c = RawEslClient(s.port)
        c.connect()
        c.command("event plain HEARTBEAT")
        ev = c.wait_event(lambda d: d.get("Event-Name") == "HEARTBEAT", timeout=3)
        assert ev["Max-Sessions"] == "1000"
        assert "Session-Per-Sec" in ev


def test_greenswitch_against_the_simulator(sim: Simulator) -> None:
    greenswitch = pytest.importorskip("greenswitch")
    import gevent

    esl = greenswitch.InboundESL(host="127.0.0.1", port=sim.port, password="ClueCon")
    esl.connect()
    jobs: list[str] = []
    esl.register_handle("BACKGROUND_JOB", lambda ev: jobs.append(ev.headers.get("Job-UUID")))
    assert esl.send("event plain ALL").headers["Reply-Text"] == "+OK event listener enabled plain"
    assert esl.send("api uuid_exists x").data == "false"
    r = esl.send("bgapi originate {origination_uuid=g-1}sofia/gateway/gw/+15556660009 &park()")
    job = r.headers["Job-UUID"]
    with gevent.Timeout(5):
        while job not in jobs:
            gevent.sleep(0.01)
    assert esl.send("api uuid_kill g-1").data == "+OK\n"
    esl.stop()
    with pytest.raises(ValueError, match="Invalid password"):
        greenswitch.InboundESL(host="127.0.0.1", port=sim.port, password="bad").connect()


def test_per_leg_variables_failover_and_applications(client: RawEslClient) -> None:
    client.command(
        "event plain CHANNEL_CREATE CHANNEL_EXECUTE CHANNEL_BRIDGE CHANNEL_HANGUP_COMPLETE"
    )
    # [..] applies to its leg only, {..} to every leg; "|" tries the next leg on failure.
    r = client.api(
        "originate {origination_uuid=fo-1,ignore_early_media=true,shared=1}"
        "[leg=busy]sofia/gateway/gw/+15551110000|[leg=ok]sofia/gateway/gw/+15556660000 &park()"
    )
    assert r == "+OK fo-1\n"
    client.wait_event(lambda d: d.get("variable_leg") == "ok")
    creates = [e for e in client.events() if e["Event-Name"] == "CHANNEL_CREATE"]
    assert [(e["variable_leg"], e["variable_shared"]) for e in creates] == [
        ("busy", "1"),
        ("ok", "1"),
    ]
    busy = client.wait_event(lambda d: d.get("Event-Name") == "CHANNEL_HANGUP_COMPLETE")
    assert (busy["Hangup-Cause"], busy["variable_leg"]) == ("USER_BUSY", "busy")
    # &playback(...) runs the application on the answered leg
    assert client.api(
        "originate {origination_uuid=pb-1}null/a &playback(tone_stream://%(100,0,440))"
    ) == ("+OK pb-1\n")
    ex = client.wait_event(
        lambda d: d.get("Event-Name") == "CHANNEL_EXECUTE" and d["Unique-ID"] == "pb-1"
    )
    assert (ex["Application"], ex["Application-Data"]) == ("playback", "tone_stream://%(100,0,440)")
    # &bridge(...) dials the B leg and bridges it
    assert client.api("originate {origination_uuid=br-1}null/a &bridge(user/1001)") == "+OK br-1\n"
    br = client.wait_event(lambda d: d.get("Event-Name") == "CHANNEL_BRIDGE", timeout=10)
    assert br["Bridge-A-Unique-ID"] == "br-1"
    assert br["Other-Leg-Destination-Number"] == "1001"


def test_stats_count_ringing_legs(sim: Simulator, client: RawEslClient) -> None:
    client.command("event plain CHANNEL_PROGRESS CHANNEL_ANSWER CHANNEL_HANGUP_COMPLETE")
    client.command("bgapi originate {origination_uuid=r-1}sofia/gateway/gw/+15552220000 &park()")
    client.command("bgapi originate {origination_uuid=r-2}sofia/gateway/gw/+15556660000 &park()")
    client.wait_event(lambda d: d.get("Event-Name") == "CHANNEL_ANSWER" and d["Unique-ID"] == "r-2")
    assert sim.stats()["ringing"] == 1  # r-1 still rings, r-2 answered
    client.api("uuid_kill r-1")
    client.wait_event(lambda d: d.get("Event-Name") == "CHANNEL_HANGUP_COMPLETE")
    st = sim.stats()
    assert (st["ringing"], st["peak_ringing"], st["channels"]) == (0, 2, 1)


def test_uuid_transfer_runs_the_dialplan_extension() -> None:
    scenario = {"dialplan": {"busy_me": [["hangup", "USER_BUSY"]]}}
    with Simulator(scenario=scenario, time_scale=50, heartbeat_interval=3600) as s:
        c = RawEslClient(s.port)
        c.connect()
        c.command("event plain CHANNEL_EXECUTE CHANNEL_UNPARK CHANNEL_HANGUP_COMPLETE")
        assert c.api("originate {origination_uuid=xf-1}null/a &park()") == "+OK xf-1\n"
        assert c.api("uuid_transfer xf-1 busy_me") == "+OK\n"
        done = c.wait_event(lambda d: d.get("Event-Name") == "CHANNEL_HANGUP_COMPLETE")
        assert done["Hangup-Cause"] == "USER_BUSY"
        names = [(e["Event-Name"], e.get("Application")) for e in c.events()]
        assert names == [
            ("CHANNEL_EXECUTE", "park"), ("CHANNEL_UNPARK", None),
            ("CHANNEL_EXECUTE", "hangup"), ("CHANNEL_HANGUP_COMPLETE", None),
        ]  # fmt: skip
        assert c.api("uuid_transfer xf-1 busy_me") == "-ERR No such channel!\n"
