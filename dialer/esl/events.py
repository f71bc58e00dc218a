"""Pure ESL event handling: parse a plain event safely, and map what happened to an outcome.

No I/O here. The daemon feeds events in; `decide_outcome` says what a finished attempt was
and what it does to the lead, so the rules can be tested without FreeSWITCH.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote

Event = dict[str, str]

# --- Parsing --------------------------------------------------------------------------------


_DECODED: dict[str, str] = {}  # raw header value → decoded; bounded, cleared when full


def _decode(value: str) -> str:
    """URL-decode one header value. Most encoded values repeat from event to event (host
    names, caller names, the application data of a call), and decoding was most of the ESL
    thread's time at thousands of events a second: repeats come from a small cache."""
    if "%" not in value:
        return value
    decoded = _DECODED.get(value)
    if decoded is None:
        decoded = unquote(value)
        if len(_DECODED) >= 4096:
            _DECODED.clear()
        _DECODED[value] = decoded
    return decoded


def parse_plain_event(text: str) -> Event:
    """Headers of a `text/event-plain` body, decoded value by value.

    Lines are split BEFORE URL-decoding (greenswitch decodes first, so a value holding `%0A`
    forges a header). A body after the inner `Content-Length` (BACKGROUND_JOB's API output)
    is kept whole under `_body`."""
    headers: Event = {}
    head, sep, rest = text.partition("\n\n")
    for line in head.split("\n"):
        line = line.rstrip("\r")
        if not line:
            continue
        name, colon, value = line.partition(": ")
        if not colon:
            continue
        headers[name] = _decode(value)
    if sep and "Content-Length" in headers:
        try:
            length = int(headers["Content-Length"])
        except ValueError:
            length = len(rest)
        headers["_body"] = rest.encode("utf-8")[:length].decode("utf-8", "replace")
    return headers


def event_name(event: Mapping[str, str]) -> str:
    name = event.get("Event-Name", "")
    if name == "CUSTOM":
        return event.get("Event-Subclass", "")
    return name


def event_time(event: Mapping[str, str]) -> float | None:
    """Event-Date-Timestamp (µs since epoch) as seconds, or None."""
    raw = event.get("Event-Date-Timestamp")
    if not raw:
        return None
    try:
        return int(raw) / 1_000_000
    except ValueError:
        return None


def parse_job_result(body: str) -> tuple[bool, str]:
    """originate's answer: `+OK <uuid>` → (True, uuid); `-ERR CAUSE` → (False, CAUSE)."""
    text = (body or "").strip()
    if text.startswith("+OK"):
        return True, text[3:].strip()
    if text.startswith("-ERR"):
        return False, text[4:].strip().split()[0] if text[4:].strip() else "UNKNOWN"
    if text.startswith("-USAGE"):
        return False, "USAGE"
    return False, text.split()[0] if text else "UNKNOWN"


def parse_show_channels(body: str) -> list[dict[str, str]]:
    """`show channels as json` → its rows (empty on `{"row_count":0}` or garbage)."""
    import json

    try:
        data = json.loads(body or "{}")
    except ValueError:
        return []
    rows = data.get("rows") if isinstance(data, dict) else None
    return [r for r in rows or [] if isinstance(r, dict)]


# --- Outcomes -------------------------------------------------------------------------------


class Result(enum.StrEnum):
    # Mirrors dialer.models.CallResult values; kept here so this module stays pure.
    CONNECTED = "connected"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    INVALID = "invalid"
    FAILED = "failed"
    VOICEMAIL = "voicemail"
    ABANDONED = "abandoned"
    CANCELLED = "cancelled"


class LeadAction(enum.StrEnum):
    CONNECTED = "connected"  # lead_connected → Successful
    ATTEMPT_FAILED = "attempt_failed"  # lead_attempt_failed → cool-off or Failed
    VOICEMAIL = "voicemail"  # lead_mark_voicemail
    RETRY = "retry"  # lead_return_to_retry, no attempt spent


