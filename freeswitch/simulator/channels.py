"""Channels: originate, far-end behaviour, applications, bridges and their events.

Everything here runs on the simulator's single asyncio loop, so no locking is
needed; timed behaviour is expressed as coroutines sleeping on the shared Clock.
Event order and headers follow recorded FreeSWITCH 1.10.12 traces (see
docs/simulator.md for what is and is not reproduced).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import re
import time
import uuid as uuidlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .clock import Clock
from .protocol import Event, Headers
from .scenario import Q850, SIP_FOR_CAUSE, Outcome, Scenario

if TYPE_CHECKING:
    from .callcenter import CallCenter

STATE_NUMBERS = {
    "CS_NEW": 0,
    "CS_INIT": 1,
    "CS_ROUTING": 2,
    "CS_SOFT_EXECUTE": 3,
    "CS_EXECUTE": 4,
    "CS_EXCHANGE_MEDIA": 5,
    "CS_PARK": 6,
    "CS_CONSUME_MEDIA": 7,
    "CS_HIBERNATE": 8,
    "CS_RESET": 9,
    "CS_HANGUP": 10,
    "CS_REPORTING": 11,
    "CS_DESTROY": 12,
}

CALLSTATE_NUMBERS = {
    "DOWN": 0,
    "DIALING": 1,
    "RINGING": 2,
    "EARLY": 3,
    "ACTIVE": 4,
    "HELD": 5,
    "RING_WAIT": 6,
    "HANGUP": 7,
    "UNHELD": 8,
}

# Where FreeSWITCH fires each event from (Event-Calling-* headers), as recorded.
CALLING: dict[str, tuple[str, str, int]] = {
    "CHANNEL_OUTGOING": ("switch_core_session.c", "switch_core_session_outgoing_channel", 768),
    "CHANNEL_STATE": ("switch_channel.c", "switch_channel_perform_set_running_state", 2408),
    "CHANNEL_CALLSTATE": ("switch_channel.c", "switch_channel_perform_set_callstate", 320),
    "CHANNEL_CREATE": ("switch_core_state_machine.c", "switch_core_session_run", 626),
    "CHANNEL_ORIGINATE": ("switch_ivr_originate.c", "setup_ringback", 1337),
    "CHANNEL_PROGRESS": ("switch_channel.c", "switch_channel_perform_mark_ring_ready_value", 3661),
    "CHANNEL_PROGRESS_MEDIA": (
        "switch_channel.c",
        "switch_channel_perform_mark_pre_answered",
        3729,
    ),
    "CHANNEL_ANSWER": ("switch_channel.c", "switch_channel_perform_mark_answered", 3935),
    "CHANNEL_EXECUTE": ("switch_core_session.c", "switch_core_session_exec", 2928),
    "CHANNEL_EXECUTE_COMPLETE": ("switch_core_session.c", "switch_core_session_exec", 2967),
    "CHANNEL_PARK": ("switch_ivr.c", "switch_ivr_park", 997),
    "CHANNEL_UNPARK": ("switch_ivr.c", "switch_ivr_park", 1244),
    "CHANNEL_BRIDGE": ("switch_ivr_bridge.c", "audio_bridge_on_exchange_media", 966),
    "CHANNEL_UNBRIDGE": ("switch_ivr_bridge.c", "audio_bridge_on_exchange_media", 1003),
    "CHANNEL_HANGUP": ("switch_channel.c", "switch_channel_perform_hangup", 3244),
    "CHANNEL_HANGUP_COMPLETE": (
        "switch_core_state_machine.c",
        "switch_core_session_reporting_state",
        943,
    ),
    "CHANNEL_DESTROY": ("switch_core_session.c", "switch_core_session_perform_destroy", 1745),
    "PLAYBACK_START": ("switch_ivr_play_say.c", "switch_ivr_play_file", 1537),
    "PLAYBACK_STOP": ("switch_ivr_play_say.c", "switch_ivr_play_file", 2014),
    "BACKGROUND_JOB": ("mod_event_socket.c", "api_exec", 1572),
    "API": ("switch_loadable_module.c", "switch_api_execute", 2954),
    "HEARTBEAT": ("switch_core.c", "send_heartbeat", 88),
    "SHUTDOWN": ("switch_core.c", "switch_core_destroy", 3023),
}
DEFAULT_CALLING = ("switch_event.c", "switch_event_fire_detailed", 2000)

# Events that carry the channel's variables (not OUTGOING, STATE, CALLSTATE).
VAR_EVENTS = frozenset(
    {
        "CHANNEL_CREATE",
        "CHANNEL_ORIGINATE",
        "CHANNEL_ANSWER",
        "CHANNEL_PROGRESS",
        "CHANNEL_PROGRESS_MEDIA",
        "CHANNEL_BRIDGE",
        "CHANNEL_UNBRIDGE",
        "CHANNEL_PARK",
        "CHANNEL_UNPARK",
        "CHANNEL_EXECUTE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "CHANNEL_DESTROY",
        "CUSTOM",
        "PLAYBACK_START",
        "PLAYBACK_STOP",
    }
)

USAGE = (
    "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] "
    "[<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n"
)

_TONE_RE = re.compile(r"%\(([\d,\s]+)\)")


def app_headers(app: str, data: str, app_uuid: str, response: str | None = None) -> Headers:
    h: Headers = [("Application", app)]
    if data:
        h.append(("Application-Data", data))
    if response is not None:
        h.append(("Application-Response", response))
    h.append(("Application-UUID", app_uuid))
    return h


def new_uuid() -> str:
    return str(uuidlib.uuid4())


class OriginateError(Exception):
    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def split_vars(text: str) -> list[tuple[str, str]]:
    """`a=1,b='x,y',c=^^:z` -> pairs; commas inside single quotes do not split."""
    out: list[tuple[str, str]] = []
    sep = ","
    if text.startswith("^^") and len(text) > 2:
        sep, text = text[2], text[3:]
    buf = ""
    quoted = False
    parts: list[str] = []
    for ch in text:
        if ch == "'":
            quoted = not quoted
            buf += ch
        elif ch == sep and not quoted:
            parts.append(buf)
            buf = ""
        else:
            buf += ch
    if buf:
        parts.append(buf)
    for part in parts:
        if "=" not in part:
            continue
        k, v = part.split("=", 1)
        v = v.strip()
        if len(v) >= 2 and v[0] == v[-1] == "'":
            v = v[1:-1]
        out.append((k.strip(), v))
    return out


def switch_true(value: object) -> bool:
    """FreeSWITCH's switch_true for the values dial strings and configs use."""
    return str(value).lower() in ("true", "1", "yes", "on")


