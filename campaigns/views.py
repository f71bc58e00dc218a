"""Campaign builder pages (admins only): the campaigns list with Play/Stop, the editor with its
sections, and the Leads section's upload, CRM sync, export, sample download and lead list.

Thin callers: the rules live in campaigns.services, leads.importing, leads.exporting and
leads.services. Every lead change they refuse (a running campaign) shows their message.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import slugify
from django.views.decorators.http import require_POST, require_safe

from agents.access import admin_required
from dialer.redisconn import redis_client
from leads.models import STATES_OF_STATUS, STATUS_OF_STATE, Lead, LeadStatus

from . import services
from .forms import (
    CallerIdFormSet,
    CampaignForm,
    LeadFilterForm,
    ScheduleRowFormSet,
    TzScheduleSlotFormSet,
)
from .models import TZ_SLOTS_NEEDED, Campaign
from .services import CampaignRunning

LEADS_PER_PAGE = 50
# How many rejected rows of the last import the Leads section lists; the download has them all.
REPORTED_ROWS = 20
REJECTED_ROWS_TTL = 86_400


def _actor(request: HttpRequest) -> str:
    return request.user.get_username()


def display_status(campaign: Campaign, now: datetime) -> str:
    """Running, Scheduled (running outside its schedule) or Stopped."""
    # The selector's module decides "outside the schedule"; until it exists, Running is shown.
    decide = getattr(services, "campaign_display_status", None)
    if decide is None:
        return campaign.get_run_status_display()
    status = decide(campaign, now=now)
    return str(getattr(status, "label", status))


def lead_counts(campaign_ids: list[int]) -> dict[int, dict[str, int]]:
    """Leads per spec status for each campaign, zeros included, plus "total"."""
    counts = {pk: dict.fromkeys([*LeadStatus.values, "total"], 0) for pk in campaign_ids}
    rows = (
        Lead.objects.filter(campaign_id__in=campaign_ids)
        .values_list("campaign_id", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    for campaign_id, state, n in rows:
        counts[campaign_id][STATUS_OF_STATE[state]] += n
        counts[campaign_id]["total"] += n
    return counts


def _back(request: HttpRequest, default: str) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = default
    return HttpResponseRedirect(target)


def _leads_url(campaign: Campaign) -> str:
    return reverse("campaigns:edit", args=[campaign.pk]) + "#leads"


# --- Campaigns list and Play/Stop --------------------------------------------------------------


@admin_required
@require_safe
def campaign_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    campaigns = list(Campaign.objects.select_related("queue").order_by("name"))
    counts = lead_counts([c.pk for c in campaigns])
    rows = [
        {"campaign": c, "status": display_status(c, now), "counts": counts[c.pk]} for c in campaigns
    ]
    return render(
        request,
        "campaigns/list.html",
        {"rows": rows, "statuses": LeadStatus.choices},
    )


@admin_required
@require_POST
def campaign_start_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        services.campaign_start(campaign, now=timezone.now(), actor=_actor(request))
    except ValueError as exc:
        messages.error(request, f"“{campaign.name}” was not started: {exc}")
    else:
        status = display_status(campaign, timezone.now())
        messages.success(request, f"Campaign “{campaign.name}” started ({status}).")
        warning = services.ringing_first_warning(campaign)
        if warning:
            messages.warning(request, warning)
    return _back(request, reverse("campaigns:list"))


@admin_required
@require_POST
def campaign_stop_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    campaign = get_object_or_404(Campaign, pk=pk)
    services.campaign_stop(campaign, now=timezone.now(), actor=_actor(request))
    messages.success(request, f"Campaign “{campaign.name}” stopped.")
    return _back(request, reverse("campaigns:list"))


# --- Editor ----------------------------------------------------------------------------------


@admin_required
def campaign_create(request: HttpRequest) -> HttpResponse:
    return _editor(request, Campaign())


@admin_required
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _editor(request, get_object_or_404(Campaign.objects.select_related("queue"), pk=pk))


def _editor(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    creating = campaign.pk is None
    data = request.POST if request.method == "POST" else None
    form = CampaignForm(data, instance=campaign)
    form_ok = form.is_valid() if data is not None else False
    # The rows are bound to the same instance the form fills in, and saved after it.
    formsets = {
        "schedule": ScheduleRowFormSet(data, instance=form.instance, prefix="schedule"),
        "caller_ids": CallerIdFormSet(data, instance=form.instance, prefix="caller_ids"),
        "tz_slots": TzScheduleSlotFormSet(data, instance=form.instance, prefix="tz_slots"),
    }
    if data is not None:
        # Every formset is validated (no short cut), so every row's errors show at once.
        valid = [fs.is_valid() for fs in formsets.values()]
        rows_ok = all(valid)
        if form_ok and rows_ok and form.cleaned_data.get("tz_schedule_enabled"):
            slots = formsets["tz_slots"]
            if not any(f.cleaned_data and f not in slots.deleted_forms for f in slots.forms):
                form.add_error(
                    "tz_schedule_enabled",
                    TZ_SLOTS_NEEDED,
                )
                form_ok = False
        if form_ok and rows_ok:
            with transaction.atomic():
                saved = form.save()
                for formset in formsets.values():
                    formset.instance = saved
                    formset.save()
                services.campaign_settings_saved(saved, now=timezone.now())
            messages.success(
                request, f"Campaign “{saved.name}” {'created' if creating else 'saved'}."
            )
            return redirect("campaigns:edit", pk=saved.pk)
        messages.error(request, "The campaign was not saved: correct the fields marked below.")
    if not creating and data is not None:
        # The form wrote the refused values into `campaign`; the page shows the saved one.
        campaign = Campaign.objects.select_related("queue").get(pk=campaign.pk)
    context: dict[str, Any] = {
        "form": form,
        "formsets": formsets,
        "campaign": None if creating else campaign,
        "account_numbers": settings.ACCOUNT_MAIN_NUMBERS,
        "account_timezone": settings.ACCOUNT_TIMEZONE,
    }
    if not creating:
        context.update(_leads_section(request, campaign))
    return render(request, "campaigns/edit.html", context)


def _filtered_leads(campaign: Campaign, params: Any) -> tuple[LeadFilterForm, QuerySet[Lead]]:
    filters = LeadFilterForm(params)
    leads = Lead.objects.filter(campaign=campaign)
    if filters.is_valid():
        status = filters.cleaned_data["status"]
        if status in STATES_OF_STATUS:
            leads = leads.filter(state__in=STATES_OF_STATUS[status])
        number = "".join(ch for ch in filters.cleaned_data["number"] if ch.isdigit())
        if number:
            leads = leads.filter(number__contains=number)
        for word in filters.cleaned_data["name"].split():
            leads = leads.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word))
    return filters, leads.order_by("id")


def _sync_refusal(campaign: Campaign) -> str:
    """Why CRM sync cannot run now, in words; empty when it can."""
    from leads.importing import validate_crm_mapping

    if campaign.is_running:
        return str(CampaignRunning(campaign, "sync"))
    if not campaign.crm_url:
        return "Set the CRM API URL and mapping (and save) to sync."
    problems = validate_crm_mapping(campaign.crm_mapping)
    if problems:
        return "The CRM mapping is invalid: " + " ".join(problems)
    return ""


def _leads_section(request: HttpRequest, campaign: Campaign) -> dict[str, Any]:
    filters, leads = _filtered_leads(campaign, request.GET)
    page = Paginator(leads.select_related(None), LEADS_PER_PAGE).get_page(request.GET.get("page"))
    from dialer.selector import explain_many

    reasons = explain_many(page.object_list, now=timezone.now())
    for lead in page.object_list:
        lead.why = reasons.get(lead.pk, "")
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "status": display_status(campaign, timezone.now()),
        "running_message": str(CampaignRunning(campaign, "upload, sync or delete"))
        if campaign.is_running
        else "",
        "sync_refusal": _sync_refusal(campaign),
        "counts": lead_counts([campaign.pk])[campaign.pk],
        "statuses": LeadStatus.choices,
        "filters": filters,
        "page": page,
        "page_query": query.urlencode(),
        "filter_query": request.GET.urlencode(),
        "report": request.session.pop(f"import_report_{campaign.pk}", None),
        "account_tz": ZoneInfo(settings.ACCOUNT_TIMEZONE),
    }


# --- Leads section actions ------------------------------------------------------------------


def _rejected_key(request: HttpRequest, campaign: Campaign) -> str:
    return f"import:rejected:{campaign.pk}:{request.user.pk}"


def _keep_report(request: HttpRequest, campaign: Campaign, report: Any, action: str) -> None:
    summary = {
        "action": action,
        "imported": report.imported,
        "error": report.error,
        "rejected_count": report.rejected_count,
        "kept_count": len(report.rejected),
        "unit": report.unit,
        "rejected": [{"at": e.line, "reason": e.reason} for e in report.rejected[:REPORTED_ROWS]],
    }
    request.session[f"import_report_{campaign.pk}"] = summary
    # Every kept rejected row (up to 10,000), for the download: in Redis for a day, not in the
    # session that every page of the back office loads. The next import replaces it.
    redis_client().set(
        _rejected_key(request, campaign),
        json.dumps({"unit": report.unit, "rows": [[e.line, e.reason] for e in report.rejected]}),
        ex=REJECTED_ROWS_TTL,
    )
    level = messages.SUCCESS if report.ok else messages.WARNING
    if report.error is not None or report.imported == 0:
        level = messages.ERROR
    messages.add_message(request, level, f"{action}: {report.summary()}")


@admin_required
@require_safe
def leads_rejected_export(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The last import's rejected rows (line or CRM item, reason) as a CSV file."""
    from leads.exporting import rejected_rows_csv

    campaign = get_object_or_404(Campaign, pk=pk)
    raw = redis_client().get(_rejected_key(request, campaign))
    kept = json.loads(raw) if raw else None
    if not kept or not kept.get("rows"):
        messages.info(request, "There are no rejected rows of a last import to download.")
        return redirect(_leads_url(campaign))
    unit = kept.get("unit") or "line"
    name = f"{slugify(campaign.name) or 'campaign'}-rejected-{unit}s.csv"
    response = HttpResponse(
        rejected_rows_csv(unit, kept["rows"]), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@admin_required
@require_POST
def leads_upload(request: HttpRequest, pk: int) -> HttpResponseBase:
    from leads.importing import lead_import_csv

    campaign = get_object_or_404(Campaign, pk=pk)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose a CSV file to upload.")
        return redirect(_leads_url(campaign))
    try:
        report = lead_import_csv(
            campaign=campaign,
            fileobj=upload,  # type: ignore[arg-type]
            now=timezone.now(),
            actor=_actor(request),
        )
    except CampaignRunning as exc:
        messages.error(request, str(exc))
    else:
        _keep_report(request, campaign, report, f"Upload of {upload.name}")
    return redirect(_leads_url(campaign))


@admin_required
@require_POST
def leads_sync(request: HttpRequest, pk: int) -> HttpResponseBase:
    from leads.importing import lead_sync_crm

    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        report = lead_sync_crm(campaign=campaign, now=timezone.now(), actor=_actor(request))
    except CampaignRunning as exc:
        messages.error(request, str(exc))
    else:
        _keep_report(request, campaign, report, "CRM sync")
    return redirect(_leads_url(campaign))


@admin_required
@require_safe
def leads_export(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    from leads.exporting import stream_leads_csv

    campaign = get_object_or_404(Campaign, pk=pk)
    _filters, leads = _filtered_leads(campaign, request.GET)
    name = f"{slugify(campaign.name) or 'campaign'}-leads-{timezone.now():%Y%m%d-%H%M}.csv"
    response = StreamingHttpResponse(
        stream_leads_csv(leads), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@admin_required
@require_safe
def leads_sample(request: HttpRequest) -> HttpResponse:
    from leads.exporting import SAMPLE_CSV_FILENAME, sample_csv

    response = HttpResponse(sample_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{SAMPLE_CSV_FILENAME}"'
    return response


@admin_required
@require_POST
def leads_delete_all(request: HttpRequest, pk: int) -> HttpResponseBase:
    from leads.services import leads_delete_all as delete_all

    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        deleted = delete_all(campaign=campaign, now=timezone.now(), actor=_actor(request))
    except CampaignRunning as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Deleted {deleted} lead{'s' if deleted != 1 else ''}.")
    return redirect(_leads_url(campaign))


@admin_required
@require_POST
def lead_delete(request: HttpRequest, pk: int, lead_id: int) -> HttpResponseBase:
    from leads.services import lead_delete as delete_one

    lead = get_object_or_404(Lead.objects.select_related("campaign"), pk=lead_id, campaign_id=pk)
    try:
        delete_one(lead=lead, now=timezone.now(), actor=_actor(request))
    except CampaignRunning as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Deleted lead {lead.full_name} ({lead.number}).")
    return _back(request, _leads_url(lead.campaign))
