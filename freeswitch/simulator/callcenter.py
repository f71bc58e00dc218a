"""mod_callcenter: queues, agents, tiers, strategies, the `callcenter` app and API.

State lives in memory (FreeSWITCH keeps it in SQLite); list output mimics the SQL
result formatting: a `|` header row, `|` rows, then `+OK`.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import shlex
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .channels import Channel, OriginateError, new_uuid, switch_true

if TYPE_CHECKING:
    from .channels import Core

AGENT_STATUSES = ("Logged Out", "Available", "Available (On Demand)", "On Break")
AGENT_STATES = ("Idle", "Waiting", "Receiving", "In a queue call", "Reserved")
TIER_STATES = ("Unknown", "No Answer", "Ready", "Offering", "Active Inbound", "Standby")
STRATEGIES = (
    "ring-all",
    "longest-idle-agent",
    "round-robin",
    "top-down",
    "agent-with-least-talk-time",
    "agent-with-fewest-calls",
    "sequentially-by-agent-order",
    "random",
    "ring-progressively",
)
AGENT_COLS = [
    "name",
    "instance_id",
    "uuid",
    "type",
    "contact",
    "status",
    "state",
    "max_no_answer",
    "wrap_up_time",
    "reject_delay_time",
    "busy_delay_time",
    "no_answer_delay_time",
    "last_bridge_start",
    "last_bridge_end",
    "last_offered_call",
    "last_status_change",
    "no_answer_count",
    "calls_answered",
    "talk_time",
    "ready_time",
    "external_calls_count",
]
MEMBER_COLS = [
    "queue",
    "instance_id",
    "uuid",
    "session_uuid",
    "cid_number",
    "cid_name",
    "system_epoch",
    "joined_epoch",
    "rejoined_epoch",
    "bridge_epoch",
    "abandoned_epoch",
    "base_score",
    "skill_score",
    "serving_agent",
    "serving_system",
    "state",
    "score",
]
TIER_COLS = ["queue", "agent", "state", "level", "position"]
QUEUE_COLS = [
    "name",
    "strategy",
    "moh_sound",
    "time_base_score",
    "tier_rules_apply",
    "tier_rule_wait_second",
    "tier_rule_wait_multiply_level",
    "tier_rule_no_agent_no_wait",
    "discard_abandoned_after",
    "abandoned_resume_allowed",
    "max_wait_time",
    "max_wait_time_with_no_agent",
    "max_wait_time_with_no_agent_time_reached",
    "record_template",
    "calls_answered",
    "calls_abandoned",
    "ring_progressively_delay",
    "skip_agents_with_external_calls",
    "agent_no_answer_status",
]
SYSTEM = "single_box"
SUBCLASS = "callcenter::info"
NO_ANSWER_CAUSES = {"NO_ANSWER", "NO_USER_RESPONSE", "ORIGINATOR_CANCEL", "ALLOTTED_TIMEOUT"}


def _atoi(value: str) -> int:
    """C atoi/atol: leading digits (and sign), 0 when there are none."""
    m = re.match(r"\s*([+-]?\d+)", value)
    return int(m.group(1)) if m else 0


@dataclass
class Queue:
    name: str
    strategy: str = "longest-idle-agent"
    moh_sound: str = "local_stream://moh"
    time_base_score: str = "queue"
    tier_rules_apply: bool = False
    tier_rule_wait_second: int = 0
    tier_rule_wait_multiply_level: bool = False
    tier_rule_no_agent_no_wait: bool = True
    discard_abandoned_after: int = 60
    abandoned_resume_allowed: bool = False
    max_wait_time: int = 0
    max_wait_time_with_no_agent: int = 0
    max_wait_time_with_no_agent_time_reached: int = 5
    record_template: str = ""
    ring_progressively_delay: int = 10
    skip_agents_with_external_calls: bool = True
    agent_no_answer_status: str = "On Break"
    rr_last: str = ""  # round-robin: agent offered last
    last_agent_check: int = 0  # when dispatch last looked for agents
    last_agent_exist: int = 0  # when it last found one (0: never)
    calls_answered: int = 0
    calls_abandoned: int = 0
    moh_set: bool = False  # FreeSWITCH prints an unset moh-sound as "(null)"

    def row(self) -> list[str]:
        def tf(v: bool) -> str:
            return "true" if v else "false"

        return [
            self.name,
            self.strategy,
            self.moh_sound if self.moh_set else "(null)",
            self.time_base_score,
            tf(self.tier_rules_apply),
            str(self.tier_rule_wait_second),
            tf(self.tier_rule_wait_multiply_level),
            tf(self.tier_rule_no_agent_no_wait),
            str(self.discard_abandoned_after),
            tf(self.abandoned_resume_allowed),
            str(self.max_wait_time),
            str(self.max_wait_time_with_no_agent),
            str(self.max_wait_time_with_no_agent_time_reached),
            self.record_template or "(null)",
            str(self.calls_answered),
            str(self.calls_abandoned),
            str(self.ring_progressively_delay),
            tf(self.skip_agents_with_external_calls),
            self.agent_no_answer_status,
        ]


@dataclass
class Agent:
    name: str
    type: str = "callback"
    contact: str = ""
    status: str = "Logged Out"
    state: str = "Waiting"
    max_no_answer: int = 0
    wrap_up_time: int = 0
    reject_delay_time: int = 0
    busy_delay_time: int = 0
    no_answer_delay_time: int = 0
    last_bridge_start: int = 0
    last_bridge_end: int = 0
    last_offered_call: int = 0
    last_status_change: int = 0
    no_answer_count: int = 0
    calls_answered: int = 0
    talk_time: int = 0
    ready_time: int = 0
    external_calls_count: int = 0
    uuid: str = ""
    order: int = 0

    def as_row(self) -> dict[str, str]:
        return {
            "name": self.name,
            "instance_id": SYSTEM,
            "uuid": self.uuid,
            "type": self.type,
            "contact": self.contact,
            "status": self.status,
            "state": self.state,
            "max_no_answer": str(self.max_no_answer),
            "wrap_up_time": str(self.wrap_up_time),
            "reject_delay_time": str(self.reject_delay_time),
            "busy_delay_time": str(self.busy_delay_time),
            "no_answer_delay_time": str(self.no_answer_delay_time),
            "last_bridge_start": str(self.last_bridge_start),
            "last_bridge_end": str(self.last_bridge_end),
            "last_offered_call": str(self.last_offered_call),
            "last_status_change": str(self.last_status_change),
            "no_answer_count": str(self.no_answer_count),
            "calls_answered": str(self.calls_answered),
            "talk_time": str(self.talk_time),
            "ready_time": str(self.ready_time),
            "external_calls_count": str(self.external_calls_count),
        }


@dataclass
class Tier:
    queue: str
    agent: str
    state: str = "Ready"
    level: int = 1
    position: int = 1


@dataclass
class Member:
    queue: str
    uuid: str
    channel: Channel
    cid_number: str
    cid_name: str
    joined: int
    base_score: int = 0
    state: str = "Waiting"
    serving_agent: str = ""
    bridge_epoch: int = 0
    abandoned_epoch: int = 0
    done: asyncio.Future[str] | None = None
    offers: dict[str, Channel] = field(default_factory=dict)  # agent name -> ringing leg
    offering: set[str] = field(default_factory=set)
    next_progressive: float = 0.0
    agent_leg: Channel | None = None
    last_tier: tuple[int, int] = (0, 0)  # top-down: (level, position) offered last
    # agent threads waiting on this member that react at once when it hangs up
    on_leave: dict[str, Callable[[], None]] = field(default_factory=dict)
    agent_called: int = 0
    agent_answered: int = 0

    def row(self, now: int) -> dict[str, str]:
        return {
            "queue": self.queue,
            "instance_id": SYSTEM,
            "uuid": self.uuid,
            "session_uuid": "" if self.state == "Abandoned" else self.channel.uuid,
            "cid_number": self.cid_number,
            "cid_name": self.cid_name,
            "system_epoch": str(self.joined),
            "joined_epoch": str(self.joined),
            "rejoined_epoch": "0",
            "bridge_epoch": str(self.bridge_epoch),
            "abandoned_epoch": str(self.abandoned_epoch),
            "base_score": str(self.base_score),
            "skill_score": "0",
            "serving_agent": self.serving_agent,
            "serving_system": SYSTEM if self.serving_agent else "",
            "state": self.state,
            "score": str(self.score(now)),
        }

    def score(self, now: int) -> int:
        return max(0, now - self.joined) + self.base_score


def split_args(text: str) -> list[str]:
    """Split on spaces; single quotes group words ('On Break')."""
    lex = shlex.shlex(text, posix=True)
    lex.whitespace_split = True
    lex.quotes = "'"
    lex.escape = ""
    try:
        return list(lex)
    except ValueError:
        return text.split()


class CallCenter:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.queues: dict[str, Queue] = {}
        self.queue_config: dict[str, dict[str, str]] = {}
        self.agents: dict[str, Agent] = {}
        self.agent_config: dict[str, dict[str, str]] = {}  # agents of the config file
        self.tiers: list[Tier] = []
        self.members: list[Member] = []
        self.agent_originate_timeout = 60
        self._order = 0
        self._ticker: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # agent calls in progress
        self._kick_pending = False
        self.rng = random.Random(0)

    # -- config ------------------------------------------------------------------------

    def load_config(self, source: dict[str, Any] | str | Path) -> None:
        """callcenter.conf.xml or a JSON/dict {settings, queues, agents, tiers}."""
        if isinstance(source, dict):
            self._load_dict(source)
            return
        text = Path(source).read_text(encoding="utf-8")
        if text.lstrip().startswith("<"):
            self._load_xml(text)
        else:
            self._load_dict(json.loads(text))

    def _load_dict(self, data: dict[str, Any]) -> None:
        settings = data.get("settings", {})
        if "agent-originate-timeout" in settings:
            self.agent_originate_timeout = int(settings["agent-originate-timeout"])
        for name, params in data.get("queues", {}).items():
            self.queue_config[name] = {str(k): str(v) for k, v in (params or {}).items()}
            self.queues[name] = self._make_queue(name)
        for name, params in data.get("agents", {}).items():
            self._add_agent_from(
                name, {str(k): str(v) for k, v in (params or {}).items()}, config=True
            )
        for t in data.get("tiers", []):
            self.tiers.append(
                Tier(
                    t["queue"],
                    t["agent"],
                    t.get("state", "Ready"),
                    int(t.get("level", 1)),
                    int(t.get("position", 1)),
                )
            )

    def _load_xml(self, text: str) -> None:
        root = ET.fromstring(text)  # noqa: S314 - operator's own config file
        cfg = root if root.tag == "configuration" else root.find(".//configuration")
        if cfg is None:
            return
        for p in cfg.findall("./settings/param"):
            if p.get("name") == "agent-originate-timeout":
                self.agent_originate_timeout = int(p.get("value", "60"))
        for q in cfg.findall("./queues/queue"):
            name = q.get("name", "")
            self.queue_config[name] = {
                p.get("name", ""): p.get("value", "") for p in q.findall("param")
            }
            self.queues[name] = self._make_queue(name)
        for a in cfg.findall("./agents/agent"):
            self._add_agent_from(a.get("name", ""), dict(a.attrib), config=True)
        for t in cfg.findall("./tiers/tier"):
            self.tiers.append(
                Tier(
                    t.get("queue", ""),
                    t.get("agent", ""),
                    t.get("state", "Ready"),
                    int(t.get("level", "1")),
                    int(t.get("position", "1")),
                )
            )

    def _make_queue(self, name: str) -> Queue:
        q = Queue(name)
        for key, val in self.queue_config.get(name, {}).items():
            attr = key.replace("-", "_")
            if not hasattr(q, attr) or attr in (
                "name",
                "rr_last",
                "last_agent_check",
                "last_agent_exist",
                "calls_answered",
                "calls_abandoned",
                "moh_set",
            ):
                continue
            if attr == "moh_sound":
                q.moh_set = True
            cur = getattr(q, attr)
            if isinstance(cur, bool):
                setattr(q, attr, switch_true(val))
            elif isinstance(cur, int):
                setattr(q, attr, int(val or 0))
            else:
                setattr(q, attr, val)
        if q.strategy not in STRATEGIES:
            # FreeSWITCH falls back to sequentially-by-agent-order for unknown names.
            q.strategy = "sequentially-by-agent-order"
        return q

    def _add_agent_from(self, name: str, attrs: dict[str, str], *, config: bool = False) -> None:
        if config:
            self.agent_config[name] = attrs
        ag = Agent(name, type=attrs.get("type", "callback"))
        ag.contact = attrs.get("contact", "")
        ag.status = attrs.get("status", "Logged Out")
        ag.state = attrs.get("state", "Waiting")
        for key in (
            "max-no-answer",
            "wrap-up-time",
            "reject-delay-time",
            "busy-delay-time",
            "no-answer-delay-time",
        ):
            if key in attrs or key.replace("-", "_") in attrs:
                val = attrs.get(key, attrs.get(key.replace("-", "_"), "0"))
                setattr(ag, key.replace("-", "_"), int(val or 0))
        ag.last_status_change = int(self.core.clock.now())
        self._order += 1
        ag.order = self._order
        self.agents[name] = ag

    # -- events ------------------------------------------------------------------------

    def fire(self, headers: list[tuple[str, str]], ch: Channel | None = None) -> None:
        self.core.fire_custom(SUBCLASS, headers, ch)

    def now(self) -> int:
        return int(self.core.clock.now())

    def set_status(self, ag: Agent, status: str) -> None:
        if status == "Available" and ag.status != status:
            # cc_agent_update resets the day's counters when an agent becomes Available.
            ag.talk_time = ag.calls_answered = ag.no_answer_count = 0
        ag.status = status
        ag.last_status_change = self.now()
        if status != "Available":
            # "Used to stop any active callback": a ringing agent leg is cancelled.
            for m in self.members:
                if m.serving_agent == ag.name and m.state != "Answered" and ag.name in m.offers:
                    self.core.hangup(m.offers[ag.name], "ORIGINATOR_CANCEL")
        self.fire(
            [
                ("CC-Agent", ag.name),
                ("CC-Action", "agent-status-change"),
                ("CC-Agent-Status", status),
            ]
        )
        self.kick()

    def set_state(self, ag: Agent, state: str) -> None:
        ag.state = state
        self.fire(
            [("CC-Agent", ag.name), ("CC-Action", "agent-state-change"), ("CC-Agent-State", state)]
        )
        self.kick()

    def members_count(self, queue: str) -> None:
        count = sum(
            1 for m in self.members if m.queue == queue and m.state in ("Waiting", "Trying")
        )
        self.fire(
            [
                ("CC-Queue", queue),
                ("CC-Action", "members-count"),
                ("CC-Count", str(count)),
                ("CC-Selection", "Single-Queue"),
            ]
        )

    def _member_headers(self, m: Member) -> list[tuple[str, str]]:
        return [
            ("CC-Member-UUID", m.uuid),
            ("CC-Member-Session-UUID", m.channel.uuid),
            ("CC-Member-CID-Name", m.cid_name),
            ("CC-Member-CID-Number", m.cid_number),
        ]

    # -- dispatch ----------------------------------------------------------------------

    def start(self) -> None:
        self._ticker = asyncio.ensure_future(self._tick())

    def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        for task in list(self._tasks):
            task.cancel()

    async def _tick(self) -> None:
        # Time-based conditions (wrap-up, delays, max wait, ring-progressively).
        while True:
            await self.core.clock.sleep(0.5)
            self.dispatch()

    def kick(self) -> None:
        if self._kick_pending:
            return
        self._kick_pending = True

        def run() -> None:
            self._kick_pending = False
            self.dispatch()

        asyncio.get_running_loop().call_soon(run)

    # Strategies whose order depends on neither the member nor the offers made in this
    # pass (status, last bridge end, talk time and calls answered change only when calls
    # end): one sorted list serves every member of a dispatch pass.
    _STABLE_ORDER = ("longest-idle-agent", "agent-with-least-talk-time", "agent-with-fewest-calls")

    def _candidates(
        self,
        q: Queue,
        m: Member,
        now: int,
        *,
        first_only: bool = False,
        orders: dict[str, list[tuple[Agent, Tier]]] | None = None,
    ) -> list[tuple[Agent, Tier]]:
        """Agents to offer `m` to, in order, as members_callback/agents_callback pick
        them: the queue's agents Available, On Break or Available (On Demand) in the
        strategy's order, tier rules applied level by level, then only the contactable.
        `first_only`: the first of them is enough (every strategy but ring-all); `orders`:
        the pass's cache of sorted agents per queue. (Without both, hundreds of agents and
        of members waiting made every pass quadratic and the simulator seconds late.)"""
        cached = orders.get(q.name) if orders is not None else None
        if cached is not None:
            ordered = cached
        else:
            statuses = ("Available", "On Break", "Available (On Demand)")
            rows = []
            for t in self.tiers:
                ag = self.agents.get(t.agent)
                if t.queue == q.name and ag is not None and ag.status in statuses:
                    rows.append((ag, t))
            ordered = self._order_agents(q, m, rows)
            if orders is not None and q.strategy in self._STABLE_ORDER:
                orders[q.name] = ordered
        if q.strategy == "top-down" and not ordered:
            m.last_tier = (0, 0)  # "no agent found in top-down mode, restart"
        out: list[tuple[Agent, Tier]] = []
        seen: set[str] = set()  # one offer per agent (a tier is one queue-agent pair)
        level = available = 0
        waited = now - m.joined
        for ag, t in ordered:
            if q.tier_rules_apply and t.level > level:
                if q.tier_rule_no_agent_no_wait and available == 0:
                    level = t.level
                elif (
                    q.tier_rule_wait_multiply_level
                    and (waited >= t.level * q.tier_rule_wait_second)
                ) or (not q.tier_rule_wait_multiply_level and waited >= q.tier_rule_wait_second):
                    level, available = t.level, 0
                else:
                    break  # not yet allowed to go on to this level
            available += 1
            if ag.name not in seen and self._contactable(q, m, ag, t, now):
                seen.add(ag.name)
                out.append((ag, t))
                if first_only:
                    break
        return out

    @staticmethod
    def _contactable(q: Queue, m: Member, ag: Agent, t: Tier, now: int) -> bool:
        if ag.name in m.offering or ag.name in m.offers:
            return False
        if ag.status not in ("Available", "Available (On Demand)") or ag.state != "Waiting":
            return False
        if t.state not in ("Ready", "No Answer"):
            return False
        if not ag.last_bridge_end < now - ag.wrap_up_time:  # wrap-up not over yet
            return False
        if ag.ready_time > now:
            return False
        return not (q.skip_agents_with_external_calls and ag.external_calls_count > 0)

    def _order_agents(
        self, q: Queue, m: Member, rows: list[tuple[Agent, Tier]]
    ) -> list[tuple[Agent, Tier]]:
        s = q.strategy
        if s == "longest-idle-agent":
            return sorted(rows, key=lambda c: (c[1].level, c[0].last_bridge_end, c[1].position))
        if s == "agent-with-least-talk-time":
            return sorted(rows, key=lambda c: (c[1].level, c[0].talk_time, c[1].position))
        if s == "agent-with-fewest-calls":
            return sorted(rows, key=lambda c: (c[1].level, c[0].calls_answered, c[1].position))
        if s == "random":
            shuffled = list(rows)
            self.rng.shuffle(shuffled)
            return sorted(shuffled, key=lambda c: c[1].level)
        by_order = sorted(rows, key=lambda c: (c[1].level, c[1].position, c[0].last_offered_call))
        if s == "top-down":
            # This member's next agents after the last one it was offered to (same level,
            # later position), then the higher levels.
            lvl, pos = m.last_tier
            return [c for c in by_order if c[1].level == lvl and c[1].position > pos] + [
                c for c in by_order if c[1].level > lvl
            ]
        if s == "round-robin":
            # After the agent of this queue offered a call last (same level, later
            # position), then everybody from the start.
            last = next((t for t in self.tiers if t.queue == q.name and t.agent == q.rr_last), None)
            first = []
            if last is not None:
                first = [
                    c
                    for c in by_order
                    if c[1].level == last.level and c[1].position > last.position
                ]
            return first + [c for c in by_order if c not in first]
        return by_order  # sequentially-by-agent-order, ring-all, ring-progressively

    def dispatch(self) -> None:
        now = self.now()
        orders: dict[str, list[tuple[Agent, Tier]]] = {}
        for m in sorted(self.members, key=lambda x: -x.score(now)):
            q = self.queues.get(m.queue)
            if q is None:
                continue
            if m.state == "Abandoned":
                if m.abandoned_epoch + q.discard_abandoned_after < now:
                    self.members.remove(m)
                continue
            if m.state not in ("Waiting", "Trying"):
                continue
            connecting = bool(m.offers or m.offering)  # FreeSWITCH waits for that to end
            if q.max_wait_time and now - m.joined >= q.max_wait_time and not connecting:
                self._cancel_member(m, "TIMEOUT")
                continue
            if m.state == "Trying" and q.strategy != "ring-progressively":
                continue
            cands = self._candidates(q, m, now, first_only=q.strategy != "ring-all", orders=orders)
            # members_callback's bookkeeping: an agent "exists" when one of the queue's
            # tiers has an agent Available, On Break or Available (On Demand).
            q.last_agent_check = now
            if self._any_agent_logged_in(q):
                q.last_agent_exist = now
            if m.state == "Waiting" and self._no_agent_timeout(q, m):
                self._cancel_member(m, "NO_AGENT_TIMEOUT")
                continue
            if not cands:
                continue
            if q.strategy == "ring-all":
                for ag, t in cands:
                    self._offer(q, m, ag, t)
            elif q.strategy == "ring-progressively":
                if m.state == "Waiting" or now >= m.next_progressive:
                    m.next_progressive = now + q.ring_progressively_delay
                    self._offer(q, m, *cands[0])
            else:
                self._offer(q, m, *cands[0])

    def _any_agent_logged_in(self, q: Queue) -> bool:
        statuses = ("Available", "On Break", "Available (On Demand)")
        for t in self.tiers:
            ag = self.agents.get(t.agent)
            if t.queue == q.name and ag and ag.status in statuses:
                return True
        return False

    @staticmethod
    def _no_agent_timeout(q: Queue, m: Member) -> bool:
        """max-wait-time-with-no-agent, as the member thread tests it: no agent for that
        long, and the member waited that long plus the -time-reached grace period."""
        limit = q.max_wait_time_with_no_agent
        check, exist = q.last_agent_check, q.last_agent_exist
        if limit <= 0 or check <= exist or m.joined > check or check - exist < limit:
            return False
        grace = q.max_wait_time_with_no_agent_time_reached
        return grace <= 0 or check - m.joined >= grace + limit

    # -- offering ----------------------------------------------------------------------

    def _offer(self, q: Queue, m: Member, ag: Agent, tier: Tier) -> None:
        now = self.now()
        m.state = "Trying"
        ringing = q.strategy in ("ring-all", "ring-progressively")
        m.serving_agent = q.strategy if ringing else ag.name
        m.offering.add(ag.name)
        q.rr_last = ag.name
        if q.strategy == "top-down":
            m.last_tier = (tier.level, tier.position)  # cc_last_agent_tier_level/position
            m.channel.variables["cc_last_agent_tier_position"] = str(tier.position)
            m.channel.variables["cc_last_agent_tier_level"] = str(tier.level)
        ag.last_offered_call = now
        tier.state = "Offering"
        self.set_state(ag, "Receiving")
        self.fire(
            [
                ("CC-Queue", q.name),
                ("CC-Action", "agent-offering"),
                ("CC-Agent", ag.name),
                ("CC-Agent-Type", ag.type),
                ("CC-Agent-System", SYSTEM),
                *self._member_headers(m),
            ]
        )
        # The agent call is mod_callcenter's own thread: it must outlive the member's
        # channel (a member hanging up cancels the agent's originate, it does not kill
        # the thread that puts the agent back to Waiting).
        task = asyncio.ensure_future(self._call_agent(q, m, ag, tier))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _call_agent(self, q: Queue, m: Member, ag: Agent, tier: Tier) -> None:
        core = self.core
        called = self.now()
        if not m.channel.alive:
            # outbound_agent_thread_run: "member is gone before we could process it".
            m.offering.discard(ag.name)
            self._agent_done(q, ag, tier, "Ready")
            return
        if ag.type.lower() != "callback":
            m.offering.discard(ag.name)
            self._standby_agent(q, m, ag, tier, called)
            return
        mv = m.channel.variables
        contact = ag.contact
        from .channels import split_vars, take_block

        variables: dict[str, str] = {}
        blk, rest = take_block(contact, "[", "]")
        if blk is None:
            blk, rest = take_block(contact, "{", "}")
        if blk is not None:
            variables.update(split_vars(blk))
            contact = rest
        # The variables mod_callcenter passes to switch_ivr_originate, in its order.
        variables.update(
            {
                "cc_queue": q.name,
                "cc_queue_joined_epoch": str(m.joined),
                "cc_member_uuid": m.uuid,
                "cc_member_session_uuid": m.channel.uuid,
                "cc_member_pre_answer_uuid": m.uuid,
                "cc_agent": ag.name,
                "cc_agent_type": ag.type,
                "cc_side": "agent",
                "loopback_bowout": "false",
                "loopback_bowout_on_execute": "false",
                "ignore_early_media": "true",
            }
        )
        for name in (mv.get("cc_export_vars") or "").split(","):
            if name.strip() and name.strip() in mv:
                variables[name.strip()] = mv[name.strip()]
        variables.setdefault(
            "origination_caller_id_name",
            mv.get("cc_outbound_cid_name_prefix", "")
            + mv.get("effective_caller_id_name", m.cid_name),
        )
        variables.setdefault(
            "origination_caller_id_number", mv.get("effective_caller_id_number", m.cid_number)
        )

        def created(ch: Channel) -> None:
            m.offers[ag.name] = ch

        try:
            leg = await core.dial(
                contact,
                variables,
                role="agent",
                on_created=created,
                timeout_default=float(self.agent_originate_timeout),
            )
            if leg.kind == "loopback-a" and not await self._loopback_agent(
                q, m, ag, tier, leg, called
            ):
                return
        except OriginateError as err:
            m.offers.pop(ag.name, None)
            m.offering.discard(ag.name)
            self._agent_failed(q, m, ag, tier, err.cause, called)
            return
        m.offers.pop(ag.name, None)
        m.offering.discard(ag.name)
        if not m.channel.alive or m.agent_leg is not None or m.state != "Trying":
            # Another agent won the race (ring-all) or the member left meanwhile.
            core.hangup(leg, "LOSE_RACE" if m.agent_leg is not None else "ORIGINATOR_CANCEL")
            self._agent_failed(q, m, ag, tier, leg.hangup_cause or "ORIGINATOR_CANCEL", called)
            return
        if q.strategy in ("ring-all", "ring-progressively"):
            # switch_core_session_hupall_matching_var(cc_member_pre_answer_uuid, LOSE_RACE)
            for other_leg in list(m.offers.values()):
                core.hangup(other_leg, "LOSE_RACE")
        self._bridge(q, m, ag, tier, leg, called)

    def _standby_agent(self, q: Queue, m: Member, ag: Agent, tier: Tier, called: int) -> None:
        """uuid-standby: the agent's existing channel (its `uuid`) is bridged at once; gone,
        the agent is Logged Out. Any other type fails as USER_NOT_REGISTERED."""
        if ag.type.lower() != "uuid-standby":
            self._agent_failed(q, m, ag, tier, "USER_NOT_REGISTERED", called)
            return
        leg = self.core.channels.get(ag.uuid)
        if leg is None or not leg.alive:
            self.set_status(ag, "Logged Out")
            ag.uuid = ""
            self._agent_failed(q, m, ag, tier, "NONE", called)
            return
        leg.variables.update(
            {
                "cc_side": "agent",
                "cc_queue": q.name,
                "cc_agent": ag.name,
                "cc_agent_type": ag.type,
                "cc_member_uuid": m.uuid,
                "cc_member_session_uuid": m.channel.uuid,
            }
        )
        self.core.unbridge(leg)
        self._bridge(q, m, ag, tier, leg, called)

    async def _loopback_agent(
        self, q: Queue, m: Member, ag: Agent, tier: Tier, leg: Channel, called: int
    ) -> bool:
        """A loopback contact: mod_callcenter waits 5 s for its B leg to be bridged to a
        real channel, else hangs it up DESTINATION_OUT_OF_ORDER (the cause reported stays
        SUCCESS). The wait also ends at once when the member hangs up. False: handled."""
        b = leg.partner
        handled = False

        def member_left() -> None:
            nonlocal handled
            handled = True
            m.offers.pop(ag.name, None)
            m.offering.discard(ag.name)
            if leg.alive:
                self.core.hangup(leg, "DESTINATION_OUT_OF_ORDER")
            self._agent_failed(q, m, ag, tier, "SUCCESS", called)

        m.on_leave[ag.name] = member_left
        try:
            deadline = self.core.clock.now() + 5.0
            while self.core.clock.now() < deadline:
                if handled:
                    return False
                if b is not None and b.bridged_to is not None:
                    return True
                if not leg.alive:
                    break
                await self.core.clock.sleep(0.05)
        finally:
            m.on_leave.pop(ag.name, None)
        if handled:
            return False
        if leg.alive:
            self.core.hangup(leg, "DESTINATION_OUT_OF_ORDER")
        raise OriginateError("SUCCESS")

    def _agent_failed(
        self, q: Queue, m: Member, ag: Agent, tier: Tier, cause: str, called: int
    ) -> None:
        """The failure branch of outbound_agent_thread_run, in its order."""
        now = self.now()
        if m.serving_agent == ag.name:
            # "UPDATE members SET state = case state when 'Trying' then 'Waiting' else
            # state end, serving_agent = ''": an Abandoned entry stays Abandoned.
            m.serving_agent = ""
            if m.state == "Trying":
                m.state = "Waiting"
        elif m.serving_agent in ("ring-all", "ring-progressively") and not (m.offers or m.offering):
            m.serving_agent = ""  # the last ring-all leg failed
            if m.state == "Trying":
                m.state = "Waiting"
        delay = 0
        tier_state = "Ready"
        if cause in ("LOSE_RACE", "ORIGINATOR_CANCEL"):
            pass  # cancelled by us (member left, another agent won): no penalty
        elif cause in ("USER_BUSY", "NORMAL_CIRCUIT_CONGESTION"):
            delay = ag.busy_delay_time
        elif cause == "CALL_REJECTED":
            delay = ag.reject_delay_time
        elif cause == "USER_NOT_REGISTERED":
            delay = 5
        else:
            delay = ag.no_answer_delay_time
            tier_state = "No Answer"
            ag.no_answer_count += 1
            if ag.max_no_answer > 0 and ag.no_answer_count >= ag.max_no_answer:
                self.fire(
                    [
                        ("CC-Agent", ag.name),
                        ("CC-Action", "agent-max-no-answer"),
                        ("CC-Agent-No-Answer-Count", str(ag.max_no_answer)),
                        ("CC-Agent-No-Answer-Status", q.agent_no_answer_status),
                        ("CC-Member-UUID", m.uuid),
                        ("CC-Member-Session-UUID", m.channel.uuid),
                    ]
                )
                self.set_status(ag, q.agent_no_answer_status)
        if delay > 0:
            ag.ready_time = now + delay
        self.fire(
            [
                ("CC-Queue", q.name),
                ("CC-Action", "bridge-agent-fail"),
                ("CC-Hangup-Cause", cause),
                ("CC-Agent", ag.name),
                ("CC-Agent-System", SYSTEM),
                ("CC-Agent-Called-Time", str(called)),
                ("CC-Agent-Aborted-Time", str(now)),
                *self._member_headers(m),
                ("CC-Member-Joined-Time", str(m.joined)),
            ]
        )
        self._agent_done(q, ag, tier, tier_state)

    def _agent_done(self, q: Queue, ag: Agent, tier: Tier, tier_state: str) -> None:
        """`done:` of outbound_agent_thread_run after a failure: tier, then state."""
        if tier.state in ("Active Inbound", "Standby", "Offering"):
            tier.state = tier_state
        self.set_state(ag, "Waiting")

    def _bridge(
        self, q: Queue, m: Member, ag: Agent, tier: Tier, leg: Channel, called: int
    ) -> None:
        core = self.core
        now = self.now()
        member = m.channel
        m.agent_leg = leg
        m.state = "Answered"
        m.serving_agent = ag.name
        m.bridge_epoch = now
        m.agent_called, m.agent_answered = called, now
        ag.uuid = leg.uuid
        ag.last_bridge_start = now
        ag.calls_answered += 1
        q.calls_answered += 1
        ag.no_answer_count = 0
        tier.state = "Active Inbound"
        member.variables.update(
            {
                "cc_agent": ag.name,
                "cc_agent_uuid": leg.uuid,
                "cc_agent_found": "true",
                "cc_agent_bridged": "true",
            }
        )
        leg.variables.update({"cc_side": "agent", "cc_queue": q.name})
        self.fire(
            [
                ("CC-Queue", q.name),
                ("CC-Action", "bridge-agent-start"),
                ("CC-Agent", ag.name),
                ("CC-Agent-System", SYSTEM),
                ("CC-Agent-UUID", leg.uuid),
                ("CC-Agent-Called-Time", str(called)),
                ("CC-Agent-Answered-Time", str(now)),
                ("CC-Member-Joined-Time", str(m.joined)),
                *self._member_headers(m),
            ],
            leg,
        )
        self.members_count(q.name)
        self.set_state(ag, "In a queue call")
        member.other_leg, leg.other_leg = leg, member
        member.bridge_originator = True
        core.stop_playback(member)
        if m.done is not None and not m.done.done():
            m.done.set_result("bridged")
        leg.on_hangup.append(lambda ch: self._bridge_end(q, m, ag, tier, ch))
        core.bridge(member, leg, via_api=True)

    def _bridge_end(self, q: Queue, m: Member, ag: Agent, tier: Tier, leg: Channel) -> None:
        """The agent leg is down: bridge-agent-end, member-queue-end, agent Waiting."""
        now = self.now()
        # CC-Hangup-Cause is the agent originate's cause, SUCCESS once it was answered
        # (traces 03, 03b, 11), not the channel's hangup cause.
        self.fire(
            [
                ("CC-Queue", q.name),
                ("CC-Action", "bridge-agent-end"),
                ("CC-Hangup-Cause", "SUCCESS"),
                ("CC-Agent", ag.name),
                ("CC-Agent-System", SYSTEM),
                ("CC-Agent-UUID", leg.uuid),
                ("CC-Agent-Bridged", "true"),
                ("CC-Agent-Called-Time", str(m.agent_called)),
                ("CC-Agent-Answered-Time", str(m.agent_answered)),
                ("CC-Member-Joined-Time", str(m.joined)),
                ("CC-Bridge-Terminated-Time", str(now)),
                *self._member_headers(m),
            ],
            leg,
        )
        m.channel.variables["cc_queue_terminated_epoch"] = str(now)
        ag.last_bridge_end = now
        ag.talk_time += max(0, now - ag.last_bridge_start)
        if ag.type.lower() != "uuid-standby":
            ag.uuid = ""
        if m in self.members:
            self.members.remove(m)
        self.fire(
            [
                ("CC-Queue", q.name),
                ("CC-Action", "member-queue-end"),
                ("CC-Hangup-Cause", "SUCCESS"),
                ("CC-Cause", "Terminated"),
                ("CC-Agent", ag.name),
                ("CC-Agent-System", SYSTEM),
                ("CC-Agent-UUID", leg.uuid),
                ("CC-Agent-Called-Time", str(m.agent_called)),
                ("CC-Agent-Answered-Time", str(m.agent_answered)),
                ("CC-Member-Leaving-Time", str(now)),
                ("CC-Member-Joined-Time", str(m.joined)),
                *self._member_headers(m),
            ],
            m.channel,
        )
        if tier.state in ("Active Inbound", "Standby", "Offering"):
            tier.state = "Ready"
        self.set_state(ag, "Idle" if ag.status == "Available (On Demand)" else "Waiting")

    # -- member side -------------------------------------------------------------------

    async def member_app(self, ch: Channel, queue_name: str) -> str:
        """The `callcenter` application: answer, wait with hold music, be bridged."""
        name = queue_name.split()[0] if queue_name else ""
        q = self.queues.get(name)
        if q is None:
            return "_none_"
        core = self.core
        if not ch.is_answered:
            core.mark_answered(ch)
        now = self.now()
        v = ch.variables
        cid_name, cid_num = ch.caller_id_name, ch.caller_id_number
        m = Member(
            queue=name,
            uuid=new_uuid(),
            channel=ch,
            cid_number=v.get("effective_caller_id_number", cid_num),
            cid_name=v.get("effective_caller_id_name", cid_name),
            joined=now,
            base_score=int(v.get("cc_base_score", "0") or 0),
        )
        m.done = asyncio.get_running_loop().create_future()
        v.update(
            {
                "cc_side": "member",
                "cc_queue": name,
                "cc_member_uuid": m.uuid,
                "cc_queue_joined_epoch": str(now),
            }
        )
        self.members.append(m)
        self.fire(
            [("CC-Queue", name), ("CC-Action", "member-queue-start"), *self._member_headers(m)], ch
        )
        self.members_count(name)
        ch.on_hangup.append(lambda c: self._member_hangup(q, m))
        # A waiting caller who hangs up is cancelled while the app still runs.
        ch.on_hangup_early.append(lambda c: self._member_abandon(m))
        moh = v.get("cc_moh_override", q.moh_sound)
        core.start_playback(ch, moh)
        self.kick()
        result = await m.done
        if result.startswith("cancel:"):
            reason = result.split(":", 1)[1]
            core.stop_playback(ch)
            v["cc_cancel_reason"] = reason
            v["cc_cause"] = "cancel"
        return "_none_"

    def _member_hangup(self, q: Queue, m: Member) -> None:
        # A bridged member's end is reported by the agent thread once the agent leg is
        # down (bridge-agent-end, then member-queue-end): end that leg now, while the
        # member channel still exists, as FreeSWITCH does before destroying it.
        leg = m.agent_leg
        if m.state == "Answered" and leg is not None and leg.alive and leg.bridged_to is m.channel:
            self.core.hangup(leg, "NORMAL_CLEARING")

    def _member_abandon(self, m: Member) -> None:
        if m.state in ("Waiting", "Trying"):
            for hook in list(m.on_leave.values()):
                hook()
            # The hold music ends before the app reports the member's exit.
            self.core.stop_playback(m.channel)
            self._cancel_member(m, "BREAK_OUT")

    def _cancel_member(self, m: Member, reason: str) -> None:
        """The member leaves without an agent (hung up, timeout): FreeSWITCH marks the
        entry Abandoned whatever the reason (kept discard-abandoned-after seconds),
        cancels the agents' ringing legs, then says member-queue-end."""
        now = self.now()
        ch = m.channel
        m.state = "Abandoned"
        m.abandoned_epoch = now
        for leg in list(m.offers.values()):
            # hupall_matching_var("cc_member_pre_answer_uuid", ..., ORIGINATOR_CANCEL)
            self.core.hangup(leg, "ORIGINATOR_CANCEL")
        q = self.queues.get(m.queue)
        if q is not None:
            q.calls_abandoned += 1
        self.fire(
            [
                ("CC-Queue", m.queue),
                ("CC-Action", "member-queue-end"),
                ("CC-Member-Leaving-Time", str(now)),
                ("CC-Member-Joined-Time", str(m.joined)),
                ("CC-Cause", "Cancel"),
                ("CC-Cancel-Reason", reason),
                *self._member_headers(m),
            ],
            ch,
        )
        self.members_count(m.queue)
        if m.done is not None and not m.done.done():
            m.done.set_result("cancel:" + reason)

    # -- API ---------------------------------------------------------------------------

    @staticmethod
    def _table(cols: list[str], rows: list[dict[str, str]]) -> str:
        out = ""
        if rows:
            out += "|".join(cols) + "\n"
            for r in rows:
                out += "|".join(r.get(c, "") for c in cols) + "\n"
        return out + "+OK\n"

    def _queue_agents(
        self, queue: str, status: str | None = None, state: str | None = None
    ) -> list[Agent]:
        out = []
        for t in self.tiers:
            ag = self.agents.get(t.agent)
            if t.queue != queue or ag is None:
                continue
            if status is not None and ag.status != status:
                continue
            if state is not None and ag.state != state:
                continue
            out.append(ag)
        return out

    def config_api(self, args: str) -> str:
        if not args.strip():
            return "-USAGE: callcenter_config agent|tier|queue ...\n"
        argv = split_args(args)
        if len(argv) < 2:
            return "-ERR Invalid!\n"
        section, action, rest = argv[0].lower(), argv[1].lower(), argv[2:]
        handler = getattr(self, f"_api_{section}_{action}", None)
        if handler is None:
            return "-ERR Invalid!\n"
        result: str = handler(rest)
        return result

    def _api_agent_add(self, a: list[str]) -> str:
        if len(a) < 2:
            return "-ERR Invalid!\n"
        if a[0] in self.agents:
            return "-ERR Agent already exist!\n"
        if a[1].lower() not in ("callback", "uuid-standby"):
            return "-ERR Agent type invalid!\n"
        self._add_agent_from(a[0], {"type": a[1]})
        self.agents[a[0]].last_status_change = 0  # a bare INSERT: column default
        self.fire([("CC-Agent", a[0]), ("CC-Agent-Type", a[1]), ("CC-Action", "agent-add")])
        return "+OK\n"

    def _api_agent_del(self, a: list[str]) -> str:
        if len(a) < 1:
            return "-ERR Invalid!\n"
        self.agents.pop(a[0], None)
        self.tiers = [t for t in self.tiers if t.agent != a[0]]
        return "+OK\n"

    def _api_agent_reload(self, a: list[str]) -> str:
        if not a:
            return "-ERR Invalid!\n"
        # load_agent: an agent of the config file that is missing comes back from it.
        if a[0] in self.agent_config and a[0] not in self.agents:
            self._add_agent_from(a[0], self.agent_config[a[0]])
        return "+OK\n"

    def _api_agent_set(self, a: list[str]) -> str:
        if len(a) < 3:
            return "-ERR Invalid!\n"
        key, name, value = a[0].lower(), a[1], a[2]
        ag = self.agents.get(name)
        if ag is None:
            return "-ERR Agent not found!\n"
        if key == "status":
            # FreeSWITCH accepts any capitalisation and stores the value as typed; only
            # the exact spelling is ever offered a call.
            if value.lower() not in {x.lower() for x in AGENT_STATUSES}:
                return "-ERR Invalid Agent Status!\n"
            self.set_status(ag, value)
        elif key == "state":
            if value.lower() not in {x.lower() for x in AGENT_STATES}:
                return "-ERR Invalid Agent State!\n"
            if value.lower() == "receiving":
                ag.last_offered_call = self.now()
            self.set_state(ag, value)
        elif key == "state_if_waiting":
            if value.lower() not in {x.lower() for x in AGENT_STATES}:
                return "-ERR Invalid Agent State!\n"
            if ag.state != "Waiting" or ag.status not in ("Available", "Available (On Demand)"):
                return "-ERR Agent not found!\n"  # no row updated
            self.set_state(ag, value)
        elif key == "type":
            if value.lower() not in ("callback", "uuid-standby"):
                return "-ERR Invalid Agent Type!\n"
            ag.type = value
        elif key == "contact":
            ag.contact = value
            self.fire(
                [
                    ("CC-Agent", ag.name),
                    ("CC-Action", "agent-contact-change"),
                    ("CC-Agent-Contact", value),
                ]
            )
        elif key == "uuid":
            ag.uuid = value
        elif key in (
            "ready_time",
            "reject_delay_time",
            "busy_delay_time",
            "no_answer_delay_time",
            "max_no_answer",
            "wrap_up_time",
        ):
            setattr(ag, key, _atoi(value))
            self.kick()
        else:
            return "-ERR Invalid Agent Update KEY!\n"
        return "+OK\n"

    def _api_agent_get(self, a: list[str]) -> str:
        if len(a) < 2:
            return "-ERR Invalid!\n"
        key, name = a[0].lower(), a[1]
        ag = self.agents.get(name)
        if ag is None:  # cc_agent_get looks the agent up before the key
            return "-ERR Agent not found!\n"
        if key not in ("status", "state", "uuid"):
            return "-ERR Invalid Agent Update KEY!\n"
        value: str = getattr(ag, key)
        self.fire(
            [
                ("CC-Agent", ag.name),
                ("CC-Action", f"agent-{key}-get"),
                ("CC-Agent-UUID" if key == "uuid" else f"CC-Agent-{key.capitalize()}", value),
            ]
        )
        return value

    def _api_agent_list(self, a: list[str]) -> str:
        if len(a) > 1:
            return "-ERR Invalid!\n"
        agents = sorted(self.agents.values(), key=lambda x: x.order)
        if a:
            agents = [x for x in agents if x.name == a[0]]
        return self._table(AGENT_COLS, [x.as_row() for x in agents])

    def _find_tier(self, queue: str, agent: str) -> Tier | None:
        return next((t for t in self.tiers if t.queue == queue and t.agent == agent), None)

    def _api_tier_add(self, a: list[str]) -> str:
        if len(a) < 2:
            return "-ERR Invalid!\n"
        queue, agent = a[0], a[1]
        if queue not in self.queues:
            return "-ERR Queue not found!\n"
        if agent not in self.agents:
            return "-ERR Agent not found!\n"
        if self._find_tier(queue, agent):
            return "-ERR Tier already exist!\n"
        level = _atoi(a[2]) if len(a) > 2 and a[2] else 1
        position = _atoi(a[3]) if len(a) > 3 and a[3] else 1
        self.tiers.append(Tier(queue, agent, "Ready", level, position))
        self.kick()
        return "+OK\n"

    def _api_tier_set(self, a: list[str]) -> str:
        if len(a) < 4:
            return "-ERR Invalid!\n"
        key, queue, agent, value = a[0].lower(), a[1], a[2], a[3]
        # cc_tier_update: tier, then agent, then queue; a missing tier has no reply text
        # of its own in the API ("Unknown Error"), a missing queue says "Agent not found".
        tier = self._find_tier(queue, agent)
        if tier is None:
            return "-ERR Unknown Error!\n"
        if agent not in self.agents or queue not in self.queues:
            return "-ERR Agent not found!\n"
        if key == "state":
            if value.lower() not in {x.lower() for x in TIER_STATES if x != "Unknown"}:
                return "-ERR Invalid Tier State!\n"
            tier.state = value
        elif key in ("level", "position"):
            setattr(tier, key, _atoi(value))
        else:
            return "-ERR Invalid Tier Update KEY!\n"
        self.kick()
        return "+OK\n"

    def _api_tier_del(self, a: list[str]) -> str:
        if len(a) < 2:
            return "-ERR Invalid!\n"
        self.tiers = [t for t in self.tiers if not (t.queue == a[0] and t.agent == a[1])]
        return "+OK\n"

    def _api_tier_reload(self, a: list[str]) -> str:
        return "+OK\n" if a else "-ERR Invalid!\n"

    def _api_tier_list(self, a: list[str]) -> str:
        rows = sorted(self.tiers, key=lambda t: (t.level, t.position))
        return self._table(TIER_COLS, [self._tier_row(t) for t in rows])

    @staticmethod
    def _tier_row(t: Tier) -> dict[str, str]:
        return {
            "queue": t.queue,
            "agent": t.agent,
            "state": t.state,
            "level": str(t.level),
            "position": str(t.position),
        }

    def _api_queue_load(self, a: list[str]) -> str:
        if not a:
            return "-ERR Invalid!\n"
        if a[0] in self.queues:
            return "+OK\n"
        if a[0] in self.queue_config:
            self.queues[a[0]] = self._make_queue(a[0])
            return "+OK\n"
        return "-ERR Invalid Queue not found!\n"

    def _api_queue_unload(self, a: list[str]) -> str:
        if not a:
            return "-ERR Invalid!\n"
        self.queues.pop(a[0], None)
        return "+OK\n"

    def _api_queue_reload(self, a: list[str]) -> str:
        if not a:
            return "-ERR Invalid!\n"
        if a[0] not in self.queue_config and a[0] not in self.queues:
            return "-ERR Invalid Queue not found!\n"
        if a[0] in self.queue_config:
            self.queues[a[0]] = self._make_queue(a[0])
        return "+OK\n"

    def _api_queue_list(self, a: list[str]) -> str:
        if not a:
            out = "|".join(QUEUE_COLS) + "\n"
            for q in self.queues.values():
                out += "|".join(q.row()) + "\n"
            return out + "+OK\n"
        sub = a[0].lower()
        queue = a[1] if len(a) > 1 else ""
        if sub == "agents":
            status = a[2] if len(a) > 2 else None
            state = a[3] if len(a) > 3 else None
            rows = [x.as_row() for x in self._queue_agents(queue, status, state)]
            return self._table(AGENT_COLS, rows)
        if sub == "members":
            # ORDER BY score DESC (all queues, by queue first, when none is named)
            now = self.now()
            members = [m for m in self.members if m.queue == queue or not queue]
            members.sort(key=lambda m: (m.queue if not queue else "", -m.score(now)))
            return self._table(MEMBER_COLS, [m.row(now) for m in members])
        if sub == "tiers":
            return self._table(
                TIER_COLS, [self._tier_row(t) for t in self.tiers if t.queue == queue]
            )
        return "-ERR Invalid!\n"

    def _api_queue_count(self, a: list[str]) -> str:
        if not a:
            return f"{len(self.queues)}\n"
        sub = a[0].lower()
        queue = a[1] if len(a) > 1 else ""
        if sub == "agents":
            status = a[2] if len(a) > 2 else None
            state = a[3] if len(a) > 3 else None
            return f"{len(self._queue_agents(queue, status, state))}\n"
        if sub == "members":
            return f"{sum(1 for m in self.members if m.queue == queue)}\n"
        if sub == "tiers":
            return f"{sum(1 for t in self.tiers if t.queue == queue)}\n"
        return "-ERR Invalid!\n"
