"""Admin for campaigns: settings with their schedule, caller ID and timezone rows; start/stop."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from .forms import CampaignAdminForm, ScheduleRowForm
from .models import TZ_SLOTS_NEEDED, CallerId, Campaign, ScheduleRow, TzScheduleSlot
from .services import (
    CampaignRunning,
    assert_leads_editable,
    campaign_settings_saved,
    campaign_start,
    campaign_stop,
)


class ScheduleRowInline(admin.StackedInline):
    model = ScheduleRow
    form = ScheduleRowForm
    extra = 0
    fields = (
        "weekdays",
        ("start_time", "end_time"),
        ("month_day_start", "month_day_finish"),
        "months",
    )


class CallerIdInline(admin.TabularInline):
    model = CallerId
    extra = 0
    fields = ("position", "enabled", "kind", "name", "number")


class TzScheduleSlotFormSet(forms.BaseInlineFormSet):
    """Dial by Schedule by Timezone with no window would dial without any restriction."""

    def clean(self) -> None:
        super().clean()
        campaign: Campaign = self.instance
        if campaign.tz_schedule_enabled and not any(
            form.cleaned_data and not form.cleaned_data.get("DELETE") for form in self.forms
        ):
            raise forms.ValidationError(TZ_SLOTS_NEEDED)


class TzScheduleSlotInline(admin.TabularInline):
    model = TzScheduleSlot
    formset = TzScheduleSlotFormSet
    extra = 0
    fields = ("day_offset", "start_time")
    verbose_name = "dial by schedule by timezone window"


def _actor(request: HttpRequest) -> str:
    return request.user.get_username()


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignAdminForm
    list_display = ("name", "type", "queue", "run_status", "retries", "cool_off", "updated_at")
    list_filter = ("run_status", "type", "queue", "lead_source")
    search_fields = ("name", "note")
    list_select_related = ("queue",)
    inlines = (ScheduleRowInline, CallerIdInline, TzScheduleSlotInline)
    readonly_fields = (
        "run_status",
        "started_at",
        "stopped_at",
        "cycle_window_start",
        "cycles_done",
        "created_at",
        "updated_at",
    )
    actions = ("start_campaigns", "stop_campaigns")

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # Schedule rows and slots are saved by now: held leads are looked at under them.
        campaign_settings_saved(form.instance, now=timezone.now())

    fieldsets = (
        (
            "General configuration",
            {
                "fields": (
                    "name",
                    "note",
                    "type",
                    ("retries", "cool_off", "cool_off_2nd", "cool_off_3rd"),
                    ("dial_cycles", "dial_cycles_time"),
                    "mask_lead_caller_id",
                )
            },
        ),
        ("Select queue", {"fields": ("queue",)}),
        (
            "Progressive only",
            {"fields": ("customer_wait_sla", "greeting_media", "agent_dial_timeout")},
        ),
        (
            "Predictive only: abandon cap and drops",
            {
                "fields": (
                    ("abandon_cap", "abandon_window"),
                    ("drop_seconds", "safe_harbor_media"),
                    ("drop_rule", "drop_retry_minutes"),
                    "max_lines_per_agent",
                )
            },
        ),
        ("Push Preview only", {"fields": ("preview_timeout",)}),
        (
            "Dial By Timezone",
            {"fields": ("tz_window_enabled", ("tz_window_from", "tz_window_to"))},
        ),
        (
            "Dial by Schedule by Timezone",
            {"fields": ("tz_schedule_enabled", "tz_schedule_window_hours")},
        ),
        (
            "Lead source",
            {
                "fields": (
                    "lead_source",
                    "crm_method",
                    "crm_url",
                    "crm_headers",
                    "crm_body",
                    "crm_mapping",
                )
            },
        ),
        (
            "Run status",
            {
                "classes": ("collapse",),
                "fields": (
                    "run_status",
                    ("started_at", "stopped_at"),
                    ("cycle_window_start", "cycles_done"),
                    ("created_at", "updated_at"),
                ),
            },
        ),
    )

    @admin.action(description="Start (Play) the selected campaigns")
    def start_campaigns(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:
            try:
                campaign_start(campaign, now=timezone.now(), actor=_actor(request))
            except (ValueError, CampaignRunning) as exc:
                self.message_user(request, f"{campaign.name}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"Campaign “{campaign.name}” started.", messages.SUCCESS)

    @admin.action(description="Stop the selected campaigns")
    def stop_campaigns(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:
            campaign_stop(campaign, now=timezone.now(), actor=_actor(request))
            self.message_user(request, f"Campaign “{campaign.name}” stopped.", messages.SUCCESS)

    # Deleting a campaign deletes its leads: refused while it runs, like any lead delete.
    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        campaign = self.get_object(request, object_id)
        if campaign is not None:
            try:
                assert_leads_editable(campaign, action="delete")
            except CampaignRunning as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return HttpResponseRedirect(
                    reverse("admin:campaigns_campaign_change", args=[campaign.pk])
                )
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request: HttpRequest, obj: Campaign) -> None:
        with transaction.atomic():
            assert_leads_editable(obj, action="delete")
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        with transaction.atomic():
            for campaign in queryset.select_for_update():
                assert_leads_editable(campaign, action="delete")
            super().delete_queryset(request, queryset)

    def get_actions(self, request: HttpRequest) -> Any:
        actions: dict[str, Any] = super().get_actions(request)
        if "delete_selected" in actions:
            actions["delete_selected"] = (
                refuse_running_then(actions["delete_selected"][0], campaigns_of=lambda qs: qs),
                "delete_selected",
                actions["delete_selected"][2],
            )
        return actions


def refuse_running_then(
    action: Any, *, campaigns_of: Callable[[QuerySet[Any]], Iterable[Campaign]]
) -> Any:
    """Wrap a bulk delete action: a running campaign among the selection refuses it whole, with
    the service's message, before the confirmation page (delete_queryset checks again)."""

    def guarded(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        for campaign in campaigns_of(queryset):
            try:
                assert_leads_editable(campaign, action="delete")
            except CampaignRunning as exc:
                modeladmin.message_user(request, str(exc), messages.ERROR)
                return None
        return action(modeladmin, request, queryset)

    return guarded
