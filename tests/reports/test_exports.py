"""CSV exports: what a person opening them in a spreadsheet sees."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import cast

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from campaigns.models import Campaign
from leads.models import LeadState
from reports.csv import (
    ACTIVITY_COLUMNS,
    python_activity_csv,
    stream_activity_csv,
    stream_lead_status_csv,
)
from reports.selectors import CallFilters, LeadFilters
from tests.factories import CallFactory, CampaignFactory, DispositionFactory, LeadFactory
from tests.reports.conftest import NY, ny

pytestmark = pytest.mark.django_db


def read(chunks) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    data = b"".join(chunks)
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


@pytest.fixture
def viewer_client(report_viewer) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(report_viewer)
    return client


def test_activity_export_rows_headers_and_new_york_times_with_offset(call_set) -> None:  # type: ignore[no-untyped-def]
    rows = read(stream_activity_csv(CallFilters(date_from=date(2026, 11, 18),
                                                date_to=date(2026, 11, 18))))  # fmt: skip
    # Headers in words, units in brackets: what a person reads in a spreadsheet.
    assert list(rows[0]) == [
        "Time", "Campaign", "Lead", "Lead ID", "Number", "Caller ID name", "Caller ID number",
        "Attempt", "Dial result", "Hangup cause", "Answering machine", "Agent",
        "Agent extension", "Ring time (s)", "Talk time (s)", "Customer wait (s)",
        "Customer wait SLA", "Agent SLA", "Disposition", "Call ID",
    ]  # fmt: skip
    assert list(rows[0]) == list(ACTIVITY_COLUMNS)
    assert len(rows) == 9
    late = rows[0]
    assert late["Time"] == "2026-11-18 23:50:00-05:00"
    assert late["Campaign"] == "Winback"
    assert late["Lead"] == "Lead7 Tester"
    assert late["Number"] == "+12025550107"
    assert late["Caller ID number"] == "+12025550100"
    assert late["Dial result"] == "Answered and connected"
    assert (late["Agent"], late["Agent extension"]) == ("Alice Agent", "1001")
    assert (late["Ring time (s)"], late["Talk time (s)"], late["Customer wait (s)"]) == (
        "4.0",
        "600.0",
        "1.0",
    )
    # Not a Progressive campaign: no SLA cells.
    assert (late["Customer wait SLA"], late["Agent SLA"]) == ("", "")
    first = rows[-1]
    assert first["Time"] == "2026-11-18 10:00:00-05:00"
    assert (first["Customer wait SLA"], first["Agent SLA"], first["Disposition"]) == (
        "Met",
        "Met",
        "Sale",
    )
    abandoned = next(r for r in rows if r["Lead"] == "Lead3 Tester")
    assert (abandoned["Dial result"], abandoned["Agent"], abandoned["Customer wait SLA"]) == (
        "Abandoned",
        "",
        "Missed",
    )


def test_activity_export_cells_cannot_run_formulas(call_set) -> None:  # type: ignore[no-untyped-def]
    campaign = cast(Campaign, CampaignFactory(name="=cmd|' /C calc'!A0", type="progressive"))
    odd = DispositionFactory(queue=campaign.queue, code="odd", label="+SUM(1,2)")
    lead = LeadFactory(campaign=campaign, first_name="=HYPERLINK(\"http://x\")",
                       last_name="", number="+12025550777")  # fmt: skip
    CallFactory(lead=lead, requested_at=ny(18, 12, 0), hangup_cause="-CMD", agent_name="@SUM(A1)",
                caller_id_name="+1+1", caller_id_number="=1+1", disposition=odd,
                agent_extension="\t=1")  # fmt: skip
    row = read(stream_activity_csv(CallFilters(campaign_id=campaign.pk)))[0]
    assert row["Campaign"] == "'=cmd|' /C calc'!A0"
    assert row["Lead"] == '\'=HYPERLINK("http://x")'
    assert row["Hangup cause"] == "'-CMD"
    assert row["Agent"] == "'@SUM(A1)"
    assert row["Agent extension"] == "'\t=1"
    assert row["Caller ID name"] == "'+1+1"
    assert row["Caller ID number"] == "'=1+1"
    assert row["Disposition"] == "'+SUM(1,2)"
    # A valid E.164 number is kept as is: digits cannot be a formula.
    assert row["Number"] == "+12025550777"


def test_the_database_and_python_write_the_same_export(call_set) -> None:  # type: ignore[no-untyped-def]
    # PostgreSQL writes the export itself (COPY); the SQLite demo's Python writer must give a
    # person the same file: same cells, quoting, formula guards, times and empty cells.
    lead = LeadFactory(campaign=call_set.renewals, first_name=' "Quoted", name ',
                       last_name="=1+1", number="+12025550777")  # fmt: skip
    CallFactory(lead=lead, requested_at=datetime(2026, 7, 4, 9, 30, tzinfo=NY),
                hangup_cause="-CMD", caller_id_name="line\nbreak", caller_id_number="0123",
                agent_extension="@1", ring_seconds=12.34, talk_seconds=0.0,
                customer_wait_sla_met=True, agent_sla_met=False)  # fmt: skip
    for filters in (CallFilters(), CallFilters(campaign_id=call_set.renewals.pk)):
        database = b"".join(stream_activity_csv(filters))
        python = b"".join(python_activity_csv(filters))
        assert database.decode().splitlines() == python.decode().splitlines()
        assert database == python
    row = read([database])[-1]  # the oldest: July
    assert (row["Time"], row["Lead"], row["Caller ID number"]) == (
        "2026-07-04 09:30:00-04:00",
        '"Quoted", name  =1+1',
        "0123",
    )
    assert (row["Ring time (s)"], row["Talk time (s)"], row["Customer wait (s)"]) == (
        "12.3",
        "0.0",
        "",
    )


def test_activity_export_times_carry_the_summer_offset(call_set) -> None:  # type: ignore[no-untyped-def]
    # New York is UTC-04:00 in July: the offset written is the one of that day, not today's.
    CallFactory(lead=call_set.calls[1].lead, requested_at=datetime(2026, 7, 4, 9, 30, tzinfo=NY))
    rows = read(stream_activity_csv(CallFilters(date_to=date(2026, 7, 31))))
    assert [r["Time"] for r in rows] == ["2026-07-04 09:30:00-04:00"]


def test_lead_status_export_cells_cannot_run_formulas(db) -> None:  # type: ignore[no-untyped-def]
    campaign = cast(Campaign, CampaignFactory(name="@Renewals"))
    LeadFactory(campaign=campaign, first_name="=2+5", last_name="-Smith", state=LeadState.FAILED,
                last_result="+NO_ANSWER", not_dialable_reason="=WEBSERVICE(1)")  # fmt: skip
    [row] = read(stream_lead_status_csv(LeadFilters(campaign_id=campaign.pk)))
    assert (row["Campaign"], row["First name"], row["Last name"]) == (
        "'@Renewals",
        "'=2+5",
        "'-Smith",
    )
    assert (row["Last result"], row["Why not dialing"]) == ("'+NO_ANSWER", "'=WEBSERVICE(1)")
    assert row["Status"] == "Failed"


def test_lead_status_export_with_filters(call_set) -> None:  # type: ignore[no-untyped-def]
    LeadFactory(campaign=call_set.renewals, first_name="Grace", last_name="Hopper",
                number="+12025550999", state=LeadState.CALLBACK, attempts=2,
                not_dialable_reason="Callback at 14:00",
                last_dialed_at=ny(18, 9, 30))  # fmt: skip
    rows = read(stream_lead_status_csv(LeadFilters(campaign_id=call_set.renewals.pk,
                                                   status="cool_off")))  # fmt: skip
    assert rows == [
        {
            "Campaign": "Renewals",
            "Lead ID": rows[0]["Lead ID"],
            "First name": "Grace",
            "Last name": "Hopper",
            "Number": "+12025550999",
            "Status": "Cool Off",
            "Attempts": "2",
            "Last result": "",
            "Last dialed": "2026-11-18 09:30:00-05:00",
            "Next dial": "2026-11-18 10:00:00-05:00",
            "Why not dialing": "Callback at 14:00",
            "Lead timezone": "America/New_York",
        }
    ]


def test_page_export_is_streamed_and_applies_the_pages_filters(viewer_client, call_set) -> None:  # type: ignore[no-untyped-def]
    response = viewer_client.get(
        "/reports/activity/export.csv", {"agent": call_set.alice.pk, "date_from": "2026-11-18"}
    )
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="campaign-activity-')
    rows = read(response.streaming_content)
    assert [r["Lead"] for r in rows] == ["Lead7 Tester", "Lead1 Tester"]


def _filters(s) -> list[tuple[dict[str, str | int], list[str]]]:  # type: ignore[no-untyped-def]
    """(query, the leads of the conftest calls it must export, newest first)."""
    return [
        ({"date_from": "2026-11-19", "date_to": "2026-11-19"}, ["Lead8"]),
        ({"date_to": "2026-11-18", "campaign": s.winback.pk}, ["Lead7", "Lead10", "Lead6"]),
        ({"agent": s.bob.pk}, ["Lead10", "Lead2"]),
        ({"result": "voicemail"}, ["Lead10", "Lead4"]),
        ({"disposition": s.sale.pk}, ["Lead1"]),
        ({"campaign": s.renewals.pk, "result": "abandoned"}, ["Lead3"]),
    ]


def test_page_and_api_exports_apply_each_filter(viewer_client, report_viewer, call_set) -> None:  # type: ignore[no-untyped-def]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=report_viewer).key}")
    for query, expected in _filters(call_set):
        for response in (
            viewer_client.get("/reports/activity/export.csv", query),
            api.get("/api/reports/activity/export.csv", query),
        ):
            assert response.status_code == 200, query
            rows = read(response.streaming_content)  # type: ignore[union-attr]
            assert [r["Lead"].removesuffix(" Tester") for r in rows] == expected, query


def test_page_export_with_bad_filters_says_why(viewer_client, call_set) -> None:  # type: ignore[no-untyped-def]
    response = viewer_client.get("/reports/activity/export.csv", {"result": "exploded"})
    assert response.status_code == 400
    assert b"result" in response.content


def test_api_export_with_bad_filters_says_why(report_viewer, call_set) -> None:  # type: ignore[no-untyped-def]
    api = APIClient()
    api.force_authenticate(report_viewer)
    response = api.get(
        "/api/reports/activity/export.csv", {"date_from": "2026-11-19", "date_to": "2026-11-18"}
    )
    assert response.status_code == 400
    assert response.json() == {"date_to": ["The end date is before the start date."]}


def test_lead_status_page_export(viewer_client, call_set) -> None:  # type: ignore[no-untyped-def]
    response = viewer_client.get("/reports/leads/export.csv", {"campaign": call_set.winback.pk})
    assert response.status_code == 200
    rows = read(response.streaming_content)
    assert sorted(r["First name"] for r in rows) == ["Lead10", "Lead6", "Lead7", "Lead8"]
    assert {r["Status"] for r in rows} == {"Active"}


def test_a_lone_carriage_return_is_quoted_by_both_writers(call_set) -> None:  # type: ignore[no-untyped-def]
    # Written bare, "a\rb" reads back as two rows in a spreadsheet or csv reader.
    lead = LeadFactory(campaign=call_set.renewals, first_name="Ann", last_name="x\ry",
                       number="+12025550778")  # fmt: skip
    CallFactory(lead=lead, requested_at=datetime(2026, 7, 4, 9, 30, tzinfo=NY),
                hangup_cause="A\rB", caller_id_name="\r=1")  # fmt: skip
    filters = CallFilters(campaign_id=call_set.renewals.pk)
    database = b"".join(stream_activity_csv(filters))
    python = b"".join(python_activity_csv(filters))
    assert python == database
    row = read([python])[-1]
    assert (row["Lead"], row["Hangup cause"], row["Caller ID name"]) == (
        "Ann x\ry",
        "A\rB",
        "'\r=1",
    )
    assert b'"A\rB"' in python


def test_the_export_leaves_the_database_session_in_utc(call_set) -> None:  # type: ignore[no-untyped-def]
    from dialer.models import Call

    # The test runs inside a transaction, as any caller of the export may: the account
    # timezone the export sets for its COPY must not outlive it.
    call = call_set.calls[1]
    before = Call.objects.get(pk=call.pk).requested_at
    b"".join(stream_activity_csv(CallFilters()))
    assert Call.objects.get(pk=call.pk).requested_at == before
