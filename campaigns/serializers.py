"""REST serializers for campaigns and their rows (schedule, caller ID, timezone slots)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models, transaction
from rest_framework import serializers
from rest_framework.fields import empty

from agents.roles import is_admin
from leads.importing import validate_crm_mapping

from .models import (
    TZ_SLOTS_NEEDED,
    CallerId,
    Campaign,
    LeadSource,
    ScheduleRow,
    TzScheduleSlot,
    crm_headers_problem,
    crm_mapping_shape_problem,
)


def _model_clean(model: type[Any], attrs: dict[str, Any], instance: Any = None) -> None:
    """Run the model's own clean() so the API refuses what the admin and builder refuse."""
    values: dict[str, Any] = {}
    if instance is not None:
        values = {f.name: getattr(instance, f.name) for f in model._meta.concrete_fields}
    values.update(attrs)
    candidate = model(**{k: v for k, v in values.items() if k not in ("id", "campaign")})
    try:
        candidate.clean()
    except DjangoValidationError as exc:
        raise serializers.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        ) from None


class LocalTimeField(serializers.TimeField):
    """A wall-clock time as the builder takes it: "09:00" or "09:00:30", never with a UTC
    offset (which DRF would silently drop)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("input_formats", ["%H:%M", "%H:%M:%S", "%H:%M:%S.%f"])
        super().__init__(**kwargs)


class LocalTimeModelSerializer(serializers.ModelSerializer[Any]):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.TimeField: LocalTimeField,
    }


class WholeRowsListSerializer(serializers.ListSerializer[Any]):
    """Rows sent with a PATCH replace the campaign's rows, so each is checked whole: DRF would
    otherwise treat them as partial, like their campaign, and let fields go missing."""

    def run_validation(self, data: Any = empty) -> Any:
        is_empty, data = self.validate_empty_values(data)
        if is_empty:
            return data
        row: Any = self.child
        whole: serializers.ListSerializer[Any] = serializers.ListSerializer(
            child=type(row)(), data=data, context=self.context
        )
        whole.is_valid(raise_exception=True)
        return whole.validated_data


class ScheduleRowSerializer(LocalTimeModelSerializer):
    class Meta:
        model = ScheduleRow
        list_serializer_class = WholeRowsListSerializer
        fields = [
            "weekdays",
            "start_time",
            "end_time",
            "month_day_start",
            "month_day_finish",
            "months",
        ]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _model_clean(ScheduleRow, attrs)
        return attrs


class CallerIdSerializer(serializers.ModelSerializer[CallerId]):
    class Meta:
        model = CallerId
        list_serializer_class = WholeRowsListSerializer
        fields = ["enabled", "kind", "name", "number", "position"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _model_clean(CallerId, attrs)
        return attrs


class TzScheduleSlotSerializer(LocalTimeModelSerializer):
    class Meta:
        model = TzScheduleSlot
        list_serializer_class = WholeRowsListSerializer
        fields = ["day_offset", "start_time"]


_NESTED: dict[str, type[Any]] = {
    "schedule_rows": ScheduleRow,
    "caller_ids": CallerId,
    "tz_slots": TzScheduleSlot,
}


class CampaignSerializer(LocalTimeModelSerializer):
    """A campaign with its rows. Rows sent with a write replace the campaign's rows."""

    schedule_rows = ScheduleRowSerializer(many=True, required=False)
    caller_ids = CallerIdSerializer(many=True, required=False)
    tz_slots = TzScheduleSlotSerializer(many=True, required=False)
    queue_name = serializers.CharField(source="queue.name", read_only=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
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
            "queue_name",
            "customer_wait_sla",
            "greeting_media",
            "agent_dial_timeout",
            "preview_timeout",
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
            "run_status",
            "started_at",
            "stopped_at",
            "schedule_rows",
            "caller_ids",
            "tz_slots",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["run_status", "started_at", "stopped_at", "created_at", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        own = {k: v for k, v in attrs.items() if k not in _NESTED}
        _model_clean(Campaign, own, self.instance)
        source = attrs.get("lead_source", getattr(self.instance, "lead_source", None))
        # The builder's rule: what is sent must be an object; the full check when the source
        # is CRM (a draft mapping on a CSV campaign blocks nothing).
        if "crm_mapping" in attrs and (problem := crm_mapping_shape_problem(attrs["crm_mapping"])):
            raise serializers.ValidationError({"crm_mapping": [problem]})
        if source == LeadSource.CRM:
            mapping = attrs.get("crm_mapping", getattr(self.instance, "crm_mapping", {}))
            errors = validate_crm_mapping(mapping)
            if errors:
                raise serializers.ValidationError({"crm_mapping": errors})
        if "crm_headers" in attrs and (problem := crm_headers_problem(attrs["crm_headers"])):
            raise serializers.ValidationError({"crm_headers": [problem]})
        slots = [(s["day_offset"], s["start_time"]) for s in attrs.get("tz_slots") or []]
        if len(slots) != len(set(slots)):
            raise serializers.ValidationError({"tz_slots": ["The same day and time twice."]})
        enabled = attrs.get(
            "tz_schedule_enabled", getattr(self.instance, "tz_schedule_enabled", False)
        )
        if enabled:
            has_slots = (
                bool(attrs["tz_slots"])
                if attrs.get("tz_slots") is not None
                else self.instance is not None and self.instance.tz_slots.exists()
            )
            if not has_slots:
                raise serializers.ValidationError({"tz_schedule_enabled": [TZ_SLOTS_NEEDED]})
        return attrs

    def to_representation(self, instance: Campaign) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        # Header values are often API keys: only admins see them.
        if request is not None and not is_admin(request.user) and data.get("crm_headers"):
            headers = data["crm_headers"]
            # One saved before headers were checked may be any JSON: hidden whole.
            data["crm_headers"] = (
                dict.fromkeys(headers, "********") if isinstance(headers, dict) else "********"
            )
        return data

    def create(self, validated_data: dict[str, Any]) -> Campaign:
        rows = {name: validated_data.pop(name, None) for name in _NESTED}
        with transaction.atomic():
            campaign = super().create(validated_data)
            self._replace_rows(campaign, rows)
        return campaign

    def update(self, instance: Campaign, validated_data: dict[str, Any]) -> Campaign:
        rows = {name: validated_data.pop(name, None) for name in _NESTED}
        with transaction.atomic():
            campaign = super().update(instance, validated_data)
            self._replace_rows(campaign, rows)
        return campaign

    @staticmethod
    def _replace_rows(campaign: Campaign, rows: dict[str, list[dict[str, Any]] | None]) -> None:
        for name, items in rows.items():
            if items is None:
                continue
            model = _NESTED[name]
            model.objects.filter(campaign=campaign).delete()
            model.objects.bulk_create(model(campaign=campaign, **item) for item in items)


class StartedCampaignSerializer(CampaignSerializer):
    """The start action's answer (its schema; the action fills ``warnings``): the campaign and
    what its starter should know, such as agents not on auto-answer, whose ring time counts
    towards the 2 s abandon rule."""

    warnings = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta(CampaignSerializer.Meta):
        fields = [*CampaignSerializer.Meta.fields, "warnings"]
