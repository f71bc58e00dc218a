"""The dialer daemon: one long-lived process per FreeSWITCH node (`manage.py run_dialer`).

Threads, and why:
- the ESL thread (dialer.esl.connection): greenswitch's reader in its own gevent hub. Event
  handling there is in-memory only — it updates the live call table, sends the next command
  (callcenter on answer, greeting after the SLA) and queues database work;
- the request thread: reads dial requests (Redis stream), claims each call, waits for the rate
  limits and a free agent, and sends `bgapi originate`;
- database workers (dialer.recorder): each call always on the same one (so its writes stay
  in order), running dialer.calls services in batches — processes of their own on
  PostgreSQL, threads on SQLite;
- the publisher thread: writes live state (agents, members waiting, calls in flight) to Redis
  for the selector's inbound-priority gate and pacing, and listens for campaign stops.

Nothing on the ESL thread touches the database or Redis, so a slow query never stalls reading
and FreeSWITCH never drops the listener for lost events.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import random
import signal
import threading
import time
import uuid as uuidlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from django.conf import settings
from django.db import close_old_connections, transaction

from dialer import calls as call_services
from dialer import handoff
from dialer.esl import dialstring
from dialer.esl.connection import EslConnection
from dialer.esl.events import (
    CallTimes,
    Event,
    event_name,
    is_machine,
    parse_job_result,
    parse_show_channels,
)
from dialer.ratelimit import CallLimiter
from dialer.recorder import Recorders

log = logging.getLogger("dialer.daemon")

AVAILABLE = ("Available", "Available (On Demand)")
SILENCE = "silence_stream://-1"


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- Dial requests --------------------------------------------------------------------------


class RequestSource(Protocol):
    """Where dial requests come from (the selector's Redis stream, see dialer.handoff).
    `claim` must refuse what may not be dialed now (dialer.handoff.claim_many's rules)."""

    def read(self, count: int, block_ms: int) -> list[tuple[str, str]]: ...
    def ack(self, message_id: str) -> None: ...
    def reclaim(self) -> list[tuple[str, str]]: ...
    def claim(self, call_uuid: str) -> Any: ...

    # Optional: `claim_many(call_uuids) -> {call_uuid: Call}` claims a batch in a constant
    # number of queries; without it the daemon claims one by one (in one transaction).


class StreamRequests:
    """Dial requests from the selector's Redis Stream (dialer.handoff)."""

    def __init__(self, consumer: str) -> None:
        from dialer import handoff

        self.handoff = handoff
        self.consumer = consumer

    def read(self, count: int, block_ms: int) -> list[tuple[str, str]]:
        return [
            (r.message_id, r.call_uuid)
            for r in self.handoff.read_requests(
                consumer=self.consumer, count=count, block_ms=block_ms
            )
        ]

    def ack(self, message_id: str) -> None:
        self.handoff.ack(message_id)

    def reclaim(self) -> list[tuple[str, str]]:
        return [(r.message_id, r.call_uuid) for r in self.handoff.reclaim(consumer=self.consumer)]

    def claim(self, call_uuid: str) -> Any:
        return self.handoff.claim_request(call_uuid)

    def claim_many(self, call_uuids: list[str]) -> dict[str, Any]:
        return self.handoff.claim_many(call_uuids)


def default_request_source(consumer: str) -> RequestSource:
    return StreamRequests(consumer)


# --- Live state -----------------------------------------------------------------------------


@dataclass
class AgentLive:
    name: str
    status: str = "Logged Out"
    state: str = "Waiting"
    wrap_up: float = 0.0
    last_bridge_end: float = 0.0
    busy_until: float = 0.0

    def free(self, now: float) -> bool:
        return (
            self.status in AVAILABLE
            and self.state == "Waiting"
            and now >= self.last_bridge_end + self.wrap_up
            and now >= self.busy_until
        )


@dataclass
class LiveCall:
    uuid: str
    call_id: int
    lead_id: int
    campaign_id: int
    queue: str
    kind: str
    greeting: str = ""
    moh: str = ""
    customer_wait_sla: int = 3
    agent_dial_timeout: int = 30
    times: CallTimes = field(default_factory=CallTimes)
    amd_result: str = ""
    agent_name: str = ""
    in_queue: bool = False
    cancelled: bool = False  # a Stop ended it
    dropped: bool = False  # sent to the safe-harbor message: no greeting or hold music after
    safe_harbor: str = ""  # set by a Stop: a person answering afterwards hears it
    done: bool = False
    answer_mono: float = 0.0
    timers: list[Any] = field(default_factory=list)
    # Preview: the agent's leg, dialed first and parked until the customer answers.
    agent_leg: str = ""
    agent_contact: str = ""


@dataclass
class Stats:
    originates: int = 0
    events: int = 0
    finished: int = 0
    answer_to_queue_ms: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))


@dataclass
class _Held:
    message_id: str
    call_uuid: str
    campaign_id: int
    queue: str
    kind: str


# --- The daemon -----------------------------------------------------------------------------


