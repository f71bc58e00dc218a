"""ESL server: exact bytes for auth, api, bgapi, subscriptions, filters and errors."""

from __future__ import annotations

import json
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


def test_filter_semantics_as_mod_event_socket(sim: Simulator, client: RawEslClient) -> None:
    def fire(foo: str, bar: str | None = None) -> None:
        headers = [("Event-Subclass", "test::f"), ("Foo", foo)] + ([("Bar", bar)] if bar else [])
        client.command("sendevent CUSTOM", headers)

    client.command("event plain CUSTOM test::f")
    # Matching is case-insensitive; "add" is an alias.
    assert client.command("filter add Foo yes").headers["Reply-Text"] == (
        "+OK filter added. [Foo]=[yes]"
    )
    # A value starting with "-" excludes, and wins over any include.
    client.command("filter Bar -drop")
    # "/.../" is a regular expression.
    client.command("filter Foo /^re-/")
    for foo, bar in (("YES", None), ("no", None), ("yes", "drop"), ("re-1", None), ("x", "y")):
        fire(foo, bar)
    client.command("sendevent CUSTOM", [("Event-Subclass", "test::f"), ("Foo", "end")])
    client.command("filter Foo end")
    fire("end")
    client.wait_event(lambda d: d.get("Foo") == "end")
    assert [e["Foo"] for e in client.events()] == ["YES", "re-1", "end"]
    r = client.command("filter delete Foo")
    assert r.headers["Reply-Text"] == "+OK filter deleted. [Foo][]"
    assert client.command("filter delete all").headers["Reply-Text"] == (
        "+OK filter deleted. [all][]"
    )
    assert client.command("filter Foo").headers["Reply-Text"] == "-ERR invalid syntax"
    fire("after-delete")  # no filter left: everything subscribed passes
    assert client.wait_event(lambda d: d.get("Foo") == "after-delete")


def test_nixevent_and_noevents_stop_delivery(client: RawEslClient) -> None:
    client.command("event plain BACKGROUND_JOB CUSTOM test::a test::b")
    assert client.command("nixevent CUSTOM test::a").headers["Reply-Text"] == "+OK events nixed"
    for sub in ("test::a", "test::b"):
        client.command("sendevent CUSTOM", [("Event-Subclass", sub)])
    client.wait_event(lambda d: d.get("Event-Subclass") == "test::b")
    assert [e["Event-Subclass"] for e in client.events()] == ["test::b"]
    assert client.command("noevents").headers["Reply-Text"] == "+OK no longer listening for events"
    client.command("bgapi status", [("Job-UUID", "after-noevents")])
    client.drain(0.3)
    assert not [e for e in client.events() if e.get("Job-UUID") == "after-noevents"]


def test_myevents_delivers_only_that_channel(client: RawEslClient) -> None:
    other = RawEslClient(client.sock.getpeername()[1])
    other.connect()
    assert other.api("originate {origination_uuid=me-1}null/a &park()") == "+OK me-1\n"
    assert other.api("originate {origination_uuid=me-2}null/b &park()") == "+OK me-2\n"
    assert client.command("myevents me-1").headers["Reply-Text"] == "+OK Events Enabled"
    assert client.command("myevents me-1").headers["Reply-Text"] == "-ERR aready enabled."
    other.api("uuid_kill me-2")
    other.api("uuid_kill me-1")
    client.wait_event(lambda d: d.get("Event-Name") == "CHANNEL_DESTROY", timeout=5)
    assert {e.get("Unique-ID") for e in client.events()} == {"me-1"}
    fresh = RawEslClient(client.sock.getpeername()[1])
    fresh.connect()
    r = fresh.command("myevents nosuch-uuid plain")
    assert r.headers["Reply-Text"] == "-ERR invalid uuid"
    other.close()
    fresh.close()


def test_sendmsg_execute_and_hangup(client: RawEslClient) -> None:
    client.command("event plain CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE CHANNEL_HANGUP_COMPLETE")
    assert client.api("originate {origination_uuid=sm-1}null/a &park()") == "+OK sm-1\n"
    r = client.command(
        "sendmsg sm-1",
        [
            ("call-command", "execute"),
            ("execute-app-name", "playback"),
            ("execute-app-arg", "tone_stream://%(100,0,440)"),
            ("event-uuid", "app-1"),
        ],
    )
    assert r.headers["Reply-Text"] == "+OK"
    done = client.wait_event(
        lambda d: (
            d.get("Event-Name") == "CHANNEL_EXECUTE_COMPLETE" and d.get("Application") == "playback"
        )
    )
    assert (done["Application-Data"], done["Application-UUID"]) == (
        "tone_stream://%(100,0,440)", "app-1",
    )  # fmt: skip
    r = client.command("sendmsg sm-1", [("call-command", "hangup"), ("hangup-cause", "USER_BUSY")])
    assert r.headers["Reply-Text"] == "+OK"
    end = client.wait_event(lambda d: d.get("Event-Name") == "CHANNEL_HANGUP_COMPLETE")
    assert (end["Unique-ID"], end["Hangup-Cause"]) == ("sm-1", "USER_BUSY")


def test_linger_log_and_json_custom(client: RawEslClient) -> None:
    assert client.command("nolinger").headers["Reply-Text"] == "-ERR not controlling a session"
    assert client.command("linger 10").headers["Reply-Text"] == "-ERR not controlling a session"
    assert client.command("nolog").headers["Reply-Text"] == "-ERR not loging"
    assert client.command("log info").headers["Reply-Text"] == "+OK log level info [6]"
    assert client.command("log bogus").headers["Reply-Text"] == "-ERR invalid log level"
    assert client.command("nolog").headers["Reply-Text"] == "+OK no longer logging"
    client.command("event json CUSTOM test::j")
    r = client.command("sendevent CUSTOM", [("Event-Subclass", "test::j"), ("Foo", "a b")])
    f = client.wait_frame(lambda f: f.content_type == "text/event-json")
    assert r.headers["Reply-Text"] == "+OK " + json.loads(f.body)["Event-UUID"]
    assert b'"Event-Subclass":"test::j"' in f.body
    assert b'"Foo":"a b"' in f.body  # no URL-encoding in JSON
