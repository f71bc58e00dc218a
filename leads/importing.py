"""Lead import: CSV upload and CRM API sync, one set of per-lead rules for both.

Both paths stream their input, reject bad rows one by one (with the line, or the array index
for CRM, and a reason a person understands) and insert the good rows in one transaction that
holds the campaign row lock, so a campaign start cannot slip in half way. On PostgreSQL the
good rows go in through COPY while the file is still being read; elsewhere (the SQLite demo)
through bulk_create in batches.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import math
import multiprocessing
import re
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import IO, Any, BinaryIO

import psycopg
import requests
import urllib3
from django.conf import settings
from django.db import DataError, IntegrityError, connection, models, transaction
from django.db.models import Q

from campaigns.models import Campaign, crm_headers_problem
from campaigns.services import assert_leads_editable

from .models import DoNotCall, Lead, LeadState
from .phone import InvalidNumber, NumberRead, parse_number, parse_numbers, read_many_numbers

log = logging.getLogger(__name__)

# Enough for a person to fix a file; the count still covers every rejected row.
MAX_REPORTED_ERRORS = 10_000
_INT_MAX = 2_147_483_647
_MAX_LINE_CHARS = 1_000_000
# The csv module refuses a value over 131,072 characters and with it the whole file; the line
# limit above is the importer's own, and a long value is rejected with its row (note length).
csv.field_size_limit(max(csv.field_size_limit(), _MAX_LINE_CHARS))
_BATCH_SIZE = 2_000

REQUIRED_COLUMNS = ("number", "priority", "first_name")
OPTIONAL_COLUMNS = (
    "last_name",
    "retries",
    "ticket_id",
    "cool_off",
    "cool_off_2nd",
    "cool_off_3rd",
    "note",
    "type",
    # Exported with every lead, so an export uploads again as it was (the CRM fills them too).
    "skill",
    "extension",
)
CSV_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS


# Text limits come from the model so the database never truncates or refuses a row.
def _max_length(name: str) -> int:
    field = Lead._meta.get_field(name)
    assert isinstance(field, models.Field)
    assert field.max_length is not None
    return field.max_length


_TEXT_LIMITS: dict[str, tuple[str, int]] = {
    "first_name": ("first name", _max_length("first_name")),
    "last_name": ("last name", _max_length("last_name")),
    "ticket_id": ("ticket ID", _max_length("ticket_id")),
    "type": ("type", _max_length("lead_type")),
    "skill": ("skill", _max_length("skill")),
    "extension": ("extension", _max_length("extension")),
    "note": ("note", 10_000),
}
_TEXT_LIMIT_ROWS = tuple((key, label, limit) for key, (label, limit) in _TEXT_LIMITS.items())
_COUNTS = {
    "priority": ("priority", -_INT_MAX, _INT_MAX),
    "retries": ("retries", 1, 100),
    "cool_off": ("cool-off", 0, _INT_MAX),
    "cool_off_2nd": ("2nd cool-off", 0, _INT_MAX),
    "cool_off_3rd": ("3rd cool-off", 0, _INT_MAX),
}


@dataclass
class RowError:
    line: int
    reason: str


@dataclass
class ImportReport:
    """What an import did. `error` set: the input was refused whole and nothing was imported."""

    imported: int
    rejected: list[RowError]
    error: str | None = None
    # Every rejected row, also those beyond the MAX_REPORTED_ERRORS kept in `rejected`.
    rejected_count: int = 0
    # "line" for a CSV file, "item" for a CRM answer (the index in its leads array).
    unit: str = "line"

    def __post_init__(self) -> None:
        self.rejected_count = max(self.rejected_count, len(self.rejected))

    @property
    def ok(self) -> bool:
        """Everything went in: no refusal and no rejected row."""
        return self.error is None and self.rejected_count == 0

    def reject(self, line: int, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REPORTED_ERRORS:
            self.rejected.append(RowError(line, reason))

    def summary(self, *, examples: int = 5) -> str:
        if self.error is not None:
            return f"Nothing was imported: {self.error}"
        text = f"Imported {self.imported} lead{'s' if self.imported != 1 else ''}."
        if self.rejected_count:
            rows = "row" if self.rejected_count == 1 else "rows"
            shown = "; ".join(f"{self.unit} {e.line}: {e.reason}" for e in self.rejected[:examples])
            more = self.rejected_count - min(examples, len(self.rejected))
            text += f" Rejected {self.rejected_count} {rows} — {shown}"
            text += f"; and {more} more." if more else "."
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "imported": self.imported,
            "rejected_count": self.rejected_count,
            "rejected": [{self.unit: e.line, "reason": e.reason} for e in self.rejected],
            "error": self.error,
            "summary": self.summary(),
        }


class _Refused(Exception):
    """The whole input is refused; the message goes into ImportReport.error."""


# --- Per-lead rules, shared by CSV and CRM ----------------------------------------------------


# "5.0", "5,00": a whole number as a spreadsheet writes it. Three digits after the one separator
# ("1,000", "1.500") may be a thousands separator as well as a decimal point: ambiguous.
_DECIMAL = re.compile(r"[+-]?[0-9]+[.,]([0-9]*)")
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:([.,])[0-9]{3})(?:\1[0-9]{3})*(?:[.,][0-9]*)?")


def _count(values: dict[str, str], key: str, reasons: list[str]) -> int | None:
    raw = values.get(key, "")
    if not raw:
        return None
    label, low, high = _COUNTS[key]
    try:
        number = int(raw)
    except ValueError:
        # Only values that are not plain whole numbers get here: the usual row stays fast.
        decimal = _DECIMAL.fullmatch(raw)
        if (decimal is not None and len(decimal.group(1)) == 3) or (
            decimal is None and _GROUPED.fullmatch(raw)
        ):
            digits = "".join(ch for ch in raw if ch.isdigit() or ch == "-")
            reasons.append(
                f"{label} {_quote(raw)} has a thousands separator (or is it a decimal point?): "
                f"write the number without separators, e.g. {digits}"
            )
            return None
        try:
            as_float = float(raw.replace(",", "."))
        except ValueError:
            as_float = float("nan")
        # Spreadsheets write whole numbers as 5.0; anything else is not a count.
        if not as_float.is_integer():
            reasons.append(f"{label} {_quote(raw)} is not a whole number")
            return None
        number = int(as_float)
    if not low <= number <= high:
        reasons.append(f"{label} {number} is out of range ({low} to {high})")
        return None
    return number


def _quote(raw: str, limit: int = 40) -> str:
    return repr(raw if len(raw) <= limit else raw[:limit] + "…")


def _number_key(e164: str) -> int:
    return int(e164[1:])


_NEW = LeadState.NEW


class _LeadRules:
    """Validates one lead's values and turns them into a row for the lead table."""

    # Columns written for a new lead, in this order (model attnames).
    COLUMNS = (
        "campaign_id",
        "number",
        "first_name",
        "last_name",
        "priority",
        "retries",
        "ticket_id",
        "cool_off",
        "cool_off_2nd",
        "cool_off_3rd",
        "note",
        "lead_type",
        "skill",
        "extension",
        "crm_data",
        "timezone",
        "timezones",
        "state",
        "attempts",
        "next_dial_at",
        "dial_cycle",
        "last_result",
        "not_dialable_reason",
        "created_at",
        "updated_at",
    )

    def __init__(
        self, campaign: Campaign, now: datetime, *, priority_required: bool, unit: str = "line"
    ) -> None:
        self.campaign_id = campaign.pk
        # "line" of a CSV file or "item" of a CRM answer: how a duplicate names its first row.
        self.unit = unit
        # The CSV's priority column is required; a CRM mapping may leave it out (then 0).
        self.priority_required = priority_required
        # A naive time is UTC, as the database session reads it (binary COPY needs to know).
        self.now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        self.region = settings.ACCOUNT_DEFAULT_REGION
        self.account_tz = settings.ACCOUNT_TIMEZONE
        self.existing: set[int] = set()
        self.dnc_account: set[int] = set()
        self.dnc_campaign: set[int] = set()
        # Number → line of its first accepted row, to name the line a duplicate repeats.
        self.seen: dict[int, int] = {}

    def load(self) -> None:
        """Read once what every row is checked against: the campaign's numbers and DNC."""
        numbers = Lead.objects.filter(campaign_id=self.campaign_id).values_list("number", flat=True)
        for number in numbers.iterator(chunk_size=20_000):
            self._add_key(self.existing, number)
        dnc = DoNotCall.objects.filter(
            Q(campaign__isnull=True) | Q(campaign_id=self.campaign_id)
        ).values_list("number", "campaign_id")
        for number, campaign_id in dnc.iterator(chunk_size=20_000):
            self._add_key(self.dnc_account if campaign_id is None else self.dnc_campaign, number)

    @staticmethod
    def _add_key(target: set[int], number: str) -> None:
        try:
            target.add(_number_key(number))
        except ValueError:
            log.warning("ignoring a stored number that is not E.164: %r", number)

    def check(
        self,
        values: dict[str, str],
        line: int,
        crm_data: dict[str, Any] | None = None,
        parsed: NumberRead | str | None = None,
    ) -> tuple[Any, ...] | list[str]:
        """The new lead's row, or the reasons it is rejected. `parsed`: the number already
        read by a worker process (its NumberInfo as a tuple, or why it is invalid)."""
        reasons: list[str] = []
        e164 = ""
        zones: tuple[str, ...] = ()
        get = values.get
        raw_number = get("number", "")
        if not raw_number:
            reasons.append("number is missing")
        else:
            if parsed is None:
                try:
                    parsed = parse_number(raw_number, self.region)
                except InvalidNumber as exc:
                    parsed = str(exc)
            if isinstance(parsed, str):
                reasons.append(f"invalid number {_quote(raw_number)}: {parsed}")
            else:
                e164, _region, zones = parsed
        if not get("first_name"):
            reasons.append("first name is missing")
        for key, label, limit in _TEXT_LIMIT_ROWS:
            value = get(key)
            if value and len(value) > limit:
                reasons.append(f"{label} is longer than {limit} characters")
        if self.priority_required and not get("priority"):
            reasons.append("priority is missing")
        priority = _count(values, "priority", reasons)
        retries = _count(values, "retries", reasons)
        cool_off = _count(values, "cool_off", reasons)
        cool_off_2nd = _count(values, "cool_off_2nd", reasons)
        cool_off_3rd = _count(values, "cool_off_3rd", reasons)
        if "\x00" in "".join(values.values()):
            for key, value in values.items():
                if "\x00" in value:
                    reasons.append(f"{key.replace('_', ' ')} contains binary data (a NUL byte)")
                    break
        if e164:
            number_key = _number_key(e164)
            if number_key in self.dnc_account:
                reasons.append(f"{e164} is on the account's Do-Not-Call list")
            elif number_key in self.dnc_campaign:
                reasons.append(f"{e164} is on this campaign's Do-Not-Call list")
            elif number_key in self.existing:
                reasons.append(f"{e164} is already a lead of this campaign")
            elif number_key in self.seen:
                reasons.append(f"{e164} is a duplicate of {self.unit} {self.seen[number_key]}")
            elif not reasons:
                self.seen[number_key] = line
        if reasons:
            return reasons
        now = self.now
        return (
            self.campaign_id,
            e164,
            values["first_name"],
            get("last_name", ""),
            priority or 0,
            retries,
            get("ticket_id", ""),
            cool_off,
            cool_off_2nd,
            cool_off_3rd,
            get("note", ""),
            get("type", ""),
            get("skill", ""),
            get("extension", ""),
            crm_data or {},
            zones[0] if zones else self.account_tz,
            zones or (self.account_tz,),
            _NEW,
            0,
            now,
            0,
            "",
            "",
            now,
            now,
        )


