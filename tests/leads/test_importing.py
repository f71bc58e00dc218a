"""CSV lead import: every rule a person uploading a file would run into."""

from __future__ import annotations

import io
import threading
import time
from typing import cast

import pytest
from django.db import connection

from campaigns.models import Campaign, RunStatus
from campaigns.services import CampaignRunning
from leads import importing
from leads.importing import ImportReport, RowError, lead_import_csv
from leads.models import DoNotCall, Lead, LeadState
from tests.factories import NOW, CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db

HEADER = (
    "number,priority,first_name,last_name,retries,ticket_id,"
    "cool_off,cool_off_2nd,cool_off_3rd,note,type\n"
)


def run(campaign, content: bytes | str) -> ImportReport:  # type: ignore[no-untyped-def]
    data = content.encode() if isinstance(content, str) else content
    return lead_import_csv(campaign=campaign, fileobj=io.BytesIO(data), now=NOW, actor="tester")


def reasons(report: ImportReport) -> dict[int, str]:
    return {e.line: e.reason for e in report.rejected}


def test_good_rows_import_with_every_column() -> None:
    campaign = CampaignFactory()
    report = run(
        campaign,
        HEADER
        + "(202) 555-0143,5,Ada,Lovelace,4,T-1,60,120,240,call after 5,vip\n"
        + "+44 20 7946 0018,1,Bob,,,,,,,,\n",
    )
    assert report.ok, report.summary()
    assert report.imported == 2
    ada = Lead.objects.get(campaign=campaign, first_name="Ada")
    assert ada.number == "+12025550143"
    assert (ada.priority, ada.retries, ada.ticket_id) == (5, 4, "T-1")
    assert (ada.cool_off, ada.cool_off_2nd, ada.cool_off_3rd) == (60, 120, 240)
    assert (ada.note, ada.lead_type, ada.last_name) == ("call after 5", "vip", "Lovelace")
    assert ada.state == LeadState.NEW
    assert ada.next_dial_at == NOW
    assert ada.created_at == NOW
    assert ada.timezone == "America/New_York"
    assert ada.timezones == ["America/New_York"]
    bob = Lead.objects.get(campaign=campaign, first_name="Bob")
    assert bob.number == "+442079460018"
    assert bob.timezone == "Europe/London"
    assert bob.retries is None
    assert bob.cool_off is None


def test_timezones_come_from_the_number_else_the_account(settings) -> None:  # type: ignore[no-untyped-def]
    settings.ACCOUNT_TIMEZONE = "Europe/Paris"
    campaign = CampaignFactory()
    report = run(
        campaign,
        "number,priority,first_name\n"
        "+1 800 234 5678,1,TollFree\n"  # rings anywhere in the country
        "+80012345678,1,Intl\n"  # international freephone: no zone of its own
        "+7 495 123 4567,1,Moscow\n",
    )
    assert report.ok, report.summary()
    toll_free = Lead.objects.get(campaign=campaign, first_name="TollFree")
    assert {"America/New_York", "America/Los_Angeles"} <= set(toll_free.timezones)
    assert toll_free.timezone == toll_free.timezones[0]
    intl = Lead.objects.get(campaign=campaign, first_name="Intl")
    assert (intl.timezone, intl.timezones) == ("Europe/Paris", ["Europe/Paris"])
    moscow = Lead.objects.get(campaign=campaign, first_name="Moscow")
    assert (moscow.timezone, moscow.timezones) == ("Europe/Moscow", ["Europe/Moscow"])


def test_national_numbers_use_the_account_region(settings) -> None:  # type: ignore[no-untyped-def]
    settings.ACCOUNT_DEFAULT_REGION = "GB"
    campaign = CampaignFactory()
    report = run(campaign, "number,priority,first_name\n020 7946 0018,1,Ann\n")
    assert report.ok, report.summary()
    assert Lead.objects.get(campaign=campaign).number == "+442079460018"


