"""Predictive pacing page of a campaign (admins): the live decision explained, the compliance
ledger today and over its window, and the ledger's CSV export (the proof of compliance)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_safe

from agents.access import admin_required
from dialer import compliance
from dialer.pacing import live as pacing_live
from reports.selectors import account_zone, day_start

from .models import AbandonWindow, Campaign


@admin_required
@require_safe
def campaign_pacing(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("queue"), pk=pk)
    now = timezone.now()
    today = now.astimezone(account_zone()).date()
    ledger = compliance.campaign_ledger_summary(campaign, now=now, day_start=day_start(today))
    decision = pacing_live.latest_decision(campaign.pk)
    history = pacing_live.decision_history(campaign.pk, limit=30)
    slowed = [d for d in history if d.get("calls_to_place", 0) == 0 and d.get("reason")]
    answer_rate = decision.get("answer_rate") if decision else None
    return render(
        request,
        "campaigns/pacing.html",
        {
            "campaign": campaign,
            "ledger": ledger,
            "decision": decision,
            "decision_age": now.timestamp() - decision["at"] if decision else None,
            "history": history,
            "slow_reason": slowed[0]["reason"] if slowed else "",
            "windows": AbandonWindow.choices,
            "today_pct": f"{ledger.today.rate:.2%}",
            "window_pct": f"{ledger.window.rate:.2%}",
            "cap_pct": f"{ledger.cap:.2%}",
            "answer_pct": f"{answer_rate:.1%}" if answer_rate is not None else "not measured yet",
        },
    )


@admin_required
@require_safe
def ledger_export(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    window = request.GET.get("window")
    if window not in dict(AbandonWindow.choices):
        window = campaign.abandon_window
    now = timezone.now()
    name = compliance.ledger_filename(campaign, window=window, now=now)
    response = StreamingHttpResponse(
        compliance.ledger_csv_lines(campaign, now=now, window=window),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