# --- Writers: COPY on PostgreSQL, bulk_create elsewhere ---------------------------------------


class _BulkWriter:
    def __init__(self) -> None:
        self.batch: list[Lead] = []
        self.written = 0

    def __enter__(self) -> _BulkWriter:
        return self

    def write(self, row: tuple[Any, ...]) -> None:
        values = dict(zip(_LeadRules.COLUMNS, row, strict=True))
        values["timezones"] = list(values["timezones"])
        self.batch.append(Lead(**values))
        if len(self.batch) >= _BATCH_SIZE:
            self._flush()

    def _flush(self) -> None:
        if self.batch:
            Lead.objects.bulk_create(self.batch, batch_size=_BATCH_SIZE)
            self.written += len(self.batch)
            self.batch = []

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self._flush()


def _unset_defaults() -> list[tuple[str, Any]]:
    """(column, value) of every lead field an import does not set but whose model default
    the database does not know (COPY, unlike bulk_create, leaves an omitted column to the
    database). Nullable fields without a default stay out: NULL."""
    return [
        (field.column, field.get_default())
        for field in Lead._meta.concrete_fields
        if field.attname not in _LeadRules.COLUMNS and not field.primary_key and field.has_default()
    ]


class _CopyWriter:
    """Streams rows into the lead table with PostgreSQL's binary COPY while the input is read.

    Binary: nothing to escape here, no numbers and times to parse in the server. Each value is
    sent in the binary form of its column's type as the catalog gives it; jsonb columns get
    jsonb's binary form (version byte 1, then the JSON text), built here as text."""

    _JSONB_VERSION = "\x01"

    def __init__(self) -> None:
        self.written = 0
        self._json_cache: dict[tuple[str, ...], str] = {}
        by_attname = {f.attname: f.column for f in Lead._meta.concrete_fields}
        self._defaults = tuple(default for _column, default in _unset_defaults())
        self._names = [by_attname[c] for c in _LeadRules.COLUMNS]
        self._names += [column for column, _default in _unset_defaults()]
        columns = ", ".join(connection.ops.quote_name(name) for name in self._names)
        table = connection.ops.quote_name(Lead._meta.db_table)
        self._sql = f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)"
        self._crm_idx = _LeadRules.COLUMNS.index("crm_data")
        self._tz_idx = _LeadRules.COLUMNS.index("timezones")
        self._empty_crm = self._JSONB_VERSION + "{}"

    def _column_types(self, cursor: Any) -> list[int]:
        cursor.execute(
            "SELECT attname, atttypid FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            [Lead._meta.db_table],
        )
        oids = dict(cursor.fetchall())
        jsonb = cursor.cursor.adapters.types["jsonb"].oid
        text = cursor.cursor.adapters.types["text"].oid
        # text's binary form is its UTF-8 bytes: here, those of jsonb's binary form.
        return [text if oids[name] == jsonb else oids[name] for name in self._names]

    def __enter__(self) -> _CopyWriter:
        self._cursor = connection.cursor()
        types = self._column_types(self._cursor)
        self._copy_cm = self._cursor.cursor.copy(self._sql)
        self._copy = self._copy_cm.__enter__()
        self._copy.set_types(types)
        return self

    def write(self, row: tuple[Any, ...]) -> None:
        values = list(row)
        crm = values[self._crm_idx]
        values[self._crm_idx] = self._JSONB_VERSION + json.dumps(crm) if crm else self._empty_crm
        zones = values[self._tz_idx]
        cached = self._json_cache.get(zones)
        if cached is None:
            cached = self._json_cache[zones] = self._JSONB_VERSION + json.dumps(list(zones))
        values[self._tz_idx] = cached
        values.extend(self._defaults)
        self._copy.write_row(values)
        self.written += 1

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            self._copy_cm.__exit__(exc_type, exc, tb)
        finally:
            self._cursor.close()


