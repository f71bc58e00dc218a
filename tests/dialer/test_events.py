"""Event parsing against a real FreeSWITCH's bytes, and the outcome rules of an attempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dialer.esl.events import (
    CallTimes,
    LeadAction,
    Result,
    decide_outcome,
    durations,
    event_name,
    parse_job_result,
    parse_plain_event,
    parse_show_channels,
)

TRACES = Path(__file__).resolve().parents[3] / "shared" / "esl" / "traces"
if not TRACES.exists():
    TRACES = Path("/work/shared/esl/traces")


def frames(raw: bytes) -> list[tuple[dict[str, str], bytes]]:
    """Split an ESL byte stream into (outer headers, body) frames."""
    out = []
    pos = 0
    while pos < len(raw):
        end = raw.find(b"\n\n", pos)
        if end < 0:
            break
        head = raw[pos:end].decode()
        headers = dict(line.split(": ", 1) for line in head.split("\n") if ": " in line)
        pos = end + 2
        body = b""
        if "Content-Length" in headers:
            n = int(headers["Content-Length"])
            body = raw[pos : pos + n]
            pos += n
        out.append((headers, body))
    return out


def trace_events(name: str) -> list[dict[str, str]]:
    path = TRACES / f"{name}.rx.raw"
    if not path.exists():
        pytest.skip("recorded traces not available")
    return [
        parse_plain_event(body.decode())
        for headers, body in frames(path.read_bytes())
        if headers.get("Content-Type") == "text/event-plain"
    ]


def test_callcenter_trace_parses_into_the_events_the_dialer_needs():
    events = trace_events("03_callcenter_plain")
    actions = [e.get("CC-Action") for e in events if event_name(e) == "callcenter::info"]
    for needed in (
        "member-queue-start",
        "agent-offering",
        "bridge-agent-start",
        "bridge-agent-end",
        "member-queue-end",
    ):
        assert needed in actions
    start = next(e for e in events if e.get("CC-Action") == "bridge-agent-start")
    assert start["CC-Agent"] == "agent1"
    assert start["CC-Queue"] == "support@default"
    assert start["CC-Member-Session-UUID"] == "53f3f05a-0629-4a4d-9ddb-609f459cafde"
    job = next(e for e in events if e.get("Event-Name") == "BACKGROUND_JOB")
    assert parse_job_result(job["_body"]) == (True, "53f3f05a-0629-4a4d-9ddb-609f459cafde")
    hangups = [e for e in events if e.get("Event-Name") == "CHANNEL_HANGUP_COMPLETE"]
    assert any(e.get("variable_my_lead_id") == "43" for e in hangups)


def test_no_answer_trace_reports_the_cause_in_the_job_body():
    events = trace_events("04_noanswer_plain")
    jobs = [e for e in events if e.get("Event-Name") == "BACKGROUND_JOB"]
    assert parse_job_result(jobs[0]["_body"]) == (False, "NO_ANSWER")


def test_a_value_decoding_to_a_newline_cannot_forge_a_header():
    text = "Event-Name: CHANNEL_ANSWER\nvariable_x: a%0AEvent-Name%3A%20FAKE\n"
    event = parse_plain_event(text)
    assert event["Event-Name"] == "CHANNEL_ANSWER"
    assert event["variable_x"] == "a\nEvent-Name: FAKE"


def test_job_results_and_channel_listing():
    assert parse_job_result("-ERR USER_BUSY\n") == (False, "USER_BUSY")
    assert parse_job_result("-USAGE: originate") == (False, "USAGE")
    assert parse_show_channels('{"row_count":0}') == []
    assert parse_show_channels("garbage") == []
    rows = parse_show_channels('{"row_count":1,"rows":[{"uuid":"u","callstate":"ACTIVE"}]}')
    assert rows == [{"uuid": "u", "callstate": "ACTIVE"}]


@pytest.mark.parametrize(
    ("cause", "answered", "agent", "amd", "cancelled", "result", "action"),
    [
        ("NORMAL_CLEARING", True, True, "", False, Result.CONNECTED, LeadAction.CONNECTED),
        ("NORMAL_CLEARING", True, False, "", False, Result.ABANDONED, LeadAction.ATTEMPT_FAILED),
        ("NORMAL_CLEARING", True, False, "MACHINE", False, Result.VOICEMAIL, LeadAction.VOICEMAIL),
        ("NO_ANSWER", False, False, "", False, Result.NO_ANSWER, LeadAction.ATTEMPT_FAILED),
        ("USER_BUSY", False, False, "", False, Result.BUSY, LeadAction.ATTEMPT_FAILED),
        ("UNALLOCATED_NUMBER", False, False, "", False, Result.INVALID, LeadAction.ATTEMPT_FAILED),
        ("NORMAL_TEMPORARY_FAILURE", False, False, "", False, Result.FAILED, LeadAction.RETRY),
        ("DESTINATION_OUT_OF_ORDER", False, False, "", False, Result.FAILED, LeadAction.RETRY),
        ("ORIGINATOR_CANCEL", False, False, "", True, Result.CANCELLED, LeadAction.RETRY),
        # A person answered and the stop ended the call before an agent: an abandon.
        ("NORMAL_CLEARING", True, False, "", True, Result.ABANDONED, LeadAction.ATTEMPT_FAILED),
        ("NORMAL_CLEARING", True, False, "MACHINE", True, Result.CANCELLED, LeadAction.RETRY),
        ("NORMAL_CLEARING", True, True, "", True, Result.CONNECTED, LeadAction.CONNECTED),
        ("CHAN_NOT_IMPLEMENTED", False, False, "", False, Result.FAILED, LeadAction.ATTEMPT_FAILED),
    ],
)
def test_outcome_of_an_attempt(cause, answered, agent, amd, cancelled, result, action):
    outcome = decide_outcome(
        hangup_cause=cause,
        answered=answered,
        agent_answered=agent,
        amd_result=amd,
        cancelled=cancelled,
    )
    assert (outcome.result, outcome.lead_action) == (result, action)


def test_durations_and_sla_flags():
    t0 = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
    times = CallTimes(
        dialed_at=t0,
        ringing_at=t0 + timedelta(seconds=1),
        answered_at=t0 + timedelta(seconds=6),
        agent_answered_at=t0 + timedelta(seconds=8),
        hangup_at=t0 + timedelta(seconds=68),
    )
    d = durations(times, customer_wait_sla=3, agent_dial_timeout=30)
    assert (d.ring_seconds, d.customer_wait_seconds, d.talk_seconds) == (5.0, 2.0, 60.0)
    assert d.customer_wait_sla_met is True
    assert d.agent_sla_met is True
    slow = CallTimes(
        dialed_at=t0,
        answered_at=t0,
        agent_answered_at=t0 + timedelta(seconds=5),
        hangup_at=t0 + timedelta(seconds=9),
    )
    d = durations(slow, customer_wait_sla=3, agent_dial_timeout=30)
    assert (d.customer_wait_sla_met, d.agent_sla_met) == (False, True)
    abandoned = CallTimes(dialed_at=t0, answered_at=t0, hangup_at=t0 + timedelta(seconds=40))
    d = durations(abandoned, customer_wait_sla=3, agent_dial_timeout=30)
    assert (d.customer_wait_seconds, d.talk_seconds) == (40.0, None)
    assert (d.customer_wait_sla_met, d.agent_sla_met) == (False, False)
    unanswered = CallTimes(dialed_at=t0, hangup_at=t0 + timedelta(seconds=30))
    d = durations(unanswered, customer_wait_sla=3, agent_dial_timeout=30)
    assert (d.ring_seconds, d.customer_wait_sla_met) == (30.0, None)
