"""Server → browser push: Redis pub/sub after commit, and the server-sent event stream."""

from __future__ import annotations

import json

import pytest
import redis
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.urls import reverse

from agents.desktop import dialer_bridge, push, services
from tests.factories import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def freeswitch(monkeypatch):  # type: ignore[no-untyped-def]
    """FreeSWITCH's api replies: +OK to everything; the commands sent are kept."""
    sent: list[str] = []

    def api(command: str) -> str:
        sent.append(command)
        return "+OK"

    monkeypatch.setattr(dialer_bridge, "fs_api", api)
    return sent


@pytest.fixture
def listener(agent):  # type: ignore[no-untyped-def]
    client = redis.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(push.channel_for(agent.pk))
    pubsub.get_message(timeout=1)  # the subscribe confirmation
    yield pubsub
    pubsub.close()


def _next(pubsub) -> dict | None:  # type: ignore[no-untyped-def]
    message = pubsub.get_message(timeout=2)
    return json.loads(message["data"]) if message else None


def test_push_is_published_after_commit_on_the_agents_channel(
    agent, listener, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        push.push_to_agent(agent.pk, "changed", {"what": "card", "lead_id": 7})
    assert _next(listener) == {"event": "changed", "data": {"what": "card", "lead_id": 7}}


def test_nothing_is_pushed_when_the_change_rolls_back(agent, listener):
    def change_then_fail() -> None:
        with transaction.atomic():
            push.push_to_agent(agent.pk, "changed", {"what": "card"})
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert _next(listener) is None


def test_services_push_what_changed(agent, listener, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.agent_login(agent=agent, now=NOW)
    assert _next(listener)["data"]["what"] == "status"


def test_a_redis_outage_loses_the_push_not_the_change(agent, monkeypatch):
    class Down:
        def publish(self, *args):  # type: ignore[no-untyped-def]
            raise redis.ConnectionError("down")

    monkeypatch.setattr(push, "_client", lambda: Down())
    push.push_now(agent.pk, "changed", {})  # logs, does not raise


def test_event_stream_says_hello_then_relays_pushes(agent):
    c = Client()
    c.force_login(agent.user)
    response = c.get(reverse("desktop:events"))
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-cache"
    stream = iter(response.streaming_content)
    first = next(stream).decode()
    assert first.startswith("retry: ")  # EventSource reconnects by itself
    assert "event: hello" in first
    push.push_now(agent.pk, "bridged", {"call_id": 5})
    relayed = next(stream).decode()
    assert relayed.startswith("event: changed\n")
    payload = json.loads(relayed.split("data: ", 1)[1])
    assert payload == {"event": "bridged", "data": {"call_id": 5}}
    response.close()


def test_event_stream_is_for_agents_only(client, report_viewer):
    assert client.get(reverse("desktop:events")).status_code == 302
    c = Client()
    c.force_login(report_viewer)
    assert c.get(reverse("desktop:events")).status_code == 403
