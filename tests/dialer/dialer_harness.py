"""Shared pieces of the dialer's end-to-end tests: a simulator with agents, an in-memory
request source, a tiny stand-in selector, and an event observer checking the invariants."""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime

from django.db import close_old_connections, transaction

from dialer.esl.connection import EslConnection
from dialer.models import Call, CallResult
from leads.models import Lead, LeadState


def callcenter_config(queue: str, agents: int, wrap_up: int = 0) -> dict:
    names = [f"{1001 + i}@default" for i in range(agents)]
    return {
        "queues": {queue: {"strategy": "longest-idle-agent", "moh-sound": "local_stream://moh"}},
        "agents": {
            name: {
                "type": "callback",
                "contact": f"user/{name.split('@')[0]}",
                "status": "Available",
                "wrap-up-time": wrap_up,
                "max-no-answer": 100,
            }
            for name in names
        },
        "tiers": [{"queue": queue, "agent": name} for name in names],
    }


class MemoryRequests:
    """The selector's stream, in memory: redelivery-safe claim on the Call row."""

    def __init__(self) -> None:
        self._q: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.acked: set[str] = set()

    def push(self, call_uuid: str) -> None:
        with self._lock:
            self._q.append((f"{next(self._ids)}-0", call_uuid))

    def read(self, count: int, block_ms: int) -> list[tuple[str, str]]:
        deadline = time.monotonic() + block_ms / 1000
        while True:
            with self._lock:
                if self._q:
                    out, self._q = self._q[:count], self._q[count:]
                    return out
            if time.monotonic() >= deadline:
                return []
            time.sleep(0.005)

    def ack(self, message_id: str) -> None:
        self.acked.add(message_id)

    def reclaim(self) -> list[tuple[str, str]]:
        return []

    def claim(self, call_uuid: str) -> Call | None:
        now = datetime.now(UTC)
        with transaction.atomic():
            n = Call.objects.filter(
                uuid=call_uuid, dialed_at=None, result=CallResult.PENDING
            ).update(dialed_at=now)
        if n != 1:
            return None
        return Call.objects.select_related("campaign__queue", "lead").get(uuid=call_uuid)


class SelectorTicks(threading.Thread):
    """Celery beat's job, faster: the real selector's tick every `every` seconds on the wall
    clock (the daemon and the simulator run on it too)."""

    def __init__(self, every: float = 0.1) -> None:
        super().__init__(daemon=True, name="selector-ticks")
        self.every = every
        self.running = True
        self.placed = 0

    def run(self) -> None:
        from dialer import selector

        while self.running:
            try:
                self.placed += sum(r.placed for r in selector.run_tick(now=datetime.now(UTC)))
            except Exception:  # keep ticking, like beat does
                close_old_connections()
            time.sleep(self.every)
        close_old_connections()

    def stop(self) -> None:
        self.running = False
        self.join(5)


class Observer:
    """A second ESL listener that checks the call-center invariants on every event."""

    def __init__(self, port: int, queue: str, agents: Iterable[str]) -> None:
        self.queue = queue
        self.events: list[dict[str, str]] = []
        self.violations: list[str] = []
        self.agent_status = dict.fromkeys(agents, "Available")
        self.agent_state = dict.fromkeys(agents, "Waiting")
        self.offered: dict[str, str] = {}  # agent → member session offered
        self.ringing: set[str] = set()  # lead legs created and not yet answered or gone
        self.max_ringing = 0
        self.originated_by_lead: dict[str, list[str]] = defaultdict(list)
        self.live_by_lead: dict[str, set[str]] = defaultdict(set)
        self.lock = threading.Lock()
        self.conn = EslConnection(
            "127.0.0.1",
            port,
            "ClueCon",
            on_event=self.on_event,
            events="CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_HANGUP_COMPLETE CUSTOM callcenter::info",
            name="observer",
        )

    def start(self) -> None:
        self.conn.start()
        assert self.conn.wait_connected(5)

    def stop(self) -> None:
        self.conn.stop()

    def free_agents(self) -> int:
        return sum(
            1
            for a, st in self.agent_status.items()
            if st == "Available" and self.agent_state.get(a) == "Waiting"
        )

    def on_event(self, e: dict[str, str]) -> None:
        with self.lock:
            self.events.append(e)
            name = e.get("Event-Name")
            leg = e.get("Unique-ID", "")
            lead = e.get("variable_dialer_lead_id")
            if name == "CHANNEL_CREATE" and lead and e.get("variable_dialer_leg") != "agent":
                self.ringing.add(leg)
                if self.live_by_lead[lead]:
                    self.violations.append(f"lead {lead} dialed twice at once")
                self.live_by_lead[lead].add(leg)
                self.originated_by_lead[lead].append(leg)
                free = self.free_agents()
                if len(self.ringing) > free:
                    self.violations.append(
                        f"{len(self.ringing)} customers ringing with {free} free agents"
                    )
                self.max_ringing = max(self.max_ringing, len(self.ringing))
            elif name == "CHANNEL_ANSWER":
                self.ringing.discard(leg)
            elif name == "CHANNEL_HANGUP_COMPLETE":
                self.ringing.discard(leg)
                if lead:
                    self.live_by_lead[lead].discard(leg)
            elif e.get("Event-Subclass") == "callcenter::info":
                action = e.get("CC-Action")
                agent = e.get("CC-Agent", "")
                if action == "agent-state-change":
                    self.agent_state[agent] = e.get("CC-Agent-State", "")
                elif action == "agent-status-change":
                    self.agent_status[agent] = e.get("CC-Agent-Status", "")
                elif action == "agent-offering":
                    if agent in self.offered:
                        self.violations.append(f"agent {agent} offered two calls at once")
                    self.offered[agent] = e.get("CC-Member-Session-UUID", "")
                elif action in ("bridge-agent-end", "bridge-agent-fail"):
                    self.offered.pop(agent, None)
                elif action == "member-queue-end":
                    member = e.get("CC-Member-Session-UUID", "")
                    for a, m in list(self.offered.items()):
                        if m == member and action == "member-queue-end":
                            # A customer who left while the agent rang frees the offer.
                            self.offered.pop(a, None)


def campaign_finished(campaign) -> bool:
    """Every lead of the campaign has reached an end: Successful or Failed."""
    return (
        not Lead.objects.filter(campaign=campaign)
        .exclude(state__in=[LeadState.SUCCESS, LeadState.FAILED])
        .exists()
    )


def wait_until(predicate, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
