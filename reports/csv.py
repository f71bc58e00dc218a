"""CSV exports of the reports, streamed a chunk at a time so memory stays flat.

Cells a spreadsheet would read as a formula get a leading apostrophe (leads.exporting's
neutralize_cell); times are in the account timezone with their UTC offset.

On PostgreSQL the activity export is one ``COPY (SELECT ...) TO STDOUT``: the database writes
the cells and the CSV and Python relays the bytes, a fraction of the CPU of reading a million
rows into Python and writing them again (what keeps the export inside its 30 s on a loaded
machine). Other databases (the SQLite demo) take python_activity_csv, which writes the same
bytes.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from django.db import DatabaseError, connection, transaction
from django.db.models import Case, CharField, F, Func, TextField, Value, When
from django.db.models.functions import Cast

from agents.models import Disposition
from campaigns.models import Campaign, CampaignType
from dialer.models import CallResult
from leads.exporting import neutralize_cell
from leads.models import STATUS_OF_STATE, LeadStatus

from .selectors import CallFilters, LeadFilters, account_zone, calls_matching, leads_matching

_CHUNK_ROWS = 5_000
_BATCH_ROWS = 500
_FLUSH_BYTES = 1 << 16

ACTIVITY_COLUMNS: tuple[str, ...] = (
    "Time",
    "Campaign",
    "Lead",
    "Lead ID",
    "Number",
    "Caller ID name",
    "Caller ID number",
    "Attempt",
    "Dial result",
    "Hangup cause",
    "Answering machine",
    "Agent",
    "Agent extension",
    "Ring time (s)",
    "Talk time (s)",
    "Customer wait (s)",
    "Customer wait SLA",
    "Agent SLA",
    "Disposition",
    "Call ID",
)

LEAD_STATUS_COLUMNS: tuple[str, ...] = (
    "Campaign",
    "Lead ID",
    "First name",
    "Last name",
    "Number",
    "Status",
    "Attempts",
    "Last result",
    "Last dialed",
    "Next dial",
    "Why not dialing",
    "Lead timezone",
)


def account_time(value: datetime | None, zone: ZoneInfo) -> str:
    """2026-11-18 10:00:00-05:00: the account's wall clock with its offset."""
    return value.astimezone(zone).isoformat(sep=" ", timespec="seconds") if value else ""


# First characters that make a spreadsheet read a cell as a formula (leads.exporting's list).
_FORMULA_FIRST = frozenset("=+-@\t\r")


def safe(value: str) -> str:
    """neutralize_cell, skipping the call for the (vast) majority of harmless cells."""
    return neutralize_cell(value) if value[:1] in _FORMULA_FIRST else value


def number_cell(value: str) -> str:
    # A valid E.164 number is "+" and digits: no formula, and it stays readable as typed.
    if value[:1] == "+" and 7 <= len(value) <= 16 and value[1:].isdigit() and value[1] != "0":
        return value
    return safe(value)


def _time_cell(text: str, zone: ZoneInfo) -> str:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:  # SQLite keeps UTC without an offset
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).isoformat(" ", "seconds")


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


_SLA = {True: "Met", False: "Missed", None: ""}


def _plan_for_the_whole_result() -> None:
    """A cursor makes PostgreSQL plan for the first 10 % of rows (a nested loop per call);
    an export reads them all, which a hash join and one sort do several times faster."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL cursor_tuple_fraction = 1.0")


def _stream(
    header: Sequence[str], rows: Iterable[Sequence[object]], lineterminator: str = "\r\n"
) -> Iterator[bytes]:
    """CSV bytes, about 64 kB at a time: rows are written in batches (writerows is C)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=lineterminator)
    writer.writerow(header)
    rows = iter(rows)
    # The csv module quotes a value holding a character of the line end: with "\n" a lone
    # "\r" would go out bare (read back as a line break). PostgreSQL quotes it: so do we.
    bare_cr = "\r" not in lineterminator
    # In a transaction the database cursor streams; outside one (autocommit) it is declared
    # WITH HOLD, and PostgreSQL copies the whole result before sending the first row.
    with transaction.atomic():
        _plan_for_the_whole_result()
        while batch := list(islice(rows, _BATCH_ROWS)):
            start = buffer.tell()
            writer.writerows(batch)
            if bare_cr and "\r" in buffer.getvalue()[start:]:
                buffer.seek(start)
                buffer.truncate()
                _write_quoting_cr(buffer, writer, batch, lineterminator)
            if buffer.tell() >= _FLUSH_BYTES:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue().encode()


