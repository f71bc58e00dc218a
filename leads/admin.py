"""Admin for leads, their history and the Do-Not-Call list.

Every change goes through the services: a lead's state only through leads.lifecycle (reset
Failed leads), record edits through lead_update_record (kept in the history), deletes through
the running-campaign lock, Do-Not-Call entries through dnc_add (which also stops the number's
leads). Lead text is shown as text: nothing from a lead is ever marked safe.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from campaigns.admin import refuse_running_then
from campaigns.models import Campaign
from campaigns.services import CampaignRunning, assert_leads_editable

from . import lifecycle
from .models import STATES_OF_STATUS, DoNotCall, Lead, LeadEvent, LeadState, LeadStatus
from .phone import InvalidNumber, parse_number
from .services import (
    EDITABLE_FIELDS,
    dnc_add,
    lead_delete,
    lead_record_problems,
    lead_update_record,
)


def _actor(request: HttpRequest) -> str:
    return request.user.get_username()


def _campaigns_of(leads: QuerySet[Lead]) -> QuerySet[Campaign]:
    return Campaign.objects.filter(pk__in=leads.order_by().values("campaign_id"))


class StatusFilter(admin.SimpleListFilter):
    """The spec's statuses (Active, In Progress, …), each a group of dialer states."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(LeadStatus.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Lead]) -> QuerySet[Lead]:
        value = self.value()
        if value in STATES_OF_STATUS:
            return queryset.filter(state__in=STATES_OF_STATUS[value])
        return queryset


class LeadEventInline(admin.TabularInline):
    model = LeadEvent
    extra = 0
    can_delete = False
    fields = ("at", "from_state", "to_state", "reason", "actor", "changes")
    readonly_fields = fields
    ordering = ("-at", "-id")
    verbose_name = "history entry"
    verbose_name_plural = "history"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LeadChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        from dialer.selector import explain_many

        reasons = explain_many(self.result_list, now=timezone.now())
        for lead in self.result_list:
            lead.why = reasons.get(lead.pk, "")


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = (
        "full_name",
        "number",
        "campaign",
        "status_label",
        "state",
        "attempts",
        "next_dial_at",
        "last_result",
        "why_not_dialing",
    )
    list_filter = (StatusFilter, "state", "campaign")
    search_fields = ("number", "first_name", "last_name", "ticket_id")
    list_select_related = ("campaign",)
    list_per_page = 50
    # A million-lead table: no exact count of every match on each page.
    show_full_result_count = False
    inlines = (LeadEventInline,)
    actions = ("reset_failed",)
    readonly_fields = (
        "campaign",
        "state",
        "status_label",
        "attempts",
        "next_dial_at",
        "dial_cycle",
        "last_result",
        "last_dialed_at",
        "timezone",
        "timezones",
        "callback_agent",
        "reserved_by",
        "reserved_until",
        "why_not_dialing",
        "crm_data",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (
            "Customer",
            {
                "fields": (
                    "campaign",
                    ("first_name", "last_name"),
                    "number",
                    ("priority", "ticket_id", "lead_type"),
                    "note",
                    ("skill", "extension"),
                )
            },
        ),
        (
            "Dialing",
            {
                "fields": (
                    ("status_label", "state"),
                    ("attempts", "retries", "dial_cycle"),
                    ("cool_off", "cool_off_2nd", "cool_off_3rd"),
                    ("next_dial_at", "last_dialed_at", "last_result"),
                    "why_not_dialing",
                    ("timezone", "timezones"),
                    ("callback_agent", "reserved_by", "reserved_until"),
                )
            },
        ),
        ("CRM", {"classes": ("collapse",), "fields": ("crm_data", "created_at", "updated_at")}),
    )

    @admin.display(description="name", ordering="last_name")
    def full_name(self, obj: Lead) -> str:
        return obj.full_name

    @admin.display(description="status", ordering="state")
    def status_label(self, obj: Lead) -> str:
        return obj.get_status_display()

    @admin.display(description="Why not dialing", ordering="not_dialable_reason")
    def why_not_dialing(self, obj: Lead) -> str:
        # Filled for the whole page at once by LeadChangeList.get_results.
        return str(getattr(obj, "why", obj.not_dialable_reason))

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return LeadChangeList

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Leads come in through the campaign's CSV upload or CRM sync (with their checks).
        return False

    def save_model(self, request: HttpRequest, obj: Lead, form: ModelForm, change: bool) -> None:
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        changes = {k: v for k, v in changes.items() if k in EDITABLE_FIELDS}
        if not changes:
            return
        try:
            lead_update_record(lead=obj, changes=changes, now=timezone.now(), actor=_actor(request))
        except ValidationError as exc:
            # Only when the lead changed between the form's checks and the save.
            self.message_user(request, f"Not saved: {' '.join(exc.messages)}", messages.ERROR)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        return type("LeadAdminForm", (form, _LeadRecordChecks), {})

    # Deletes: refused while the lead's campaign runs, with the service's message.
    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        lead = self.get_object(request, object_id)
        if lead is not None:
            try:
                assert_leads_editable(lead.campaign, action="delete")
            except CampaignRunning as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return HttpResponseRedirect(reverse("admin:leads_lead_change", args=[lead.pk]))
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request: HttpRequest, obj: Lead) -> None:
        lead_delete(lead=obj, now=timezone.now(), actor=_actor(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Lead]) -> None:
        with transaction.atomic():
            for campaign in _campaigns_of(queryset).select_for_update():
                assert_leads_editable(campaign, action="delete")
            super().delete_queryset(request, queryset)

    def get_actions(self, request: HttpRequest) -> Any:
        actions: dict[str, Any] = super().get_actions(request)
        if "delete_selected" in actions:
            func, name, description = actions["delete_selected"]
            actions[name] = (
                refuse_running_then(func, campaigns_of=_campaigns_of),
                name,
                description,
            )
        return actions

    @admin.action(description="Reset the selected Failed leads (fresh start)")
    def reset_failed(self, request: HttpRequest, queryset: QuerySet[Lead]) -> None:
        reset = skipped = 0
        now = timezone.now()
        for lead in queryset.select_related("campaign").iterator(chunk_size=500):
            if lead.state != LeadState.FAILED:
                skipped += 1
                continue
            try:
                lifecycle.lead_reset(lead, now=now, actor=_actor(request))
            except (lifecycle.IllegalTransition, lifecycle.StaleLead):
                skipped += 1
            else:
                reset += 1
        text = f"Reset {reset} Failed lead{'s' if reset != 1 else ''}."
        if skipped:
            text += f" Skipped {skipped} that {'was' if skipped == 1 else 'were'} not Failed."
        self.message_user(request, text, messages.SUCCESS if reset else messages.WARNING)