def auto_answer(variables: dict[str, str]) -> bool:
    """Whether the leg asks the phone to answer itself: ``sip_auto_answer=true`` (FreeSWITCH
    sends ``Call-Info: answer-after=0``) or that Call-Info header set by hand."""
    if switch_true(variables.get("sip_auto_answer", "")):
        return True
    return "answer-after=0" in variables.get("sip_h_Call-Info", "").replace(" ", "")


def take_block(text: str, open_ch: str, close_ch: str) -> tuple[str | None, str]:
    """Leading `{...}`/`[...]`/`<...>` block (nesting-aware) and the rest."""
    text = text.lstrip()
    if not text.startswith(open_ch):
        return None, text
    depth = 0
    for i, ch in enumerate(text):
        if ch == open_ch:
            depth += 1
        elif ch == close_ch:
            depth -= 1
            if depth == 0:
                return text[1:i], text[i + 1 :]
    return None, text


def playback_seconds(target: str, default: float) -> float:
    """Length of a tone_stream (on/off pairs times loops) or a default for files."""
    m = _TONE_RE.search(target)
    if not m:
        return default
    nums = [int(x) for x in m.group(1).replace(" ", "").split(",") if x]
    loops_m = re.search(r"loops=(-?\d+)", target)
    loops = int(loops_m.group(1)) if loops_m else 1
    ms = sum(nums[:2]) if len(nums) >= 2 else (nums[0] if nums else 0)
    if loops < 0:
        return 3600.0
    return ms * max(loops, 1) / 1000.0


@dataclass
class Leg:
    """One parsed dial target: endpoint string plus its variables."""

    endpoint: str
    variables: dict[str, str]


@dataclass
class Channel:
    uuid: str
    name: str
    direction: str
    core: Core
    destination: str
    source: str = "mod_sofia"
    context: str = "default"
    caller_id_name: str = ""
    caller_id_number: str = ""
    callee_id_name: str = ""
    callee_id_number: str = ""
    network_addr: str = ""
    orig_caller_id_number: str = ""
    orig_caller_id_name: str = ""
    app_uuid: str = ""
    swapped: bool = False
    defer_early: bool = False  # originate returns on early media; callstate follows later
    pending_early: bool = False
    playing: str | None = None
    transfer_source: str = ""
    on_hangup_early: list[Callable[[Channel], None]] = field(default_factory=list)
    hit_dialplan: bool = False
    state: str = "CS_NONE"
    callstate: str = "DOWN"
    answer_state: str = "ringing"
    hangup_cause: str | None = None
    codec: tuple[str, int, int] | None = None
    variables: dict[str, str] = field(default_factory=dict)
    created_us: int = 0
    progress_us: int = 0
    progress_media_us: int = 0
    answered_us: int = 0
    bridged_us: int = 0
    transfer_us: int = 0
    hangup_us: int = 0
    app: str | None = None
    app_data: str = ""
    parked: bool = False
    bridged_to: Channel | None = None
    bridge_originator: bool = False
    partner: Channel | None = None  # loopback a <-> b
    other_leg: Channel | None = None  # for Other-Leg-* headers
    outcome: Outcome | None = None
    kind: str = "sofia"
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    early: asyncio.Event = field(default_factory=asyncio.Event)
    gone: asyncio.Event = field(default_factory=asyncio.Event)
    on_hangup: list[Callable[[Channel], None]] = field(default_factory=list)
    app_queue: list[tuple[str, str]] = field(default_factory=list)
    runner: asyncio.Task[Any] | None = None
    destroyed: bool = False

    @property
    def is_answered(self) -> bool:
        return self.answered_us > 0

    @property
    def alive(self) -> bool:
        return self.hangup_cause is None

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    # -- header blocks ---------------------------------------------------------------

    def channel_headers(self, with_vars: bool) -> Headers:
        h: Headers = [
            ("Channel-State", self.state),
            ("Channel-Call-State", self.callstate),
            ("Channel-State-Number", str(STATE_NUMBERS.get(self.state, 0))),
            ("Channel-Name", self.name),
            ("Unique-ID", self.uuid),
            ("Call-Direction", self.direction),
            ("Presence-Call-Direction", self.direction),
            ("Channel-HIT-Dialplan", "true" if self.hit_dialplan else "false"),
            ("Channel-Call-UUID", self.uuid),
            ("Answer-State", self.answer_state),
        ]
        if self.hangup_cause:
            h.append(("Hangup-Cause", self.hangup_cause))
        if self.codec:
            name, rate, bits = self.codec
            h += [
                ("Channel-Read-Codec-Name", name),
                ("Channel-Read-Codec-Rate", str(rate)),
                ("Channel-Read-Codec-Bit-Rate", str(bits)),
                ("Channel-Write-Codec-Name", name),
                ("Channel-Write-Codec-Rate", str(rate)),
                ("Channel-Write-Codec-Bit-Rate", str(bits)),
            ]
        h += self.profile_headers("Caller")
        if self.other_leg is not None:
            h.append(("Other-Type", "originatee" if self.bridge_originator else "originator"))
            h += self.other_leg.profile_headers("Other-Leg", brief=True)
        if with_vars:
            h += [("variable_" + k, v) for k, v in self.variables.items()]
        return h

    def profile_headers(self, prefix: str, brief: bool = False) -> Headers:
        p = prefix + "-"
        h: Headers = [
            (p + "Direction", self.direction),
            (p + "Logical-Direction", self.direction),
        ]
        if self.kind != "sofia":
            h.append((p + "Dialplan", "xml"))
        for key, val in (
            ("Caller-ID-Name", self.caller_id_name),
            ("Caller-ID-Number", self.caller_id_number),
            ("Orig-Caller-ID-Name", self.orig_caller_id_name),
            ("Orig-Caller-ID-Number", self.orig_caller_id_number),
            ("Callee-ID-Name", self.callee_id_name),
            ("Callee-ID-Number", self.callee_id_number),
            ("Network-Addr", self.network_addr),
            ("ANI", self.orig_caller_id_number),
            ("Destination-Number", self.destination),
            ("Unique-ID", self.uuid),
            ("Source", self.source),
            ("Context", self.context),
            ("Channel-Name", self.name),
        ):
            if val:
                h.append((p + key, val))
        if not brief:
            if self.transfer_source:
                h.append((p + "Transfer-Source", self.transfer_source))
            h.append((p + "Profile-Index", "1"))
        h += [
            (p + "Profile-Created-Time", str(self.created_us)),
            (p + "Channel-Created-Time", str(self.created_us)),
            (p + "Channel-Answered-Time", str(self.answered_us)),
            (p + "Channel-Progress-Time", str(self.progress_us)),
            (p + "Channel-Progress-Media-Time", str(self.progress_media_us)),
            (p + "Channel-Hangup-Time", str(self.hangup_us)),
            (p + "Channel-Transfer-Time", str(self.transfer_us)),
            (p + "Channel-Resurrect-Time", "0"),
            (p + "Channel-Bridged-Time", str(self.bridged_us)),
            (p + "Channel-Last-Hold", "0"),
            (p + "Channel-Hold-Accum", "0"),
            (p + "Screen-Bit", "true"),
            (p + "Privacy-Hide-Name", "false"),
            (p + "Privacy-Hide-Number", "false"),
        ]
        return h


