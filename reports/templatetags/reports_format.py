"""How the report pages write durations, rates and times."""

from __future__ import annotations

from datetime import datetime

from django import template

from reports.selectors import account_zone

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """12 s, 4:05, 1:02:03; a dash when unknown."""
    if seconds is None:
        return "—"
    total = round(seconds)
    if total < 60:
        return f"{total} s"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:.1f}%"


@register.filter
def rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


@register.filter
def account_time(value: datetime | None) -> str:
    """The account's wall-clock time, to the second."""
    return value.astimezone(account_zone()).strftime("%Y-%m-%d %H:%M:%S") if value else ""


@register.filter
def sla(value: bool | None) -> str:
    if value is None:
        return "—"
    return "Met" if value else "Missed"