def _use_copy() -> bool:
    return connection.vendor == "postgresql"


def _writer() -> _CopyWriter | _BulkWriter:
    return _CopyWriter() if _use_copy() else _BulkWriter()


# --- Running an import ------------------------------------------------------------------------

_Row = tuple[int, dict[str, str], dict[str, Any] | None]
# What a refused value raises: Django's wrapper (bulk_create) or psycopg's own (the COPY runs on
# the raw cursor), and psycopg's encoding of a lone surrogate.
_DATA_ERRORS = (DataError, psycopg.DataError, UnicodeEncodeError)
_PARSE_BATCH = 2_000


def _with_numbers(
    rows: Iterable[_Row], workers: int
) -> Iterator[tuple[int, dict[str, str], dict[str, Any] | None, NumberRead | str | None]]:
    """The rows with their numbers read, by `workers` processes when there are 2 or more.

    Reading numbers (phonenumbers) is most of an import's time; the processes read batches
    while this one checks duplicates and writes rows, and the file's order is kept."""
    if workers < 2:
        for line, values, crm_data in rows:
            yield line, values, crm_data, None
        return
    region = settings.ACCOUNT_DEFAULT_REGION
    # spawn: a fresh interpreter that imports only leads.phone, never this process's
    # database connections or threads; read_many_numbers makes its parsing cheaper.
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=read_many_numbers,
    )
    pending: deque[tuple[list[_Row], Future[list[NumberRead | str]]]] = deque()
    try:
        source = iter(rows)
        while batch := list(islice(source, _PARSE_BATCH)):
            numbers = [values.get("number", "") for _line, values, _crm in batch]
            pending.append((batch, pool.submit(parse_numbers, numbers, region)))
            if len(pending) > 3 * workers:
                yield from _joined(*pending.popleft())
        while pending:
            yield from _joined(*pending.popleft())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _joined(
    batch: list[_Row], future: Future[list[NumberRead | str]]
) -> Iterator[tuple[int, dict[str, str], dict[str, Any] | None, NumberRead | str | None]]:
    for (line, values, crm_data), parsed in zip(batch, future.result(), strict=True):
        yield line, values, crm_data, parsed


