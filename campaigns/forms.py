"""Campaign builder forms: the campaign's settings and its schedule, caller ID and timezone rows.

Validation is the models' (field validators and clean()); these forms add the widgets a person
needs (checkboxes for weekdays and months, time pickers) and the builder-only rules.
"""

from __future__ import annotations

import calendar
import json
from typing import Any

from django import forms
from django.conf import settings
from django.forms.fields import InvalidJSONInput

from .models import (
    WEEKDAYS,
    CallerId,
    Campaign,
    CampaignType,
    LeadSource,
    ScheduleRow,
    TzScheduleSlot,
    crm_headers_problem,
    crm_mapping_shape_problem,
    unstorable_text_problem,
)

WEEKDAY_CHOICES = [(i, name.capitalize()) for i, name in enumerate(WEEKDAYS)]
MONTH_CHOICES = [(i, calendar.month_abbr[i]) for i in range(1, 13)]

# Shown, and taken from the form, only when the campaign's type is Progressive.
PROGRESSIVE_FIELDS = ("customer_wait_sla", "greeting_media", "agent_dial_timeout")
PREDICTIVE_FIELDS = (
    "abandon_cap",
    "abandon_window",
    "drop_seconds",
    "safe_harbor_media",
    "drop_rule",
    "drop_retry_minutes",
    "max_lines_per_agent",
)
# Sounds FreeSWITCH plays (checked by the model: dialstring.sound_problem).
SOUND_FIELDS = ("greeting_media", "safe_harbor_media")
# Shown, and taken from the form, only when the campaign's type is Push Preview.
PUSH_PREVIEW_FIELDS = ("preview_timeout",)
# Edited in the page's Leads section, outside the main <form> element (it holds the upload and
# sync forms), so their inputs name the form they belong to.
LEAD_SOURCE_FIELDS = (
    "lead_source",
    "crm_method",
    "crm_url",
    "crm_headers",
    "crm_body",
    "crm_mapping",
)
FORM_ID = "campaign-form"


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%H:%M")


class CrmJSONField(forms.JSONField):
    """JSON typed in a box. Text the page cannot carry (a lone surrogate such as "\\ud800") is
    shown back escaped, as it was typed, next to its error."""

    def prepare_value(self, value: Any) -> Any:
        text = super().prepare_value(value)
        if not isinstance(value, InvalidJSONInput) and unstorable_text_problem(text):
            return json.dumps(value, cls=self.encoder)
        return text


CRM_JSON_FIELDS = {"crm_headers": CrmJSONField, "crm_mapping": CrmJSONField}


class LeadSourceChecks(forms.ModelForm):
    """The CRM headers and mapping checks of the builder and the Django admin (the API's
    serializer applies the same functions)."""

    def clean_crm_headers(self) -> Any:
        headers = self.cleaned_data.get("crm_headers")
        if headers in (None, ""):
            return {}
        if problem := crm_headers_problem(headers):
            raise forms.ValidationError(problem)
        return headers

    def clean_crm_mapping(self) -> Any:
        mapping = self.cleaned_data.get("crm_mapping")
        if mapping in (None, ""):
            return {}
        if problem := crm_mapping_shape_problem(mapping):
            raise forms.ValidationError(problem)
        return mapping

    def clean(self) -> dict[str, Any]:
        from leads.importing import validate_crm_mapping

        cleaned = super().clean() or {}
        if cleaned.get("lead_source") == LeadSource.CRM and "crm_mapping" in cleaned:
            for problem in validate_crm_mapping(cleaned["crm_mapping"]):
                self.add_error("crm_mapping", problem)
        return cleaned


class CampaignAdminForm(LeadSourceChecks):
    class Meta:
        model = Campaign
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets pick the fields
        field_classes = CRM_JSON_FIELDS