def test_header_is_case_insensitive_and_trimmed_and_columns_may_be_in_any_order() -> None:
    campaign = CampaignFactory()
    report = run(campaign, " First_Name ;PRIORITY; Number \nAda;3;2025550143\n")
    assert report.ok, report.summary()
    lead = Lead.objects.get(campaign=campaign)
    assert (lead.first_name, lead.priority, lead.number) == ("Ada", 3, "+12025550143")


def test_unknown_columns_are_ignored() -> None:
    campaign = CampaignFactory()
    report = run(campaign, "number,priority,first_name,favourite_colour\n2025550143,1,Ada,blue\n")
    assert report.ok
    assert report.imported == 1


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_utf8_with_or_without_bom(bom: bytes) -> None:
    campaign = CampaignFactory()
    report = run(campaign, bom + "number,priority,first_name\n2025550143,1,Zoë 東京\n".encode())
    assert report.ok, report.summary()
    assert Lead.objects.get(campaign=campaign).first_name == "Zoë 東京"


def test_latin1_file_is_read() -> None:
    campaign = CampaignFactory()
    data = "number;priority;first_name;last_name\n2025550143;1;José;Müller\n".encode("latin-1")
    report = run(campaign, data)
    assert report.ok, report.summary()
    lead = Lead.objects.get(campaign=campaign)
    assert (lead.first_name, lead.last_name) == ("José", "Müller")


def test_semicolon_separator_is_detected_and_quoted_values_keep_separators() -> None:
    campaign = CampaignFactory()
    report = run(campaign, 'number;priority;first_name;note\n2025550143;1;Ada;"a; b, c"\n')
    assert report.ok, report.summary()
    assert Lead.objects.get(campaign=campaign).note == "a; b, c"


def test_crlf_line_endings_and_multiline_quoted_note_keep_line_numbers() -> None:
    campaign = CampaignFactory()
    report = run(
        campaign,
        'number,priority,first_name,note\r\n2025550143,1,Ada,"two\r\nlines"\r\nbad,1,Bob,\r\n',
    )
    assert report.imported == 1
    assert Lead.objects.get(campaign=campaign).note == "two\r\nlines"
    assert list(reasons(report)) == [4]


def test_missing_required_columns_reject_the_whole_file_naming_them() -> None:
    campaign = CampaignFactory()
    report = run(campaign, "Number,name\n2025550143,Ada\n")
    assert report.error is not None
    assert report.error.startswith("the header has no priority, first_name columns")
    assert report.imported == 0
    assert not report.ok
    assert not Lead.objects.exists()
    assert report.summary().startswith("Nothing was imported")


def test_duplicate_column_rejects_the_file() -> None:
    report = run(CampaignFactory(), "number,priority,first_name,Number\n1,1,a,2\n")
    assert report.error is not None
    assert "number appears twice" in report.error


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\xef\xbb\xbf", "empty"),
        (b"number,priority,first_name\n\x00\x01\x02\x03binary", "binary"),
        (bytes(range(256)) * 4, "binary"),
        (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 50, "workbook"),
        ("number,priority\n".encode("utf-16"), "UTF-16"),
    ],
)
def test_empty_and_binary_files_get_a_clear_message(content: bytes, message: str) -> None:
    report = run(CampaignFactory(), content)
    assert report.error is not None
    assert message in report.error
    assert not Lead.objects.exists()


def test_header_only_file_imports_nothing_without_error() -> None:
    report = run(CampaignFactory(), "number,priority,first_name\n")
    assert report.ok
    assert report.imported == 0


def test_over_limit_file_is_refused_with_its_size(settings) -> None:  # type: ignore[no-untyped-def]
    settings.LEAD_IMPORT_MAX_BYTES = 1_048_576
    content = HEADER + "2025550143,1,Ada,,,,,,,,\n" * 50_000
    report = run(CampaignFactory(), content)
    assert report.error is not None
    assert "limit is 1 MB" in report.error
    assert not Lead.objects.exists()


