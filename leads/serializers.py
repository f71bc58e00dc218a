"""REST serializers for leads, lead status counts and import reports."""

from __future__ import annotations

from rest_framework import serializers

from .models import DoNotCall, Lead, LeadStatus


class LeadSerializer(serializers.ModelSerializer[Lead]):
    type = serializers.CharField(source="lead_type", read_only=True)
    status = serializers.CharField(read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Lead
        fields = [
            "id",
            "campaign",
            "number",
            "first_name",
            "last_name",
            "priority",
            "retries",
            "ticket_id",
            "cool_off",
            "cool_off_2nd",
            "cool_off_3rd",
            "note",
            "type",
            "skill",
            "extension",
            "crm_data",
            "timezone",
            "timezones",
            "status",
            "status_display",
            "state",
            "attempts",
            "next_dial_at",
            "dial_cycle",
            "last_result",
            "last_dialed_at",
            "not_dialable_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class LeadRecordEditSerializer(serializers.Serializer[dict[str, object]]):
    """The customer fields a PATCH may change (documentation for the schema)."""

    number = serializers.CharField(required=False)
    first_name = serializers.CharField(required=False)
    last_name = serializers.CharField(required=False, allow_blank=True)
    priority = serializers.CharField(required=False)
    retries = serializers.CharField(required=False, allow_blank=True)
    ticket_id = serializers.CharField(required=False, allow_blank=True)
    cool_off = serializers.CharField(required=False, allow_blank=True)
    cool_off_2nd = serializers.CharField(required=False, allow_blank=True)
    cool_off_3rd = serializers.CharField(required=False, allow_blank=True)
    note = serializers.CharField(required=False, allow_blank=True)
    type = serializers.CharField(required=False, allow_blank=True)
    skill = serializers.CharField(required=False, allow_blank=True)
    extension = serializers.CharField(required=False, allow_blank=True)


class RowErrorSerializer(serializers.Serializer[dict[str, object]]):
    line = serializers.IntegerField(help_text="CSV line (1 is the header), or CRM array index.")
    reason = serializers.CharField()


class ImportReportSerializer(serializers.Serializer[dict[str, object]]):
    ok = serializers.BooleanField(help_text="Every row imported.")
    imported = serializers.IntegerField()
    rejected_count = serializers.IntegerField(help_text="All rejected rows, also unlisted ones.")
    rejected = RowErrorSerializer(many=True, help_text="Up to 10,000 rejected rows.")
    error = serializers.CharField(allow_null=True, help_text="Set: nothing was imported.")
    summary = serializers.CharField()


class CsvUploadSerializer(serializers.Serializer[dict[str, object]]):
    file = serializers.FileField(help_text="The CSV file (number, priority, first_name, …).")


class LeadStatusCountsSerializer(serializers.Serializer[dict[str, object]]):
    campaign = serializers.IntegerField()
    campaign_name = serializers.CharField()
    total = serializers.IntegerField()
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Leads per status: " + ", ".join(LeadStatus.values) + ".",
    )


class DoNotCallSerializer(serializers.ModelSerializer[DoNotCall]):
    number = serializers.CharField(max_length=32, help_text="Any format; stored as E.164.")

    class Meta:
        model = DoNotCall
        fields = ["id", "number", "campaign", "reason", "added_at"]
        read_only_fields = ["added_at"]
        # The number is normalised by dnc_add; adding it twice is not an error.
        validators: list[object] = []