class _LeadRecordChecks(forms.ModelForm):
    """The admin's lead form checks the number like an upload does (E.164, not on DNC)."""

    def clean_number(self) -> str:
        raw = self.cleaned_data.get("number", "")
        try:
            e164 = parse_number(raw, settings.ACCOUNT_DEFAULT_REGION).e164
        except InvalidNumber as exc:
            raise forms.ValidationError(f"Invalid number: {exc}.") from None
        lead = self.instance
        if e164 != lead.number:
            if lead.state in (LeadState.DIALING, LeadState.RESERVED):
                raise forms.ValidationError(
                    "The lead is being dialed; change its number afterwards."
                )
            on_dnc = DoNotCall.objects.filter(
                Q(campaign__isnull=True) | Q(campaign_id=lead.campaign_id), number=e164
            )
            if on_dnc.exists():
                raise forms.ValidationError(f"{e164} is on the Do-Not-Call list.")
        return e164

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        # The service's refusals (a number already a lead of the campaign, …) are the form's
        # errors: save_model would otherwise report them beside "changed successfully".
        changes = {
            name: cleaned[name]
            for name in self.changed_data
            if name in EDITABLE_FIELDS and name in cleaned
        }
        if changes:
            for name, problems in lead_record_problems(lead=self.instance, changes=changes).items():
                for problem in problems:
                    self.add_error(name if name in self.fields else None, problem)
        return cleaned


@admin.register(LeadEvent)
class LeadEventAdmin(admin.ModelAdmin):
    list_display = ("at", "lead", "from_state", "to_state", "reason", "actor")
    list_filter = ("to_state", "actor")
    search_fields = ("lead__number", "reason")
    list_select_related = ("lead",)
    show_full_result_count = False
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DoNotCallForm(forms.ModelForm):
    class Meta:
        model = DoNotCall
        fields = ("number", "campaign", "reason")

    def clean_number(self) -> str:
        try:
            return parse_number(self.cleaned_data["number"], settings.ACCOUNT_DEFAULT_REGION).e164
        except InvalidNumber as exc:
            raise forms.ValidationError(f"Invalid number: {exc}.") from None


@admin.register(DoNotCall)
class DoNotCallAdmin(admin.ModelAdmin):
    form = DoNotCallForm
    list_display = ("number", "scope", "reason", "added_at", "added_by")
    list_filter = ("campaign",)
    search_fields = ("number", "reason")
    list_select_related = ("campaign", "added_by")
    readonly_fields = ("added_at", "added_by")

    @admin.display(description="applies to", ordering="campaign__name")
    def scope(self, obj: DoNotCall) -> str:
        return obj.campaign.name if obj.campaign else "Whole account"

    def save_model(
        self, request: HttpRequest, obj: DoNotCall, form: ModelForm, change: bool
    ) -> None:
        if change:
            # Saved first, so dnc_add finds the edited entry and, as for a new one, stops the
            # dialable leads of its (maybe new) number.
            super().save_model(request, obj, form, change)
        # Entries stop the number's dialable leads too.
        entry = dnc_add(
            number=obj.number,
            campaign=obj.campaign,
            reason=obj.reason,
            actor_user=request.user,  # type: ignore[arg-type]
            now=timezone.now(),
        )
        obj.pk = entry.pk
        obj.added_at = entry.added_at
        obj.added_by = entry.added_by