def _stamp(us: int) -> str:
    if not us:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(us / 1e6))


class Limits:
    """sessions-per-second budget refilled each simulated second, and max-sessions."""

    def __init__(self, clock: Clock, sps: int, max_sessions: int) -> None:
        self.clock = clock
        self.sps = sps
        self.max_sessions = max_sessions
        self._second = -1
        self._used = 0
        self.last_sps = 0
        self.peak_sps = 0

    def roll(self) -> None:
        """The timer thread's once-a-second refill; last and peak are known from then."""
        sec = int(self.clock.now())
        if sec != self._second:
            self.last_sps = self._used if sec == self._second + 1 else 0
            self.peak_sps = max(self.peak_sps, self.last_sps)
            self._second = sec
            self._used = 0

    def take(self, active: int) -> bool:
        """switch_core_session_request_uuid: `sps = --runtime.sps; if (sps <= 0)` Throttle
        Error (so N per second lets N - 1 sessions through, and refused attempts count
        too), then `count + 1 > session_limit` Over Session Limit."""
        self.roll()
        self._used += 1
        if self.sps - self._used <= 0:
            return False
        return active + 1 <= self.max_sessions


class Core:
    """The simulated switch: channels, the event bus and the originate engine."""

    def __init__(
        self,
        clock: Clock,
        scenario: Scenario,
        *,
        hostname: str = "freeswitch-sim",
        ipv4: str = "127.0.0.1",
        sps: int = 30,
        max_sessions: int = 1000,
        playback_default: float = 3.0,
    ) -> None:
        self.clock = clock
        self.scenario = scenario
        self.hostname = hostname
        self.ipv4 = ipv4
        self.core_uuid = new_uuid()
        self.seq = itertools.count(1)
        self.channels: dict[str, Channel] = {}
        self.limits = Limits(clock, sps, max_sessions)
        self.playback_default = playback_default
        self.dispatch: Callable[[Event], None] = lambda ev: None
        self.callcenter: CallCenter | None = None
        self.session_count = 0
        self.session_id = itertools.count(1)
        self.peak_channels = 0
        self.peak_ringing = 0
        self._ringing = 0
        self.originate_log: list[str] = []
        self.started = clock.now()
        self.global_vars: dict[str, str] = {"hostname": hostname}

    # -- events ------------------------------------------------------------------------

    def base_headers(self, name: str, subclass: str | None = None) -> Headers:
        now_us = self.clock.now_us()
        secs = now_us / 1e6
        file_, func, line = CALLING.get(name, DEFAULT_CALLING)
        h: Headers = []
        if subclass:
            h.append(("Event-Subclass", subclass))
        h += [
            ("Event-Name", name),
            ("Core-UUID", self.core_uuid),
            ("FreeSWITCH-Hostname", self.hostname),
            ("FreeSWITCH-Switchname", self.hostname),
            ("FreeSWITCH-IPv4", self.ipv4),
            ("FreeSWITCH-IPv6", "::1"),
            ("Event-Date-Local", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(secs))),
            ("Event-Date-GMT", time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(secs))),
            ("Event-Date-Timestamp", str(now_us)),
            ("Event-Calling-File", file_),
            ("Event-Calling-Function", func),
            ("Event-Calling-Line-Number", str(line)),
            ("Event-Sequence", str(next(self.seq))),
        ]
        return h

    def fire(
        self, name: str, headers: Headers, body: str | None = None, subclass: str | None = None
    ) -> None:
        self.dispatch(Event(name, self.base_headers(name, subclass) + headers, body, subclass))

    def fire_channel(self, name: str, ch: Channel, extra: Headers | None = None) -> None:
        h = ch.channel_headers(name in VAR_EVENTS)
        if extra:
            h = extra + h if name in ("CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE") else h + extra
        self.fire(name, h)

    def fire_custom(self, subclass: str, headers: Headers, ch: Channel | None = None) -> None:
        h = ch.channel_headers(True) if ch is not None else []
        # CC-* headers sit between the channel block and the variables, as FreeSWITCH
        # adds them after switch_channel_event_set_basic_data.
        if ch is not None:
            n = next((i for i, (k, _) in enumerate(h) if k.startswith("variable_")), len(h))
            caller_at = next((i for i, (k, _) in enumerate(h) if k.startswith("Caller-")), n)
            h = h[:caller_at] + headers + h[caller_at:]
        else:
            h = headers
        self.fire("CUSTOM", h, subclass=subclass)

    def set_state(self, ch: Channel, state: str) -> None:
        ch.state = state
        self.fire_channel("CHANNEL_STATE", ch)

    def set_callstate(self, ch: Channel, callstate: str) -> None:
        original = ch.callstate
        ch.callstate = callstate
        number = str(CALLSTATE_NUMBERS.get(callstate, 0))
        self.fire(
            "CHANNEL_CALLSTATE",
            [
                ("Original-Channel-Call-State", original),
                ("Channel-Call-State-Number", number),
                *ch.channel_headers(False),
            ],
        )

    # -- channel creation --------------------------------------------------------------

    def _new_channel(
        self,
        *,
        uuid: str,
        name: str,
        direction: str,
        destination: str,
        kind: str,
        variables: dict[str, str],
        cid_name: str,
        cid_num: str,
        source: str,
        context: str = "default",
    ) -> Channel:
        ch = Channel(
            uuid=uuid,
            name=name,
            direction=direction,
            core=self,
            destination=destination,
            source=source,
            context=context,
            caller_id_name=cid_name,
            caller_id_number=cid_num,
            kind=kind,
        )
        ch.created_us = self.clock.now_us()
        ch.orig_caller_id_number = cid_num
        ch.orig_caller_id_name = cid_name
        ch.hit_dialplan = direction == "inbound"
        base = {
            "direction": direction,
            **({"is_outbound": "true"} if direction == "outbound" else {}),
            "uuid": uuid,
            "call_uuid": uuid,
            "session_id": str(next(self.session_id)),
            "channel_name": name,
        }
        ch.variables = {**base, **variables}
        self.channels[uuid] = ch
        if direction == "outbound":
            self._ringing += 1  # an outbound leg rings until answered or gone
        self.session_count += 1
        self.peak_channels = max(self.peak_channels, len(self.channels))
        return ch

    def ringing_count(self) -> int:
        """Outbound legs up and not answered (kept as a counter: asked on every ring)."""
        return self._ringing

    # -- state changes -----------------------------------------------------------------

    def mark_progress(self, ch: Channel, media: bool = False) -> None:
        if not ch.alive or ch.is_answered:
            return
        now = self.clock.now_us()
        if media:
            if ch.progress_media_us:
                return
            ch.progress_media_us = now
            ch.progress_us = ch.progress_us or now
            ch.answer_state = "early"
            ch.codec = ch.codec or ("PCMU", 8000, 64000)
            self.fire_channel("CHANNEL_PROGRESS_MEDIA", ch)
            if ch.defer_early:
                ch.pending_early = True
            else:
                self.set_callstate(ch, "EARLY")
            ch.early.set()
        else:
            if ch.progress_us:
                return
            ch.progress_us = now
            if ch.kind == "sofia":
                ch.network_addr = "127.0.0.1"
            self.fire_channel("CHANNEL_PROGRESS", ch)
            if ch.callstate != "RINGING":
                self.set_callstate(ch, "RINGING")
        self.peak_ringing = max(self.peak_ringing, self.ringing_count())

    def mark_answered(self, ch: Channel) -> None:
        if not ch.alive or ch.is_answered:
            return
        ch.answered_us = self.clock.now_us()
        if ch.direction == "outbound":
            self._ringing -= 1
        ch.answer_state = "answered"
        ch.codec = ch.codec or ("PCMU", 8000, 64000)
        if ch.outcome is not None:
            ch.variables.update(ch.outcome.variables)
        ch.variables.setdefault("endpoint_disposition", "ANSWER")
        self.fire_channel("CHANNEL_ANSWER", ch)
        self.set_callstate(ch, "ACTIVE")
        ch.answered.set()
        if ch.partner is not None and ch.partner.alive and ch.kind == "loopback-b":
            self.mark_answered(ch.partner)

    def hangup(self, ch: Channel, cause: str = "NORMAL_CLEARING") -> None:
        """Tear a channel down with FreeSWITCH's event sequence."""
        if not ch.alive:
            return
        now = self.clock.now_us()
        ch.hangup_cause = cause
        ch.hangup_us = now
        ch.answer_state = "hangup"
        ch.variables["hangup_cause"] = cause
        ch.variables["hangup_cause_q850"] = str(Q850.get(cause, 16))
        if ch.kind == "sofia" and not ch.is_answered and cause in SIP_FOR_CAUSE:
            status = SIP_FOR_CAUSE[cause]
            ch.variables["sip_hangup_disposition"] = "recv_refuse"
            ch.variables["sip_invite_failure_status"] = str(status)
            ch.variables["sip_term_status"] = str(status)
            ch.variables["proto_specific_hangup_cause"] = f"sip:{status}"
            ch.variables["sip_term_cause"] = str(Q850.get(cause, 16))
        self.fire_channel("CHANNEL_HANGUP", ch)
        for cb in list(ch.on_hangup_early):
            cb(ch)
        current = asyncio.current_task()
        for task in list(ch.tasks):
            if task is not current:
                task.cancel()
        if ch.runner is not None and ch.runner is not current:
            ch.runner.cancel()
        other = ch.bridged_to
        if other is not None and ch.bridge_originator:
            self.fire_channel(
                "CHANNEL_UNBRIDGE",
                ch,
                [("Bridge-A-Unique-ID", ch.uuid), ("Bridge-B-Unique-ID", other.uuid)],
            )
        if ch.parked:
            ch.parked = False
            self.fire_channel("CHANNEL_UNPARK", ch)
        self.stop_playback(ch)
        if ch.app is not None:
            app, data = ch.app, ch.app_data
            ch.app = None
            self.fire_channel(
                "CHANNEL_EXECUTE_COMPLETE",
                ch,
                app_headers(app, data, ch.app_uuid, "_none_"),
            )
        self.set_state(ch, "CS_HANGUP")
        self.set_callstate(ch, "HANGUP")
        self.set_state(ch, "CS_REPORTING")
        self._finalise_vars(ch)
        self.fire_channel("CHANNEL_HANGUP_COMPLETE", ch)
        for cb in list(ch.on_hangup):
            try:
                cb(ch)
            except Exception:  # a broken observer must not leave a zombie channel
                import logging

                logging.getLogger(__name__).exception("hangup observer failed")
        self.fire_channel("CHANNEL_DESTROY", ch)
        ch.state = "CS_DESTROY"
        self.fire_channel("CHANNEL_STATE", ch)
        ch.destroyed = True
        gone = self.channels.pop(ch.uuid, None) is not None
        if gone and ch.direction == "outbound" and not ch.is_answered:
            self._ringing -= 1
        ch.gone.set()
        if other is not None:
            ch.bridged_to = None
            if other.bridged_to is ch:
                other.bridged_to = None
                if other.alive:
                    self.hangup(other, "NORMAL_CLEARING")
        if ch.partner is not None and ch.partner.alive:
            self.hangup(ch.partner, cause)

    def _finalise_vars(self, ch: Channel) -> None:
        v = ch.variables
        start, end = ch.created_us, ch.hangup_us
        ans, prog, pmedia = ch.answered_us, ch.progress_us, ch.progress_media_us

        def span(a: int, b: int) -> int:
            return max(0, b - a) if a and b else 0

        stamps = {
            "start": start,
            "profile_start": start,
            "answer": ans,
            "progress": prog,
            "progress_media": pmedia,
            "end": end,
        }
        v["digits_dialed"] = "none"
        for key, us in stamps.items():
            if us:
                v[f"{key}_stamp"] = _stamp(us)
        for key in (
            "start",
            "profile_start",
            "answer",
            "bridge",
            "last_hold",
            "resurrect",
            "progress",
            "progress_media",
            "end",
        ):
            us = {"bridge": ch.bridged_us, "last_hold": 0, "resurrect": 0}.get(
                key, stamps.get(key, 0)
            )
            v[f"{key}_epoch"] = str(us // 1_000_000)
            v[f"{key}_uepoch"] = str(us)
            if key == "last_hold":
                v["hold_accum_seconds"] = "0"
                v["hold_accum_usec"] = "0"
                v["hold_accum_ms"] = "0"
        v["caller_id"] = ch.caller_id_number
        dur = span(start, end)
        bill = span(ans, end)
        progress = span(start, prog)
        answer = span(start, ans)
        wait = answer
        pms = span(start, pmedia)
        flow = dur if ans else 0
        for suffix, div in (("sec", 1_000_000), ("msec", 1000), ("usec", 1)):
            pre = {"sec": "", "msec": "m", "usec": "u"}[suffix]
            v[f"{pre}duration" if suffix != "sec" else "duration"] = str(dur // div)
            v[f"bill{suffix}"] = str(bill // div)
            v[f"progress{suffix}"] = str(progress // div)
            v[f"answer{suffix}"] = str(answer // div)
            v[f"wait{suffix}"] = str(wait // div)
            v[f"progress_media{suffix}"] = str(pms // div)
            v[f"flow_bill{suffix}"] = str(flow // div)

    # -- originate ---------------------------------------------------------------------

    def parse_originate(self, args: str) -> tuple[list[Leg], str, list[str], dict[str, str]]:
        """(legs, target, extra args, global vars) or raise ValueError for -USAGE."""
        text = args.strip()
        global_vars: dict[str, str] = {}
        block, rest = take_block(text, "{", "}")
        if block is not None:
            global_vars.update(split_vars(block))
            text = rest
        parts = text.split(None, 1)
        if len(parts) < 2:
            raise ValueError("usage")
        url, tail = parts[0], parts[1].strip()
        # A url may contain spaces inside per-leg [..] blocks; keep it simple: no spaces.
        if tail.startswith("&"):
            m = re.match(r"&([\w:]+)(\((.*)\))?(\s+.*)?$", tail, re.S)
            if not m:
                raise ValueError("usage")
            target = "&" + m.group(1) + "(" + (m.group(3) or "") + ")"
            extra = (m.group(4) or "").split()
        else:
            bits = tail.split()
            target, extra = bits[0], bits[1:]
        legs: list[Leg] = []
        for raw in re.split(r"[|,]", url):
            lv: dict[str, str] = {}
            blk, rest2 = take_block(raw, "[", "]")
            if blk is not None:
                lv.update(split_vars(blk))
                raw = rest2
            legs.append(Leg(raw.strip(), lv))
        if not legs or not legs[0].endpoint:
            raise ValueError("usage")
        return legs, target, extra, global_vars

    async def originate(self, args: str) -> str:
        """The `originate` API: `+OK <uuid>\\n` or `-ERR <CAUSE>\\n`."""
        self.originate_log.append(args)
        try:
            legs, target, extra, gvars = self.parse_originate(args)
        except ValueError:
            return USAGE
        cause = "NORMAL_CLEARING"
        for leg in legs:
            variables = {**gvars, **leg.variables}
            try:
                ch = await self.dial(leg.endpoint, variables, role="lead", extra=extra)
            except OriginateError as err:
                cause = err.cause
                continue
            self.start_target(ch, target, extra)
            return f"+OK {ch.uuid}\n"
        return f"-ERR {cause}\n"

    def start_target(self, ch: Channel, target: str, extra: list[str]) -> None:
        if ch.direction == "outbound" and not ch.swapped:
            # Once originated, FreeSWITCH shows the far end as the caller on our leg.
            ch.swapped = True
            old_name, old_num = ch.caller_id_name, ch.caller_id_number
            ch.caller_id_name, ch.caller_id_number = ch.callee_id_name, ch.callee_id_number
            ch.callee_id_name, ch.callee_id_number = old_name, old_num
        if target.startswith("&"):
            m = re.match(r"&([\w:]+)\((.*)\)$", target, re.S)
            app, data = (m.group(1), m.group(2)) if m else (target[1:], "")
            apps = [(app, data)]
        else:
            apps = self.scenario.dialplan_for(target) or []
            if not apps:
                ch.runner = ch.spawn(self._no_route(ch))
                return
        ch.app_queue = list(apps)
        ch.runner = asyncio.ensure_future(self.run_apps(ch))

    async def _no_route(self, ch: Channel) -> None:
        self.set_state(ch, "CS_ROUTING")
        self.hangup(ch, "NO_ROUTE_DESTINATION")

    async def dial(
        self,
        endpoint: str,
        variables: dict[str, str],
        *,
        role: str,
        extra: list[str] | None = None,
        timeout_default: float = 60.0,
        on_created: Callable[[Channel], None] | None = None,
    ) -> Channel:
        """Create an outbound leg and wait until it is answered (or early, when allowed)."""
        ep = endpoint.strip()
        cid_num = variables.get("origination_caller_id_number", "")
        cid_name = variables.get("origination_caller_id_name", "")
        if extra:
            if len(extra) >= 3:
                cid_name = cid_name or extra[2]
            if len(extra) >= 4:
                cid_num = cid_num or extra[3]
        if ep.startswith("error/"):
            raise OriginateError(ep.split("/", 1)[1].upper() or "NORMAL_CLEARING")
        kind, name, dest, context, source = self._resolve(ep)
        if kind is None:
            raise OriginateError("CHAN_NOT_IMPLEMENTED")
        if not self.limits.take(len(self.channels)):
            raise OriginateError("DESTINATION_OUT_OF_ORDER")
        uuid = variables.get("origination_uuid") or new_uuid()
        if uuid in self.channels:
            raise OriginateError("INVALID_PROFILE")
        chvars = dict(variables)
        chvars["originate_early_media"] = "true"
        chvars["originate_endpoint"] = kind.split("-")[0] if kind != "null" else "null"
        if kind == "loopback-a":
            ch = self._new_channel(
                uuid=uuid,
                name=name + "-a",
                direction="outbound",
                destination=dest,
                kind=kind,
                variables=chvars,
                cid_name=cid_name,
                cid_num=cid_num or "0000000000",
                source="mod_loopback",
                context=context,
            )
            ch.codec = ("L16", 8000, 128000)
            ch.callee_id_name, ch.callee_id_number = "Outbound Call", context
            ch.variables["other_loopback_leg_uuid"] = new_uuid()
            ch.variables["loopback_leg"] = "A"
        else:
            ch = self._new_channel(
                uuid=uuid,
                name=name,
                direction="outbound",
                destination=dest,
                kind=kind,
                variables=chvars,
                cid_name=cid_name,
                cid_num=cid_num or "0000000000",
                source=source,
                context=context,
            )
            ch.callee_id_name, ch.callee_id_number = "Outbound Call", dest
        if on_created:
            on_created(ch)
        if "origination_uuid" in variables:
            # FreeSWITCH renames the session to the requested uuid and says so.
            self.fire_channel("CHANNEL_UUID", ch, [("Old-Unique-ID", new_uuid())])
        self.fire_channel("CHANNEL_OUTGOING", ch)
        self.set_state(ch, "CS_INIT")
        self.fire_channel("CHANNEL_CREATE", ch)
        self.fire_channel("CHANNEL_ORIGINATE", ch)
        self.set_state(ch, "CS_ROUTING")
        self.set_state(ch, "CS_CONSUME_MEDIA")
        if kind == "loopback-a":
            self._start_loopback_b(ch, variables, dest, context)
        else:
            outcome = (
                self.scenario.for_agent(dest) if role == "agent" else self.scenario.for_lead(dest)
            )
            if kind == "null":
                outcome = Outcome(action="answer", ring=0, answer_after=0, talk=None)
            elif role == "agent" and outcome.action == "answer" and auto_answer(variables):
                # A headset on auto-answer picks up at once (200 OK, no ringing): the customer
                # reaches the agent inside the 2 s abandon rule.
                outcome = dataclasses.replace(outcome, ring=0.0, answer_after=0.0)
            ch.outcome = outcome
            ch.spawn(self._far_end(ch, outcome))
        timeout = float(
            variables.get("leg_timeout")
            or variables.get("originate_timeout")
            or (extra[4] if extra and len(extra) >= 5 and extra[4].isdigit() else timeout_default)
        )
        ignore_early = switch_true(variables.get("ignore_early_media", "false"))
        ch.defer_early = not ignore_early
        waits = [asyncio.ensure_future(ch.answered.wait()), asyncio.ensure_future(ch.gone.wait())]
        if not ignore_early:
            waits.append(asyncio.ensure_future(ch.early.wait()))
        try:
            await asyncio.wait(
                waits, timeout=self.clock.real_delay(timeout), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for w in waits:
                w.cancel()
        if not ch.alive:
            raise OriginateError(ch.hangup_cause or "NORMAL_CLEARING")
        if ch.is_answered or (not ignore_early and ch.progress_media_us):
            return ch
        self.hangup(ch, "NO_ANSWER")
        raise OriginateError("NO_ANSWER")

    def _resolve(self, ep: str) -> tuple[str | None, str, str, str, str]:
        """(kind, channel name, destination, context, source) for an endpoint."""
        parts = ep.split("/")
        tech = parts[0].lower()
        if tech == "sofia" and len(parts) >= 4 and parts[1] == "gateway":
            dest = "/".join(parts[3:])
            return "sofia", f"sofia/gateway/{parts[2]}/{dest}", dest, "default", "mod_sofia"
        if tech == "sofia" and len(parts) >= 3:
            target = "/".join(parts[2:])
            user = target.split("@", 1)[0].removeprefix("sip:")
            return "sofia", f"sofia/{parts[1]}/{target}", user, "default", "mod_sofia"
        if tech == "user" and len(parts) >= 2:
            ext = parts[1]
            user = ext.split("@", 1)[0]
            return "sofia", f"sofia/internal/{user}@{self.ipv4}", user, "default", "mod_sofia"
        if tech == "loopback" and len(parts) >= 2:
            ext = parts[1]
            context = parts[2] if len(parts) >= 3 else "default"
            return "loopback-a", f"loopback/{ext}", ext, context, "mod_loopback"
        if tech == "null":
            dest = parts[1] if len(parts) > 1 else "null"
            return "null", f"null/{dest}", dest, "default", "mod_null"
        return None, "", "", "", ""

    async def _far_end(self, ch: Channel, outcome: Outcome) -> None:
        """A remote SIP party's behaviour as seen on our outbound leg."""
        clock = self.clock
        await clock.sleep(outcome.ring)
        fail = outcome.fail_cause
        if ch.kind == "sofia":
            ch.network_addr = "127.0.0.1"  # any SIP reply tells us the far end's address
        if fail:
            self.hangup(ch, fail)
            return
        if outcome.action == "early_media":
            self.mark_progress(ch, media=True)
            await asyncio.Event().wait()
        if outcome.answer_after > 0 or outcome.action == "no_answer":
            # 180 Ringing; a phone that picks up at once sends 200 OK straight away.
            self.mark_progress(ch)
        if outcome.action == "no_answer":
            await asyncio.Event().wait()
        await clock.sleep(outcome.answer_after)
        self.mark_answered(ch)
        if outcome.talk is None:
            return
        await clock.sleep(outcome.talk)
        self.hangup(ch, "NORMAL_CLEARING")

    # -- loopback ----------------------------------------------------------------------

    def _start_loopback_b(
        self, a: Channel, variables: dict[str, str], ext: str, context: str
    ) -> None:
        b_uuid = a.variables["other_loopback_leg_uuid"]
        bvars = {k: v for k, v in variables.items() if k not in ("origination_uuid",)}
        if "origination_uuid" in variables:
            bvars = {"origination_uuid": variables["origination_uuid"], **bvars}
        bvars["other_loopback_leg_uuid"] = a.uuid
        bvars["loopback_leg"] = "B"
        b = self._new_channel(
            uuid=b_uuid,
            name=f"loopback/{ext}-b",
            direction="inbound",
            destination=ext,
            kind="loopback-b",
            variables=bvars,
            cid_name=a.caller_id_name,
            cid_num=a.caller_id_number,
            source="mod_loopback",
            context=context,
        )
        b.codec = ("L16", 8000, 128000)
        b.callee_id_name, b.callee_id_number = "Outbound Call", context
        b.partner, a.partner = a, b
        self.set_state(b, "CS_INIT")
        self.fire_channel("CHANNEL_CREATE", b)
        self.set_callstate(b, "RINGING")
        self.set_state(b, "CS_ROUTING")
        apps = self.scenario.dialplan_for(ext)
        if apps is None and not self.scenario.routes(ext):
            b.spawn(self._b_no_route(b))
            return
        outcome = self.scenario.for_lead(ext) if apps is None else None
        if outcome is not None:
            a.outcome = b.outcome = outcome
        if apps is None and outcome is not None:
            if outcome.action in ("no_route",):
                b.spawn(self._b_no_route(b))
                return
            apps = self._apps_for(outcome)
        b.app_queue = list(apps or [])
        b.runner = asyncio.ensure_future(self.run_apps(b, execute_state=True))

    async def _b_no_route(self, b: Channel) -> None:
        await asyncio.sleep(0)
        self.hangup(b, "NO_ROUTE_DESTINATION")

    @staticmethod
    def _apps_for(o: Outcome) -> list[tuple[str, str]]:
        apps: list[tuple[str, str]] = []
        if o.fail_cause:
            return [("sleep", str(int(o.ring * 1000))), ("hangup", o.fail_cause)]
        if o.action == "early_media":
            return [("pre_answer", ""), ("playback", "tone_stream://%(1000,4000,440,480);loops=-1")]
        apps.append(("ring_ready", ""))
        if o.action == "no_answer":
            return [*apps, ("park", "")]
        apps.append(("sleep", str(int((o.ring + o.answer_after) * 1000))))
        apps.append(("answer", ""))
        if o.talk is None:
            return [*apps, ("park", "")]
        return [*apps, ("sleep", str(int(o.talk * 1000))), ("hangup", "NORMAL_CLEARING")]

    # -- applications ------------------------------------------------------------------

    async def run_apps(self, ch: Channel, execute_state: bool = True) -> None:
        try:
            if execute_state:
                self.set_state(ch, "CS_EXECUTE")
            while ch.alive and ch.app_queue:
                app, data = ch.app_queue.pop(0)
                await self.execute(ch, app, data)
            if ch.alive and not ch.parked and ch.bridged_to is None:
                self.hangup(ch, "NORMAL_CLEARING")
        except asyncio.CancelledError:
            pass

    async def execute(self, ch: Channel, app: str, data: str, app_uuid: str | None = None) -> str:
        """Run one dialplan application with CHANNEL_EXECUTE / _COMPLETE around it."""
        from .apps import APPS  # local: apps imports this module

        handler = APPS.get(app)
        ch.app, ch.app_data = app, data
        ch.variables["current_application"] = app
        ch.variables["current_application_data"] = data
        ch.app_uuid = app_uuid or new_uuid()
        extra = app_headers(app, data, ch.app_uuid)
        self.fire_channel("CHANNEL_EXECUTE", ch, extra)
        if ch.pending_early:
            ch.pending_early = False

            def early() -> None:
                if ch.alive and ch.callstate not in ("EARLY", "ACTIVE"):
                    self.set_callstate(ch, "EARLY")

            asyncio.get_running_loop().call_soon(early)
        if handler is None:
            ch.app = None
            self.hangup(ch, "DESTINATION_OUT_OF_ORDER")
            return "_none_"
        response = await handler(self, ch, data)
        if not ch.alive or ch.app != app:
            return response
        ch.app = None
        ch.variables["last_app"] = app
        ch.variables["last_arg"] = data
        self.fire_channel(
            "CHANNEL_EXECUTE_COMPLETE", ch, app_headers(app, data, ch.app_uuid, response)
        )
        return response

    def start_playback(self, ch: Channel, target: str) -> None:
        ch.playing = target
        kind = target.split("://", 1)[0] if "://" in target else "native"
        self.fire_channel(
            "PLAYBACK_START", ch, [("Playback-File-Type", kind), ("Playback-File-Path", target)]
        )

    def stop_playback(self, ch: Channel, status: str = "break") -> None:
        target = ch.playing
        if target is None:
            return
        ch.playing = None
        kind = target.split("://", 1)[0] if "://" in target else "native"
        self.fire_channel(
            "PLAYBACK_STOP",
            ch,
            [
                ("Playback-File-Type", kind),
                ("Playback-File-Path", target),
                ("Playback-Status", status),
            ],
        )

    async def play(self, ch: Channel, target: str) -> None:
        ch.variables["playback_file"] = target
        self.start_playback(ch, target)
        secs = playback_seconds(target, self.playback_default)
        await self.clock.sleep(secs)
        ch.variables["playback_seconds"] = str(int(secs))
        ch.variables["playback_ms"] = str(int(secs * 1000))
        self.stop_playback(ch, "done")

    # -- bridging ----------------------------------------------------------------------

    def _leave_current_app(self, ch: Channel) -> None:
        """Break a channel out of park/hold so it can be bridged or transferred."""
        if ch.runner is not None and ch.runner is not asyncio.current_task():
            ch.runner.cancel()
            ch.runner = None
        ch.app_queue = []
        if ch.parked:
            ch.parked = False
            self.fire_channel("CHANNEL_UNPARK", ch)
        if ch.app is not None:
            app, data = ch.app, ch.app_data
            ch.app = None
            self.fire_channel(
                "CHANNEL_EXECUTE_COMPLETE",
                ch,
                app_headers(app, data, ch.app_uuid, "_none_"),
            )

    def bridge(self, a: Channel, b: Channel, via_api: bool = True) -> None:
        """uuid_bridge semantics: both legs leave their apps and are bridged."""
        now = self.clock.now_us()
        a.other_leg, b.other_leg = b, a
        a.bridge_originator, b.bridge_originator = True, False
        for ch in (a, b):
            self._leave_current_app(ch)
            if via_api:
                other = b if ch is a else a
                ch.transfer_source = f"{now // 1_000_000}:{new_uuid()}:uuid_br:{other.uuid}"
        for ch in (a, b):
            if via_api:
                self.set_state(ch, "CS_HIBERNATE")
                self.set_state(ch, "CS_RESET")
                self.set_state(ch, "CS_SOFT_EXECUTE")
                ch.app, ch.app_data = "uuid_bridge", (b.uuid if ch is a else a.uuid)
                ch.variables["current_application"] = "uuid_bridge"
                self.fire_channel(
                    "CHANNEL_EXECUTE",
                    ch,
                    [
                        ("Application", "uuid_bridge"),
                        ("Application-Data", ch.app_data),
                        ("Application-UUID", new_uuid()),
                    ],
                )
                ch.app = None
        a.bridged_to, b.bridged_to = b, a
        a.bridge_originator, b.bridge_originator = True, False
        a.other_leg, b.other_leg = b, a
        a.bridged_us = b.bridged_us = now
        for ch, other in ((a, b), (b, a)):
            ch.variables["bridge_uuid"] = other.uuid
            ch.variables["signal_bond"] = other.uuid
            ch.variables["last_bridge_to"] = other.uuid
            ch.variables["bridge_channel"] = other.name
        self.set_state(b, "CS_EXCHANGE_MEDIA")
        self.fire_channel(
            "CHANNEL_BRIDGE",
            a,
            [("Bridge-A-Unique-ID", a.uuid), ("Bridge-B-Unique-ID", b.uuid)],
        )

    def unbridge(self, ch: Channel) -> Channel | None:
        other = ch.bridged_to
        if other is None:
            return None
        origin = ch if ch.bridge_originator else other
        self.fire_channel(
            "CHANNEL_UNBRIDGE",
            origin,
            [
                ("Bridge-A-Unique-ID", origin.uuid),
                ("Bridge-B-Unique-ID", (other if origin is ch else ch).uuid),
            ],
        )
        ch.bridged_to = None
        other.bridged_to = None
        return other

    def transfer(self, ch: Channel, dest: str, both: Channel | None = None) -> None:
        """uuid_transfer to a dialplan extension (from the scenario) or `-bleg`/app."""
        self._leave_current_app(ch)
        other = self.unbridge(ch)
        if other is not None and other.alive:
            self.hangup(other, "NORMAL_CLEARING")
        ch.transfer_us = self.clock.now_us()
        ch.destination = dest
        self.set_state(ch, "CS_ROUTING")
        if dest.startswith("&") or dest.startswith("'&"):
            self.start_target(ch, dest.strip("'"), [])
        else:
            self.start_target(ch, dest, [])

    # -- shutdown ----------------------------------------------------------------------

    def hupall(
        self, cause: str = "MANAGER_REQUEST", var: str | None = None, val: str | None = None
    ) -> int:
        n = 0
        for ch in list(self.channels.values()):
            if var is not None and ch.variables.get(var) != val:
                continue
            if ch.alive and ch.kind != "loopback-b":
                self.hangup(ch, cause)
                n += 1
        for ch in list(self.channels.values()):
            if var is None and ch.alive:
                self.hangup(ch, cause)
        return n

    # -- introspection -----------------------------------------------------------------

    def heartbeat_headers(self) -> Headers:
        self.limits.roll()
        up = int(self.clock.now() - self.started)
        return [
            ("Event-Info", "System Ready"),
            (
                "Up-Time",
                f"0 years, 0 days, {up // 3600} hours, {up // 60 % 60} minutes, "
                f"{up % 60} seconds, 0 milliseconds, 0 microseconds",
            ),
            ("FreeSWITCH-Version", "1.10.12-release"),
            ("Uptime-msec", str(up * 1000)),
            ("Session-Count", str(len(self.channels))),
            ("Max-Sessions", str(self.limits.max_sessions)),
            ("Session-Per-Sec", str(self.limits.sps)),
            ("Session-Per-Sec-Last", str(self.limits.last_sps)),
            ("Session-Per-Sec-Max", str(self.limits.peak_sps)),
            ("Session-Per-Sec-FiveMin", str(self.limits.peak_sps)),
            ("Session-Since-Startup", str(self.session_count)),
            ("Session-Peak-Max", str(self.peak_channels)),
            ("Session-Peak-FiveMin", str(self.peak_channels)),
            ("Idle-CPU", "99.000000"),
        ]
