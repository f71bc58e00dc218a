"""CSV exports of the reports, streamed a chunk at a time so memory stays flat.

Cells a spreadsheet would read as a formula get a leading apostrophe (leads.exporting's
neutralize_cell); times are in the account timezone with their UTC offset.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from dialer.models import CallResult
from leads.exporting import neutralize_cell
from leads.models import STATUS_OF_STATE, LeadStatus

from .selectors import CallFilters, LeadFilters, account_zone, calls_matching, leads_matching

_E164 = re.compile(r"\+[1-9][0-9]{5,14}")
_CHUNK_ROWS = 2_000
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


def number_cell(value: str) -> str:
    # A valid E.164 number is "+" and digits: no formula, and it stays readable as typed.
    return value if _E164.fullmatch(value) else neutralize_cell(value)


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _sla(value: bool | None, progressive: bool) -> str:
    if value is None or not progressive:
        return ""
    return "Met" if value else "Missed"


def _stream(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() >= _FLUSH_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def stream_activity_csv(filters: CallFilters) -> Iterator[bytes]:
    """Every call the filters match, newest first, as UTF-8 CSV bytes."""
    zone = account_zone()
    results = dict(CallResult.choices)
    rows = (
        calls_matching(filters)
        .order_by("-requested_at", "-id")
        .values_list(
            "requested_at",
            "campaign__name",
            "campaign__type",
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
            "disposition__label",
            "uuid",
        )
        .iterator(chunk_size=_CHUNK_ROWS)
    )

    def cells() -> Iterator[tuple[object, ...]]:
        for (
            requested_at,
            campaign,
            campaign_type,
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
            disposition,
            call_uuid,
        ) in rows:
            progressive = campaign_type == "progressive"
            yield (
                account_time(requested_at, zone),
                neutralize_cell(campaign),
                neutralize_cell(f"{first_name} {last_name}".strip()),
                lead_id,
                number_cell(number),
                neutralize_cell(cid_name),
                number_cell(cid_number),
                attempt,
                results.get(result, result),
                neutralize_cell(hangup_cause),
                neutralize_cell(amd_result),
                neutralize_cell(agent_name),
                neutralize_cell(agent_extension),
                _seconds(ring),
                _seconds(talk),
                _seconds(wait),
                _sla(wait_sla, progressive),
                _sla(agent_sla, progressive),
                neutralize_cell(disposition or ""),
                call_uuid,
            )

    return _stream(ACTIVITY_COLUMNS, cells())


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
                neutralize_cell(campaign),
                lead_id,
                neutralize_cell(first_name),
                neutralize_cell(last_name),
                number_cell(number),
                labels.get(state, state),
                attempts,
                neutralize_cell(last_result),
                account_time(last_dialed_at, zone),
                account_time(next_dial_at, zone),
                neutralize_cell(reason),
                lead_tz,
            )

    return _stream(LEAD_STATUS_COLUMNS, cells())
