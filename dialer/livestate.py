"""Live state the dialer daemons publish and the selector reads (the inbound-priority gate and
pacing).

Each daemon writes its snapshot (dialer.daemon.Dialer.snapshot) every 0.2 s to the Redis key
`dialer:live:<node>` with a 10 s expiry, and its node name into the sorted set
`dialer:live:nodes` scored by the time it wrote. A node that stops writing drops out after
10 s, and a queue with no fresh snapshot reads as "no dialer": the selector then dials nothing.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from dialer.redisconn import redis_client

FRESH_SECONDS = 10
NODES_KEY = "dialer:live:nodes"


def _key(node: str) -> str:
    return f"dialer:live:{node}"


@dataclass(frozen=True)
class QueueLive:
    """One mod_callcenter queue, summed over every connected dialer node."""

    queue: str
    agents_available: int = 0  # Available and Waiting, out of wrap-up
    members_waiting: int = 0  # inbound customers waiting (the dialer's own are not counted)
    calls_in_flight: int = 0  # dialer calls of the queue not yet finished
    dialer_waiting: int = 0  # the dialer's answered customers not yet with an agent
    fresh: bool = False  # a connected dialer published within FRESH_SECONDS


def publish_dialer_snapshot(snapshot: dict[str, Any]) -> None:
    node = str(snapshot["node"])
    pipe = redis_client().pipeline()
    pipe.set(_key(node), json.dumps(snapshot), ex=FRESH_SECONDS)
    pipe.zadd(NODES_KEY, {node: time.time()})
    pipe.execute()


def node_snapshots() -> list[dict[str, Any]]:
    """Every fresh snapshot of a daemon connected to its FreeSWITCH."""
    client = redis_client()
    now = time.time()
    nodes = client.zrangebyscore(NODES_KEY, now - FRESH_SECONDS, "+inf")
    if not nodes:
        return []
    out = []
    for raw in client.mget([_key(n) for n in nodes]):
        if raw:
            snap = json.loads(raw)
            if snap.get("connected", True):
                out.append(snap)
    return out


def queue_live(queue: str, snapshots: list[dict[str, Any]] | None = None) -> QueueLive:
    """The queue's live figures (pass `snapshots` to read Redis once for many queues)."""
    if snapshots is None:
        snapshots = node_snapshots()
    available = waiting = in_flight = ours_waiting = 0
    fresh = False
    for snap in snapshots:
        figures = snap.get("queues", {}).get(queue)
        if figures is None:
            continue
        fresh = True
        available += int(figures.get("agents_available", 0))
        in_flight += int(figures.get("calls_in_flight", 0))
        ours = int(figures.get("dialer_waiting", 0))
        ours_waiting += ours
        # mod_callcenter counts every member; the dialer's own answered customers are not
        # inbound traffic and must not pause the campaign that placed them.
        waiting += max(0, int(figures.get("members_waiting", 0)) - ours)
    return QueueLive(queue, available, waiting, in_flight, ours_waiting, fresh)