def _import_rows(
    *,
    campaign: Campaign,
    now: datetime,
    actor: str,
    action: str,
    report: ImportReport,
    rows: Iterable[_Row],
    priority_required: bool,
    expected_rows: int,
) -> ImportReport:
    """Insert the good rows of `rows` in one transaction under the campaign row lock."""
    workers = settings.LEAD_IMPORT_WORKERS
    if expected_rows < settings.LEAD_IMPORT_PARALLEL_FROM:
        workers = 0
    try:
        with transaction.atomic():
            locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
            assert_leads_editable(locked, action=action)
            rules = _LeadRules(locked, now, priority_required=priority_required, unit=report.unit)
            rules.load()
            with _writer() as writer:
                for line, values, crm_data, parsed in _with_numbers(rows, workers):
                    result = rules.check(values, line, crm_data, parsed)
                    if isinstance(result, list):
                        report.reject(line, "; ".join(result))
                    else:
                        writer.write(result)
            report.imported = writer.written
            # Worker batches lag behind the reader's own rejections: keep the file's order.
            report.rejected.sort(key=lambda e: e.line)
    except _Refused as exc:
        return ImportReport(0, [], error=str(exc), unit=report.unit)
    except _DATA_ERRORS as exc:
        # The rules should have caught whatever the database refuses; never a 500 if not.
        log.warning(
            "lead import into campaign %s: the database refused a value: %s", campaign.pk, exc
        )
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return ImportReport(
            0,
            [],
            error=f"the database refused a value in the {report.unit}s ({first_line})",
            unit=report.unit,
        )
    except IntegrityError:
        log.warning("lead import into campaign %s collided with another change", campaign.pk)
        return ImportReport(
            0,
            [],
            error="another change to this campaign's leads happened during the import; "
            "upload the file again",
            unit=report.unit,
        )
    log.info(
        "%s: %s imported %d leads into campaign %s, rejected %d",
        action,
        actor,
        report.imported,
        campaign.pk,
        report.rejected_count,
    )
    return report


