"""Lead export: what a person opening the file in a spreadsheet sees."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from campaigns.models import Campaign
from leads.exporting import (
    LEAD_EXPORT_COLUMNS,
    SAMPLE_CSV_FILENAME,
    neutralize_cell,
    sample_csv,
    stream_leads_csv,
)
from leads.importing import lead_import_csv
from leads.models import Lead, LeadState
from tests.factories import NOW, CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db


def export(queryset) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    data = b"".join(stream_leads_csv(queryset))
    assert not data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Ada", "Ada"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralize_cell(value: str, expected: str) -> None:
    assert neutralize_cell(value) == expected


def test_export_has_a_readable_header_and_the_dialer_state() -> None:
    campaign = CampaignFactory()
    LeadFactory(
        campaign=campaign,
        number="+12025550143",
        first_name="Ada",
        state=LeadState.COOLOFF,
        attempts=2,
        last_result="no_answer",
        next_dial_at=NOW + timedelta(hours=1),
    )
    rows = export(Lead.objects.filter(campaign=campaign))
    assert tuple(rows[0].keys()) == LEAD_EXPORT_COLUMNS
    row = rows[0]
    assert row["number"] == "+12025550143"
    assert row["status"] == "Cool Off"
    assert row["attempts"] == "2"
    assert row["last_result"] == "no_answer"
    # 16:00 UTC is 11:00 in New York (the account timezone) in November.
    assert row["next_dial_time"] == "2026-11-18 11:00:00-05:00"


def test_export_neutralises_formulas_and_keeps_html_as_text() -> None:
    campaign = CampaignFactory()
    LeadFactory(
        campaign=campaign,
        first_name="=cmd|' /C calc'!A0",
        last_name="<script>alert('x')</script>",
        note="@SUM(1,2)",
        ticket_id="-1+2",
    )
    row = export(Lead.objects.filter(campaign=campaign))[0]
    assert row["first_name"] == "'=cmd|' /C calc'!A0"
    assert row["last_name"] == "<script>alert('x')</script>"
    assert row["note"] == "'@SUM(1,2)"
    assert row["ticket_id"] == "'-1+2"
    assert row["number"].startswith("+1")  # a real E.164 number is not a formula


def test_a_number_that_is_not_e164_is_neutralised() -> None:
    campaign = CampaignFactory()
    LeadFactory(campaign=campaign, number="+1+cmd")
    assert export(Lead.objects.filter(campaign=campaign))[0]["number"] == "'+1+cmd"


def test_export_streams_in_chunks_and_covers_every_lead(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from leads import exporting

    monkeypatch.setattr(exporting, "_FLUSH_BYTES", 200)
    campaign = CampaignFactory()
    for n in range(30):
        LeadFactory(campaign=campaign, number=f"+1202555{n:04d}")
    LeadFactory()  # another campaign's lead stays out
    chunks = list(stream_leads_csv(Lead.objects.filter(campaign=campaign)))
    assert len(chunks) > 5
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
    assert len(rows) == 30


def test_exported_file_can_be_uploaded_again() -> None:
    source = CampaignFactory()
    LeadFactory(campaign=source, number="+12025550143", first_name="Ada", priority=4, retries=2)
    data = b"".join(stream_leads_csv(Lead.objects.filter(campaign=source)))
    target = CampaignFactory()
    report = lead_import_csv(campaign=target, fileobj=io.BytesIO(data), now=NOW, actor="t")
    assert report.ok, report.summary()
    copy = Lead.objects.get(campaign=target)
    assert (copy.number, copy.first_name, copy.priority, copy.retries) == (
        "+12025550143",
        "Ada",
        4,
        2,
    )


def test_sample_csv_imports_cleanly() -> None:
    assert SAMPLE_CSV_FILENAME == "campaign-leads-sample.csv"
    text = sample_csv()
    assert text.splitlines()[0].startswith("number,priority,first_name")
    campaign = CampaignFactory()
    report = lead_import_csv(
        campaign=campaign, fileobj=io.BytesIO(text.encode()), now=NOW, actor="t"
    )
    assert report.ok, report.summary()
    assert report.imported == 3


def test_times_are_the_account_timezone_for_every_instant(settings) -> None:  # type: ignore[no-untyped-def]
    """The export reads times as text and converts each distinct one once: the same text as
    converting the datetime itself, across DST changes, with microseconds and repeats."""
    from zoneinfo import ZoneInfo

    settings.ACCOUNT_TIMEZONE = "America/New_York"
    zone = ZoneInfo("America/New_York")
    campaign = CampaignFactory()
    times = [NOW + timedelta(hours=7 * i, microseconds=999_999 * (i % 2)) for i in range(60)]
    times += [datetime(2026, 3, 8, 6, 59, 59, 500_000, tzinfo=UTC)]  # just before the change
    times += [datetime(2026, 11, 1, 6, 0, tzinfo=UTC)]  # the repeated hour
    for i, when in enumerate(times + times[:5]):
        LeadFactory(
            campaign=campaign,
            number=f"+1202555{i:04d}",
            next_dial_at=when,
            last_dialed_at=None if i % 3 else when - timedelta(minutes=1),
        )
    rows = export(Lead.objects.filter(campaign=campaign))
    leads = list(Lead.objects.filter(campaign=campaign).order_by("id"))
    assert len(rows) == len(leads) == 67
    for row, lead in zip(rows, leads, strict=True):
        shown = lead.next_dial_at.astimezone(zone).isoformat(sep=" ", timespec="seconds")
        assert row["next_dial_time"] == shown
        last = lead.last_dialed_at
        expected = last.astimezone(zone).isoformat(sep=" ", timespec="seconds") if last else ""
        assert row["last_dialed_time"] == expected
    assert rows[60]["next_dial_time"] == "2026-03-08 01:59:59-05:00"
    assert rows[61]["next_dial_time"] == "2026-11-01 01:00:00-05:00"


def test_export_streams_inside_a_transaction() -> None:
    """A cursor outside a transaction is WITH HOLD: PostgreSQL would copy every row first.
    The export's own transaction is where its SET LOCAL settings apply."""
    from django.db import connection

    campaign = CampaignFactory()
    LeadFactory(campaign=campaign)
    seen = []

    def spy(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        export(Lead.objects.filter(campaign=campaign))
    assert [sql for sql in seen if sql.startswith("SET LOCAL")] == [
        "SET LOCAL TimeZone = 'UTC'",
        "SET LOCAL DateStyle = 'ISO'",
        "SET LOCAL cursor_tuple_fraction = 1.0",
    ]


def test_an_export_uploads_again_unchanged() -> None:
    """Export, then upload the file into another campaign: every import column comes back as
    it was, including values the export guarded with an apostrophe, skill and extension."""
    source = cast(Campaign, CampaignFactory())
    LeadFactory(
        campaign=source,
        number="+12025550143",
        first_name="@Ann",
        last_name="-",
        ticket_id="+100",
        note="- call back after 5\n- ask for Bob",
        lead_type="=vip",
        skill="spanish",
        extension="204",
        priority=1000,
        cool_off=3000,
    )
    LeadFactory(campaign=source, number="+12025550144", first_name="'Tis", last_name="O'Brien")
    columns = ("first_name", "last_name", "ticket_id", "note", "lead_type", "skill", "extension",
               "priority", "cool_off")  # fmt: skip
    data = b"".join(stream_leads_csv(Lead.objects.filter(campaign=source)))
    target = cast(Campaign, CampaignFactory())
    report = lead_import_csv(campaign=target, fileobj=io.BytesIO(data), now=NOW, actor="t")
    assert report.ok, report.summary()
    before = list(Lead.objects.filter(campaign=source).order_by("number").values(*columns))
    after = list(Lead.objects.filter(campaign=target).order_by("number").values(*columns))
    assert after == before


def test_sample_has_skill_and_extension_and_they_import() -> None:
    text = sample_csv()
    assert text.splitlines()[0].endswith(",type,skill,extension")
    campaign = cast(Campaign, CampaignFactory())
    report = lead_import_csv(
        campaign=campaign, fileobj=io.BytesIO(text.encode()), now=NOW, actor="t"
    )
    assert report.ok, report.summary()
    ada = Lead.objects.get(campaign=campaign, first_name="Ada")
    assert (ada.skill, ada.extension) == ("spanish", "204")