class Dialer:
    def __init__(
        self,
        *,
        host: str | None = None,
        port: int | None = None,
        password: str | None = None,
        node: str | None = None,
        gateway: str | None = None,
        requests: RequestSource | None = None,
        calls_per_second: float | None = None,
        max_concurrent: int | None = None,
        db_workers: int = 4,
        recorder_processes: int | None = None,
        originate_timeout: int = 30,
        publish: Callable[[dict[str, Any]], None] | None = None,
        gate_on_free_agents: bool = True,
    ) -> None:
        self.node = node or settings.DIALER_NODE
        self.gateway = gateway or settings.DIALER_GATEWAY
        rate = calls_per_second or settings.DIALER_CALLS_PER_SECOND
        self.limiter = CallLimiter(
            node_rate=rate,
            gateway_rate=getattr(settings, "DIALER_GATEWAY_CALLS_PER_SECOND", rate),
            max_concurrent=max_concurrent or settings.DIALER_MAX_CONCURRENT_CALLS,
        )
        self.originate_timeout = originate_timeout
        self.requests = requests
        self.publish = publish
        self.gate_on_free_agents = gate_on_free_agents
        self.conn = EslConnection(
            host or settings.ESL_HOST,
            port or settings.ESL_PORT,
            password if password is not None else settings.ESL_PASSWORD,
            on_event=self.on_event,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
            name=f"esl-{self.node}",
        )
        self.lock = threading.RLock()
        self.calls: dict[str, LiveCall] = {}
        self.agent_legs: dict[str, str] = {}  # preview agent leg uuid → call uuid
        self.agents: dict[str, AgentLive] = {}
        self.tiers: dict[str, set[str]] = {}  # queue → agent names
        self.members_waiting: dict[str, int] = {}
        self.stopped_campaigns: set[int] = set()
        self.stats = Stats()
        self._held: list[_Held] = []
        self._campaign_cache: dict[int, tuple[float, dict[str, Any]]] = {}
        processes = (
            settings.DIALER_RECORDER_PROCESSES if recorder_processes is None else recorder_processes
        )
        # A recorder process that tells mod_callcenter an agent's status (the desk's
        # "Disposition required" break at a hang-up) must reach this daemon's FreeSWITCH.
        self.recorders = Recorders(
            threads=db_workers,
            processes=processes,
            esl={
                "ESL_HOST": host or settings.ESL_HOST,
                "ESL_PORT": port or settings.ESL_PORT,
                "ESL_PASSWORD": password if password is not None else settings.ESL_PASSWORD,
            },
        )
        self._threads: list[threading.Thread] = []
        self._running = threading.Event()
        self._draining = threading.Event()
        self._first_connect = True
        self._reconcile_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        self._running.set()
        self.recorders.start()
        self.conn.start()
        if self.requests is not None:
            self._spawn("dialer-requests", self._request_loop)
        self._spawn("dialer-publisher", self._publisher_loop)
        log.info("dialer started", extra={"node": self.node, "gateway": self.gateway})

    def _spawn(self, name: str, target: Callable[..., None], *args: Any) -> None:
        t = threading.Thread(target=target, args=args, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def drain(self, timeout: float = 60.0) -> None:
        """SIGTERM: take no new requests, let calls in progress end, then stop."""
        self._draining.set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.calls:
                    break
            time.sleep(0.1)
        self.stop()

    def stop(self) -> None:
        self._draining.set()
        self._running.clear()
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(5)
        self.conn.stop()
        self.recorders.stop()  # after the reader: the writes of its last events are kept
        log.info("dialer stopped", extra={"node": self.node})

    def install_signal_handlers(self, drain_timeout: float = 60.0) -> threading.Event:
        done = threading.Event()

        def on_term(signum: int, frame: Any) -> None:
            log.info("SIGTERM: draining", extra={"node": self.node})

            def run() -> None:
                self.drain(drain_timeout)
                done.set()

            threading.Thread(target=run, name="dialer-drain").start()

        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
        return done

    # -- database work -----------------------------------------------------------------

    def db(self, key: str, fn: Callable[..., Any], **kwargs: Any) -> None:
        """Run a call service on the worker that owns this call (its writes stay in order)."""
        self.recorders.put(key, fn, kwargs)

    # -- placing calls -----------------------------------------------------------------

    def _request_loop(self) -> None:
        assert self.requests is not None
        last_reclaim = 0.0
        while self._running.is_set():
            try:
                if self._draining.is_set():
                    time.sleep(0.1)
                    continue
                if not self.conn.connected:
                    time.sleep(0.05)
                    continue
                if time.monotonic() - last_reclaim > 10:
                    last_reclaim = time.monotonic()
                    self._take(self.requests.reclaim())
                if len(self._held) < 500:
                    block = 0 if self._held else 200
                    self._take(self.requests.read(count=100, block_ms=block))
                wait = self._dial_held()
                if wait:
                    time.sleep(min(wait, 0.05))
            except Exception:
                log.exception("request loop error")
                close_old_connections()
                time.sleep(0.5)
        close_old_connections()

    def _take(self, messages: list[tuple[str, str]]) -> None:
        from dialer.models import Call

        assert self.requests is not None
        if not messages:
            return
        # One query for the whole read, not one per request.
        keys = {mid: _uuid_key(call_uuid) for mid, call_uuid in messages}
        rows = {
            str(u): (campaign_id, result, dialed_at)
            for u, campaign_id, result, dialed_at in Call.objects.filter(
                uuid__in=[k for k in keys.values() if k]
            ).values_list("uuid", "campaign_id", "result", "dialed_at")
        }
        for message_id, call_uuid in messages:
            row = rows.get(keys[message_id] or "")
            if row is None or row[1] != "pending" or row[2] is not None:
                # Unknown, finished or already dialed: never dial twice.
                self.requests.ack(message_id)
                continue
            campaign = self._campaign(row[0])
            self._held.append(
                _Held(message_id, call_uuid, row[0], campaign["queue"], campaign["type"])
            )

    def _campaign(self, campaign_id: int) -> dict[str, Any]:
        from campaigns.models import Campaign

        cached = self._campaign_cache.get(campaign_id)
        if cached and time.monotonic() - cached[0] < 5:
            return cached[1]
        c = Campaign.objects.select_related("queue").get(pk=campaign_id)
        info = {
            "queue": c.queue.name,
            "type": c.type,
            "greeting": c.greeting_media,
            "moh": c.queue.moh_sound,
            "customer_wait_sla": c.customer_wait_sla,
            "agent_dial_timeout": c.agent_dial_timeout,
            "running": c.run_status == "running",
            "drop_seconds": c.drop_seconds,
            "safe_harbor": c.safe_harbor_media,
        }
        self._campaign_cache[campaign_id] = (time.monotonic(), info)
        return info

    def _dial_held(self) -> float:
        """Dial what the limits allow; the seconds to wait when a limit said no."""
        assert self.requests is not None
        keep: list[_Held] = []
        chosen: list[_Held] = []
        room: dict[str, int] = {}  # per queue: customers one more may join (free - waiting)
        wait = 0.0
        for i, held in enumerate(self._held):
            if wait or not self._running.is_set():
                keep.extend(self._held[i:])
                break
            if held.campaign_id in self.stopped_campaigns:
                self._cancel_undialed(held)
                continue
            if held.kind == "progressive" and self.gate_on_free_agents:
                # Counted once per queue and pass (not once per request: with hundreds of
                # requests held and hundreds of agents that was most of the lock's time).
                if held.queue not in room:
                    room[held.queue] = self._agent_room(held.queue)
                if room[held.queue] <= 0:
                    keep.append(held)
                    continue
            with self.lock:
                in_flight = len(self.calls) + len(chosen)
            wait = self.limiter.try_acquire(self.gateway, in_flight)
            if wait:
                keep.append(held)
                continue
            chosen.append(held)
            if held.queue in room:
                room[held.queue] -= 1
        self._held = keep
        if chosen:
            try:
                self._dial_batch(chosen)
            except Exception:
                # Nothing of this batch was claimed (rolled back) or dialed: all come back.
                self._held = chosen + keep
                raise
        return wait or (0.02 if keep else 0.0)

    def _dial_batch(self, chosen: list[_Held]) -> None:
        """Claim the calls the limits let through in one transaction (one commit, not two per
        call), then dial them: every claim is committed before its originate goes out."""
        from django.db.models import prefetch_related_objects

        from dialer.models import Call

        assert self.requests is not None
        claimed: list[tuple[_Held, Any]] = []
        claim_many = getattr(self.requests, "claim_many", None)
        with transaction.atomic():
            if claim_many is not None:
                won = claim_many([held.call_uuid for held in chosen])
                taken: set[int] = set()
                for held in chosen:
                    call = won.get(held.call_uuid)
                    if call is not None and call.pk in taken:
                        call = None  # the same request twice in one batch: dialed once
                    if call is not None:
                        taken.add(call.pk)
                    claimed.append((held, call))
                # Name the node at once: after a crash, this node's restart finds the call.
                Call.objects.filter(
                    pk__in=[call.pk for call in won.values()], result="pending"
                ).update(node=self.node[:60])
            else:
                for held in chosen:
                    call = self.requests.claim(held.call_uuid)
                    if call is not None:
                        call_services.call_assign_node(call_uuid=held.call_uuid, node=self.node)
                    claimed.append((held, call))
        calls = [call for _held, call in claimed if call is not None]
        # The campaigns' caller ID rows in one query for the batch (caller_id_for reads them).
        prefetch_related_objects([call.campaign for call in calls], "caller_ids")
        for held, call in claimed:
            if call is None:
                self.requests.ack(held.message_id)
            else:
                self._dial(held, call)

    def _agent_room(self, queue_name: str) -> int:
        """Progressive: never more customers ringing or waiting than agents free to take them.
        Free agents of the queue minus its customers ringing or waiting for one."""
        now = time.time()
        with self.lock:
            free = sum(
                1
                for name in self.tiers.get(queue_name, ())
                if (a := self.agents.get(name)) is not None and a.free(now)
            )
            waiting = sum(
                1 for c in self.calls.values() if c.queue == queue_name and not c.agent_name
            )
        return free - waiting

    def _cancel_undialed(self, held: _Held) -> None:
        assert self.requests is not None
        call = self.requests.claim(held.call_uuid)
        if call is not None:
            call_services.call_finish(
                call_uuid=held.call_uuid,
                now=utcnow(),
                times=CallTimes(),
                hangup_cause="NOT_DIALED",
                cancelled=True,
            )
        self.requests.ack(held.message_id)

    def _dial(self, held: _Held, call: Any) -> None:
        """Originate one claimed call."""
        assert self.requests is not None
        campaign = self._campaign(held.campaign_id)
        try:
            dial = call_services.lead_dial_for(
                call, node=self.node, gateway=self.gateway, originate_timeout=self.originate_timeout
            )
            command = dialstring.originate_command(dial)
        except dialstring.UnsafeValue as exc:
            log.error(
                "dial refused: unsafe value",
                extra={"call_uuid": held.call_uuid, "lead_id": call.lead_id, "error": str(exc)},
            )
            self.db(
                held.call_uuid,
                call_services.call_refused_number,
                call_uuid=held.call_uuid,
                now=utcnow(),
                reason=f"not dialable: {exc}"[:200],
            )
            self.requests.ack(held.message_id)
            return
        now = utcnow()
        live = LiveCall(
            uuid=dial.call_uuid,
            call_id=call.pk,
            lead_id=call.lead_id,
            campaign_id=held.campaign_id,
            queue=held.queue,
            kind=held.kind,
            greeting=campaign["greeting"],
            moh=campaign["moh"],
            customer_wait_sla=campaign["customer_wait_sla"],
            agent_dial_timeout=campaign["agent_dial_timeout"],
            times=CallTimes(dialed_at=now),
        )
        with self.lock:
            self.calls[live.uuid] = live
        # Job-UUID = call UUID: the BACKGROUND_JOB names the call it answers.
        self.conn.send_nowait(
            f"bgapi {command}\nJob-UUID: {live.uuid}", self._originate_sent(live.uuid)
        )
        self.stats.originates += 1
        log.info(
            "dialing",
            extra={
                "call_uuid": live.uuid,
                "lead_id": live.lead_id,
                "campaign_id": live.campaign_id,
                "caller_id": dial.caller_id_number,
                "queue": live.queue,
            },
        )
        self.db(
            live.uuid,
            call_services.call_record_dialed,
            call_uuid=live.uuid,
            at=now,
            node=self.node,
            caller_id_number=dial.caller_id_number,
            caller_id_name=dial.caller_id_name,
            lead_id=live.lead_id,
        )
        self.requests.ack(held.message_id)

    def _originate_sent(self, call_uuid: str) -> Callable[[str | None, Exception | None], None]:
        def done(reply: str | None, error: Exception | None) -> None:
            if error is None and reply and reply.startswith("+OK"):
                return
            # Refused before FreeSWITCH took it (or the socket died under it): the
            # reconcile after reconnect decides; a plain refusal ends the call now.
            if error is None:
                self._finish(
                    call_uuid,
                    "NORMAL_TEMPORARY_FAILURE",
                    lost=True,
                    reason=f"bgapi refused: {reply}",
                )

        return done

    # -- events (ESL thread: in memory only) ---------------------------------------------

    def on_event(self, event: Event) -> None:
        self.stats.events += 1
        name = event_name(event)
        handler = self._handlers.get(name)
        if handler is not None:
            handler(self, event)

    def _on_job(self, event: Event) -> None:
        call_uuid = event.get("Job-UUID", "")
        ok, detail = parse_job_result(event.get("_body", ""))
        with self.lock:
            live = self.calls.get(call_uuid)
        if live is None or ok:
            return
        # originate failed: the cause is the whole story (the channel may never have existed).
        self._finish(call_uuid, detail)

    def _on_progress(self, event: Event) -> None:
        live = self._live(event)
        if live is not None and live.times.ringing_at is None:
            live.times.ringing_at = utcnow()

    def _on_answer(self, event: Event) -> None:
        leg = event.get("Unique-ID", "")
        with self.lock:
            live = self.calls.get(leg)
            preview_call = self.agent_legs.get(leg)
        if live is None:
            if preview_call:
                self._preview_agent_answered(preview_call)
            return
        self._answered(live, event.get("variable_amd_result", ""))

    def _answered(self, live: LiveCall, amd_result: str) -> None:
        """The customer's leg answered, seen as it happened or found parked on reconnect (ESL
        thread): a machine is hung up on, a person goes to an agent."""
        with self.lock:  # against stop_campaign: it sees the answer, or we see the stop
            if live.times.answered_at is not None:
                return
            live.answer_mono = time.monotonic()
            live.times.answered_at = utcnow()
            live.amd_result = amd_result
            cancelled = live.cancelled
        if is_machine(live.amd_result):
            log.info("answering machine: hanging up", extra={"call_uuid": live.uuid})
            self._hang_up(live.uuid)
            return
        if cancelled:
            # The campaign stopped while it rang and a person answered: no agent will come.
            self._drop(live, live.safe_harbor)
            return
        if live.agent_leg:
            # Preview: the agent is already on the line; bridging is the connection.
            self._send(dialstring.uuid_command("uuid_bridge", live.uuid, live.agent_leg))
            live.times.agent_answered_at = live.times.answered_at
            self.db(
                live.uuid,
                call_services.call_record_agent_answered,
                call_uuid=live.uuid,
                at=live.times.answered_at,
                agent_name=live.agent_name,
            )
        else:
            self._enqueue_customer(live)
        self.db(
            live.uuid,
            call_services.call_record_answer,
            call_uuid=live.uuid,
            at=live.times.answered_at,
            amd_result=live.amd_result,
        )

    def _enqueue_customer(self, live: LiveCall) -> None:
        """Progressive: into the bound queue at once; mod_callcenter hunts the agent."""
        self._send(
            dialstring.execute_app_message(
                live.uuid, "callcenter", dialstring.require_queue(live.queue)
            )
        )
        # The customer hears silence until the SLA, then the greeting (when configured), and
        # after the agent dial timeout the queue's hold music.
        if live.greeting:
            live.timers.append(gevent_later(live.customer_wait_sla, self._sla_greeting, live))
        live.timers.append(gevent_later(live.agent_dial_timeout, self._hold_music, live))
        if live.kind == "predictive":
            cached = self._campaign_cache.get(live.campaign_id)  # filled when it was dialed
            info = cached[1] if cached else {}
            drop = float(info.get("drop_seconds") or 2)
            live.timers.append(gevent_later(drop, self._drop, live, info.get("safe_harbor", "")))

    def _drop(self, live: LiveCall, safe_harbor: str) -> None:
        """No agent for an answered person: Predictive's drop time passed, or the campaign
        stopped. The customer hears the safe-harbor message (who called, how to opt out) and
        the call ends; the hang-up records it as abandoned and the campaign's drop rule holds
        the lead (dialer.calls)."""
        if live.done or live.agent_name or live.dropped:
            return
        live.dropped = True
        log.info(
            "no agent for an answered customer: safe-harbor message",
            extra={"call_uuid": live.uuid, "campaign_stopped": live.cancelled},
        )
        try:
            media = dialstring.require_media(safe_harbor) if safe_harbor else ""
        except dialstring.UnsafeValue:
            log.error("safe-harbor message not played: bad path", extra={"call_uuid": live.uuid})
            media = ""
        if media:
            # Out of the queue into a one-application dialplan: play, then hang up.
            self._send(
                dialstring.uuid_command("uuid_transfer", live.uuid, f"playback:{media}", "inline")
            )
        else:
            self._hang_up(live.uuid)

    def _sla_greeting(self, live: LiveCall) -> None:
        if live.done or live.agent_name or live.dropped:
            return
        try:
            media = dialstring.require_media(live.greeting)
        except dialstring.UnsafeValue:
            log.error("greeting not played: bad path", extra={"call_uuid": live.uuid})
            return
        log.info("customer wait SLA passed: greeting", extra={"call_uuid": live.uuid})
        self._send(dialstring.uuid_command("uuid_broadcast", live.uuid, media, "aleg"))

    def _hold_music(self, live: LiveCall) -> None:
        if live.done or live.agent_name or live.dropped or not live.moh:
            return
        try:
            media = dialstring.require_media(live.moh)
        except dialstring.UnsafeValue:
            log.error("hold music not played: bad path", extra={"call_uuid": live.uuid})
            return
        log.info("agent dial timeout: hold music", extra={"call_uuid": live.uuid})
        self._send(dialstring.uuid_command("uuid_broadcast", live.uuid, media, "aleg"))

    def _on_callcenter(self, event: Event) -> None:
        action = event.get("CC-Action", "")
        now = time.time()
        if action in ("agent-status-change", "agent-state-change"):
            name = event.get("CC-Agent", "")
            with self.lock:
                agent = self.agents.setdefault(name, AgentLive(name))
                if action == "agent-status-change":
                    agent.status = event.get("CC-Agent-Status", agent.status)
                else:
                    agent.state = event.get("CC-Agent-State", agent.state)
            return
        if action == "members-count":
            with self.lock:
                self.members_waiting[event.get("CC-Queue", "")] = _int(event.get("CC-Count"))
            return
        member = event.get("CC-Member-Session-UUID", "")
        with self.lock:
            live = self.calls.get(member)
        if action == "member-queue-start" and live is not None:
            live.in_queue = True
            if live.answer_mono:
                self.stats.answer_to_queue_ms.append((time.monotonic() - live.answer_mono) * 1e3)
        elif action in ("agent-offering", "bridge-agent-fail") and live is not None:
            # The desk shows the call being set up (a logout now is negotiated), and frees
            # itself when the agent lets it ring out or rejects it.
            work = (
                call_services.call_offered
                if action == "agent-offering"
                else call_services.call_offer_missed
            )
            self.db(
                live.uuid,
                work,
                call_uuid=live.uuid,
                at=utcnow(),
                agent_name=event.get("CC-Agent", ""),
            )
        elif action == "bridge-agent-start" and live is not None:
            live.agent_name = event.get("CC-Agent", "")
            live.times.agent_answered_at = utcnow()
            log.info(
                "connected to agent",
                extra={"call_uuid": live.uuid, "agent": live.agent_name, "lead_id": live.lead_id},
            )
            self.db(
                live.uuid,
                call_services.call_record_agent_answered,
                call_uuid=live.uuid,
                at=live.times.agent_answered_at,
                agent_name=live.agent_name,
            )
        elif action == "bridge-agent-end":
            with self.lock:
                agent = self.agents.setdefault(event.get("CC-Agent", ""), AgentLive(""))
                agent.last_bridge_end = now

    def _on_hangup(self, event: Event) -> None:
        leg = event.get("Unique-ID", "")
        with self.lock:
            live = self.calls.get(leg)
            preview_call = self.agent_legs.pop(leg, None)
        if live is None:
            if preview_call:
                self._preview_agent_gone(preview_call)
            return
        cause = event.get("variable_hangup_cause") or event.get("Hangup-Cause", "")
        amd = event.get("variable_amd_result", "")
        if amd and not live.amd_result:
            live.amd_result = amd
        self._finish(leg, cause)

    def _finish(self, call_uuid: str, cause: str, *, lost: bool = False, reason: str = "") -> None:
        with self.lock:
            live = self.calls.pop(call_uuid, None)
        if live is None or live.done:
            return
        live.done = True  # pending SLA timers see this and do nothing
        live.times.hangup_at = utcnow()
        self.stats.finished += 1
        if live.agent_leg:
            with self.lock:
                self.agent_legs.pop(live.agent_leg, None)
            with contextlib.suppress(dialstring.UnsafeValue):
                self._hang_up(live.agent_leg)
        log.info(
            "call ended",
            extra={
                "call_uuid": call_uuid,
                "lead_id": live.lead_id,
                "hangup_cause": cause,
                "answered": live.times.answered_at is not None,
                "agent": live.agent_name,
            },
        )
        if lost:
            self.db(
                call_uuid,
                call_services.call_lost,
                call_uuid=call_uuid,
                now=utcnow(),
                reason=(reason or cause)[:40],
            )
            return
        self.db(
            call_uuid,
            call_services.call_finish,
            call_uuid=call_uuid,
            now=utcnow(),
            times=live.times,
            hangup_cause=cause,
            amd_result=live.amd_result,
            agent_name=live.agent_name,
            cancelled=live.cancelled,
        )

    def _live(self, event: Event) -> LiveCall | None:
        with self.lock:
            return self.calls.get(event.get("Unique-ID", ""))

    def _send(self, command: str) -> None:
        self.conn.send_nowait(command if command.startswith("sendmsg") else f"bgapi {command}")

    def _hang_up(self, leg: str, cause: str = "NORMAL_CLEARING") -> None:
        self._send(dialstring.uuid_command("uuid_kill", leg, cause))

    _handlers: dict[str, Callable[[Dialer, Event], None]] = {
        "BACKGROUND_JOB": _on_job,
        "CHANNEL_PROGRESS": _on_progress,
        "CHANNEL_PROGRESS_MEDIA": _on_progress,
        "CHANNEL_ANSWER": _on_answer,
        "CHANNEL_HANGUP_COMPLETE": _on_hangup,
        "callcenter::info": _on_callcenter,
    }

    # -- stop campaign -------------------------------------------------------------------

    def stop_campaign(self, campaign_id: int) -> int:
        """End the campaign's calls not yet with an agent; how many were ended.

        A customer still ringing is hung up on: cancelled, the lead retries without an attempt.
        A person who answered and waits for an agent is dropped as at the drop time: the
        safe-harbor message, the call abandoned and the lead held by the campaign's drop rule
        (the ledger counts the abandon either way). A Preview agent whose phone rings before
        the customer is dialed is hung up on (cancelled); once the customer is dialed the
        agent is on the line and the call goes on."""
        self.stopped_campaigns.add(campaign_id)
        cached = self._campaign_cache.pop(campaign_id, None)
        with self.lock:
            any_call = any(c.campaign_id == campaign_id for c in self.calls.values())
        safe_harbor = self._safe_harbor(campaign_id, cached) if any_call else ""
        ringing: list[LiveCall] = []
        waiting: list[LiveCall] = []
        previews: list[LiveCall] = []
        with self.lock:
            for live in self.calls.values():
                if live.campaign_id != campaign_id or live.done:
                    continue
                if live.agent_leg:
                    if live.times.dialed_at is None:
                        live.cancelled = True
                        previews.append(live)
                    continue
                if live.agent_name:
                    continue
                live.cancelled = True
                live.safe_harbor = safe_harbor  # for a person answering before the hang-up
                if live.times.answered_at is not None and not is_machine(live.amd_result):
                    waiting.append(live)
                else:
                    ringing.append(live)
        for live in ringing:
            self._hang_up(live.uuid, "ORIGINATOR_CANCEL")
        for live in waiting:
            # On the ESL thread, in order with the call's events: an agent who took the call
            # first keeps it.
            self.conn.run_in_loop(self._drop, live, safe_harbor)
        for live in previews:
            self._finish(live.uuid, "CAMPAIGN_STOPPED")
        log.info(
            "campaign stopped: calls without an agent ended",
            extra={
                "campaign_id": campaign_id,
                "hung_up": len(ringing),
                "dropped": len(waiting),
                "preview_agents_released": len(previews),
            },
        )
        return len(ringing) + len(waiting) + len(previews)

    def _safe_harbor(self, campaign_id: int, cached: tuple[float, dict[str, Any]] | None) -> str:
        """The campaign's safe-harbor message (what it was dialed with, else read now)."""
        if cached is not None:
            return str(cached[1].get("safe_harbor") or "")
        try:
            info = self._campaign(campaign_id)
        except Exception:
            log.exception("safe-harbor message not read", extra={"campaign_id": campaign_id})
            return ""
        finally:
            close_old_connections()
        self._campaign_cache.pop(campaign_id, None)  # read again on a restart
        return str(info.get("safe_harbor") or "")

    def start_campaign(self, campaign_id: int) -> None:
        self.stopped_campaigns.discard(campaign_id)
        self._campaign_cache.pop(campaign_id, None)

    # -- preview (the agent leg first) ---------------------------------------------------

    def dial_preview(self, call_uuid: str, agent_contact: str, agent_name: str) -> None:
        """Preview/Push Preview accept: ring the agent first, then the customer.

        The agent leg goes first because the spec holds the customer until an agent is
        there: dialing the customer first would leave an answered customer in silence while
        the agent's phone rings (an abandoned call in the making)."""
        from dialer.models import Call, CallResult

        with self.lock:
            if call_uuid in self.calls:
                return
        # The claim: the command may arrive twice (stream redelivery, several nodes); only
        # the node that names itself on the pending row rings the agent.
        claimed = Call.objects.filter(uuid=call_uuid, result=CallResult.PENDING, node="").update(
            node=self.node
        )
        if claimed != 1:
            log.info("preview dial already taken", extra={"call_uuid": call_uuid})
            return
        call = Call.objects.select_related("campaign__queue").get(uuid=call_uuid)
        if not call.campaign.is_running or call.campaign_id in self.stopped_campaigns:
            # Stopped between the accept and now: the agent's phone is not rung.
            self.db(
                call_uuid,
                call_services.call_finish,
                call_uuid=call_uuid,
                now=utcnow(),
                times=CallTimes(),
                hangup_cause="CAMPAIGN_STOPPED",
                cancelled=True,
            )
            return
        campaign = self._campaign(call.campaign_id)
        leg = str(uuidlib.uuid4())
        cid_number, cid_name = call_services.caller_id_for(call.campaign, rotation=call.pk)
        command = dialstring.agent_originate_command(
            leg_uuid=leg,
            call_uuid=call_uuid,
            contact=agent_contact,
            caller_id_number=cid_number,
            caller_id_name=cid_name,
            timeout=call.campaign.agent_dial_timeout,
            node=self.node,
        )
        live = LiveCall(
            uuid=call_uuid,
            call_id=call.pk,
            lead_id=call.lead_id,
            campaign_id=call.campaign_id,
            queue=campaign["queue"],
            kind=call.campaign.type,
            agent_leg=leg,
            agent_contact=agent_contact,
            agent_name=agent_name,
        )
        with self.lock:
            self.calls[call_uuid] = live
            self.agent_legs[leg] = call_uuid
        self.conn.send_nowait(f"bgapi {command}")

    def _preview_agent_answered(self, call_uuid: str) -> None:
        with self.lock:
            live = self.calls.get(call_uuid)
        if live is None or live.times.dialed_at is not None:
            return
        from dialer.models import Call

        # The customer leg: built from the Call row on a worker (database), then sent.
        def place() -> None:
            call = Call.objects.select_related("campaign__queue").get(uuid=call_uuid)
            dial = call_services.lead_dial_for(
                call,
                node=self.node,
                gateway=self.gateway,
                originate_timeout=self.originate_timeout,
            )
            now = utcnow()
            # The agent took a while to answer: the campaign may have stopped, or the call's
            # dial window closed, meanwhile. Checked under the lock stop_campaign takes, so
            # either it sees the customer dialed or this sees the stop.
            stopped = not call.campaign.is_running
            late = call.dial_deadline is not None and call.dial_deadline <= now
            with self.lock:
                if live.done or live.cancelled or live.times.dialed_at is not None:
                    return  # a stop ended the call (and hung up on the agent), or dialed
                stopped = stopped or live.campaign_id in self.stopped_campaigns
                if stopped:
                    live.cancelled = True
                elif not late:
                    live.times.dialed_at = now
            if stopped or late:
                log.info(
                    "preview customer not dialed",
                    extra={"call_uuid": call_uuid, "stopped": stopped, "late": late},
                )
                if stopped:
                    self._finish(call_uuid, "CAMPAIGN_STOPPED")
                else:
                    self._finish(call_uuid, "WINDOW_CLOSED", lost=True, reason="WINDOW_CLOSED")
                return
            self.conn.send_nowait(
                f"bgapi {dialstring.originate_command(dial)}\nJob-UUID: {call_uuid}",
                self._originate_sent(call_uuid),
            )
            call_services.call_record_dialed(
                call_uuid=call_uuid,
                at=now,
                node=self.node,
                caller_id_number=dial.caller_id_number,
                caller_id_name=dial.caller_id_name,
                lead_id=dial.lead_id,
            )

        self.db(call_uuid, place)

    def _preview_agent_gone(self, call_uuid: str) -> None:
        with self.lock:
            live = self.calls.get(call_uuid)
        if live is None:
            return
        if live.times.dialed_at is None:
            # The agent did not answer: the lead goes back without an attempt.
            self._finish(call_uuid, "AGENT_NO_ANSWER", lost=True, reason="AGENT_NO_ANSWER")
        elif live.times.answered_at is None:
            self._hang_up(call_uuid, "ORIGINATOR_CANCEL")
        if live.times.agent_answered_at is None and live.times.answered_at is not None:
            live.times.agent_answered_at = live.times.answered_at

    # -- connection events: reconcile ----------------------------------------------------

    def _on_connect(self, conn: EslConnection) -> None:
        threading.Thread(target=self._reconcile, name="dialer-reconcile", daemon=True).start()

    def _on_disconnect(self, conn: EslConnection) -> None:
        log.warning(
            "FreeSWITCH connection lost; calls kept until reconcile",
            extra={"in_flight": len(self.calls)},
        )

    def _reconcile(self) -> None:
        """After (re)connecting: what is really up in FreeSWITCH decides.

        A call we track that FreeSWITCH no longer has ended while we were away: its row is
        closed and the lead goes back to retry (we do not know how it ended). On the first
        connection, rows this node left pending (a crash) are treated the same way, unless
        the channel is still up, in which case the call is adopted."""
        with self._reconcile_lock:
            try:
                self._load_callcenter()
                rows = parse_show_channels(self.conn.api("show channels as json", timeout=10))
            except Exception:
                log.exception("reconcile failed")
                return
            self._apply_recorded_breaks()
            up = {r.get("uuid", ""): r for r in rows}
            with self.lock:
                tracked = list(self.calls)
            for call_uuid in tracked:
                with self.lock:
                    live = self.calls.get(call_uuid)
                if live is None or live.times.dialed_at is None:
                    continue
                if call_uuid not in up:
                    self._finish(
                        call_uuid,
                        "LOST_WHILE_DISCONNECTED",
                        lost=True,
                        reason="LOST_WHILE_DISCONNECTED",
                    )
                else:
                    self._catch_up(live, up[call_uuid])
            if self._first_connect:
                self._first_connect = False
                try:
                    pending = call_services.pending_calls_on_node(self.node, now=utcnow())
                except Exception:
                    log.exception("reading pending calls failed")
                    pending = []
                finally:
                    close_old_connections()
                for call_uuid in pending:
                    with self.lock:
                        known = call_uuid in self.calls
                    if known:
                        continue
                    if call_uuid in up:
                        self._adopt(call_uuid, up[call_uuid])
                    else:
                        self.db(
                            call_uuid,
                            call_services.call_lost,
                            call_uuid=call_uuid,
                            now=utcnow(),
                            reason="DIALER_RESTART",
                        )
            log.info(
                "reconciled with FreeSWITCH",
                extra={"channels": len(up), "tracked": len(self.calls)},
            )

    def _catch_up(self, live: LiveCall, row: dict[str, str]) -> None:
        """Events missed while disconnected: an answer (the customer sits parked) or an agent
        bridge (seen in the queue's member list)."""
        active = row.get("callstate") == "ACTIVE"
        if row.get("application") == "park" and (active or live.times.answered_at):
            log.info("answered, found parked on reconnect", extra={"call_uuid": live.uuid})
            self._found_parked(live)
            return
        if active and live.times.answered_at is None:
            live.times.answered_at = utcnow()
        if row.get("application") == "callcenter" and not live.agent_name:
            try:
                members = _parse_table(
                    self.conn.api(f"callcenter_config queue list members {live.queue}")
                )
            except Exception:
                return
            for m in members:
                if m.get("session_uuid") == live.uuid and m.get("serving_agent"):
                    live.agent_name = m["serving_agent"]
                    live.times.agent_answered_at = utcnow()

    def _found_parked(self, live: LiveCall) -> None:
        """An answered customer found parked after events were missed (socket down, or the
        daemon restarted). Answered unseen: the answer event is lost, so read AMD's verdict from
        the channel and take the live answer path. Answered and seen: what followed was lost."""
        if live.times.answered_at is None:
            amd = self._channel_var(live.uuid, "amd_result")
            self.conn.run_in_loop(self._answered, live, amd)
        elif not live.agent_leg:  # Preview: bridged to the agent's leg, nothing to resend
            self.conn.run_in_loop(self._resume_parked, live)

    def _resume_parked(self, live: LiveCall) -> None:
        """An answered customer still parked: the queue command (or, for a machine or a
        cancelled call, the hangup) was lost with the connection; send it again."""
        if is_machine(live.amd_result):
            self._hang_up(live.uuid)
        elif live.cancelled:
            self._drop(live, live.safe_harbor)
        else:
            self._enqueue_customer(live)

    def _channel_var(self, call_uuid: str, name: str) -> str:
        """A channel variable read over the API; "" when unset or unreadable."""
        try:
            query = dialstring.uuid_command("uuid_getvar", call_uuid, name)
            value = self.conn.api(query, timeout=5).strip()
        except Exception:
            return ""
        return "" if value == "_undef_" or value.startswith("-") else value

    def _sweep_orphans(self) -> None:
        """Calls a dialer claimed and died before naming its node: nobody else will end them."""
        try:
            orphans = call_services.pending_calls_on_node("", now=utcnow(), orphan_after=3.0)
        except Exception:
            log.exception("orphan sweep failed")
            close_old_connections()
            return
        for call_uuid in orphans:
            with self.lock:
                known = call_uuid in self.calls
            if not known:
                self.db(
                    call_uuid,
                    call_services.call_lost,
                    call_uuid=call_uuid,
                    now=utcnow(),
                    reason="DIALER_RESTART",
                )

    def _adopt(self, call_uuid: str, row: dict[str, str]) -> None:
        from dialer.models import Call

        try:
            call = Call.objects.get(uuid=call_uuid)
            campaign = self._campaign(call.campaign_id)
        except Exception:
            log.exception("adopt failed", extra={"call_uuid": call_uuid})
            return
        finally:
            close_old_connections()
        live = LiveCall(
            uuid=call_uuid,
            call_id=call.pk,
            lead_id=call.lead_id,
            campaign_id=call.campaign_id,
            queue=campaign["queue"],
            kind=campaign["type"],
            times=CallTimes(
                dialed_at=call.dialed_at,
                answered_at=call.answered_at,
                agent_answered_at=call.agent_answered_at,
            ),
            agent_name=call.agent_name,
            amd_result=call.amd_result,
        )
        with self.lock:
            self.calls[call_uuid] = live
        # The channel may have hung up since `show channels`: its hangup event found no call
        # to end then. Now that the call is tracked a later hangup is seen; ask once more.
        try:
            query = dialstring.uuid_command("uuid_exists", call_uuid)
            still_up = self.conn.api(query, timeout=5).strip() != "false"
        except Exception:
            still_up = True  # unknown: the channel's own events (or the next reconcile) decide
        if not still_up:
            self._finish(call_uuid, "DIALER_RESTART", lost=True, reason="DIALER_RESTART")
            return
        if row.get("callstate") == "ACTIVE" and row.get("application") == "park":
            self._found_parked(live)
        log.info("adopted call still up after restart", extra={"call_uuid": call_uuid})

    def _apply_recorded_breaks(self) -> None:
        """A break the back office recorded while FreeSWITCH could not hear it (the desk's
        "Disposition required" too) leaves mod_callcenter offering the agent calls: tell it
        again. Breaks only: an agent the back office has Available or Logged Out (say, one who
        never used the desktop) is left as FreeSWITCH has them."""
        from agents.models import Agent, AgentStatus
        from dialer.agent_control import set_status_command

        with self.lock:
            offered = [n for n, a in self.agents.items() if a.status.startswith("Available")]
        if not offered:
            return
        try:
            recorded = list(
                Agent.objects.filter(name__in=offered, status=AgentStatus.ON_BREAK).values_list(
                    "name", "status"
                )
            )
        except Exception:
            log.exception("reading recorded agent statuses failed")
            return
        finally:
            close_old_connections()
        for name, status in recorded:
            try:
                self.conn.api(set_status_command(name, status), timeout=10)
            except Exception:  # a name unusable in a command (AgentControlError), a timeout
                log.exception("recorded status not applied", extra={"agent": name})
                continue
            with self.lock:
                if (a := self.agents.get(name)) is not None:
                    a.status = status  # AgentStatus values are mod_callcenter's strings
            log.info("recorded status applied", extra={"agent": name, "status": status})

    def _load_callcenter(self) -> None:
        agents = _parse_table(self.conn.api("callcenter_config agent list", timeout=10))
        tiers = _parse_table(self.conn.api("callcenter_config tier list", timeout=10))
        with self.lock:
            for row in agents:
                name = row.get("name", "")
                a = self.agents.setdefault(name, AgentLive(name))
                a.status = row.get("status", a.status)
                a.state = row.get("state", a.state)
                a.wrap_up = float(_int(row.get("wrap_up_time")))
                # last_bridge_end is FreeSWITCH's clock; wrap-up is timed from the
                # bridge-agent-end events we see, on ours.
            self.tiers = {}
            for row in tiers:
                self.tiers.setdefault(row.get("queue", ""), set()).add(row.get("agent", ""))

    # -- live state ----------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        now = time.time()
        with self.lock:
            per_queue: dict[str, dict[str, int]] = {}
            for q, names in self.tiers.items():
                free = sum(1 for n in names if (a := self.agents.get(n)) and a.free(now))
                per_queue[q] = {
                    "agents_available": free,
                    "members_waiting": self.members_waiting.get(q, 0),
                    "calls_in_flight": 0,
                    "dialer_waiting": 0,
                }
            per_campaign: dict[int, int] = {}
            for c in self.calls.values():
                figures = per_queue.setdefault(
                    c.queue,
                    {
                        "agents_available": 0,
                        "members_waiting": 0,
                        "calls_in_flight": 0,
                        "dialer_waiting": 0,
                    },
                )
                figures["calls_in_flight"] += 1
                # Our own answered customers in the queue are members too, not inbound ones.
                if c.times.answered_at is not None and not c.agent_name:
                    figures["dialer_waiting"] += 1
                per_campaign[c.campaign_id] = per_campaign.get(c.campaign_id, 0) + 1
            agents = {n: {"status": a.status, "state": a.state} for n, a in self.agents.items()}
        return {
            "node": self.node,
            "queues": per_queue,
            "campaigns": per_campaign,
            "agents": agents,
            "connected": self.conn.connected,
        }

    def _publisher_loop(self) -> None:
        last_sweep = time.monotonic()
        while self._running.is_set():
            time.sleep(0.2)
            if time.monotonic() - last_sweep > 2 and self.conn.connected:
                last_sweep = time.monotonic()
                self._sweep_orphans()
            try:
                snap = self.snapshot()
                if self.publish is not None:
                    self.publish(snap)
                else:
                    publish_livestate(snap)
                self._poll_control()
            except Exception:
                log.exception("live state publish failed")
                time.sleep(1)

    def _poll_control(self) -> None:
        for command in read_control(self.node):
            kind = command.get("action") or command.get("command")
            campaign_id = _int(str(command.get("campaign_id", "0")))
            if kind == "stop" and campaign_id:
                self.stop_campaign(campaign_id)
            elif kind == "start" and campaign_id:
                self.start_campaign(campaign_id)
            elif kind == "preview_dial":
                try:
                    self.dial_preview(
                        str(command["call_uuid"]), str(command["contact"]), str(command["agent"])
                    )
                except Exception:
                    log.exception("preview dial failed", extra={"command": command})


# --- Redis glue (live state and control) ------------------------------------------------------

_redis_client: Any = None
_control_ids: dict[str, str] = {}


def redis_client() -> Any:
    global _redis_client
    if _redis_client is None:
        import redis

        _redis_client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    return _redis_client


def publish_livestate(snapshot: dict[str, Any]) -> None:
    """Through the selector's dialer.livestate writers when present; else plain keys."""
    livestate: Any
    try:
        livestate = importlib.import_module("dialer.livestate")
    except ImportError:
        livestate = None
    writer = getattr(livestate, "publish_dialer_snapshot", None)
    if writer is not None:
        writer(snapshot)
        return
    client = redis_client()
    pipe = client.pipeline()
    pipe.set(f"dialer:live:{snapshot['node']}", json.dumps(snapshot), ex=10)
    pipe.execute()


CONTROL_STREAM = handoff.CONTROL_STREAM


def read_control(node: str) -> list[dict[str, Any]]:
    """New commands on the control stream (stop campaign, preview dial), from where we were."""
    client = redis_client()
    last = _control_ids.get(node)
    if last is None:
        last = _control_ids[node] = "$"
    try:
        replies = client.xread({CONTROL_STREAM: last}, count=100, block=None)
    except Exception:
        return []
    out: list[dict[str, Any]] = []
    for _stream, messages in replies or []:
        for message_id, fields in messages:
            _control_ids[node] = message_id
            payload = fields.get("payload")
            if payload:
                with contextlib.suppress(ValueError):
                    fields = {**fields, **json.loads(payload)}
            out.append(fields)
    if last == "$" and not out:
        # "$" means "after the newest": pin it to a real id so nothing is skipped later.
        info = client.xinfo_stream(CONTROL_STREAM) if client.exists(CONTROL_STREAM) else None
        _control_ids[node] = info["last-generated-id"] if info else "0-0"
    return out


def _parse_table(text: str) -> list[dict[str, str]]:
    lines = [ln for ln in (text or "").splitlines() if ln and not ln.startswith("+OK")]
    if not lines or "|" not in lines[0]:
        return []
    header = lines[0].split("|")
    return [dict(zip(header, ln.split("|"), strict=False)) for ln in lines[1:]]


def _uuid_key(value: object) -> str | None:
    """The canonical text of a UUID, or None when it is not one (a request never dialed)."""
    try:
        return str(uuidlib.UUID(str(value)))
    except ValueError:
        return None


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def gevent_later(seconds: float, fn: Callable[..., None], *args: Any) -> Any:
    import gevent

    return gevent.spawn_later(max(0.0, seconds), fn, *args)


def jitter(base: float) -> float:
    return random.uniform(0, base)
