"""Server → browser push: Redis pub/sub, one channel per agent, read by the SSE stream.

Anyone may call `push_to_agent` (the dialer when a card arrives, a call is bridged or ends;
the desktop's own services). It publishes after the current transaction commits, so the
browser never fetches a state the database does not hold yet. The message says *what*
changed; the browser then fetches the freshly rendered panels (views.panels)."""

from __future__ import annotations

import json
import logging
from functools import cache
from typing import Any

import redis
from django.conf import settings
from django.db import transaction

log = logging.getLogger("agents.desktop.push")


def channel_for(agent_id: int) -> str:
    return f"desktop:agent:{agent_id}"


@cache
def _client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
    )


def redis_client() -> redis.Redis:
    return _client()


def push_now(agent_id: int, event: str, data: dict[str, Any] | None = None) -> None:
    """Publish at once (outside any transaction). A Redis outage loses the push, never the
    change: the browser re-reads everything when its stream reconnects."""
    payload = json.dumps({"event": event, "data": data or {}}, default=str)
    try:
        _client().publish(channel_for(agent_id), payload)
    except redis.RedisError as exc:
        log.warning("desktop push to agent %s lost: %s", agent_id, exc)


def push_to_agent(agent_id: int, event: str, data: dict[str, Any] | None = None) -> None:
    """Tell agent `agent_id`'s desktop that `event` happened (after commit)."""
    transaction.on_commit(lambda: push_now(agent_id, event, data))


@cache
def _subscriber_client() -> redis.Redis:
    # No socket timeout: a stream waits on its channel for as long as it lives.
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)


def subscribe(agent_id: int) -> redis.client.PubSub:
    pubsub = _subscriber_client().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel_for(agent_id))
    return pubsub
