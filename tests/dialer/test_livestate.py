"""Live state between the daemons and the selector: what the inbound-priority gate reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dialer import livestate
from dialer.daemon import AgentLive, Dialer, LiveCall
from dialer.redisconn import redis_client


@pytest.fixture(autouse=True)
def clean():  # type: ignore[no-untyped-def]
    client = redis_client()
    keys = client.keys("dialer:live:*")
    if keys:
        client.delete(*keys)
    yield
    keys = client.keys("dialer:live:*")
    if keys:
        client.delete(*keys)


def snapshot(node: str, *, waiting: int, ours: int, available: int = 2, connected=True) -> dict:
    return {
        "node": node,
        "connected": connected,
        "queues": {
            "sales@default": {
                "agents_available": available,
                "members_waiting": waiting,
                "calls_in_flight": ours,
                "dialer_waiting": ours,
            }
        },
        "campaigns": {},
        "agents": {},
    }


def test_the_dialers_own_waiting_customers_are_not_inbound_traffic():
    livestate.publish_dialer_snapshot(snapshot("fs1", waiting=3, ours=2))
    livestate.publish_dialer_snapshot(snapshot("fs2", waiting=1, ours=1, available=1))
    live = livestate.queue_live("sales@default")
    assert live.fresh
    assert (live.agents_available, live.members_waiting, live.dialer_waiting) == (3, 1, 3)


def test_a_disconnected_or_silent_dialer_counts_for_nothing():
    livestate.publish_dialer_snapshot(snapshot("fs1", waiting=0, ours=0, connected=False))
    assert not livestate.queue_live("sales@default").fresh
    assert not livestate.queue_live("other@default").fresh


def test_the_daemon_snapshot_counts_answered_customers_without_an_agent():
    dialer = Dialer(host="127.0.0.1", port=1, password="x", node="fs9", gateway="carrier")
    dialer.tiers = {"sales@default": {"1001@default"}}
    dialer.agents = {"1001@default": AgentLive("1001@default", status="Available")}
    dialer.members_waiting = {"sales@default": 2}
    ringing = LiveCall("u1", 1, 1, 1, "sales@default", "progressive")
    waiting = LiveCall("u2", 2, 2, 1, "sales@default", "progressive")
    waiting.times.answered_at = datetime.now(UTC)
    talking = LiveCall("u3", 3, 3, 1, "sales@default", "progressive", agent_name="1002@default")
    talking.times.answered_at = datetime.now(UTC)
    dialer.calls = {c.uuid: c for c in (ringing, waiting, talking)}
    figures = dialer.snapshot()["queues"]["sales@default"]
    assert figures == {
        "agents_available": 1,
        "members_waiting": 2,
        "calls_in_flight": 3,
        "dialer_waiting": 1,
    }
