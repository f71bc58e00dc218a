"""Server-rendered SVG charts for the dashboard: no JavaScript library, prints and scales."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .selectors import HourBucket, Totals

# Over this many hours the chart shows one bar per day instead of one per hour.
MAX_HOURLY_BARS = 96


@dataclass
class Series:
    name: str
    css_class: str
    values: list[float]


@dataclass
class Buckets:
    labels: list[str]
    totals: list[Totals]
    unit: str  # "hour" or "day"
    first_day: str = ""


def fill_buckets(hours: Sequence[HourBucket]) -> Buckets:
    """Every hour from the first to the last (empty hours as zeros), or days when too many."""
    if not hours:
        return Buckets([], [], "hour")
    zone = hours[0].start.tzinfo
    by_utc = {b.start.astimezone(UTC): b.totals for b in hours}
    first, last = min(by_utc), max(by_utc)
    span = int((last - first) / timedelta(hours=1)) + 1
    if span <= MAX_HOURLY_BARS:
        labels, totals = [], []
        for i in range(span):
            instant = first + timedelta(hours=i)
            local = instant.astimezone(zone)
            # A new day is named at its midnight; the chart's title area names the first.
            labels.append(local.strftime("%b %d") if local.hour == 0 and i else f"{local:%H}:00")
            totals.append(by_utc.get(instant, Totals()))
        return Buckets(labels, totals, "hour", first.astimezone(zone).strftime("%a %b %d"))
    days: dict[str, Totals] = {}
    day_labels: dict[str, str] = {}
    for bucket in hours:
        day = bucket.start.strftime("%Y-%m-%d")
        day_labels[day] = bucket.start.strftime("%b %d")
        days.setdefault(day, Totals()).add(bucket.totals)
    return Buckets([day_labels[d] for d in days], list(days.values()), "day")


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    percent: bool = False,
    width: int = 600,
    height: int = 230,
) -> SafeString:
    """Bars per bucket, series drawn over one another (the first is the widest, behind)."""
    left, right, top, bottom = 48, 12, 28, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((v for s in series for v in s.values), default=0.0)
    y_max = 1.0 if percent else _nice_max(peak)
    n = max(len(labels), 1)
    slot = plot_w / n
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        value = y_max * i / 4
        y = top + plot_h - plot_h * i / 4
        text = f"{value * 100:.0f}%" if percent else f"{value:g}"
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{text}</text>'
        )
    for k, s in enumerate(series):
        shrink = 0.8 - 0.3 * k
        bar_w = max(slot * shrink, 1.0)
        for i, value in enumerate(s.values):
            h = plot_h * min(value / y_max, 1.0) if y_max else 0
            if h <= 0:
                continue
            x = left + slot * i + (slot - bar_w) / 2
            shown = f"{value * 100:.1f}%" if percent else f"{value:g}"
            parts.append(
                f'<rect class="{s.css_class}" x="{x:.1f}" y="{top + plot_h - h:.1f}" '
                f'width="{bar_w:.1f}" height="{h:.1f}"><title>{escape(labels[i])}: '
                f"{escape(s.name)} {shown}</title></rect>"
            )
    every = max(1, math.ceil(n / 12))
    for i, label in enumerate(labels):
        if i % every:
            continue
        x = left + slot * i + slot / 2
        parts.append(
            f'<text class="axis" x="{x:.1f}" y="{height - bottom + 16}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    legend_x = left
    for s in series:
        parts.append(
            f'<rect class="{s.css_class}" x="{legend_x}" y="8" width="12" height="12"/>'
            f'<text class="legend" x="{legend_x + 16}" y="18">{escape(s.name)}</text>'
        )
        legend_x += 24 + 8 * len(s.name)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


@dataclass
class Chart:
    title: str
    svg: SafeString


def dashboard_charts(hours: Sequence[HourBucket]) -> list[Chart]:
    buckets = fill_buckets(hours)
    per = f"hour, from {buckets.first_day}" if buckets.unit == "hour" else "day"
    titles = [f"Attempts and connected calls per {per}", f"Abandon rate per {per}"]
    return [
        Chart(
            titles[0],
            bar_chart(
                titles[0],
                buckets.labels,
                [
                    Series("Attempts", "bar-attempts", [t.attempts for t in buckets.totals]),
                    Series("Answered", "bar-answered", [t.answered for t in buckets.totals]),
                    Series("Connected", "bar-connected", [t.connected for t in buckets.totals]),
                ],
            ),
        ),
        Chart(
            titles[1],
            bar_chart(
                titles[1],
                buckets.labels,
                [
                    Series(
                        "Abandon rate",
                        "bar-abandon",
                        [t.abandon_rate or 0.0 for t in buckets.totals],
                    )
                ],
                percent=True,
            ),
        ),
    ]
