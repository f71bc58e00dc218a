"""Admin for queues, agents, tiers, skills and disposition codes."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from .models import Agent, Disposition, Queue, Skill, Tier


class TierInline(admin.TabularInline):
    model = Tier
    extra = 0
    autocomplete_fields = ("agent",)
    fields = ("agent", "level", "position")


class DispositionInline(admin.TabularInline):
    model = Disposition
    extra = 0
    fields = ("position", "code", "label", "outcome")
    prepopulated_fields = {"code": ("label",)}


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "strategy",
        "outbound_enabled",
        "phone_number",
        "wrap_up_time",
        "agent_count",
        "campaign_count",
    )
    list_filter = ("strategy", "outbound_enabled")
    search_fields = ("name", "phone_number")
    inlines = (TierInline, DispositionInline)
    fieldsets = (
        (None, {"fields": ("name", "strategy", "outbound_enabled", "phone_number")}),
        ("Calls", {"fields": ("moh_sound", "wrap_up_time", "max_wait_time")}),
        (
            "Tier rules",
            {
                "classes": ("collapse",),
                "fields": (
                    "tier_rules_apply",
                    "tier_rule_wait_second",
                    "discard_abandoned_after",
                ),
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Queue]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_agents=Count("tiers", distinct=True),
                n_campaigns=Count("campaigns", distinct=True),
            )
        )

    @admin.display(description="agents", ordering="n_agents")
    def agent_count(self, obj: Queue) -> int:
        return obj.n_agents  # type: ignore[attr-defined]

    @admin.display(description="campaigns", ordering="n_campaigns")
    def campaign_count(self, obj: Queue) -> int:
        return obj.n_campaigns  # type: ignore[attr-defined]


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ("name", "display_name", "extension", "contact", "status", "status_changed_at")
    list_filter = ("status", "queues", "skills")
    search_fields = ("name", "extension", "user__username", "user__first_name", "user__last_name")
    list_select_related = ("user",)
    filter_horizontal = ("skills",)
    readonly_fields = ("status_changed_at",)
    inlines = (TierInline,)
    fieldsets = (
        (None, {"fields": ("user", "name", "extension", "contact", "skills")}),
        ("State", {"fields": ("status", "break_reason", "status_changed_at")}),
        (
            "No-answer handling",
            {
                "classes": ("collapse",),
                "fields": (
                    "max_no_answer",
                    "no_answer_delay_time",
                    "reject_delay_time",
                    "busy_delay_time",
                ),
            },
        ),
    )

    @admin.display(description="person", ordering="user__last_name")
    def display_name(self, obj: Agent) -> str:
        return obj.display_name


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ("agent", "queue", "level", "position")
    list_filter = ("queue",)
    search_fields = ("agent__name", "queue__name", "agent__user__username")
    list_select_related = ("agent__user", "queue")
    autocomplete_fields = ("agent", "queue")


@admin.register(Disposition)
class DispositionAdmin(admin.ModelAdmin):
    list_display = ("label", "code", "queue", "outcome", "position")
    list_filter = ("queue", "outcome")
    search_fields = ("label", "code")
    list_select_related = ("queue",)
