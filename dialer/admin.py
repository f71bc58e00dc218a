"""Admin for calls: the activity log, read-only (the dialer writes it). The one correction an
admin may record is an AMD mistake (the compliance ledger counts it), through its service."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .calls import AmdMistakeRefused, call_record_amd_mistake
from .models import AmdMistake, Call


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
        "amd_result",
        "amd_mistake",
    )
    list_filter = ("result", "amd_mistake", "campaign")
    search_fields = ("number", "uuid", "agent_name", "lead__first_name", "lead__last_name")
    list_select_related = ("campaign",)
    date_hierarchy = "requested_at"
    show_full_result_count = False
    raw_id_fields = ("lead", "agent")
    actions = ("mark_person_taken_for_machine", "clear_amd_mistake")

    @admin.action(description="AMD hung up on a person: count as a live answer and an abandon")
    def mark_person_taken_for_machine(self, request: HttpRequest, queryset: QuerySet[Call]) -> None:
        self._record(request, queryset, AmdMistake.HUMAN_AS_MACHINE)

    @admin.action(description="Clear the recorded AMD mistake")
    def clear_amd_mistake(self, request: HttpRequest, queryset: QuerySet[Call]) -> None:
        self._record(request, queryset, AmdMistake.NONE)

    def _record(self, request: HttpRequest, queryset: QuerySet[Call], mistake: AmdMistake) -> None:
        now = timezone.now()
        changed, refused = 0, []
        for call_id, number in queryset.values_list("id", "number"):
            try:
                changed += call_record_amd_mistake(
                    call_id=call_id, mistake=mistake, now=now, actor=request.user.get_username()
                )
            except AmdMistakeRefused as exc:
                refused.append(f"{number}: {exc}")
        self.message_user(request, f"{changed} call(s) changed.", messages.SUCCESS)
        if refused:
            self.message_user(request, "Refused — " + "; ".join(refused[:20]), messages.WARNING)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
