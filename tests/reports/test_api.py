"""The reports' REST API, by token, against the hand-built day of calls."""

from __future__ import annotations

import csv
import io

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leads.models import LeadState
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

NOV18 = {"date_from": "2026-11-18", "date_to": "2026-11-18"}


@pytest.fixture
def api(report_viewer) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=report_viewer).key}")
    return client


def test_lead_status_counts(api, call_set) -> None:  # type: ignore[no-untyped-def]
    LeadFactory(campaign=call_set.winback, state=LeadState.SUCCESS)
    body = api.get("/api/reports/lead-status/").json()
    assert [c["campaign_name"] for c in body["campaigns"]] == ["Renewals", "Winback"]
    assert body["campaigns"][1]["counts"]["successful"] == 1
    assert body["overall"]["total"] == 11
    assert body["overall"]["counts"]["active"] == 10
    one = api.get("/api/reports/lead-status/", {"campaign": call_set.winback.pk}).json()
    assert [c["campaign_name"] for c in one["campaigns"]] == ["Winback"]
    assert one["overall"]["total"] == 5


def test_activity_list_filters_and_pages(api, call_set) -> None:  # type: ignore[no-untyped-def]
    first = api.get("/api/reports/activity/", {**NOV18, "page_size": 4}).json()
    assert [r["lead_name"] for r in first["results"]] == [
        "Lead7 Tester",
        "Lead10 Tester",
        "Lead9 Tester",
        "Lead6 Tester",
    ]
    assert first["previous"] is None
    call7 = first["results"][0]
    assert call7["time"] == "2026-11-18T23:50:00-05:00"
    assert call7["agent_name"] == "Alice Agent"
    assert call7["result_display"] == "Answered and connected"
    seen = [r["id"] for r in first["results"]]
    page = first
    while page["next"]:
        page = api.get(page["next"]).json()
        seen += [r["id"] for r in page["results"]]
    assert len(seen) == len(set(seen)) == 9
    back = api.get(page["previous"]).json()
    assert [r["id"] for r in back["results"]] == seen[4:8]
    only = api.get("/api/reports/activity/", {"result": "abandoned"}).json()["results"]
    assert [(r["lead_name"], r["agent"], r["disposition"]) for r in only] == [
        ("Lead3 Tester", None, None)
    ]


def test_activity_list_says_what_is_wrong(api, call_set) -> None:  # type: ignore[no-untyped-def]
    assert api.get("/api/reports/activity/", {"page_size": 0}).status_code == 400
    bad = api.get("/api/reports/activity/", {"after": "garbage"})
    assert bad.status_code == 400
    assert "cursor" in bad.json()
    bad = api.get("/api/reports/activity/", {"campaign": 999999})
    assert bad.status_code == 400
    assert "campaign" in bad.json()


def test_activity_export_by_token(api, call_set) -> None:  # type: ignore[no-untyped-def]
    response = api.get(
        "/api/reports/activity/export.csv",
        {"campaign": call_set.renewals.pk, "result": "connected"},
        HTTP_ACCEPT="text/csv",
    )
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["Agent"] for r in rows] == ["Bob Caller", "Alice Agent"]
    assert rows[1]["Time"] == "2026-11-18 10:00:00-05:00"


def test_lead_status_export_by_token(api, call_set) -> None:  # type: ignore[no-untyped-def]
    response = api.get("/api/reports/lead-status/export.csv", {"name": "Lead8"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["Campaign"], r["Status"]) for r in rows] == [("Winback", "Active")]


def test_dashboard_figures(api, call_set) -> None:  # type: ignore[no-untyped-def]
    body = api.get("/api/reports/dashboard/", NOV18).json()
    overall = body["overall"]
    assert (overall["attempts"], overall["answered"], overall["connected"]) == (9, 6, 4)
    assert overall["abandon_rate"] == pytest.approx(1 / 6)
    assert overall["calls_per_hour"] == pytest.approx(3.0)
    assert (overall["connect_rate"], overall["voicemail"]) == (pytest.approx(4 / 9), 2)
    assert overall["avg_ring_seconds"] == pytest.approx(73 / 8)
    assert overall["avg_wait_seconds"] == pytest.approx(8.0)
    assert overall["avg_talk_seconds"] == pytest.approx(795 / 4)
    assert [(a["name"], a["calls"], a["talk_seconds"]) for a in body["agents"]] == [
        ("Alice Agent", 2, 720),
        ("Bob Caller", 2, 75),
    ]
    assert body["agents"][0]["occupancy"] == pytest.approx(720 / (3 * 3600))
    renewals = next(c for c in body["campaigns"] if c["campaign_name"] == "Renewals")
    assert (renewals["attempts"], renewals["abandoned"], renewals["dialing_hours"]) == (6, 1, 2)
    assert [h["start"] for h in body["hours"]] == [
        "2026-11-18T10:00:00-05:00",
        "2026-11-18T11:00:00-05:00",
        "2026-11-18T23:00:00-05:00",
    ]


def test_schema_lists_the_report_endpoints(api) -> None:  # type: ignore[no-untyped-def]
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content
    assert b"/api/reports/activity/" in schema