# --- CSV --------------------------------------------------------------------------------------


# Bytes that are not UTF-8 come from files saved by Windows spreadsheets: Windows-1252, whose
# 0x80-0x9F hold curly quotes, dashes, the euro sign. Its five undefined bytes stay Latin-1.
_CP1252 = tuple(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(256))


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(_CP1252[b] for b in exc.object[exc.start : exc.end]), exc.end


codecs.register_error("dialer_cp1252_fallback", _cp1252_fallback)


class _LimitedReader(io.RawIOBase):
    """Reads the caller's file, refusing it once it passes the size limit."""

    def __init__(self, source: IO[bytes], limit: int) -> None:
        self._source = source
        self._limit = limit
        self.total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._source.read(len(buffer))
        if not data:
            return 0
        self.total += len(data)
        if self.total > self._limit:
            raise _Refused(_too_large(self.total, self._limit, at_least=True))
        buffer[: len(data)] = data
        return len(data)


def _too_large(size: int, limit: int, *, at_least: bool = False) -> str:
    more = "more than " if at_least else ""
    return (
        f"the file is {more}{size / 1_048_576:.1f} MB; the limit is "
        f"{limit / 1_048_576:.0f} MB — split it into smaller files"
    )


def _file_size(fileobj: IO[bytes]) -> int | None:
    size = getattr(fileobj, "size", None)
    if isinstance(size, int):
        return size
    try:
        if fileobj.seekable():
            here = fileobj.tell()
            end = fileobj.seek(0, io.SEEK_END)
            fileobj.seek(here)
            return end - here
    except (AttributeError, OSError, ValueError):
        pass
    return None


_TEXT_CONTROLS = frozenset((9, 10, 11, 12, 13, 26))


def _check_head(head: bytes) -> None:
    if not head.lstrip(codecs.BOM_UTF8).strip():
        raise _Refused("the file is empty")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _Refused("the file is saved as UTF-16 text; save it as CSV (UTF-8) and upload again")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _Refused("this is a spreadsheet workbook, not a CSV file; save it as CSV first")
    if b"\x00" in head:
        raise _Refused("this is not a CSV text file (it contains binary data)")
    # Tab, line ends; vertical tab and form feed (in-cell breaks of old Mac/FileMaker files);
    # Ctrl-Z (the end-of-file mark of old DOS tools).
    controls = sum(1 for b in head if b < 32 and b not in _TEXT_CONTROLS)
    if controls > len(head) // 100:
        raise _Refused("this is not a CSV text file (it contains binary data)")


def _header_key(name: str) -> str:
    return name.strip().strip("\ufeff").strip().lower().replace(" ", "_").replace("-", "_")


def _csv_rows(
    fileobj: IO[bytes], size: int | None, report: ImportReport
) -> Iterator[tuple[int, dict[str, str], None]]:
    limit = settings.LEAD_IMPORT_MAX_BYTES
    if size is not None and size > limit:
        raise _Refused(_too_large(size, limit))
    buffered = io.BufferedReader(_LimitedReader(fileobj, limit), buffer_size=1 << 16)
    _check_head(buffered.peek(1 << 16)[: 1 << 16])
    text = io.TextIOWrapper(
        buffered, encoding="utf-8-sig", errors="dialer_cp1252_fallback", newline=""
    )
    try:
        header_line = text.readline(_MAX_LINE_CHARS)
        delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
        lines = _bounded_lines(text, header_line)
        reader = csv.reader(lines, delimiter=delimiter)
        header = [_header_key(h) for h in next(reader)]
        columns = _columns(header)
        width = len(header)
        number_index = columns["number"]
        last_line = reader.line_num
        for row in reader:
            line = last_line + 1
            last_line = reader.line_num
            # "\x1f" (unit separator) is whitespace to strip() and shows where values start.
            joined = "\x1f".join(row)
            if not joined.strip():
                continue  # blank lines are not leads
            if joined[-1] == "\x1a":
                # Ctrl-Z: the end-of-file mark of old DOS tools, not part of the data.
                if not joined.strip(_CTRL_Z_AND_SPACE):
                    continue
                row[-1] = row[-1].rstrip(_CTRL_Z_AND_SPACE)
            if len(row) > width and "".join(row[width:]).strip():
                report.reject(
                    line,
                    f"has {len(row)} values but the header has {width} columns "
                    "(an unquoted separator inside a value?)",
                )
                continue
            if last_line != line:
                # A quoted value spans lines: a multi-line note, or a quote never closed.
                swallowed = _swallowed_rows(row, delimiter, width, number_index)
                if swallowed is not None:
                    report.reject(
                        line,
                        f"the quote that opens its {_column_name(header, swallowed)} value is "
                        f"not closed, so lines {line} to {last_line} were read as one row; close "
                        'the quote (a quote inside a value is written twice: "") and upload '
                        "these lines again",
                    )
                    continue
            values = {
                name: row[index].strip() if index < len(row) else ""
                for name, index in columns.items()
            }
            if "\x1f'" in joined or joined[0] == "'" or "\x0b" in joined:
                # A value the export guarded with an apostrophe, or with in-cell line breaks.
                values = {name: _restored(value) for name, value in values.items()}
            yield line, values, None
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise _Refused(
                f"line {last_line + 1} has a value longer than {_MAX_LINE_CHARS} characters "
                "(is a quote not closed?)"
            ) from None
        raise _Refused(f"line {last_line + 1} cannot be read as CSV ({exc})") from None
    finally:
        text.detach()


