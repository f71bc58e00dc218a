"""The demo data set: what `load_demo_data` creates, and that a second run changes nothing."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.utils import timezone

from agents.models import Agent, Disposition, Queue
from agents.roles import is_admin, is_agent, is_report_viewer
from campaigns.models import Campaign
from dialer import eligibility
from dialer.selector import build_rules, lead_facts
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
    # Headsets on auto-answer: the demo's calls reach agents inside the 2 s abandon rule.
    assert {a.contact.split("]")[0] for a in Agent.objects.all()} == {"[sip_auto_answer=true"}
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
    assert not progressive.schedule_rows.exists()  # always open; the legal hours still apply
    assert not progressive.is_running  # only `--start` starts it
    assert progressive.caller_ids.filter(enabled=True).count() >= 1
    assert Campaign.objects.filter(type="preview").exists()


def test_demo_leads_are_valid_numbers_in_several_timezones() -> None:
    load()
    leads = list(Lead.objects.all())
    for lead in leads:
        assert parse_number(lead.number, settings.ACCOUNT_DEFAULT_REGION).e164 == lead.number
    assert len({lead.number[:5] for lead in leads}) >= 8  # area codes
    assert len({lead.timezone for lead in leads}) >= 4
    assert {lead.number[:3] for lead in leads} >= {"+1" + d for d in "234678"} | {"+44", "+61"}
    assert len({lead.priority for lead in leads}) > 1
    assert sum(1 for lead in leads if lead.note) > 50


def test_demo_start_runs_the_progressive_campaign() -> None:
    call_command("load_demo_data", "--start", "--password", "pw-123456", stdout=io.StringIO())
    assert Campaign.objects.get(type="progressive").is_running
    assert not Campaign.objects.get(type="preview").is_running
    # A second run finds it running with all its leads and changes nothing.
    call_command("load_demo_data", "--start", "--password", "pw-123456", stdout=io.StringIO())
    assert Lead.objects.count() == 1000


@pytest.mark.parametrize("days_ahead", [1, 120, 200])  # winter and summer time both ways
def test_some_progressive_leads_are_in_legal_hours_at_every_hour(days_ahead: int) -> None:
    """The legal guard (08:00-21:00 lead time) is never bypassed, yet the demo dials at any
    hour: the Progressive campaign has leads from Hawaii to Sydney."""
    load()
    progressive = Campaign.objects.get(type="progressive")
    rules = build_rules(progressive)
    assert rules.legal == (settings.LEGAL_CALLING_START, settings.LEGAL_CALLING_END)
    facts = [lead_facts(lead) for lead in progressive.leads.all()]
    day = max(f.next_dial_at for f in facts).replace(minute=30, second=0, microsecond=0)
    day += timedelta(days=days_ahead)
    for hour in range(24):
        now = day + timedelta(hours=hour)
        dialable = sum(eligibility.lead_verdict(rules, f, now=now).dialable for f in facts)
        assert dialable >= 20, f"only {dialable} demo leads dialable at {now:%H:%M} UTC"


def test_demo_runs_every_process_against_the_simulator(settings: Any, tmp_path: Path) -> None:
    from campaigns.management.commands import demo

    redis = demo.Child("redis", ["redis-server"])
    children = demo.demo_processes("127.0.0.1:8000", esl_port=18021, redis=redis)
    assert [c.name for c in children] == ["redis", "simulator", "web", "celery", "dialer", "agents"]
    by_name = {c.name: c for c in children}
    assert "--port=18021" in by_name["simulator"].argv
    assert any(a.startswith("--seed=") for a in by_name["simulator"].argv)
    assert {"-B", "--pool=solo"} <= set(by_name["celery"].argv)
    # Each process that tells mod_callcenter an agent's status reaches the simulator.
    for name in ("web", "celery", "dialer", "agents"):
        assert by_name[name].env["ESL_PORT"] == "18021", name
    assert next(c.name for c in demo.demo_processes("x:1", esl_port=1)) == "simulator"

    load()
    settings.BASE_DIR = tmp_path
    demo.agents_ready(timezone.now())
    demo.write_simulator_files()
    xml = (tmp_path / "var" / "demo" / "callcenter.conf.xml").read_text()
    assert xml.count('status="Available"') == 3
    assert '<queue name="sales@default">' in xml
    scenario = json.loads((tmp_path / "var" / "demo" / "scenario.json").read_text())
    assert scenario["statistical"]["answer_probability"] > 0
    assert scenario["agents"]["default"]["action"] == "answer"
