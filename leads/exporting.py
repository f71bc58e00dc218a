"""Lead export as CSV, streamed, and the sample file for uploads.

The first columns are the upload's columns under the same names, so an exported file can be
edited and uploaded again; the dialer's view of each lead follows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast

from .models import STATUS_OF_STATE, Lead, LeadStatus

SAMPLE_CSV_FILENAME = "campaign-leads-sample.csv"
_CHUNK_ROWS = 5_000
_FLUSH_BYTES = 1 << 16

# Header → the lead's database column it comes from.
_EXPORT_FIELDS: tuple[tuple[str, str], ...] = (
    ("number", "number"),
    ("priority", "priority"),
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("retries", "retries"),
    ("ticket_id", "ticket_id"),
    ("cool_off", "cool_off"),
    ("cool_off_2nd", "cool_off_2nd"),
    ("cool_off_3rd", "cool_off_3rd"),
    ("note", "note"),
    ("type", "lead_type"),
    ("status", "state"),
    ("attempts", "attempts"),
    ("next_dial_time", "next_dial_at"),
    ("last_result", "last_result"),
    ("last_dialed_time", "last_dialed_at"),
    ("lead_timezone", "timezone"),
    ("skill", "skill"),
    ("extension", "extension"),
    ("lead_id", "id"),
)
LEAD_EXPORT_COLUMNS: tuple[str, ...] = tuple(header for header, _ in _EXPORT_FIELDS)

# A spreadsheet reads a cell starting with one of these as a formula (or a DDE command).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_E164 = re.compile(r"\+[1-9][0-9]{5,14}")


def neutralize_cell(value: str) -> str:
    """Make a text cell inert in spreadsheets: a leading apostrophe shows the text as typed."""
    if value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _number_cell(value: str) -> str:
    # A validated E.164 number is digits after "+": no formula, and re-imports as is.
    return value if _E164.fullmatch(value) else neutralize_cell(value)


# Distinct times remembered while exporting (many leads share one: those imported together).
_MAX_CACHED_TIMES = 10_000
_TIME_COLUMNS = ("next_dial_at", "last_dialed_at")


class _Times(dict[str, str]):
    """A time as PostgreSQL writes it in UTC → the same instant in the account timezone, as
    `isoformat(sep=" ", timespec="seconds")` gives it; each distinct text computed once."""

    def __init__(self, zone: ZoneInfo) -> None:
        super().__init__()
        self.zone = zone

    def __missing__(self, text: str) -> str:
        if len(self) >= _MAX_CACHED_TIMES:
            self.clear()
        value = datetime.fromisoformat(text).astimezone(self.zone)
        shown = self[text] = value.isoformat(sep=" ", timespec="seconds")
        return shown


def _prepare_session() -> None:
    """Times as UTC text in ISO style (read back exactly by fromisoformat); a plan for the
    whole result (a cursor otherwise makes PostgreSQL plan for its first 10 % of rows)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL TimeZone = 'UTC'")
        cursor.execute("SET LOCAL DateStyle = 'ISO'")
        cursor.execute("SET LOCAL cursor_tuple_fraction = 1.0")


def stream_leads_csv(queryset: QuerySet[Lead]) -> Iterator[bytes]:
    """The leads as UTF-8 CSV (no BOM), a chunk of bytes at a time; memory stays flat.

    Times are in the account timezone with their UTC offset. Rows are read through a
    database cursor inside a transaction: outside one (autocommit) the cursor is declared
    WITH HOLD and PostgreSQL would copy the whole result before sending the first row."""
    zone = ZoneInfo(settings.ACCOUNT_TIMEZONE)
    labels = {state: LeadStatus(status).label for state, status in STATUS_OF_STATE.items()}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(LEAD_EXPORT_COLUMNS)
    postgres = connection.vendor == "postgresql"
    columns: list[Any] = [column for _, column in _EXPORT_FIELDS]
    if postgres:
        # PostgreSQL writes the times as text; _Times turns each distinct one into the
        # account's time once, rather than building a datetime for every row.
        queryset = queryset.annotate(
            **{f"_{c}_text": Cast(c, output_field=TextField()) for c in _TIME_COLUMNS}
        )
        columns = [f"_{c}_text" if c in _TIME_COLUMNS else c for c in columns]
    times = _Times(zone)

    def when(value: datetime | str | None) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            return times[value]
        return value.astimezone(zone).isoformat(sep=" ", timespec="seconds")

    cell = neutralize_cell
    with transaction.atomic():
        if postgres:
            _prepare_session()
        rows = queryset.order_by("id").values_list(*columns).iterator(chunk_size=_CHUNK_ROWS)
        for (
            number,
            priority,
            first_name,
            last_name,
            retries,
            ticket_id,
            cool_off,
            cool_off_2nd,
            cool_off_3rd,
            note,
            lead_type,
            state,
            attempts,
            next_dial_at,
            last_result,
            last_dialed_at,
            lead_tz,
            skill,
            extension,
            lead_id,
        ) in rows:
            writer.writerow(
                (
                    _number_cell(number),
                    priority,
                    cell(first_name),
                    cell(last_name),
                    retries,
                    cell(ticket_id),
                    cool_off,
                    cool_off_2nd,
                    cool_off_3rd,
                    cell(note),
                    cell(lead_type),
                    labels.get(state, state),
                    attempts,
                    when(next_dial_at),
                    cell(last_result),
                    when(last_dialed_at),
                    lead_tz,
                    cell(skill),
                    cell(extension),
                    lead_id,
                )
            )
            if buffer.tell() >= _FLUSH_BYTES:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue().encode()


def rejected_rows_csv(unit: str, rows: Iterable[Sequence[object]]) -> str:
    """An import's rejected rows as CSV: the line of the file (or the CRM answer's item) and
    the reason, so a person can fix every one, not only those the page lists."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([unit, "reason"])
    writer.writerows((at, neutralize_cell(str(reason))) for at, reason in rows)
    return buffer.getvalue()


def sample_csv() -> str:
    """The sample upload file: every column, required ones first, with example rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "number",
            "priority",
            "first_name",
            "last_name",
            "retries",
            "ticket_id",
            "cool_off",
            "cool_off_2nd",
            "cool_off_3rd",
            "note",
            "type",
            "skill",
            "extension",
        ]
    )
    writer.writerow(
        [
            "+12025550143",
            10,
            "Ada",
            "Lovelace",
            3,
            "T-1001",
            3600,
            7200,
            86400,
            "Renewal",
            "vip",
            "spanish",
            "204",
        ]
    )
    writer.writerow(
        ["(212) 555-0187", 5, "Grace", "Hopper", "", "T-1002", "", "", "", "", "", "", ""]
    )
    writer.writerow(
        ["+44 20 7946 0018", 1, "Alan", "", "", "", "", "", "", "UK office", "", "", ""]
    )
    return buffer.getvalue()
