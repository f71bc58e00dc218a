"""Admin pages for queues, agents, tiers, skills and disposition codes."""

from __future__ import annotations

import pytest

from agents.models import Disposition, Queue, Skill
from tests.factories import DispositionFactory

pytestmark = pytest.mark.django_db


def test_queue_list_shows_agent_and_campaign_counts(admin_client, agent, queue):  # type: ignore[no-untyped-def]
    page = admin_client.get("/admin/agents/queue/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "sales@default" in body
    assert 'class="field-agent_count">1<' in body


def test_queue_page_edits_tiers_and_dispositions_inline(admin_client, agent, queue):  # type: ignore[no-untyped-def]
    DispositionFactory(queue=queue, code="sale", label="Sale", outcome="successful")
    page = admin_client.get(f"/admin/agents/queue/{queue.pk}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="tiers-0-agent"' in body
    assert 'name="dispositions-0-code"' in body
    assert 'value="sale"' in body


def test_add_queue_with_a_disposition(admin_client):  # type: ignore[no-untyped-def]
    data = {
        "name": "support@default",
        "strategy": "ring-all",
        "moh_sound": "local_stream://moh",
        "wrap_up_time": 5,
        "max_wait_time": 0,
        "outbound_enabled": "on",
        "phone_number": "",
        "tier_rules_apply": "",
        "tier_rule_wait_second": 300,
        "discard_abandoned_after": 60,
        "tiers-TOTAL_FORMS": 0,
        "tiers-INITIAL_FORMS": 0,
        "dispositions-TOTAL_FORMS": 1,
        "dispositions-INITIAL_FORMS": 0,
        "dispositions-0-position": 1,
        "dispositions-0-code": "dnc",
        "dispositions-0-label": "Do not call",
        "dispositions-0-outcome": "dnc",
    }
    response = admin_client.post("/admin/agents/queue/add/", data)
    assert response.status_code == 302, response.content.decode()[-2000:]
    queue = Queue.objects.get(name="support@default")
    assert Disposition.objects.get(queue=queue).outcome == "dnc"


def test_queue_name_must_be_mod_callcenter_form(admin_client):  # type: ignore[no-untyped-def]
    response = admin_client.post(
        "/admin/agents/queue/add/",
        {"name": "not a queue", "tiers-TOTAL_FORMS": 0, "tiers-INITIAL_FORMS": 0},
    )
    assert response.status_code == 200
    assert "name@domain" in response.content.decode()


def queue_form(moh_sound: str) -> dict[str, object]:
    return {
        "name": "support@default",
        "strategy": "ring-all",
        "moh_sound": moh_sound,
        "wrap_up_time": 5,
        "max_wait_time": 0,
        "tier_rule_wait_second": 300,
        "discard_abandoned_after": 60,
        "tiers-TOTAL_FORMS": 0,
        "tiers-INITIAL_FORMS": 0,
        "dispositions-TOTAL_FORMS": 0,
        "dispositions-INITIAL_FORMS": 0,
    }


@pytest.mark.parametrize(
    "moh_sound",
    [
        "bridge::sofia/gateway/carrier/+19005550100",
        "local_stream://moh,bridge:sofia/gateway/carrier/+19005550100",
        "tone_stream://%(500,0,800);loops=-1",
        "$${hold_music}",
    ],
)
def test_hold_music_that_would_run_an_application_is_refused(admin_client, moh_sound):  # type: ignore[no-untyped-def]
    response = admin_client.post("/admin/agents/queue/add/", queue_form(moh_sound))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["moh_sound"]
    assert "Enter a sound file path such as" in errors[0]
    assert "local_stream://moh" in errors[0]
    assert not Queue.objects.filter(name="support@default").exists()


@pytest.mark.parametrize(
    "moh_sound", ["local_stream://moh", "local_stream://moh/8000", "/sounds/music/hold.wav"]
)
def test_hold_music_stream_or_file_is_saved(admin_client, moh_sound):  # type: ignore[no-untyped-def]
    response = admin_client.post("/admin/agents/queue/add/", queue_form(moh_sound))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Queue.objects.get(name="support@default").moh_sound == moh_sound


def test_the_default_hold_music_is_valid():
    Queue(name="sales@default").full_clean()


@pytest.mark.parametrize(
    "url",
    [
        "/admin/agents/agent/",
        "/admin/agents/agent/?q=1001",
        "/admin/agents/skill/",
        "/admin/agents/tier/",
        "/admin/agents/disposition/",
    ],
)
def test_list_pages_render(admin_client, agent, url):  # type: ignore[no-untyped-def]
    Skill.objects.create(name="spanish")
    page = admin_client.get(url)
    assert page.status_code == 200


def test_agent_list_finds_the_agent_by_extension(admin_client, agent, other_agent):  # type: ignore[no-untyped-def]
    body = admin_client.get("/admin/agents/agent/?q=1001").content.decode()
    assert "1001@default" in body
    assert "2001@default" not in body
    change = admin_client.get(f"/admin/agents/agent/{agent.pk}/change/")
    assert change.status_code == 200