def test_over_limit_stream_of_unknown_size_is_refused_and_nothing_is_kept(settings) -> None:  # type: ignore[no-untyped-def]
    settings.LEAD_IMPORT_MAX_BYTES = 100_000

    class Pipe(io.RawIOBase):
        """A stream that cannot tell its size up front (like a chunked upload)."""

        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, b):  # type: ignore[no-untyped-def]
            chunk = self._data.read(len(b))
            b[: len(chunk)] = chunk
            return len(chunk)

    rows = "".join(f"+1202555{n:04d},1,Ada\n" for n in range(9000))
    data = ("number,priority,first_name\n" + rows).encode()
    campaign = CampaignFactory()
    report = lead_import_csv(campaign=campaign, fileobj=Pipe(data), now=NOW, actor="t")  # type: ignore[arg-type]
    assert report.error is not None
    assert "limit" in report.error
    assert not Lead.objects.exists()


def test_every_bad_row_is_reported_with_its_line_and_reason_and_good_rows_import() -> None:
    campaign = CampaignFactory()
    LeadFactory(campaign=campaign, number="+12025550100", first_name="Existing")
    DoNotCall.objects.create(number="+12025550101")
    DoNotCall.objects.create(number="+12025550102", campaign=campaign)
    other = CampaignFactory()
    DoNotCall.objects.create(number="+12025550103", campaign=other)
    content = (
        "number,priority,first_name,retries,cool_off,cool_off_2nd,cool_off_3rd\n"
        "2025550143,1,Good,,,,\n"  # 2
        "12345,1,BadNumber,,,,\n"  # 3
        "2025550144,1,,,,,\n"  # 4
        "2025550145,high,Ada,,,,\n"  # 5
        "2025550146,1,Ada,three,,,\n"  # 6
        "2025550147,1,Ada,,soon,,\n"  # 7
        "2025550148,1,Ada,,,-5,\n"  # 8
        "2025550149,1,Ada,,,,1.5\n"  # 9
        "2025550100,1,Existing,,,,\n"  # 10
        "2025550143,1,Again,,,,\n"  # 11
        "2025550101,1,AccountDnc,,,,\n"  # 12
        "2025550102,1,CampaignDnc,,,,\n"  # 13
        "2025550103,1,OtherCampaignDnc,,,,\n"  # 14
        ",1,NoNumber,,,,\n"  # 15
        "2025550150,,NoPriority,,,,\n"  # 16
        "2025550151,2.0,WholeFloat,,,,\n"  # 17
    )
    report = run(campaign, content)
    got = reasons(report)
    assert report.error is None
    assert set(got) == {3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16}
    assert "invalid number '12345'" in got[3]
    assert "first name is missing" in got[4]
    assert "priority 'high' is not a whole number" in got[5]
    assert "retries 'three' is not a whole number" in got[6]
    assert "cool-off 'soon' is not a whole number" in got[7]
    assert "2nd cool-off -5 is out of range" in got[8]
    assert "3rd cool-off '1.5' is not a whole number" in got[9]
    assert "already a lead of this campaign" in got[10]
    assert "duplicate of line 2" in got[11]
    assert "account's Do-Not-Call list" in got[12]
    assert "this campaign's Do-Not-Call list" in got[13]
    assert "number is missing" in got[15]
    assert "priority is missing" in got[16]
    assert report.imported == 3
    assert report.rejected_count == 13
    assert set(Lead.objects.filter(campaign=campaign).values_list("first_name", flat=True)) == {
        "Existing",
        "Good",
        "OtherCampaignDnc",
        "WholeFloat",
    }
    assert not report.ok
    summary = report.summary()
    assert summary.startswith("Imported 3 leads. Rejected 13 rows — line 3: invalid number")
    assert "and 8 more" in summary