_CTRL_Z_AND_SPACE = "\x1a\x1f \t\r\n"
# The export puts an apostrophe before a value starting with one of these (so a spreadsheet
# shows it as text, leads.exporting.neutralize_cell); the import takes it off again.
_NEUTRALIZED = frozenset(("=", "+", "-", "@", "\t", "\r"))
# A continuation line with this many digits in the number column is a lead row of its own.
_ROW_NUMBER_DIGITS = 7


def _restored(value: str) -> str:
    """The value as it was before export: one apostrophe off, vertical tabs as line breaks."""
    if value[:1] == "'" and value[1:2] in _NEUTRALIZED:
        value = value[1:]
    if "\x0b" in value:
        # Old Mac and FileMaker files break lines inside a cell with a vertical tab.
        value = value.replace("\x0b", "\n")
    return value


def _swallowed_rows(row: list[str], delimiter: str, width: int, number_index: int) -> int | None:
    """The index of a value whose unclosed quote ran on over lines that are rows of their own
    (as many separators as a row has, a phone number where the number column is); None when
    every multi-line value is a real one (a note of several lines)."""
    for index, value in enumerate(row):
        if "\n" not in value and "\r" not in value:
            continue
        for part in value.splitlines()[1:]:
            if part.count(delimiter) < width - 1:
                continue
            cells = part.split(delimiter)
            if number_index < len(cells):
                digits = sum(ch.isdigit() for ch in cells[number_index])
                if digits >= _ROW_NUMBER_DIGITS:
                    return index
    return None


def _column_name(header: list[str], index: int) -> str:
    name = header[index] if index < len(header) else ""
    return name.replace("_", " ") if name else f"column {index + 1}"


def _bounded_lines(text: io.TextIOWrapper, first: str) -> Iterator[str]:
    line_number = 1
    line = first
    while line:
        if len(line) >= _MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
            raise _Refused(f"line {line_number} is longer than {_MAX_LINE_CHARS} characters")
        yield line
        line_number += 1
        line = text.readline(_MAX_LINE_CHARS)


def _columns(header: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        if name in columns:
            raise _Refused(f"the column {name} appears twice in the header")
        if name in CSV_COLUMNS:
            columns[name] = index
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        found = ", ".join(h for h in header if h) or "nothing"
        raise _Refused(
            f"the header has no {', '.join(missing)} column{'s' if len(missing) > 1 else ''} "
            f"(required: {', '.join(REQUIRED_COLUMNS)}; found: {found})"
        )
    return columns


def lead_import_csv(
    *, campaign: Campaign, fileobj: BinaryIO, now: datetime, actor: str
) -> ImportReport:
    """Import a CSV file of leads into `campaign`. Raises CampaignRunning while it runs."""
    assert_leads_editable(campaign, action="upload")
    report = ImportReport(0, [])
    size = _file_size(fileobj)
    try:
        rows = _csv_rows(fileobj, size, report)
        return _import_rows(
            campaign=campaign,
            now=now,
            actor=actor,
            action="upload",
            report=report,
            rows=rows,
            priority_required=True,
            # A lead row is some 80 bytes; unknown size: no workers (small uploads mostly).
            expected_rows=(size or 0) // 80,
        )
    except _Refused as exc:
        return ImportReport(0, [], error=str(exc))


# --- CRM API sync -----------------------------------------------------------------------------

CRM_REQUIRED_KEYS = ("leads_array", "first_name", "number")
CRM_OPTIONAL_KEYS = (
    "last_name",
    "priority",
    "ticket_id",
    "dial_retries",
    "first_cooloff",
    "cooloff",
    "notes",
    "skill",
    "extension",
)
# Mapping key → the lead value it fills (the names _LeadRules checks). `cooloff` is the wait
# after later failed attempts; it is also the first wait when `first_cooloff` is not mapped.
_CRM_TARGETS = {
    "first_name": "first_name",
    "number": "number",
    "last_name": "last_name",
    "priority": "priority",
    "ticket_id": "ticket_id",
    "dial_retries": "retries",
    "first_cooloff": "cool_off",
    "cooloff": "cool_off_2nd",
    "notes": "note",
    "skill": "skill",
    "extension": "extension",
}
_ROOT_PATHS = ("$", ".")


def _path_parts(path: str) -> list[str]:
    path = path.strip()
    if path in _ROOT_PATHS:
        return []
    if path.startswith("$."):
        path = path[2:]
    return path.split(".")


def validate_crm_mapping(mapping: object) -> list[str]:
    """What is wrong with a CRM mapping, in words; empty when it is usable."""
    if not isinstance(mapping, dict):
        return ['The mapping must be a JSON object such as {"leads_array": "data.items", …}.']
    errors = [
        f"The mapping needs the key {key!r}." for key in CRM_REQUIRED_KEYS if key not in mapping
    ]
    allowed = CRM_REQUIRED_KEYS + CRM_OPTIONAL_KEYS
    for key, value in mapping.items():
        if key not in allowed:
            errors.append(f"Unknown mapping key {key!r}; the keys are {', '.join(allowed)}.")
            continue
        if not isinstance(value, str) or not value.strip():
            errors.append(f"The mapping key {key!r} needs a field name or dotted path as text.")
            continue
        if len(value) > 200:
            errors.append(f"The path of {key!r} is longer than 200 characters.")
            continue
        if key != "leads_array" and value.strip() in _ROOT_PATHS:
            errors.append(f"The mapping key {key!r} needs a field name, not the whole object.")
            continue
        if any(not part.strip() for part in _path_parts(value)):
            errors.append(f"The path {value!r} of {key!r} has an empty part (check the dots).")
    return errors


_MISSING = object()


def _walk(data: Any, parts: list[str]) -> Any:
    """Follow a dotted path; numbers index lists. _MISSING when a step is absent."""
    for part in parts:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return _MISSING
    return data


def _as_text(value: Any) -> str | None:
    """A JSON scalar as the text a CSV cell would hold; None for objects and lists."""
    if value is None or value is _MISSING:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str | int | float):
        return str(value).strip()
    return None


