"""The demo data set: what `load_demo_data` creates, and that a second run changes nothing."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.management import call_command

from agents.models import Agent, Disposition, Queue
from agents.roles import is_admin, is_agent, is_report_viewer
from campaigns.models import Campaign
from leads.models import Lead
from leads.phone import parse_number

pytestmark = pytest.mark.django_db


def load() -> None:
    call_command("load_demo_data", "--password", "demo-pass-123", stdout=io.StringIO())


def test_demo_data_is_complete_and_idempotent() -> None:
    load()
    load()
    assert Queue.objects.count() == 1
    assert Agent.objects.count() == 3
    assert Campaign.objects.count() == 2
    assert Lead.objects.count() == 1000

    queue = Queue.objects.get()
    assert queue.name == "sales@default"
    outcomes = dict(Disposition.objects.values_list("label", "outcome"))
    assert outcomes == {
        "Sale": "successful",
        "Not interested": "failed",
        "Call back": "callback",
        "Voicemail": "voicemail",
        "Do not call": "dnc",
    }
    assert set(queue.tiers.values_list("agent__user__username", flat=True)) == {
        "agent1",
        "agent2",
        "agent3",
    }

    admin = authenticate(username="admin", password="demo-pass-123")
    viewer = authenticate(username="viewer", password="demo-pass-123")
    agent = authenticate(username="agent2", password="demo-pass-123")
    assert admin is not None
    assert is_admin(admin)
    assert viewer is not None
    assert is_report_viewer(viewer)
    assert not is_admin(viewer)
    assert agent is not None
    assert is_agent(agent)
    assert not is_report_viewer(agent)

    progressive = Campaign.objects.get(type="progressive")
    row = progressive.schedule_rows.get()
    assert row.weekdays == [0, 1, 2, 3, 4, 5, 6]
    assert f"{row.start_time:%H:%M}-{row.end_time:%H:%M}" == "08:00-21:00"
    assert progressive.caller_ids.filter(enabled=True).count() >= 1
    assert Campaign.objects.filter(type="preview").exists()


def test_demo_leads_are_valid_numbers_in_several_timezones() -> None:
    load()
    leads = list(Lead.objects.all())
    for lead in leads:
        assert parse_number(lead.number, settings.ACCOUNT_DEFAULT_REGION).e164 == lead.number
    assert len({lead.number[:5] for lead in leads}) >= 8  # area codes
    assert len({lead.timezone for lead in leads}) >= 4
    assert len({lead.priority for lead in leads}) > 1
    assert sum(1 for lead in leads if lead.note) > 50