def _write_quoting_cr(
    buffer: io.StringIO, writer: Any, batch: list[Sequence[object]], lineterminator: str
) -> None:
    """The rows of a batch where some value holds a "\r" (rare): those rows go through a
    writer whose line end has "\r" (so it quotes such values), then get the file's line end."""
    crlf = io.StringIO()
    quoting = csv.writer(crlf, lineterminator="\r\n")
    for row in batch:
        if any(isinstance(value, str) and "\r" in value for value in row):
            crlf.seek(0)
            crlf.truncate()
            quoting.writerow(row)
            buffer.write(crlf.getvalue()[:-2] + lineterminator)
        else:
            writer.writerow(row)


class _Lookup(dict[int, Any]):
    """Every row of a small table up front; one that appears during the export is fetched."""

    def __init__(self, fetch: Callable[[dict[str, Any]], dict[int, Any]]) -> None:
        super().__init__(fetch({}))
        self._fetch = fetch

    def __missing__(self, key: int) -> Any:
        self.update(self._fetch({"pk": key}))
        return self[key]


def stream_activity_csv(filters: CallFilters) -> Iterator[bytes]:
    """Every call the filters match, newest first, as UTF-8 CSV bytes."""
    if connection.vendor == "postgresql":
        return _copy_activity_csv(filters)
    return python_activity_csv(filters)


def python_activity_csv(filters: CallFilters) -> Iterator[bytes]:
    """The activity export written by Python (any database).

    Campaign names and disposition labels come from two small lookups rather than joins, so a
    million-row export moves only the call and lead columns."""
    zone = account_zone()
    results = dict(CallResult.choices)
    campaigns = _Lookup(
        lambda ids: {
            pk: (safe(name), kind == CampaignType.PROGRESSIVE)
            for pk, name, kind in Campaign.objects.filter(**ids).values_list("id", "name", "type")
        }
    )
    dispositions = _Lookup(
        lambda ids: {
            pk: safe(label)
            for pk, label in Disposition.objects.filter(**ids).values_list("id", "label")
        }
    )
    rows = (
        calls_matching(filters)
        .order_by("-requested_at", "-id")
        .values_list(
            # As text: Django's timestamptz loader is pure Python, fromisoformat is C.
            Cast("requested_at", output_field=TextField()),
            "campaign_id",
            "lead__first_name",
            "lead__last_name",
            "lead_id",
            "number",
            "caller_id_name",
            "caller_id_number",
            "attempt",
            "result",
            "hangup_cause",
            "amd_result",
            "agent_name",
            "agent_extension",
            "ring_seconds",
            "talk_seconds",
            "customer_wait_seconds",
            "customer_wait_sla_met",
            "agent_sla_met",
            "disposition_id",
            Cast("uuid", output_field=CharField()),
        )
        .iterator(chunk_size=_CHUNK_ROWS)
    )

    def cells() -> Iterator[tuple[object, ...]]:
        for (
            requested_at,
            campaign_id,
            first_name,
            last_name,
            lead_id,
            number,
            cid_name,
            cid_number,
            attempt,
            result,
            hangup_cause,
            amd_result,
            agent_name,
            agent_extension,
            ring,
            talk,
            wait,
            wait_sla,
            agent_sla,
            disposition_id,
            call_uuid,
        ) in rows:
            campaign, progressive = campaigns[campaign_id]
            yield (
                _time_cell(requested_at, zone),
                campaign,
                safe(f"{first_name} {last_name}".strip()),
                lead_id,
                number_cell(number),
                safe(cid_name),
                number_cell(cid_number),
                attempt,
                results.get(result, result),
                safe(hangup_cause),
                safe(amd_result),
                safe(agent_name),
                safe(agent_extension),
                "" if ring is None else f"{ring:.1f}",
                "" if talk is None else f"{talk:.1f}",
                "" if wait is None else f"{wait:.1f}",
                _SLA[wait_sla] if progressive else "",
                _SLA[agent_sla] if progressive else "",
                dispositions[disposition_id] if disposition_id else "",
                call_uuid,
            )

    # "\n" as PostgreSQL's COPY writes it: both writers give the same file.
    return _stream(ACTIVITY_COLUMNS, cells(), lineterminator="\n")


# --- The activity export written by PostgreSQL ----------------------------------------------

# neutralize_cell in SQL: an apostrophe before a first character a spreadsheet would run.
_SQL_SAFE = (
    "CASE WHEN left({x}, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r') THEN '''' || {x} ELSE {x} END"
)
# number_cell in SQL: a valid E.164 number as is, anything else made safe.
_SQL_NUMBER = "CASE WHEN {x} ~ '^\\+[1-9][0-9]{5,14}$' THEN {x} ELSE " + _SQL_SAFE + " END"
_EXPRESSIONS = "%(expressions)s"
_SQL_TIME = "to_char(%(expressions)s, 'YYYY-MM-DD HH24:MI:SSTZH:TZM')"


class _Text(Func):
    output_field = TextField()