def _unstorable(item: dict[str, Any]) -> str | None:
    """Why the database cannot keep this CRM record (kept whole in the lead's crm_data, a
    jsonb column), in words; None when it can. Python's JSON reader accepts NaN, Infinity,
    NUL characters and lone UTF-16 surrogates; PostgreSQL refuses each of them."""
    try:
        text = json.dumps(item, allow_nan=False, ensure_ascii=False)
        text.encode()
    except RecursionError:
        return "the record is nested too deeply"
    except (ValueError, UnicodeEncodeError):
        pass
    else:
        if "\\u0000" not in text:
            return None
    # Something is wrong (or an escaped backslash looked like it): find where, for the reason.
    stack: list[tuple[str, Any]] = [("", item)]
    while stack:
        path, value = stack.pop()
        where = path or "the record"
        if isinstance(value, float) and not math.isfinite(value):
            shown = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
            return f"{where} is {shown}, which a database cannot keep as a number"
        if isinstance(value, str):
            problem = _text_problem(value)
            if problem:
                return f"{where} {problem}"
        elif isinstance(value, dict):
            for key, inner in value.items():
                problem = _text_problem(key)
                if problem:
                    return f"a field name in {where} {problem}"
                stack.append((f"{path}.{key}" if path else key, inner))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}" if path else str(i), v) for i, v in enumerate(value))
    return None


def _text_problem(text: str) -> str:
    if "\x00" in text:
        return "contains a NUL character (\\u0000)"
    try:
        text.encode()
    except UnicodeEncodeError:
        return "contains a broken character (half of a UTF-16 surrogate pair)"
    return ""


def _crm_rows(
    items: list[Any], mapping: dict[str, str], report: ImportReport
) -> Iterator[tuple[int, dict[str, str], dict[str, Any] | None]]:
    paths = {
        _CRM_TARGETS[key]: _path_parts(path)
        for key, path in mapping.items()
        if key != "leads_array"
    }
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            report.reject(index, "is not a JSON object")
            continue
        unstorable = _unstorable(item)
        if unstorable is not None:
            report.reject(index, f"cannot be stored: {unstorable}")
            continue
        values: dict[str, str] = {}
        bad = []
        for target, parts in paths.items():
            text = _as_text(_walk(item, parts))
            if text is None:
                bad.append(f"{'.'.join(parts)} is not a single value")
            else:
                values[target] = text
        if bad:
            report.reject(index, "; ".join(bad))
            continue
        if "cool_off" not in values and values.get("cool_off_2nd"):
            values["cool_off"] = values["cool_off_2nd"]
        yield index, values, item


