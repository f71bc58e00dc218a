"""Replaying the recorded FreeSWITCH traces against the simulator and comparing."""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from freeswitch.simulator.protocol import Frame, parse_event_body, parse_frames
from freeswitch.simulator.testing import RawEslClient

TRACES = Path(__file__).resolve().parents[2].parent / "shared" / "esl" / "traces"

# Events the simulator does not produce (codec negotiation, presence, scheduler
# and media-layer notifications); documented in docs/simulator.md.
IGNORED = {
    "CODEC", "CALL_UPDATE", "PRESENCE_IN", "RE_SCHEDULE", "HEARTBEAT", "RECV_INFO",
    "COMMAND", "MODULE_UNLOAD", "API", "CHANNEL_UUID", "RELOADXML", "MESSAGE_QUERY",
}  # fmt: skip

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# Variables the dialer relies on: when the real event has them, the simulator's must too.
KEY_VARS = {
    "uuid", "call_uuid", "direction", "channel_name", "origination_uuid",
    "origination_caller_id_number", "origination_caller_id_name", "originate_timeout",
    "ignore_early_media", "hangup_cause", "hangup_cause_q850", "duration", "billsec",
    "progresssec", "answersec", "waitsec", "progress_mediasec", "flow_billsec", "mduration",
    "billmsec", "start_epoch", "answer_epoch", "end_epoch", "progress_epoch", "start_uepoch",
    "answer_uepoch", "end_uepoch", "cc_queue", "cc_member_uuid", "cc_agent", "my_lead_id",
    "other_loopback_leg_uuid", "loopback_leg", "is_outbound",
}  # fmt: skip


def norm(text: str) -> str:
    return re.sub(r"\d+", "N", UUID_RE.sub("U", text))


@dataclass
class Capture:
    replies: list[str] = field(default_factory=list)  # normalised, in order
    channels: dict[str, list[str]] = field(default_factory=dict)  # role -> event keys
    headers: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    variables: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    globals: list[str] = field(default_factory=list)
    # header names of events without a channel (callcenter agent events, jobs...)
    global_headers: dict[str, set[str]] = field(default_factory=dict)


def event_key(d: dict[str, str]) -> str:
    name = d["Event-Name"]
    if name == "CUSTOM":
        return "CUSTOM:" + d.get("CC-Action", d.get("Event-Subclass", ""))
    if name == "CHANNEL_STATE":
        return f"CHANNEL_STATE({d.get('Channel-State')})"
    if name == "CHANNEL_CALLSTATE":
        return f"CHANNEL_CALLSTATE({d.get('Channel-Call-State')})"
    if name in ("CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE"):
        return f"{name}({d.get('Application')})"
    return name


def capture(frames: list[Frame]) -> Capture:
    cap = Capture()
    seen_names: dict[str, int] = {}
    roles: dict[str, str] = {}
    for f in frames:
        ct = f.content_type
        if not ct.startswith("text/event"):
            if ct == "command/reply":
                cap.replies.append("reply:" + norm(f.headers.get("Reply-Text", "")))
            elif ct == "auth/request":
                cap.replies.append("auth/request")
            else:
                cap.replies.append(ct + ":" + norm(f.body.decode()))
            continue
        hdrs, body = parse_event_body(f)
        d: dict[str, str] = {}
        for k, v in hdrs:
            d.setdefault(k, v)
        name = d["Event-Name"]
        if name in IGNORED or d.get("Channel-State") == "CS_NEW":
            continue
        uid = d.get("Unique-ID")
        if not uid:
            extra = norm(body or "") if name == "BACKGROUND_JOB" else d.get("CC-Agent-State", "")
            cap.globals.append(event_key(d) + ":" + extra)
            cap.global_headers.setdefault(event_key(d), set()).update(k for k, _ in hdrs)
            continue
        # FreeSWITCH's own inbound SIP leg when it calls itself is not simulated.
        if d.get("Call-Direction") == "inbound" and d.get("Caller-Source") == "mod_sofia":
            continue
        if uid not in roles:
            cname = UUID_RE.sub("U", d.get("Channel-Name", "?"))
            seen_names[cname] = seen_names.get(cname, 0) + 1
            roles[uid] = f"{cname}#{seen_names[cname]}"
        role = roles[uid]
        key = event_key(d)
        cap.channels.setdefault(role, []).append(key)
        names = {k for k, _ in hdrs if not k.startswith("variable_")}
        cap.headers.setdefault((role, key), set()).update(names)
        cap.variables.setdefault((role, key), set()).update(
            k[len("variable_") :] for k, _ in hdrs if k.startswith("variable_")
        )
    return cap


def commands(name: str) -> list[tuple[float, bytes, bool]]:
    """(send time, bytes, waited for the background job) of every command sent."""
    tx = (TRACES / f"{name}.tx.raw").read_bytes()
    blocks = [b + b"\n\n" for b in tx.split(b"\n\n") if b.strip()]
    times: list[float] = []
    waited: list[bool] = []
    for line in (TRACES / f"{name}.timeline.txt").read_text().splitlines():
        if " >> " in line:
            times.append(float(line.split()[0]))
            waited.append(False)
        elif "## BG body" in line and waited:
            waited[-1] = True
    assert len(times) == len(blocks), (name, len(times), len(blocks))
    return list(zip(times, blocks, waited, strict=True))


def _is_job(job: str, d: dict[str, str]) -> bool:
    return d.get("Job-UUID") == job


def replay(port: int, name: str, scale: float, tail: float = 1.0) -> list[Frame]:
    client = RawEslClient(port, timeout=10)
    client.next_reply()  # auth/request
    t0 = time.monotonic()
    for when, data, wait_job in commands(name):
        target = t0 + when / scale
        while time.monotonic() < target:
            client._pump(target)
        client.send_raw(data)
        if data.startswith(b"exit"):
            continue
        # The recording client waited for each reply (and some background jobs).
        reply = client.next_reply()
        job = reply.headers.get("Job-UUID")
        if wait_job and job:
            client.wait_event(functools.partial(_is_job, job))
    deadline = time.monotonic() + tail
    while time.monotonic() < deadline and not client.closed:
        client._pump(deadline)
    client.close()
    return parse_frames(bytes(client.raw))


def recorded(name: str) -> list[Frame]:
    return parse_frames((TRACES / f"{name}.rx.raw").read_bytes())
