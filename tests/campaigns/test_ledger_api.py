"""The compliance ledger through the REST API: /api/campaigns/<id>/ledger/ (JSON summary) and
/api/campaigns/<id>/ledger.csv (the proof), read by admins and report viewers."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from dialer import compliance
from dialer.models import AmdMistake, Call, CallResult
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(queue):  # type: ignore[no-untyped-def]
    campaign = CampaignFactory(name="Win back", queue=queue, type="predictive")
    now = timezone.now()
    for hours_ago, agent_after, mistake in [
        (30, 1.0, ""),  # yesterday or earlier: in the 30-day window, out of the 24 h one
        (47, None, ""),  # abandoned, 47 h ago
        (1, 1.0, ""),
        (1, None, AmdMistake.HUMAN_AS_MACHINE),  # a person AMD hung up on
        (1, 1.0, AmdMistake.MACHINE_AS_HUMAN),  # a machine an agent reached: not counted
    ]:
        at = now - timedelta(hours=hours_ago)
        lead = LeadFactory(campaign=campaign)
        Call.objects.create(
            campaign=campaign, lead=lead, attempt=1, number=lead.number,
            requested_at=at - timedelta(seconds=10), answered_at=at,
            agent_answered_at=at + timedelta(seconds=agent_after) if agent_after else None,
            hangup_at=at + timedelta(seconds=30),
            amd_result="MACHINE" if mistake == AmdMistake.HUMAN_AS_MACHINE else "HUMAN",
            amd_mistake=mistake,
            result=CallResult.CONNECTED if agent_after else CallResult.ABANDONED,
        )  # fmt: skip
    return campaign


def api(user=None) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_ledger_api_is_read_by_admins_and_report_viewers(
    campaign, admin_user, report_viewer, agent, client
):  # type: ignore[no-untyped-def]
    urls = [f"/api/campaigns/{campaign.pk}/ledger/", f"/api/campaigns/{campaign.pk}/ledger.csv"]
    for url in urls:
        assert api().get(url).status_code == 401
        assert api(agent.user).get(url).status_code == 403
        assert api(report_viewer).get(url).status_code == 200
        assert api(report_viewer).post(url).status_code == 403  # read only
        assert api(admin_user).get(url).status_code == 200
        assert api(admin_user).post(url).status_code == 405
    # The pacing page (live decisions) stays the admins'; viewers export from the reports.
    client.force_login(report_viewer)
    assert client.get(f"/campaigns/{campaign.pk}/pacing/ledger.csv").status_code == 403
    assert api(admin_user).get("/api/campaigns/999999/ledger/").status_code == 404


def test_ledger_summary_json(campaign, admin_user):  # type: ignore[no-untyped-def]
    body = api(admin_user).get(f"/api/campaigns/{campaign.pk}/ledger/").json()
    assert body["window"] == "30d"
    assert body["cap"] == pytest.approx(0.03)
    assert body["window_rate"]["live_answers"] == 4
    assert body["window_rate"]["abandons"] == 2
    assert body["window_rate"]["abandon_rate"] == pytest.approx(0.5)
    assert body["within_cap"] is False
    assert body["amd_mistakes"] == {
        "people_hung_up_on_as_machines": 1,
        "machines_reached_by_agents_not_counted": 1,
    }
    uk = api(admin_user).get(f"/api/campaigns/{campaign.pk}/ledger/?window=24h").json()
    assert (uk["window"], uk["window_rate"]["live_answers"], uk["window_rate"]["abandons"]) == (
        "24h",
        2,
        1,
    )


def test_ledger_csv_streams_the_same_rows_with_a_token(campaign, admin_user):  # type: ignore[no-untyped-def]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=admin_user).key}")
    response = client.get(f"/api/campaigns/{campaign.pk}/ledger.csv?window=24h")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "win-back-abandon-ledger-24h-" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == compliance.CSV_HEADER
    body = [r for r in rows[1:] if r and len(r) == len(compliance.CSV_HEADER)]
    assert len(body) == 2
    assert [r[10] for r in body].count(
        "abandon: AMD took a person for a machine and the dialer hung up"
    ) == 1
    assert rows[-2][:4] == ["live_answers", "2", "abandons", "1"]
    # An unknown window is the campaign's own.
    default = client.get(f"/api/campaigns/{campaign.pk}/ledger.csv?window=7d")
    text = b"".join(default.streaming_content).decode()
    assert "live_answers,4,abandons,2" in text
