"""Admin for calls: the activity log, read-only (the dialer writes it)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Call


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = (
        "requested_at",
        "campaign",
        "number",
        "attempt",
        "result",
        "hangup_cause",
        "agent_name",
        "ring_seconds",
        "talk_seconds",
    )
    list_filter = ("result", "campaign")
    search_fields = ("number", "uuid", "agent_name", "lead__first_name", "lead__last_name")
    list_select_related = ("campaign",)
    date_hierarchy = "requested_at"
    show_full_result_count = False
    raw_id_fields = ("lead", "agent")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
