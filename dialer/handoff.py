"""Handoff from the selector to the dialer daemons: dial requests on a Redis Stream.

Why a Redis Stream with a consumer group (not a database outbox): every daemon of every node
reads the same stream through the group `dialers`, so a request goes to exactly one of them
without polling the database; a daemon that dies keeps its unacknowledged requests pending,
and another (or itself after a restart) takes them over with XAUTOCLAIM. The stream is not the
source of truth — the Call row is: the selector creates it (with its UUID) in the same
transaction that marks the lead Dialing, and `claim_request` turns a pending Call into a dialed
one at most once. A redelivered request therefore never dials the same attempt twice, and a
request lost with Redis is found by the reaper (dialer.selector.reap_stuck_requests), which
gives the lead back.

The daemon's side is `read_requests`, `ack`, `reclaim` and `claim_request`; the selector's is
`publish_requests`; both sides send commands on the control stream (`send_control`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from campaigns.models import RunStatus
from dialer import calls as call_services
from dialer.esl.events import CallTimes
from dialer.models import Call, CallResult
from dialer.redisconn import redis_client

log = logging.getLogger("dialer.handoff")

STREAM = "dialer:requests"
GROUP = "dialers"
CONTROL_STREAM = "dialer:control"
STREAM_MAX = 200_000  # approximate trim: far above what is ever in flight
RECLAIM_IDLE_MS = 30_000

_group_ready = False
_own_pending_done: set[str] = set()


@dataclass(frozen=True)
class DialRequest:
    message_id: str
    call_uuid: str


def _ensure_group() -> None:
    global _group_ready
    if _group_ready:
        return
    with contextlib.suppress(Exception):  # BUSYGROUP: it exists already
        redis_client().xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    _group_ready = True


def publish_requests(call_uuids: Iterable[str]) -> int:
    """Append one request per call (called after the selector's transaction commits)."""
    _ensure_group()
    pipe = redis_client().pipeline(transaction=False)
    n = 0
    for call_uuid in call_uuids:
        pipe.xadd(STREAM, {"call_uuid": call_uuid}, maxlen=STREAM_MAX, approximate=True)
        n += 1
    if n:
        pipe.execute()
    return n


def read_requests(*, consumer: str, count: int, block_ms: int) -> list[DialRequest]:
    """New requests for this consumer; after a restart, first those it read and never acked."""
    _ensure_group()
    if consumer not in _own_pending_done:
        mine = _read(consumer, "0", count, None)
        if mine:
            return mine
        _own_pending_done.add(consumer)
    return _read(consumer, ">", count, block_ms or None)


def _read(consumer: str, start: str, count: int, block: int | None) -> list[DialRequest]:
    replies = redis_client().xreadgroup(GROUP, consumer, {STREAM: start}, count=count, block=block)
    return [
        DialRequest(mid, fields.get("call_uuid", ""))
        for _stream, messages in replies or []
        for mid, fields in messages
        if fields
    ]


def ack(message_id: str) -> None:
    redis_client().xack(STREAM, GROUP, message_id)


def reclaim(*, consumer: str, min_idle_ms: int = RECLAIM_IDLE_MS) -> list[DialRequest]:
    """Requests another consumer read and left unacknowledged for too long (it died)."""
    _ensure_group()
    result = redis_client().xautoclaim(
        STREAM, GROUP, consumer, min_idle_time=min_idle_ms, count=100
    )
    messages = result[1] if result else []
    return [DialRequest(mid, fields.get("call_uuid", "")) for mid, fields in messages if fields]


def claim_request(call_uuid: str, *, now: datetime | None = None) -> Call | None:
    """Claim one request (see `claim_many`). None: do not dial."""
    return claim_many([call_uuid], now=now).get(call_uuid)


def claim_many(call_uuids: list[str], *, now: datetime | None = None) -> dict[str, Call]:
    """Turn pending Calls into dialed ones, each at most once: {call uuid: Call} for those to
    dial now, in a constant number of queries for any number of calls.

    Refused: a call dialed or finished already (a redelivery, or another node won it), a call
    of a stopped campaign, a call whose dial deadline passed (the lead's window closed while
    the request waited for an agent or a rate limit). The last two are closed as not dialed
    and their leads go back to the list without spending an attempt.
    """
    now = now or timezone.now()
    keys = {u: k for u in call_uuids if (k := _uuid(u)) is not None}
    if not keys:
        return {}
    late: list[tuple[str, bool]] = []  # (uuid, campaign stopped)
    with transaction.atomic():
        pending = list(
            Call.objects.select_for_update(of=("self",))
            .filter(uuid__in=list(keys.values()), dialed_at=None, result=CallResult.PENDING)
            .order_by("pk")  # every claimer locks in the same order: no deadlock
            .values_list("pk", "uuid", "dial_deadline", "campaign__run_status")
        )
        won = []
        for pk, row_uuid, deadline, run_status in pending:
            if run_status != RunStatus.RUNNING:
                late.append((str(row_uuid), True))
            elif deadline is not None and deadline <= now:
                late.append((str(row_uuid), False))
            else:
                won.append(pk)
        if won:
            Call.objects.filter(pk__in=won).update(dialed_at=now)
    for call_uuid, stopped in late:
        if stopped:
            call_services.call_finish(
                call_uuid=call_uuid,
                now=now,
                times=CallTimes(),
                hangup_cause="CAMPAIGN_STOPPED",
                cancelled=True,
            )
        else:
            call_services.call_lost(call_uuid=call_uuid, now=now, reason="WINDOW_CLOSED")
        log.info("dial request refused: not dialed", extra={"call_uuid": call_uuid})
    if not won:
        return {}
    by_uuid = {
        str(c.uuid): c
        for c in Call.objects.select_related("campaign__queue", "lead").filter(pk__in=won)
    }
    return {u: by_uuid[str(k)] for u, k in keys.items() if str(k) in by_uuid}


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(text))
    except ValueError:
        return None  # not a request this system wrote: never dialed


def send_control(command: dict[str, Any]) -> None:
    """A command for every daemon (stop/start campaign, preview dial)."""
    redis_client().xadd(CONTROL_STREAM, {"payload": json.dumps(command)}, maxlen=10_000)
