"""Predictive pacing page of a campaign (admins): the live decision explained, the compliance
ledger today and over its window, and the ledger's CSV export (the proof of compliance).

The page refreshes its figures by itself: its script polls ``…/pacing/live/`` (the same figures
as JSON, from ``pacing_figures``) every few seconds, like the Leads Status report."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_safe

from agents.access import admin_required
from dialer import compliance
from dialer.pacing import live as pacing_live
from reports.selectors import account_zone, day_start

from .models import AbandonWindow, Campaign
from .services import ringing_first_warning

REFRESH_SECONDS = 5


def _number(value: Any, places: int) -> str:
    return f"{float(value):.{places}f}" if isinstance(value, int | float) else ""


def ledger_summary(
    campaign: Campaign, *, now: datetime.datetime, window: str | None = None
) -> compliance.LedgerSummary:
    """The ledger over the window and today (from the account-timezone midnight)."""
    today = now.astimezone(account_zone()).date()
    return compliance.campaign_ledger_summary(
        campaign, now=now, day_start=day_start(today), window=window
    )


def ledger_csv_response(
    campaign: Campaign, *, now: datetime.datetime, window: str | None
) -> StreamingHttpResponse:
    """The ledger as a streamed CSV download (the page's export and the API's)."""
    window = compliance.chosen_window(campaign, window)
    response = StreamingHttpResponse(
        compliance.ledger_csv_lines(campaign, now=now, window=window),
        content_type="text/csv; charset=utf-8",
    )
    name = compliance.ledger_filename(campaign, window=window, now=now)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def pacing_figures(campaign: Campaign, *, now: datetime.datetime) -> dict[str, Any]:
    """What the page shows, as text: the latest decision and the ledger today and over the
    campaign's window. The page renders these and its script swaps in fresh ones."""
    ledger = ledger_summary(campaign, now=now)
    decision = pacing_live.latest_decision(campaign.pk) or {}
    history = pacing_live.decision_history(campaign.pk, limit=30)
    slowed = [d for d in history if d.get("calls_to_place", 0) == 0 and d.get("reason")]
    answer_rate = decision.get("answer_rate")
    return {
        "has_decision": bool(decision),
        "dial_level": _number(decision.get("dial_level"), 2),
        "free_agents": _number(decision.get("expected_free_agents"), 1),
        "expected_live": _number(decision.get("expected_live_answers"), 1),
        "answer_rate": f"{answer_rate:.1%}" if answer_rate is not None else "not measured yet",
        "mode": str(decision.get("mode", "")),
        "calls_to_place": str(decision.get("calls_to_place", "")),
        "decision_age": f"{now.timestamp() - decision['at']:.0f}" if decision else "",
        "reason": str(decision.get("reason", "")),
        "slow_reason": slowed[0]["reason"] if slowed else "",
        "today_live": ledger.today.live_answers,
        "today_abandons": ledger.today.abandons,
        "today_pct": f"{ledger.today.rate:.2%}",
        "window_live": ledger.window.live_answers,
        "window_abandons": ledger.window.abandons,
        "window_pct": f"{ledger.window.rate:.2%}",
        "amd_abandons": ledger.amd_abandons,
        "machines_excluded": ledger.machines_excluded,
        # Checked on every refresh: an agent's contact can change while the campaign runs.
        "ringing_first": ringing_first_warning(campaign) or "",
    }


@admin_required
@require_safe
def campaign_pacing(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("queue"), pk=pk)
    now = timezone.now()
    return render(
        request,
        "campaigns/pacing.html",
        {
            "campaign": campaign,
            "fig": pacing_figures(campaign, now=now),
            "history": pacing_live.decision_history(campaign.pk, limit=30),
            "windows": AbandonWindow.choices,
            "window_label": AbandonWindow(campaign.abandon_window).label,
            "cap_pct": f"{compliance.cap_of(campaign):.2%}",
            "refresh_seconds": REFRESH_SECONDS,
            "refresh_ms": REFRESH_SECONDS * 1000,
        },
    )


@admin_required
@require_safe
def campaign_pacing_live(request: HttpRequest, pk: int) -> JsonResponse:
    """The page's figures now, for its script (admins, like the page)."""
    campaign = get_object_or_404(Campaign, pk=pk)
    response = JsonResponse(pacing_figures(campaign, now=timezone.now()))
    response["Cache-Control"] = "no-store"
    return response


@admin_required
@require_safe
def ledger_export(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    return ledger_csv_response(campaign, now=timezone.now(), window=request.GET.get("window"))
