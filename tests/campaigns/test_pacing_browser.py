"""In Chromium: the predictive pacing page updates its figures without a reload."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from agents.roles import ADMINS
from dialer.models import Call, CallResult
from dialer.redisconn import redis_client
from tests.browser import log_in
from tests.factories import CampaignFactory, LeadFactory, QueueFactory, UserFactory

pytest_plugins = ["tests.browser"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _decision(campaign_id: int, *, dial_level: float, reason: str, calls: int) -> None:
    """What the selector keeps for the page (dialer.pacing.live._keep's latest decision)."""
    redis_client().set(
        f"pacing:decision:{campaign_id}",
        json.dumps(
            {
                "at": time.time(), "mode": "predictive", "calls_to_place": calls,
                "dial_level": dial_level, "expected_free_agents": 2.0,
                "expected_live_answers": 1.0, "answer_rate": 0.3, "reason": reason,
            }
        ),
        ex=600,
    )  # fmt: skip


def test_pacing_page_refreshes_its_numbers(browser_page):  # type: ignore[no-untyped-def]
    admin = UserFactory(username="ada_admin", is_staff=True)
    admin.groups.add(Group.objects.get(name=ADMINS))
    campaign = CampaignFactory(name="Win back", type="predictive", queue=QueueFactory())
    keys = [f"pacing:decision:{campaign.pk}", f"pacing:history:{campaign.pk}"]
    redis_client().delete(*keys)
    try:
        _decision(campaign.pk, dial_level=1.25, reason="warming up", calls=2)
        log_in(browser_page, admin.username)
        browser_page.goto(f"/campaigns/{campaign.pk}/pacing/")
        assert browser_page.text_content("#dial-level") == "1.25"
        assert browser_page.text_content("#rate-today") == "0.00%"
        browser_page.evaluate("window.notReloaded = true")
        # The selector slows down and a customer is dropped; the page sees it by itself.
        _decision(campaign.pk, dial_level=2.5, reason="near the abandon cap", calls=0)
        lead = LeadFactory(campaign=campaign)
        at = timezone.now() - timedelta(seconds=5)
        Call.objects.create(
            campaign=campaign, lead=lead, attempt=1, number=lead.number, requested_at=at,
            answered_at=at, hangup_at=at + timedelta(seconds=3), result=CallResult.ABANDONED,
        )  # fmt: skip
        browser_page.wait_for_function(
            "document.getElementById('dial-level').textContent === '2.50'", timeout=12_000
        )
        assert browser_page.text_content("#rate-today") == "100.00%"
        assert "near the abandon cap" in browser_page.text_content("#reason")
        assert browser_page.evaluate("window.notReloaded") is True
    finally:
        redis_client().delete(*keys)