def _fetch_crm(campaign: Campaign, http: requests.Session) -> Any:
    headers = campaign.crm_headers or {}
    # Saved before headers were checked (a "☃" the HTTP client cannot send): refused in words.
    if problem := crm_headers_problem(headers):
        raise _Refused(f"the CRM request headers cannot be sent: {problem}")
    method = campaign.crm_method.upper()
    body = campaign.crm_body.encode() if campaign.crm_body and method != "GET" else None
    if body is not None and not any(k.lower() == "content-type" for k in headers):
        headers = {**headers, "Content-Type": "application/json"}
    timeout = settings.CRM_SYNC_TIMEOUT
    limit = settings.LEAD_IMPORT_MAX_BYTES
    # requests' timeout bounds each wait for a byte; a CRM sending a byte now and then would
    # hold the web worker without end. The whole answer must arrive within the timeout.
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    try:
        with http.request(
            method, campaign.crm_url, headers=headers, data=body, timeout=timeout, stream=True
        ) as response:
            if response.status_code >= 400:
                raise _Refused(
                    f"the CRM answered HTTP {response.status_code} {response.reason or ''}".rstrip()
                )
            try:
                for chunk in _body_chunks(response):
                    size += len(chunk)
                    if size > limit:
                        raise _Refused(f"the CRM's answer is larger than {limit // 1_048_576} MB")
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise _Refused(
                            f"the CRM did not send its whole answer within {timeout:g} s "
                            f"({_kb(size)} received); try again or ask the CRM's owner"
                        )
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                raise _Refused(_broke_off(exc, size, timeout)) from None
    except requests.Timeout:
        raise _Refused(f"the CRM did not answer within {timeout:g} s") from None
    except requests.RequestException as exc:
        raise _Refused(f"the CRM could not be reached ({type(exc).__name__})") from None
    try:
        return json.loads(b"".join(chunks))
    except RecursionError:
        raise _Refused(
            "the CRM's answer is nested too deeply (lists or objects inside each other "
            "hundreds of levels down) to be read"
        ) from None
    except (UnicodeDecodeError, ValueError) as exc:
        if "int_max_str_digits" in str(exc):
            raise _Refused(
                f"the CRM's answer has a number with more than {sys.get_int_max_str_digits()} "
                "digits; no lead value is that long — check what the CRM sends"
            ) from None
        raise _Refused(f"the CRM's answer is not JSON ({exc})") from None


_CHUNK_BYTES = 1 << 16


def _body_chunks(response: requests.Response) -> Iterator[bytes]:
    """The answer's body as it arrives: each chunk is what one read gave (read1), so a slow
    sender is seen between reads, not only once 64 kB have come."""
    raw = response.raw
    if isinstance(raw, urllib3.HTTPResponse):
        while chunk := raw.read1(_CHUNK_BYTES, decode_content=True):
            yield chunk
    else:  # a stand-in transport adapter (tests, proxies)
        yield from response.iter_content(chunk_size=_CHUNK_BYTES)


def _kb(size: int) -> str:
    return f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} bytes"


def _broke_off(exc: Exception, size: int, timeout: float) -> str:
    """What went wrong while the answer's body was arriving, in words."""
    timed_out = isinstance(
        exc, requests.Timeout | urllib3.exceptions.TimeoutError | TimeoutError
    ) or isinstance(getattr(exc, "__context__", None), TimeoutError)
    if timed_out:
        return (
            f"the CRM stopped sending its answer after {_kb(size)} (nothing more came for "
            f"{timeout:g} s)"
        )
    return (
        f"the CRM's answer broke off after {_kb(size)} (the connection closed before the "
        "whole answer came)"
    )


def lead_sync_crm(
    *, campaign: Campaign, now: datetime, actor: str, http: requests.Session | None = None
) -> ImportReport:
    """Pull the campaign's leads from its CRM API. Raises CampaignRunning while it runs.

    All or nothing: an HTTP, timeout or JSON error imports nothing; otherwise the good leads
    import and each bad one is reported with its index in the leads array."""
    assert_leads_editable(campaign, action="sync")
    unit = "item"
    errors = validate_crm_mapping(campaign.crm_mapping)
    if errors:
        error = "the CRM mapping is invalid: " + " ".join(errors)
        return ImportReport(0, [], error=error, unit=unit)
    if not campaign.crm_url:
        return ImportReport(0, [], error="the campaign has no CRM API URL", unit=unit)
    mapping: dict[str, str] = campaign.crm_mapping
    session = http or requests.Session()
    try:
        data = _fetch_crm(campaign, session)
        items = _walk(data, _path_parts(mapping["leads_array"]))
        if items is _MISSING:
            raise _Refused(f"the CRM's answer has no {mapping['leads_array']!r}")
        if not isinstance(items, list):
            raise _Refused(f"{mapping['leads_array']!r} in the CRM's answer is not a list")
        if len(items) > settings.CRM_SYNC_MAX_LEADS:
            raise _Refused(
                f"the CRM sent {len(items)} leads; the limit is {settings.CRM_SYNC_MAX_LEADS}"
            )
    except _Refused as exc:
        return ImportReport(0, [], error=str(exc), unit=unit)
    finally:
        if http is None:
            session.close()
    report = ImportReport(0, [], unit=unit)
    return _import_rows(
        campaign=campaign,
        now=now,
        actor=actor,
        action="sync",
        report=report,
        rows=_crm_rows(items, mapping, report),
        priority_required=False,
        expected_rows=len(items),
    )
