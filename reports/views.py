"""Report pages: thin callers of reports.selectors; read-only for admins and report viewers."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from campaigns.models import AbandonWindow, Campaign, CampaignType
from campaigns.pacing_views import ledger_csv_response, ledger_summary

from .access import report_viewer_required
from .charts import dashboard_charts
from .csv import stream_activity_csv, stream_lead_status_csv
from .forms import CallFilterForm, LeadFilterForm, form_errors
from .selectors import (
    InvalidCursor,
    account_zone,
    activity_page,
    dashboard,
    lead_page,
    lead_status_counts,
)

LEAD_PAGE_SIZE = 50
ACTIVITY_PAGE_SIZE = 50


def _without(query: QueryDict, *names: str) -> str:
    kept = query.copy()
    for name in names:
        kept.pop(name, None)
    return kept.urlencode()


def csv_response(chunks: Any, stem: str) -> StreamingHttpResponse:
    stamp = timezone.now().astimezone(account_zone()).strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{stem}-{stamp}.csv"'
    return response


def _bad_filters(errors: dict[str, list[str]]) -> HttpResponse:
    lines = [f"{name}: {' '.join(messages)}" for name, messages in errors.items()]
    return HttpResponse(
        "The filters are not valid:\n" + "\n".join(lines),
        status=400,
        content_type="text/plain; charset=utf-8",
    )


@report_viewer_required
def dashboard_view(request: HttpRequest) -> HttpResponse:
    params = request.GET.copy()
    if "date_from" not in params and "date_to" not in params:
        # A supervisor opening the dashboard wants today's figures.
        today = timezone.now().astimezone(account_zone()).date().isoformat()
        params["date_from"] = params["date_to"] = today
    form = CallFilterForm(params)
    figures = dashboard(form.filters()) if form.is_valid() else None
    return render(
        request,
        "reports/dashboard.html",
        {
            "form": form,
            "figures": figures,
            "charts": dashboard_charts(figures.hours) if figures else [],
            "zone": account_zone().key,
            "section": "dashboard",
        },
    )


@report_viewer_required
def activity_view(request: HttpRequest) -> HttpResponse:
    form = CallFilterForm(request.GET)
    page, notice = None, ""
    if form.is_valid():
        filters = form.filters()
        try:
            page = activity_page(
                filters,
                after=request.GET.get("after"),
                before=request.GET.get("before"),
                size=ACTIVITY_PAGE_SIZE,
            )
        except InvalidCursor as exc:
            notice = str(exc)
            page = activity_page(filters, size=ACTIVITY_PAGE_SIZE)
    campaign = form.cleaned_data.get("campaign") if form.is_valid() else None
    return render(
        request,
        "reports/activity.html",
        {
            "form": form,
            "page": page,
            "notice": notice,
            "query": _without(request.GET, "after", "before"),
            "show_sla": campaign is None or campaign.type == CampaignType.PROGRESSIVE,
            "zone": account_zone().key,
            "section": "activity",
        },
    )


@report_viewer_required
def activity_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    form = CallFilterForm(request.GET)
    if not form.is_valid():
        return _bad_filters(form_errors(form))
    return csv_response(stream_activity_csv(form.filters()), "campaign-activity")


def _leads_context(request: HttpRequest) -> dict[str, Any]:
    form = LeadFilterForm(request.GET)
    counts, overall = lead_status_counts()
    leads, next_after = None, None
    if form.is_valid():
        after = request.GET.get("after", "")
        after_id = int(after) if after.isascii() and after.isdigit() else None
        leads = lead_page(form.filters(), after_id=after_id, size=LEAD_PAGE_SIZE)
        if len(leads) > LEAD_PAGE_SIZE:
            leads = leads[:LEAD_PAGE_SIZE]
            next_after = leads[-1].pk
    chosen = form.cleaned_data.get("campaign") if form.is_valid() else None
    return {
        "form": form,
        "counts": counts,
        "overall": overall,
        "chosen_campaign": chosen.pk if chosen else None,
        "leads": leads,
        "next_after": next_after,
        "query": _without(request.GET, "after"),
        "updated_at": timezone.now(),
        "section": "leads",
    }


@report_viewer_required
def leads_status_view(request: HttpRequest) -> HttpResponse:
    return render(request, "reports/leads.html", _leads_context(request))


@report_viewer_required
def leads_status_live(request: HttpRequest) -> HttpResponse:
    """The counts and the lead list alone, for the page to refresh itself every few seconds."""
    response = render(request, "reports/_leads_live.html", _leads_context(request))
    response["Cache-Control"] = "no-store"
    return response


@report_viewer_required
def leads_status_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    form = LeadFilterForm(request.GET)
    if not form.is_valid():
        return _bad_filters(form_errors(form))
    return csv_response(stream_lead_status_csv(form.filters()), "lead-status")


@report_viewer_required
def compliance_view(request: HttpRequest) -> HttpResponse:
    """Every campaign's abandon ledger against its cap, today and over its window, with the CSV
    proof to download: what a compliance officer checks without the campaign builder."""
    now = timezone.now()
    rows = []
    for campaign in Campaign.objects.order_by("name"):
        ledger = ledger_summary(campaign, now=now)
        window, today = ledger.window, ledger.today
        rows.append(
            {
                "campaign": campaign,
                "ledger": ledger,
                "standing": ledger.standing,
                "rate": f"{window.rate:.2%}" if window.live_answers else "—",
                "today_rate": f"{today.rate:.2%}" if today.live_answers else "—",
                "cap": f"{ledger.cap:.1%}",
            }
        )
    return render(
        request,
        "reports/compliance.html",
        {
            "rows": rows,
            "windows": AbandonWindow.choices,
            "updated_at": now,
            "zone": account_zone().key,
            "section": "compliance",
        },
    )


@report_viewer_required
def compliance_ledger_export(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    return ledger_csv_response(campaign, now=timezone.now(), window=request.GET.get("window"))
