"""The reports' filter forms: they turn query strings into selector filters, with clear errors."""

from __future__ import annotations

from typing import Any

from django import forms

from agents.models import Agent, Disposition
from campaigns.models import Campaign
from dialer.models import CallResult
from leads.models import LeadStatus

from .selectors import CallFilters, LeadFilters

_DATE = forms.DateInput(attrs={"type": "date"})
# A report longer than this would be a table scan nobody reads; ask for a narrower range.
MAX_RANGE_DAYS = 400


class CallFilterForm(forms.Form):
    date_from = forms.DateField(label="From", required=False, widget=_DATE)
    date_to = forms.DateField(label="To", required=False, widget=_DATE)
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.order_by("name"), required=False, empty_label="All campaigns"
    )
    agent = forms.ModelChoiceField(
        queryset=Agent.objects.select_related("user").order_by("name"),
        required=False,
        empty_label="All agents",
    )
    result = forms.ChoiceField(
        label="Dial result", choices=[("", "All results"), *CallResult.choices], required=False
    )
    disposition = forms.ModelChoiceField(
        queryset=Disposition.objects.order_by("label", "code"),
        required=False,
        empty_label="All dispositions",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        for name in ("date_from", "date_to"):
            day = data.get(name)
            # Days are turned into instants a timezone away: year 1 and 9999 have no room.
            if day is not None and not 2000 <= day.year <= 2999:
                self.add_error(name, "Pick a date between the years 2000 and 2999.")
                return data
        if start and end:
            if end < start:
                self.add_error("date_to", "The end date is before the start date.")
            elif (end - start).days > MAX_RANGE_DAYS:
                self.add_error("date_to", f"Pick at most {MAX_RANGE_DAYS} days.")
        return data

    def filters(self) -> CallFilters:
        """The filters of a valid form."""
        data = self.cleaned_data
        return CallFilters(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            campaign_id=data["campaign"].pk if data.get("campaign") else None,
            agent_id=data["agent"].pk if data.get("agent") else None,
            result=data.get("result") or None,
            disposition_id=data["disposition"].pk if data.get("disposition") else None,
        )


class LeadFilterForm(forms.Form):
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.order_by("name"), required=False, empty_label="All campaigns"
    )
    status = forms.ChoiceField(choices=[("", "All statuses"), *LeadStatus.choices], required=False)
    number = forms.CharField(max_length=20, required=False)
    name = forms.CharField(max_length=100, required=False)

    def filters(self) -> LeadFilters:
        data = self.cleaned_data
        return LeadFilters(
            campaign_id=data["campaign"].pk if data.get("campaign") else None,
            status=data.get("status") or None,
            number=data.get("number") or "",
            name=data.get("name") or "",
        )


def form_errors(form: forms.Form) -> dict[str, list[str]]:
    return {name: [str(e) for e in errors] for name, errors in form.errors.items()}