# The carrier or FreeSWITCH refused for capacity, not because of the number: no attempt spent.
CAPACITY_CAUSES = frozenset(
    {
        "NORMAL_TEMPORARY_FAILURE",
        "DESTINATION_OUT_OF_ORDER",
        "SWITCH_CONGESTION",
        "NORMAL_CIRCUIT_CONGESTION",
        "GATEWAY_DOWN",
    }
)
NO_ANSWER_CAUSES = frozenset(
    {
        "NO_ANSWER",
        "NO_USER_RESPONSE",
        "ORIGINATOR_CANCEL",
        "RECOVERY_ON_TIMER_EXPIRE",
        "PROGRESS_TIMEOUT",
        "ALLOTTED_TIMEOUT",
        "NORMAL_CLEARING",  # hung up while ringing
        "SUBSCRIBER_ABSENT",
    }
)
BUSY_CAUSES = frozenset({"USER_BUSY", "CALL_REJECTED", "UNWANTED"})
INVALID_CAUSES = frozenset(
    {
        "UNALLOCATED_NUMBER",
        "INVALID_NUMBER_FORMAT",
        "NO_ROUTE_DESTINATION",
        "NO_ROUTE_TRANSIT_NET",
        "NUMBER_CHANGED",
        "INCOMPATIBLE_DESTINATION",
        "REDIRECTION_TO_NEW_DESTINATION",
    }
)
MACHINE_RESULTS = frozenset({"MACHINE"})


def is_machine(amd_result: str | None) -> bool:
    return (amd_result or "").strip().upper() in MACHINE_RESULTS


@dataclass(frozen=True)
class Outcome:
    result: Result
    lead_action: LeadAction
    reason: str


def decide_outcome(
    *,
    hangup_cause: str,
    answered: bool,
    agent_answered: bool,
    amd_result: str = "",
    cancelled: bool = False,
) -> Outcome:
    """What a finished attempt was, and what it does to the lead.

    A person who answered and never reached an agent is an abandon even when a Stop ended the
    call (`cancelled`): the compliance ledger counts it, so the lead gets the drop rule too."""
    cause = (hangup_cause or "").upper()
    if agent_answered:
        return Outcome(Result.CONNECTED, LeadAction.CONNECTED, "connected to an agent")
    if answered and not is_machine(amd_result):
        why = "campaign stopped" if cancelled else cause
        return Outcome(
            Result.ABANDONED, LeadAction.ATTEMPT_FAILED, f"abandoned before an agent ({why})"
        )
    if cancelled:
        return Outcome(Result.CANCELLED, LeadAction.RETRY, "cancelled: campaign stopped")
    if answered:
        return Outcome(Result.VOICEMAIL, LeadAction.VOICEMAIL, "answering machine")
    if cause in CAPACITY_CAUSES:
        return Outcome(Result.FAILED, LeadAction.RETRY, f"refused for capacity ({cause})")
    if cause in BUSY_CAUSES:
        return Outcome(Result.BUSY, LeadAction.ATTEMPT_FAILED, f"busy ({cause})")
    if cause in INVALID_CAUSES:
        return Outcome(Result.INVALID, LeadAction.ATTEMPT_FAILED, f"invalid number ({cause})")
    if cause in NO_ANSWER_CAUSES:
        return Outcome(Result.NO_ANSWER, LeadAction.ATTEMPT_FAILED, f"no answer ({cause})")
    return Outcome(Result.FAILED, LeadAction.ATTEMPT_FAILED, f"failed ({cause or 'UNKNOWN'})")


# --- Timings --------------------------------------------------------------------------------


@dataclass
class CallTimes:
    """What the daemon saw of one attempt, in the order it happened."""

    dialed_at: datetime | None = None
    ringing_at: datetime | None = None
    answered_at: datetime | None = None
    agent_answered_at: datetime | None = None
    hangup_at: datetime | None = None


@dataclass(frozen=True)
class Durations:
    ring_seconds: float | None
    talk_seconds: float | None
    customer_wait_seconds: float | None
    customer_wait_sla_met: bool | None
    agent_sla_met: bool | None


def durations(
    times: CallTimes, *, customer_wait_sla: int | None, agent_dial_timeout: int | None
) -> Durations:
    """Ring, talk and customer-wait seconds and the Progressive SLA flags.

    Ring: from the first ring (else the dial) to answer (else hangup). Talk: agent answer to
    hangup. Customer wait: answer to agent answer (else to hangup: an abandoned customer
    waited the whole time)."""

    def span(a: datetime | None, b: datetime | None) -> float | None:
        if a is None or b is None:
            return None
        return max(0.0, (b - a).total_seconds())

    ring_start = times.ringing_at or times.dialed_at
    ring = span(ring_start, times.answered_at or times.hangup_at)
    talk = span(times.agent_answered_at, times.hangup_at)
    wait = span(times.answered_at, times.agent_answered_at or times.hangup_at)
    wait_sla = agent_sla = None
    if times.answered_at is not None and wait is not None:
        if customer_wait_sla is not None:
            wait_sla = times.agent_answered_at is not None and wait <= customer_wait_sla
        if agent_dial_timeout is not None:
            agent_sla = times.agent_answered_at is not None and wait <= agent_dial_timeout
    return Durations(ring, talk, wait, wait_sla, agent_sla)
