"""The report pages as a report viewer sees them."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Campaign
from dialer.models import Call, CallResult
from leads.models import LeadState
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db

NOV18 = {"date_from": "2026-11-18", "date_to": "2026-11-18"}


@pytest.fixture
def viewer_client(report_viewer) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(report_viewer)
    return client


def rows_of(html: str, table_id: str) -> list[str]:
    table = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.DOTALL)
    return [re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", r))).strip() for r in rows]


def kpi(html: str, name: str) -> str:
    return re.search(rf'data-kpi="{name}">([^<]*)<', html).group(1)  # type: ignore[union-attr]


def test_dashboard_shows_the_days_figures(viewer_client, call_set) -> None:  # type: ignore[no-untyped-def]
    html = viewer_client.get("/reports/", NOV18).content.decode()
    assert kpi(html, "attempts") == "9"
    assert kpi(html, "answered") == "6"
    assert kpi(html, "connected") == "4"
    assert kpi(html, "connect_rate") == "44.4%"
    assert kpi(html, "abandon_rate") == "16.7%"
    assert kpi(html, "avg_ring") == "9 s"
    assert kpi(html, "avg_wait") == "8 s"
    assert kpi(html, "avg_talk") == "3:19"
    assert kpi(html, "calls_per_hour") == "3.0"
    assert kpi(html, "wait_sla") == "33.3%"
    assert "<svg" in html
    assert "Attempts and connected calls per hour" in html
    campaigns = rows_of(html, "by-campaign")
    assert campaigns[0].startswith("Renewals Progressive 6 2 33.3% 25.0%")
    assert campaigns[1].startswith("Winback Preview 3 2 66.7% 0.0%")
    agents = rows_of(html, "by-agent")
    # Calls, connected, talk time, average talk, occupancy (talk over 3 dialing hours).
    assert agents == [
        "Alice Agent ext. 1001 2 2 12:00 6:00 6.7%",
        "Bob Caller ext. 1002 2 2 1:15 38 s 0.7%",
    ]


def test_dashboard_for_one_campaign(viewer_client, call_set) -> None:  # type: ignore[no-untyped-def]
    html = viewer_client.get(
        "/reports/", {**NOV18, "campaign": call_set.winback.pk}
    ).content.decode()
    assert "Dashboard: Winback" in html
    assert kpi(html, "attempts") == "3"
    # No Progressive campaign in view: no SLA figures.
    assert 'data-kpi="wait_sla"' not in html


def test_dashboard_opens_on_today_and_says_so_when_empty(viewer_client, call_set) -> None:  # type: ignore[no-untyped-def]
    response = viewer_client.get("/reports/")
    assert response.status_code == 200
    assert "No calls in this period." in response.content.decode()


def test_dashboard_refuses_a_backwards_date_range(viewer_client, call_set) -> None:  # type: ignore[no-untyped-def]
    html = viewer_client.get(
        "/reports/", {"date_from": "2026-11-19", "date_to": "2026-11-18"}
    ).content.decode()
    assert "The end date is before the start date." in html
    assert 'data-kpi="attempts"' not in html


def test_activity_lists_every_column_in_new_york_time(viewer_client, call_set) -> None:  # type: ignore[no-untyped-def]
    html = viewer_client.get("/reports/activity/", NOV18).content.decode()
    rows = rows_of(html, "activity")
    assert len(rows) == 9
    # Newest first; call 7 is 23:50 New York time (04:50 UTC the next day).
    assert rows[0] == (
        "2026-11-18 23:50:00 Winback Lead7 Tester +12025550107 +12025550100 "
        "Answered and connected NORMAL_CLEARING Alice Agent ext. 1001 4 s 10:00 1 s n/a n/a"
    )
    first = rows[-1]
    assert first.startswith("2026-11-18 10:00:00 Renewals Lead1 Tester")
    assert first.endswith("8 s 2:00 2 s Met Met Sale")
    abandoned = next(r for r in rows if "Lead3" in r)
    assert "Abandoned" in abandoned
    assert "—" in abandoned  # no agent
    assert "Missed" in abandoned
    assert "Export CSV" in html


def test_activity_page_applies_each_filter(viewer_client, call_set) -> None:  # type: ignore[no-untyped-def]
    s = call_set

    def leads(**params) -> list[str]:  # type: ignore[no-untyped-def]
        html = viewer_client.get("/reports/activity/", params).content.decode()
        return [re.search(r"Lead(\d+) ", row).group(1) for row in rows_of(html, "activity")]  # type: ignore[union-attr]

    assert leads(date_from="2026-11-19", date_to="2026-11-19") == ["8"]
    assert leads(date_to="2026-11-18") == ["7", "10", "9", "6", "5", "4", "3", "2", "1"]
    assert leads(campaign=s.winback.pk) == ["8", "7", "10", "6"]
    assert leads(agent=s.bob.pk) == ["10", "2"]
    assert leads(result="abandoned") == ["3"]
    assert leads(disposition=s.sale.pk) == ["1"]
    assert leads(campaign=s.renewals.pk, agent=s.alice.pk, **NOV18) == ["1"]
    # The filters a person chose stay chosen on the page they get back.
    html = viewer_client.get("/reports/activity/", {"agent": s.bob.pk}).content.decode()
    assert re.search(rf'<option value="{s.bob.pk}" selected>', html)


def test_activity_hides_sla_columns_for_a_preview_campaign(viewer_client, call_set) -> None:  # type: ignore[no-untyped-def]
    html = viewer_client.get("/reports/activity/", {"campaign": call_set.winback.pk}).content
    assert b"Wait SLA" not in html
    html = viewer_client.get("/reports/activity/", {"campaign": call_set.renewals.pk}).content
    assert b"Wait SLA" in html


def test_activity_pages_with_older_and_newer_links(viewer_client, call_set, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("reports.views.ACTIVITY_PAGE_SIZE", 4)
    first = viewer_client.get("/reports/activity/", {"result": "connected"}).content.decode()
    assert len(rows_of(first, "activity")) == 3
    assert 'rel="next"' not in first
    page = viewer_client.get("/reports/activity/").content.decode()
    older = re.search(r'rel="next" href="\?([^"]+)"', page).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    second = viewer_client.get(f"/reports/activity/?{older}").content.decode()
    assert len(rows_of(second, "activity")) == 4
    assert set(rows_of(second, "activity")).isdisjoint(rows_of(page, "activity"))
    newer = re.search(r'rel="prev" href="\?([^"]+)"', second).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    assert rows_of(
        viewer_client.get(f"/reports/activity/?{newer}").content.decode(), "activity"
    ) == rows_of(page, "activity")


def test_activity_with_a_broken_page_link_starts_over(viewer_client, call_set) -> None:  # type: ignore[no-untyped-def]
    html = viewer_client.get("/reports/activity/", {"after": "%%%"}).content.decode()
    assert "This page link is not valid" in html
    assert len(rows_of(html, "activity")) == 10


def test_activity_filter_errors_are_shown(viewer_client, call_set) -> None:  # type: ignore[no-untyped-def]
    html = viewer_client.get("/reports/activity/", {"date_from": "18/11/2026"}).content.decode()
    assert "Enter a valid date." in html
    assert 'id="activity"' not in html


@pytest.mark.parametrize(
    "query",
    [
        {"date_from": "2026-11-18", "date_to": "9999-12-31"},
        {"date_from": "0001-01-01", "date_to": "2026-11-18"},
    ],
)
def test_dates_far_out_of_range_are_a_form_error(viewer_client, call_set, query) -> None:  # type: ignore[no-untyped-def]
    for url in ("/reports/", "/reports/activity/"):
        response = viewer_client.get(url, query)
        assert response.status_code == 200
        assert "Pick a date between the years 2000 and 2999." in response.content.decode()


def test_a_page_link_with_a_non_ascii_digit_starts_over(viewer_client, call_set) -> None:  # type: ignore[no-untyped-def]
    assert viewer_client.get("/reports/leads/", {"after": "²"}).status_code == 200


def test_leads_status_counts_list_and_why_not_dialing(viewer_client, call_set) -> None:  # type: ignore[no-untyped-def]
    LeadFactory(campaign=call_set.renewals, first_name="Grace", last_name="Hopper",
                number="+12025550999", state=LeadState.COOLOFF,
                not_dialable_reason="Cool-off until 11:00")  # fmt: skip
    html = viewer_client.get(
        "/reports/leads/", {"campaign": call_set.renewals.pk, "status": "cool_off"}
    ).content.decode()
    counts = rows_of(html, "status-counts")
    # conftest made 6 Renewals leads (all Active) and 4 Winback ones.
    assert counts == ["Renewals 6 0 1 0 0 0 7", "Winback 4 0 0 0 0 0 4"]
    leads = rows_of(html, "lead-list")
    assert leads == [
        "Grace Hopper +12025550999 Renewals Cool Off 0 2026-11-18 10:00:00 Cool-off until 11:00"
    ]
    assert "refreshes every 5 seconds" in html


def test_leads_status_live_fragment_is_the_same_table_without_the_page(
    viewer_client, call_set
) -> None:  # type: ignore[no-untyped-def]
    response = viewer_client.get("/reports/leads/live/", {"name": "lead1"})
    html = response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert "<html" not in html
    assert 'id="status-counts"' in html
    assert [r.split(" +1")[0] for r in rows_of(html, "lead-list")] == [
        "Lead1 Tester",
        "Lead10 Tester",
    ]


def test_report_pages_refuse_changes(viewer_client, admin_user, call_set) -> None:  # type: ignore[no-untyped-def]
    for url in [
        "/reports/",
        "/reports/activity/",
        "/reports/leads/",
        "/reports/activity/export.csv",
        "/reports/compliance/",
    ]:
        assert viewer_client.post(url).status_code == 405


def live_answer(campaign: Campaign, *, hours_ago: float, reached_agent: bool) -> None:
    at = timezone.now() - timedelta(hours=hours_ago)
    lead = LeadFactory(campaign=campaign)
    Call.objects.create(
        campaign=campaign, lead=lead, attempt=1, number=lead.number,
        requested_at=at - timedelta(seconds=10), answered_at=at,
        agent_answered_at=at + timedelta(seconds=1) if reached_agent else None,
        hangup_at=at + timedelta(seconds=30), amd_result="HUMAN",
        result=CallResult.CONNECTED if reached_agent else CallResult.ABANDONED,
    )  # fmt: skip


@pytest.fixture
def ledgers() -> dict[str, Campaign]:
    over = CampaignFactory(name="Autumn offer", type="predictive")
    for n in range(10):  # one abandon in ten live answers, an hour ago
        live_answer(over, hours_ago=1, reached_agent=n > 0)
    uk = CampaignFactory(name="Boiler cover", type="predictive", abandon_window="24h")
    for _ in range(4):
        live_answer(uk, hours_ago=2, reached_agent=True)
    live_answer(uk, hours_ago=30, reached_agent=False)  # outside the UK 24-hour window
    quiet = CampaignFactory(name="Cold list")
    return {"over": over, "uk": uk, "quiet": quiet}


def test_compliance_report_shows_each_campaign_against_its_cap(viewer_client, ledgers) -> None:  # type: ignore[no-untyped-def]
    html = viewer_client.get("/reports/compliance/").content.decode()
    rows = rows_of(html, "compliance")
    assert rows[0].startswith("Autumn offer Predictive 30 days (US: FTC TSR, FCC) 10 1 10.00% 3.0%")
    assert "Over the cap" in rows[0]
    assert rows[1].startswith("Boiler cover Predictive 24 hours (UK: Ofcom) 4 0 0.00% 3.0%")
    assert "Within the cap" in rows[1]
    assert rows[2].startswith("Cold list")
    assert "No live answers yet" in rows[2]
    uk = ledgers["uk"].pk
    assert f"/reports/compliance/{uk}/ledger.csv?window=30d" in html
    assert f"/reports/compliance/{uk}/ledger.csv?window=24h" in html


def test_compliance_report_costs_one_query_per_campaign(viewer_client, ledgers) -> None:  # type: ignore[no-untyped-def]
    # An account with hundreds of campaigns still gets its compliance page in one go.
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert viewer_client.get("/reports/compliance/").status_code == 200
        return len(ctx.captured_queries)

    before = queries()
    for n in range(4):
        live_answer(CampaignFactory(name=f"List {n}"), hours_ago=1, reached_agent=False)
    assert queries() - before == 4


def test_report_viewer_downloads_the_ledger_proof(viewer_client, ledgers) -> None:  # type: ignore[no-untyped-def]
    uk = ledgers["uk"]
    response = viewer_client.get(f"/reports/compliance/{uk.pk}/ledger.csv", {"window": "30d"})
    assert response.status_code == 200
    assert "boiler-cover-abandon-ledger-30d-" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[-2][:4] == ["live_answers", "5", "abandons", "1"]  # the 30 h old drop counts
    assert viewer_client.get("/reports/compliance/999999/ledger.csv").status_code == 404
