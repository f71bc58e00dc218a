"""In Chromium: the dashboard, the activity page and its export, and the live lead status."""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Group

from agents.roles import REPORT_VIEWERS
from campaigns.models import Campaign
from dialer import compliance
from dialer.models import Call
from leads.models import Lead, LeadState
from tests.browser import log_in, screenshot
from tests.factories import (
    AgentFactory,
    CampaignFactory,
    DispositionFactory,
    QueueFactory,
    UserFactory,
)
from tests.reports.conftest import NY

pytest_plugins = ["tests.browser"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DAY = {"date_from": "2026-11-18", "date_to": "2026-11-18"}
QUERY = "date_from=2026-11-18&date_to=2026-11-18"
STATES = [LeadState.NEW] * 6 + [LeadState.DIALING, LeadState.RETRY, LeadState.COOLOFF,
          LeadState.CALLBACK, LeadState.VOICEMAIL, LeadState.SUCCESS, LeadState.FAILED]  # fmt: skip
REASONS = {
    LeadState.COOLOFF: "Cool-off until 14:30",
    LeadState.CALLBACK: "Callback for Alice at 16:00",
    LeadState.NEW: "Outside the lead's calling window (opens 09:00 CST)",
    LeadState.FAILED: "Retries used up (3 of 3)",
}


def busy_day() -> int:
    """A realistic day: three campaigns, four agents, ~400 attempts from 08:00 to 20:00."""
    rng = random.Random(7)
    queue = QueueFactory(name="sales@default")
    campaigns = [
        CampaignFactory(name="Spring renewals", type="progressive", queue=queue),
        CampaignFactory(name="Win-back", type="predictive", queue=queue),
        CampaignFactory(name="Survey follow-up", type="preview", queue=queue),
    ]
    people = [("Alice", "Moreno"), ("Bob", "Okafor"), ("Chen", "Li"), ("Dana", "Kowalski")]
    agents = [
        AgentFactory(
            user__first_name=f,
            user__last_name=last,
            extension=str(1001 + i),
            name=f"{1001 + i}@default",
        )
        for i, (f, last) in enumerate(people)
    ]
    dispositions = [
        DispositionFactory(queue=queue, code=c, label=label)
        for c, label in [
            ("sale", "Sale"),
            ("not-interested", "Not interested"),
            ("callback", "Call back later"),
        ]
    ]
    first = ["Ada", "Grace", "Alan", "Zoë", "José", "Mary", "Linus", "Barbara", "Ken", "Edsger"]
    last = ["Lovelace", "Hopper", "Turing", "Müller", "García", "Smith", "O'Brien", "Nakamura"]
    leads = Lead.objects.bulk_create(
        Lead(
            campaign=campaigns[i % 3],
            number=f"+1202555{i:04d}",
            first_name=first[i % 10],
            last_name=last[i % 8],
            timezone="America/New_York",
            timezones=["America/New_York"],
            state=(state := STATES[i % len(STATES)]),
            not_dialable_reason=REASONS.get(state, "") if i % 2 else "",
            attempts=i % 3,
            next_dial_at=datetime(2026, 11, 18, 15, tzinfo=NY) + timedelta(minutes=i),
            created_at=datetime(2026, 11, 17, 9, tzinfo=NY),
        )
        for i in range(260)
    )
    calls = []
    for i in range(400):
        lead = leads[i % len(leads)]
        at = datetime(2026, 11, 18, 8, tzinfo=NY) + timedelta(seconds=rng.randint(0, 12 * 3600))
        roll = rng.random()
        ring = round(rng.uniform(3, 28), 1)
        call = Call(lead=lead, campaign=lead.campaign, attempt=1 + i // 260, number=lead.number,
                    caller_id_number="+12025550100", caller_id_name="Acme Sales",
                    requested_at=at, dialed_at=at + timedelta(seconds=1),
                    ring_seconds=ring)  # fmt: skip
        if roll < 0.42:
            agent = rng.choice(agents)
            wait = round(rng.uniform(0.5, 6), 1)
            call.result, call.agent = "connected", agent
            call.agent_name, call.agent_extension = agent.display_name, agent.extension
            call.answered_at = at + timedelta(seconds=ring + 1)
            call.agent_answered_at = call.answered_at + timedelta(seconds=wait)
            call.customer_wait_seconds, call.talk_seconds = wait, round(rng.uniform(20, 420))
            call.disposition = rng.choice(dispositions)
            call.hangup_cause = "NORMAL_CLEARING"
            if lead.campaign.type == "progressive":
                call.customer_wait_sla_met = wait <= 3
                call.agent_sla_met = rng.random() < 0.9
        elif roll < 0.47:
            call.result, call.hangup_cause = "abandoned", "NORMAL_CLEARING"
            call.answered_at = at + timedelta(seconds=ring + 1)
            call.customer_wait_seconds = round(rng.uniform(8, 40), 1)
            if lead.campaign.type == "progressive":
                call.customer_wait_sla_met = False
        elif roll < 0.6:
            call.result, call.amd_result, call.hangup_cause = (
                "voicemail",
                "MACHINE",
                "NORMAL_CLEARING",
            )
            call.answered_at = at + timedelta(seconds=ring + 1)
        elif roll < 0.85:
            call.result, call.hangup_cause = "no_answer", "NO_ANSWER"
        elif roll < 0.95:
            call.result, call.hangup_cause, call.ring_seconds = "busy", "USER_BUSY", None
        else:
            call.result, call.hangup_cause, call.ring_seconds = (
                "invalid",
                "UNALLOCATED_NUMBER",
                None,
            )
        call.hangup_at = at + timedelta(seconds=(call.talk_seconds or 0) + 40)
        calls.append(call)
    Call.objects.bulk_create(calls)
    return len(calls)


@pytest.fixture
def viewer(db):  # type: ignore[no-untyped-def]
    user = UserFactory(username="rita_reports", first_name="Rita", last_name="Reports")
    user.groups.add(Group.objects.get(name=REPORT_VIEWERS))
    return user


def test_supervisor_reads_the_dashboard_activity_and_exports(
    browser_page, viewer, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    attempts = busy_day()
    log_in(page, viewer.username)

    page.goto(f"/reports/?{QUERY}")
    assert page.locator('[data-kpi="attempts"]').inner_text() == str(attempts)
    assert page.locator("svg.chart").count() == 2
    assert page.locator("#by-agent tbody tr").count() == 4
    screenshot(page, "reports-dashboard")

    page.goto(f"/reports/activity/?{QUERY}")
    assert page.locator("#activity tbody tr").count() == 50
    screenshot(page, "reports-activity")
    page.click("a[rel=next]")
    assert page.locator("#activity tbody tr").count() == 50
    assert "after=" in page.url

    page.select_option("select[name=result]", "abandoned")
    page.click("form.filters button[type=submit]")
    abandoned = Call.objects.filter(result="abandoned").count()
    assert page.locator("#activity tbody tr").count() == abandoned
    with page.expect_download() as download_info:
        page.click("text=Export CSV")
    target = tmp_path / "activity.csv"
    download_info.value.save_as(target)
    with target.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == abandoned
    assert {r["Dial result"] for r in rows} == {"Abandoned"}
    assert all(r["Time"].startswith("2026-11-18 ") and r["Time"].endswith("-05:00") for r in rows)

    # The compliance officer's tab: every campaign against its cap, and the ledger as proof.
    page.click("nav.report-tabs >> text=Abandon compliance")
    campaigns = page.locator("#compliance tbody tr")
    assert campaigns.count() == Campaign.objects.count()
    screenshot(page, "reports-compliance")
    with page.expect_download() as download_info:
        campaigns.first.locator("a", has_text="30d").click()
    target = tmp_path / "ledger.csv"
    download_info.value.save_as(target)
    with target.open(encoding="utf-8") as f:
        assert next(csv.reader(f)) == compliance.CSV_HEADER


def test_leads_status_updates_without_reload(browser_page, viewer) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    busy_day()
    log_in(page, viewer.username)
    page.goto("/reports/leads/")
    renewals = Lead.objects.filter(campaign__name="Spring renewals")
    cell = page.locator('#status-counts tfoot [data-status="successful"]')
    before = int(cell.inner_text())
    screenshot(page, "reports-leads")
    # The dialer connects a lead meanwhile: the page shows it within a poll, no reload.
    lead = renewals.filter(state=LeadState.NEW).first()
    Lead.objects.filter(pk=lead.pk).update(state=LeadState.SUCCESS)
    page.wait_for_function(
        "n => document.querySelector('#status-counts tfoot [data-status=\"successful\"]')"
        ".textContent.trim() === String(n)",
        arg=before + 1,
        timeout=12_000,
    )
    page.select_option("select[name=status]", "cool_off")
    page.click("#lead-filters button[type=submit]")
    assert (
        page.locator("#lead-list tbody tr").count()
        == Lead.objects.filter(state__in=[LeadState.COOLOFF, LeadState.CALLBACK]).count()
    )
    assert "Cool-off until 14:30" in page.locator("#lead-list").inner_text()