class CampaignForm(LeadSourceChecks):
    class Meta:
        model = Campaign
        fields = (
            "name",
            "note",
            "type",
            "retries",
            "cool_off",
            "cool_off_2nd",
            "cool_off_3rd",
            "dial_cycles",
            "dial_cycles_time",
            "mask_lead_caller_id",
            "queue",
            "customer_wait_sla",
            "greeting_media",
            "agent_dial_timeout",
            "preview_timeout",
            *PREDICTIVE_FIELDS,
            "tz_window_enabled",
            "tz_window_from",
            "tz_window_to",
            "tz_schedule_enabled",
            "tz_schedule_window_hours",
            "lead_source",
            "crm_method",
            "crm_url",
            "crm_headers",
            "crm_body",
            "crm_mapping",
        )
        widgets = {
            "note": forms.Textarea(attrs={"rows": 2}),
            "dial_cycles_time": TimeInput(),
            "tz_window_from": TimeInput(),
            "tz_window_to": TimeInput(),
            "crm_headers": forms.Textarea(attrs={"rows": 3, "class": "mono"}),
            "crm_body": forms.Textarea(attrs={"rows": 3, "class": "mono"}),
            "crm_mapping": forms.Textarea(attrs={"rows": 6, "class": "mono"}),
        }
        field_classes = CRM_JSON_FIELDS
        labels = {
            "crm_method": "CRM method",
            "mask_lead_caller_id": "Mask lead caller ID",
            "tz_window_enabled": "Dial By Timezone",
            "tz_schedule_enabled": "Dial by Schedule by Timezone",
        }
        help_texts = {
            "crm_headers": 'JSON object, e.g. {"Authorization": "Bearer …"}.',
            "crm_mapping": (
                'JSON: leads_array, first_name and number are required, e.g. {"leads_array": '
                '"data.leads", "first_name": "fname", "number": "phone"}.'
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        queue_field: Any = self.fields["queue"]
        queue_field.empty_label = "— pick the queue whose agents take the calls —"
        self.fields[
            "queue"
        ].help_text = "Required. The queue's strategy, wrap-up, skills and dispositions apply."
        for name in LEAD_SOURCE_FIELDS:
            self.fields[name].widget.attrs["form"] = FORM_ID
        if self.is_bound:
            # Options of another campaign type are not taken from the form: the values the
            # campaign had stay (the page hides those fields; a crafted post changes nothing).
            kind = self.data.get(self.add_prefix("type"))
            ignored: tuple[str, ...] = ()
            if kind != CampaignType.PROGRESSIVE:
                ignored += PROGRESSIVE_FIELDS
            if kind != CampaignType.PUSH_PREVIEW:
                ignored += PUSH_PREVIEW_FIELDS
            if kind != CampaignType.PREDICTIVE:
                ignored += PREDICTIVE_FIELDS
            for name in ignored:
                self.fields[name].disabled = True

    def _get_validation_exclusions(self) -> set[str]:
        # A sound of another campaign type is not taken from the form and stays as saved: one
        # saved before sounds were checked must not block the page, where its field is hidden.
        # The dialer refuses to play it all the same (dialstring.require_media).
        exclude: set[str] = super()._get_validation_exclusions()  # type: ignore[misc]
        return exclude | {name for name in SOUND_FIELDS if self.fields[name].disabled}


class ScheduleRowForm(forms.ModelForm):
    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAY_CHOICES,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one weekday."},
    )
    months = forms.TypedMultipleChoiceField(
        choices=MONTH_CHOICES,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every month.",
    )

    class Meta:
        model = ScheduleRow
        fields = (
            "weekdays",
            "start_time",
            "end_time",
            "month_day_start",
            "month_day_finish",
            "months",
        )
        widgets = {"start_time": TimeInput(), "end_time": TimeInput()}
        labels = {"month_day_start": "Month day start", "month_day_finish": "Month day finish"}


class CallerIdForm(forms.ModelForm):
    class Meta:
        model = CallerId
        fields = ("enabled", "kind", "name", "number")
        labels = {"kind": "Type", "number": "Number (E.164)"}
        widgets = {"number": forms.TextInput(attrs={"list": "account-numbers"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["number"].help_text = "Account: one of " + ", ".join(
            settings.ACCOUNT_MAIN_NUMBERS
        )


class TzScheduleSlotForm(forms.ModelForm):
    class Meta:
        model = TzScheduleSlot
        fields = ("day_offset", "start_time")
        labels = {"day_offset": "Day N", "start_time": "Start time"}
        widgets = {"start_time": TimeInput()}
        help_texts = {"day_offset": "0 = the day the lead was created, up to 6."}


def _formset(model: type, form: type[forms.ModelForm]) -> Any:
    return forms.inlineformset_factory(Campaign, model, form=form, extra=0, can_delete=True)


ScheduleRowFormSet = _formset(ScheduleRow, ScheduleRowForm)
CallerIdFormSet = _formset(CallerId, CallerIdForm)
TzScheduleSlotFormSet = _formset(TzScheduleSlot, TzScheduleSlotForm)


class LeadFilterForm(forms.Form):
    """The lead list's filters (GET)."""

    status = forms.ChoiceField(required=False, label="Status")
    number = forms.CharField(required=False, max_length=32, label="Number")
    name = forms.CharField(required=False, max_length=100, label="Name")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from leads.models import LeadStatus

        super().__init__(*args, **kwargs)
        status: Any = self.fields["status"]
        status.choices = [("", "Any status"), *LeadStatus.choices]