def test_a_row_with_several_problems_lists_them_all() -> None:
    report = run(CampaignFactory(), "number,priority,first_name\nnope,x,\n")
    reason = reasons(report)[2]
    assert "invalid number" in reason
    assert "first name is missing" in reason
    assert "priority 'x'" in reason


def test_a_rejected_row_does_not_block_a_later_good_row_with_the_same_number() -> None:
    campaign = CampaignFactory()
    report = run(campaign, "number,priority,first_name\n2025550143,1,\n2025550143,1,Ada\n")
    assert report.imported == 1
    assert list(reasons(report)) == [2]


def test_extra_values_beyond_the_header_reject_the_row() -> None:
    report = run(CampaignFactory(), "number,priority,first_name\n2025550143,1,Smith, John\n")
    assert "header has 3 columns" in reasons(report)[2]


def test_too_long_text_is_rejected_not_cut() -> None:
    report = run(CampaignFactory(), f"number,priority,first_name\n2025550143,1,{'x' * 101}\n")
    assert "first name is longer than 100 characters" in reasons(report)[2]


def test_html_and_formulas_are_stored_as_plain_text() -> None:
    campaign = CampaignFactory()
    run(campaign, 'number,priority,first_name,note\n2025550143,1,<script>x</script>,"=1+1"\n')
    lead = Lead.objects.get(campaign=campaign)
    assert lead.first_name == "<script>x</script>"
    assert lead.note == "=1+1"


def test_blank_lines_are_skipped_and_line_numbers_stay_true() -> None:
    report = run(CampaignFactory(), "number,priority,first_name\n\n2025550143,1,Ada\n\n,1,B\n")
    assert report.imported == 1
    assert list(reasons(report)) == [5]