def _cell(sql: str, *expressions: Any, arg_joiner: str = ", ") -> Func:
    # NULLIF: an empty cell is written as nothing, as the csv module writes "".
    return _Text(*expressions, template=f"NULLIF({sql}, '')", arg_joiner=arg_joiner)


def _safe_cell(name: str) -> Func:
    return _cell(_SQL_SAFE.replace("{x}", _EXPRESSIONS), F(name))


def _number_sql_cell(name: str) -> Func:
    return _cell(_SQL_NUMBER.replace("{x}", _EXPRESSIONS), F(name))


def _seconds_cell(name: str) -> Func:
    # f"{x:.1f}"; NULL stays empty. (An exact half such as 2.25 rounds away from zero here and
    # to even in Python: a twentieth of a second apart.)
    return _Text(F(name), template="to_char(%(expressions)s, 'FM999999990.0')")


def _sla_cell(name: str) -> Case:
    progressive = {"campaign__type": CampaignType.PROGRESSIVE}
    return Case(
        When(**progressive, **{name: True}, then=Value("Met")),
        When(**progressive, **{name: False}, then=Value("Missed")),
        default=Value(None),
        output_field=TextField(),
    )


def _copy_activity_csv(filters: CallFilters) -> Iterator[bytes]:
    results = Case(
        *[When(result=value, then=Value(label)) for value, label in CallResult.choices],
        default=F("result"),
        output_field=TextField(),
    )
    lead_name = "btrim(%(expressions)s, E' \\t\\n\\r\\x0b\\x0c')"
    query = (
        calls_matching(filters)
        .order_by("-requested_at", "-id")
        .values_list(
            # The session's time zone is the account's (set below): its clock and offset.
            _Text(F("requested_at"), template=_SQL_TIME),
            _safe_cell("campaign__name"),
            _cell(
                _SQL_SAFE.replace("{x}", lead_name),
                F("lead__first_name"),
                F("lead__last_name"),
                arg_joiner=" || ' ' || ",
            ),
            "lead_id",
            _number_sql_cell("number"),
            _safe_cell("caller_id_name"),
            _number_sql_cell("caller_id_number"),
            "attempt",
            results,
            _safe_cell("hangup_cause"),
            _safe_cell("amd_result"),
            _safe_cell("agent_name"),
            _safe_cell("agent_extension"),
            _seconds_cell("ring_seconds"),
            _seconds_cell("talk_seconds"),
            _seconds_cell("customer_wait_seconds"),
            _sla_cell("customer_wait_sla_met"),
            _sla_cell("agent_sla_met"),
            _safe_cell("disposition__label"),
            Cast("uuid", output_field=CharField()),
        )
    )
    sql, params = query.query.sql_with_params()
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(ACTIVITY_COLUMNS)
    yield header.getvalue().encode()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('TimeZone')")
        (session_zone,) = cursor.fetchone()
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [account_zone().key])
        try:
            buffer = bytearray()
            with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
                for data in copy:  # a row or so at a time, sent on in ~64 kB chunks
                    buffer += data
                    if len(buffer) >= _FLUSH_BYTES:
                        yield bytes(buffer)
                        buffer.clear()
            yield bytes(buffer)
        finally:
            # Inside a caller's transaction this block is a savepoint, and a local setting
            # would outlive it: every time read afterwards would come back in this zone.
            with contextlib.suppress(DatabaseError):  # an aborted transaction resets it anyway
                cursor.execute("SELECT set_config('TimeZone', %s, true)", [session_zone])


def stream_lead_status_csv(filters: LeadFilters) -> Iterator[bytes]:
    """The leads the filters match with their status and why they are not dialing."""
    zone = account_zone()
    labels = {state: LeadStatus(status).label for state, status in STATUS_OF_STATE.items()}
    rows = (
        leads_matching(filters)
        .values_list(
            "campaign__name",
            "id",
            "first_name",
            "last_name",
            "number",
            "state",
            "attempts",
            "last_result",
            "last_dialed_at",
            "next_dial_at",
            "not_dialable_reason",
            "timezone",
        )
        .iterator(chunk_size=_CHUNK_ROWS)
    )

    def cells() -> Iterator[tuple[object, ...]]:
        for (
            campaign,
            lead_id,
            first_name,
            last_name,
            number,
            state,
            attempts,
            last_result,
            last_dialed_at,
            next_dial_at,
            reason,
            lead_tz,
        ) in rows:
            yield (
                safe(campaign),
                lead_id,
                safe(first_name),
                safe(last_name),
                number_cell(number),
                labels.get(state, state),
                attempts,
                safe(last_result),
                account_time(last_dialed_at, zone),
                account_time(next_dial_at, zone),
                safe(reason),
                lead_tz,
            )

    return _stream(LEAD_STATUS_COLUMNS, cells())
