"""ESL server: exact bytes for auth, api, bgapi, subscriptions, filters and errors."""

from __future__ import annotations

import socket
import time

from freeswitch.simulator import Simulator
from freeswitch.simulator.testing import RawEslClient


def test_auth_success_exact_bytes(sim: Simulator) -> None:
    c = RawEslClient(sim.port)
    c.next_reply()
    c.command("auth ClueCon")
    assert bytes(c.raw) == (
        b"Content-Type: auth/request\n\nContent-Type: command/reply\nReply-Text: +OK accepted\n\n"
    )


def test_auth_failure_replies_and_disconnects(sim: Simulator) -> None:
    c = RawEslClient(sim.port)
    c.next_reply()
    c.send("auth WrongPassword")
    c.drain(0.3)
    assert bytes(c.raw) == (
        b"Content-Type: auth/request\n\n"
        b"Content-Type: command/reply\nReply-Text: -ERR invalid\n\n"
        b"Content-Type: text/disconnect-notice\nContent-Length: 67\n\n"
        b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
    )
    assert c.closed


def test_commands_before_auth_are_refused(sim: Simulator) -> None:
    c = RawEslClient(sim.port)
    c.next_reply()
    assert c.command("api status").headers["Reply-Text"] == "-ERR command not found"


def test_api_reply_framing(client: RawEslClient) -> None:
    start = len(client.raw)
    client.command("api uuid_exists nope")
    assert bytes(client.raw[start:]) == b"Content-Type: api/response\nContent-Length: 5\n\nfalse"
    assert client.api("nosuchcommand foo") == "-ERR nosuchcommand Command not found!\n"
    assert client.api("version").startswith("FreeSWITCH Version 1.10.12")


def test_bgapi_job_uuid_and_background_job_body(client: RawEslClient) -> None:
    client.command("event plain BACKGROUND_JOB")
    start = len(client.raw)
    reply = client.command("bgapi uuid_exists nope", [("Job-UUID", "job-1")])
    assert bytes(client.raw[start:]).startswith(
        b"Content-Type: command/reply\nReply-Text: +OK Job-UUID: job-1\nJob-UUID: job-1\n\n"
    )
    assert reply.headers["Job-UUID"] == "job-1"
    ev = client.wait_event(lambda d: d.get("Job-UUID") == "job-1")
    assert ev["_body"] == "false"
    assert ev["Job-Command"] == "uuid_exists"
    assert ev["Job-Command-Arg"] == "nope"
    # Plain events: outer Content-Length frame, inner Content-Length before the body.
    assert b"Content-Length: 5\n\nfalse" in bytes(client.raw)


def test_event_subscription_replies(client: RawEslClient) -> None:
    assert client.command("event plain").headers["Reply-Text"] == "-ERR no keywords supplied"
    r = client.command("event plain CHANNEL_CREATE CUSTOM callcenter::info")
    assert r.headers["Reply-Text"] == "+OK event listener enabled plain"
    assert client.command("event json ALL").headers["Reply-Text"] == (
        "+OK event listener enabled json"
    )
    assert client.command("nixevent CHANNEL_CREATE").headers["Reply-Text"] == "+OK events nixed"
    assert client.command("noevents").headers["Reply-Text"] == "+OK no longer listening for events"
    assert client.command("noevents").headers["Reply-Text"] == "-ERR not listening for events"


def test_filters(client: RawEslClient) -> None:
    r = client.command("filter Unique-ID abc")
    assert r.headers["Reply-Text"] == "+OK filter added. [Unique-ID]=[abc]"
    r = client.command("filter delete Unique-ID abc")
    assert r.headers["Reply-Text"] == "+OK filter deleted. [Unique-ID][abc]"
    client.command("event plain ALL")
    client.command("filter Event-Name BACKGROUND_JOB")
    client.command("bgapi status", [("Job-UUID", "j2")])
    ev = client.wait_event(lambda d: d.get("Job-UUID") == "j2")
    assert ev["Event-Name"] == "BACKGROUND_JOB"
    assert {e["Event-Name"] for e in client.events()} == {"BACKGROUND_JOB"}


def test_myevents_linger_sendmsg_errors_and_exit(client: RawEslClient) -> None:
    assert client.command("linger").headers["Reply-Text"] == "-ERR not controlling a session"
    assert client.command("myevents abc").headers["Reply-Text"] == "+OK Events Enabled"
    assert client.command("myevents abc").headers["Reply-Text"] == "-ERR aready enabled."
    r = client.command("sendmsg nope", [("call-command", "hangup")])
    assert r.headers["Reply-Text"] == "-ERR invalid session id [nope]"
    assert client.command("bogus").headers["Reply-Text"] == "-ERR command not found"
    assert client.command("exit").headers["Reply-Text"] == "+OK bye"
    assert client.next_reply().content_type == "text/disconnect-notice"


def test_url_encoded_plain_and_json_event_shape(client: RawEslClient) -> None:
    client.command("event json BACKGROUND_JOB")
    client.command("bgapi echo a b:c", [("Job-UUID", "j3")])
    f = client.wait_frame(lambda f: f.content_type == "text/event-json")
    assert b'"Job-Command-Arg":"a b:c"' in f.body
    assert b'"_body":"a b:c"' in f.body
    client.command("event plain BACKGROUND_JOB")
    client.command("bgapi echo a b:c", [("Job-UUID", "j4")])
    f = client.wait_frame(lambda f: f.content_type == "text/event-plain")
    assert b"Job-Command-Arg: a%20b%3Ac\n" in f.body


def test_several_clients_get_the_same_events(sim: Simulator) -> None:
    clients = [RawEslClient(sim.port) for _ in range(3)]
    for c in clients:
        c.connect()
        c.command("event plain CUSTOM test::x")
    clients[0].command("sendevent CUSTOM", [("Event-Subclass", "test::x"), ("Foo", "1")])
    for c in clients:
        assert c.wait_event(lambda d: d.get("Event-Subclass") == "test::x")["Foo"] == "1"


def test_listener_that_stops_reading_is_disconnected() -> None:
    s = Simulator(time_scale=1000, event_queue_size=50, max_lost_events=5, heartbeat_interval=3600)
    s.start()
    try:
        sock = socket.create_connection(("127.0.0.1", s.port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"auth ClueCon\n\nevent plain ALL\n\n")
        time.sleep(0.1)
        core = s.core
        assert core is not None
        for _ in range(20):

            def flood() -> None:
                for _ in range(200):
                    core.fire("CUSTOM", [("Pad", "x" * 4000)], subclass="pad::x")

            s.call(flood)
            if s.stats()["listeners"] == 0:
                break
        assert s.stats()["listeners"] == 0
        sock.close()
    finally:
        s.stop()