def test_rejections_beyond_the_kept_limit_are_still_counted(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(importing, "MAX_REPORTED_ERRORS", 3)
    report = run(CampaignFactory(), "number,priority,first_name\n" + "bad,1,A\n" * 7)
    assert len(report.rejected) == 3
    assert report.rejected_count == 7
    assert "and 4 more" in report.summary()


def test_running_campaign_refuses_the_upload() -> None:
    campaign = CampaignFactory(run_status=RunStatus.RUNNING)
    with pytest.raises(CampaignRunning, match="stop it before you upload"):
        run(campaign, "number,priority,first_name\n2025550143,1,Ada\n")
    assert not Lead.objects.exists()


def test_campaign_started_elsewhere_is_seen_even_through_a_stale_instance() -> None:
    campaign = CampaignFactory()
    type(campaign).objects.filter(pk=campaign.pk).update(run_status=RunStatus.RUNNING)
    with pytest.raises(CampaignRunning):
        run(campaign, "number,priority,first_name\n2025550143,1,Ada\n")


@pytest.mark.django_db(transaction=True)
def test_a_start_during_an_import_waits_for_the_import_to_finish() -> None:
    """The import holds the campaign row lock: a start cannot slip in half way."""
    from campaigns.models import Campaign

    campaign = CampaignFactory()
    started = threading.Event()
    start_done: list[float] = []

    class SlowFile(io.RawIOBase):
        def __init__(self) -> None:
            self._data = io.BytesIO(b"number,priority,first_name\n2025550143,1,Ada\n")
            self._slept = False

        def readable(self) -> bool:
            return True

        def readinto(self, b):  # type: ignore[no-untyped-def]
            if not self._slept and self._data.tell() > 0:
                self._slept = True
                started.set()
                time.sleep(0.5)
            chunk = self._data.read(min(len(b), 10))
            b[: len(chunk)] = chunk
            return len(chunk)

    def start_campaign() -> None:
        started.wait(5)
        try:
            Campaign.objects.filter(pk=campaign.pk).update(run_status=RunStatus.RUNNING)
            start_done.append(time.monotonic())
        finally:
            connection.close()

    starter = threading.Thread(target=start_campaign)
    starter.start()
    report = lead_import_csv(campaign=campaign, fileobj=SlowFile(), now=NOW, actor="t")  # type: ignore[arg-type]
    finished = time.monotonic()
    starter.join(10)
    assert report.imported == 1
    assert start_done
    assert start_done[0] >= finished - 0.05


def test_generic_path_without_copy_gives_the_same_result(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The SQLite demo inserts with bulk_create instead of COPY."""
    monkeypatch.setattr(importing, "_use_copy", lambda: False)
    monkeypatch.setattr(importing, "_BATCH_SIZE", 2)
    campaign = CampaignFactory()
    rows = "".join(f"+1202555{n:04d},{n},N{n},,,,,,,,\n" for n in range(5))
    report = run(campaign, HEADER + rows)
    assert report.ok, report.summary()
    assert Lead.objects.filter(campaign=campaign).count() == 5
    assert Lead.objects.get(campaign=campaign, first_name="N3").timezones == ["America/New_York"]


def test_report_dataclasses_keep_their_shape() -> None:
    report = ImportReport(2, [RowError(3, "bad")])
    assert report.rejected_count == 1
    assert report.as_dict()["rejected"] == [{"line": 3, "reason": "bad"}]
    assert ImportReport(0, [], error="x").summary() == "Nothing was imported: x"


@pytest.mark.parametrize(
    "raw",
    [
        "+12025550143",
        "(212) 555-0187",
        "+1 800 234 5678",
        "+1 514 555 0123",
        "+1 268 464 1234",
        "+44 7911 123456",
        "+44 20 7946 0018",
        "+33 6 12 34 56 78",
        "+49 30 901820",
        "+61 2 9374 4000",
        "+7 495 123 4567",
        "+80012345678",
        "+39 06 6982 1234",
        "+52 55 1234 5678",
        "+1 202 555 01",
        "+44 20 7946",
        "+1 999 123 4567",
    ],
)
def test_import_reads_numbers_exactly_as_phonenumbers_does(raw: str) -> None:
    """leads.phone reads validity and zones from one type lookup; same answer as the library."""
    import phonenumbers
    from phonenumbers import timezone as pn_timezone

    from leads.phone import InvalidNumber, parse_number

    parsed = phonenumbers.parse(raw, "US")
    if not phonenumbers.is_valid_number(parsed):
        with pytest.raises(InvalidNumber):
            parse_number(raw, "US")
        return
    info = parse_number(raw, "US")
    assert info.e164 == phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    assert info.region == phonenumbers.region_code_for_number(parsed)
    zones = pn_timezone.time_zones_for_number(parsed)
    assert info.timezones == tuple(sorted(z for z in zones if z != "Etc/Unknown"))


def test_big_imports_read_numbers_in_worker_processes_with_the_same_result(settings) -> None:  # type: ignore[no-untyped-def]
    """Worker processes read the numbers; lines, reasons, order and duplicates stay true."""
    settings.LEAD_IMPORT_WORKERS = 2
    settings.LEAD_IMPORT_PARALLEL_FROM = 0
    campaign = CampaignFactory()
    DoNotCall.objects.create(number="+12025559000")
    rows = [f"+1202555{n:04d},1,N{n}\n" for n in range(4500)]
    rows[10] = "bad,1,Bad\n"  # line 12
    rows[3000] = "+12025550001,1,Again\n"  # line 3002: duplicate of line 3
    rows[4400] = "+1 202 555 9000,1,Dnc\n"  # line 4402
    report = run(campaign, "number,priority,first_name\n" + "".join(rows))
    got = reasons(report)
    assert list(got) == [12, 3002, 4402]
    assert "invalid number 'bad'" in got[12]
    assert "duplicate of line 3" in got[3002]
    assert "Do-Not-Call" in got[4402]
    assert report.imported == 4497
    lead = Lead.objects.get(campaign=campaign, first_name="N4499")
    assert (lead.number, lead.timezone) == ("+12025554499", "America/New_York")


def test_fields_the_import_does_not_set_get_their_model_defaults() -> None:
    """COPY names its columns; a field added to Lead later still gets its default."""
    campaign = CampaignFactory()
    report = run(campaign, "number,priority,first_name\n+12025550143,1,Ada\n")
    assert report.ok, report.summary()
    lead = Lead.objects.get(campaign=campaign)
    for field in Lead._meta.concrete_fields:
        if field.has_default() and field.attname not in importing._LeadRules.COLUMNS:
            assert getattr(lead, field.attname) == field.get_default(), field.name
    assert [c for c, _ in importing._unset_defaults()] == ["window_held"]


def test_a_naive_import_time_is_read_as_utc() -> None:
    campaign = CampaignFactory()
    naive = NOW.replace(tzinfo=None)
    report = lead_import_csv(
        campaign=campaign,
        fileobj=io.BytesIO(b"number,priority,first_name\n+12025550143,1,Ada\n"),
        now=naive,
        actor="tester",
    )
    assert report.ok, report.summary()
    assert Lead.objects.get(campaign=campaign).next_dial_at == NOW


def test_windows_1252_file_keeps_curly_apostrophes_euro_and_dashes() -> None:
    # Excel on Windows saves "CSV" as Windows-1252: a curly apostrophe is 0x92, € 0x80 and an
    # en dash 0x96.
    campaign = cast(Campaign, CampaignFactory())
    name, note = "O\u2019Brien", "owes \u20ac50 \u2013 call"
    data = f"number,priority,first_name,last_name,note\n2025550143,1,Seán,{name},{note}\n"
    report = run(campaign, data.encode("cp1252"))
    assert report.ok, report.summary()
    lead = Lead.objects.get(campaign=campaign)
    assert (lead.first_name, lead.last_name, lead.note) == ("Seán", name, note)


def test_bytes_windows_1252_leaves_undefined_are_read_as_latin1() -> None:
    campaign = cast(Campaign, CampaignFactory())
    report = run(campaign, b"number,priority,first_name\n2025550143,1,A\x81\x8d\x8f\x90\x9d\n")
    assert report.ok, report.summary()
    assert Lead.objects.get(campaign=campaign).first_name == "A\x81\x8d\x8f\x90\x9d"


@pytest.mark.parametrize(
    ("column", "raw"),
    [
        ("priority", "1,000"),
        ("priority", "1.000"),
        ("cool_off", "3,000"),
        ("cool_off", "1,500"),
        ("cool_off_2nd", "1,000,000"),
        ("retries", "1.000,00"),
    ],
)
def test_numbers_with_thousands_separators_are_rejected_not_cut(column: str, raw: str) -> None:
    campaign = cast(Campaign, CampaignFactory())
    header = "number,priority,first_name" + ("" if column == "priority" else f",{column}")
    row = f'2025550143,"{raw}",Ada' if column == "priority" else f'2025550143,1,Ada,"{raw}"'
    report = run(campaign, f"{header}\n{row}\n")
    assert report.imported == 0
    assert "without separators" in reasons(report)[2]
    assert repr(raw) in reasons(report)[2]
    assert not Lead.objects.exists()


def test_whole_numbers_as_spreadsheets_write_them_still_import() -> None:
    campaign = cast(Campaign, CampaignFactory())
    report = run(
        campaign,
        "number;priority;first_name;cool_off;retries\n"
        "2025550143;5,00;Ada;3600.0;3\n"
        "2025550144;7.;Bob;1e3;2,0\n",
    )
    assert report.ok, report.summary()
    got = dict(Lead.objects.values_list("first_name", "priority"))
    assert got == {"Ada": 5, "Bob": 7}
    assert list(Lead.objects.order_by("id").values_list("cool_off", "retries")) == [
        (3600, 3),
        (1000, 2),
    ]


def test_an_unclosed_quote_rejects_its_row_naming_the_lines_it_swallowed() -> None:
    campaign = cast(Campaign, CampaignFactory())
    report = run(
        campaign,
        "number,priority,first_name,note\n"
        '2025550143,1,Ann,"call after 5\n'
        "2025550144,1,Bob,x\n"
        '2025550145,1,Cy,"y"\n'
        "2025550146,1,Di,z\n",
    )
    got = reasons(report)
    assert list(got) == [2]
    assert "the quote that opens its note value is not closed" in got[2]
    assert "lines 2 to 4" in got[2]
    assert "Imported 1 lead" in report.summary()
    assert list(Lead.objects.values_list("first_name", flat=True)) == ["Di"]


def test_multi_line_notes_with_commas_still_import() -> None:
    campaign = cast(Campaign, CampaignFactory())
    report = run(
        campaign,
        "number,priority,first_name,note\n"
        '2025550143,1,Ann,"called Monday, no answer\nasked for Bob, call 202-555\n3rd try, ok"\n'
        '2025550144,1,Bob,"one\ntwo"\n',
    )
    assert report.ok, report.summary()
    assert Lead.objects.get(first_name="Ann").note == (
        "called Monday, no answer\nasked for Bob, call 202-555\n3rd try, ok"
    )


def test_a_very_long_value_rejects_only_its_row() -> None:
    campaign = cast(Campaign, CampaignFactory())
    report = run(
        campaign,
        f"number,priority,first_name,note\n2025550143,1,Ann,{'x' * 200_000}\n2025550144,1,Bob,ok\n",
    )
    assert report.error is None
    assert reasons(report) == {2: "note is longer than 10000 characters"}
    assert list(Lead.objects.values_list("first_name", flat=True)) == ["Bob"]


def test_apostrophe_the_export_adds_before_a_formula_character_is_taken_off() -> None:
    campaign = cast(Campaign, CampaignFactory())
    report = run(
        campaign,
        "number,priority,first_name,last_name,note,ticket_id\n"
        "2025550143,1,Ann,'-,\"'- call back\",'+100\n"
        "2025550144,1,Bob,'Brien,'tis so,'=\n",
    )
    assert report.ok, report.summary()
    ann = Lead.objects.get(first_name="Ann")
    assert (ann.last_name, ann.note, ann.ticket_id) == ("-", "- call back", "+100")
    # An apostrophe before anything else is the person's own.
    bob = Lead.objects.get(first_name="Bob")
    assert (bob.last_name, bob.note, bob.ticket_id) == ("'Brien", "'tis so", "=")


def test_skill_and_extension_columns_import() -> None:
    campaign = cast(Campaign, CampaignFactory())
    report = run(campaign, "number,priority,first_name,skill,extension\n2025550143,1,Ann,es,204\n")
    assert report.ok, report.summary()
    assert Lead.objects.values_list("skill", "extension").get() == ("es", "204")


def test_vertical_tab_line_breaks_and_a_trailing_ctrl_z_are_read() -> None:
    # FileMaker and old Mac Excel break lines inside a cell with a vertical tab; DOS tools end
    # a file with Ctrl-Z.
    campaign = cast(Campaign, CampaignFactory())
    rows = "".join(
        f'20255501{n:02d},1,Name{n},"Called Monday\x0bWants callback\x0bAsk for Bob"\r\n'
        for n in range(40)
    )
    report = run(campaign, ("number,priority,first_name,note\r\n" + rows + "\x1a").encode())
    assert report.ok, report.summary()
    assert report.imported == 40
    assert Lead.objects.filter(campaign=campaign).first().note == (  # type: ignore[union-attr]
        "Called Monday\nWants callback\nAsk for Bob"
    )


def test_ctrl_z_right_after_the_last_value_is_ignored() -> None:
    campaign = cast(Campaign, CampaignFactory())
    report = run(campaign, b"number,priority,first_name\n2025550143,1,Ann\x1a")
    assert report.ok, report.summary()
    assert Lead.objects.get().first_name == "Ann"
