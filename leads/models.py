"""Leads, their history and the Do-Not-Call list.

A lead's `state` is the dialer's fine-grained sub-state; `status` is what the spec's Leads
Status page shows (Active, In Progress, Cool Off, Voicemail, Successful, Failed). Only
`leads.lifecycle` writes `state`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from campaigns.models import Campaign


class LeadState(models.TextChoices):
    NEW = "new", "New"
    RESERVED = "reserved", "Reserved for an agent's card"
    DIALING = "dialing", "Dialing"
    RETRY = "retry", "Awaiting retry"
    COOLOFF = "cooloff", "Cool-off"
    CALLBACK = "callback", "Callback scheduled"
    VOICEMAIL = "voicemail", "Voicemail"
    SUCCESS = "success", "Successful"
    FAILED = "failed", "Failed"


class LeadStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    IN_PROGRESS = "in_progress", "In Progress"
    COOL_OFF = "cool_off", "Cool Off"
    VOICEMAIL = "voicemail", "Voicemail"
    SUCCESSFUL = "successful", "Successful"
    FAILED = "failed", "Failed"


STATUS_OF_STATE: dict[str, str] = {
    LeadState.NEW: LeadStatus.ACTIVE,
    LeadState.RESERVED: LeadStatus.IN_PROGRESS,
    LeadState.DIALING: LeadStatus.IN_PROGRESS,
    LeadState.RETRY: LeadStatus.IN_PROGRESS,
    LeadState.COOLOFF: LeadStatus.COOL_OFF,
    LeadState.CALLBACK: LeadStatus.COOL_OFF,
    LeadState.VOICEMAIL: LeadStatus.VOICEMAIL,
    LeadState.SUCCESS: LeadStatus.SUCCESSFUL,
    LeadState.FAILED: LeadStatus.FAILED,
}
STATES_OF_STATUS: dict[str, list[str]] = {}
for _state, _status in STATUS_OF_STATE.items():
    STATES_OF_STATUS.setdefault(_status, []).append(_state)

# States the selector may pick a lead from once its next_dial_at has come.
DIALABLE_STATES: tuple[str, ...] = (
    LeadState.NEW,
    LeadState.RETRY,
    LeadState.COOLOFF,
    LeadState.CALLBACK,
    LeadState.VOICEMAIL,
)
_DIALABLE_Q = Q(state__in=DIALABLE_STATES)


class Lead(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="leads")
    number = models.CharField(max_length=20, help_text="E.164")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    priority = models.IntegerField(default=0, help_text="Higher dials first.")
    retries = models.PositiveIntegerField(null=True, blank=True, help_text="Overrides campaign.")
    ticket_id = models.CharField("ticket ID", max_length=100, blank=True)
    cool_off = models.PositiveIntegerField("cool-off (s)", null=True, blank=True)
    cool_off_2nd = models.PositiveIntegerField("2nd cool-off (s)", null=True, blank=True)
    cool_off_3rd = models.PositiveIntegerField("3rd cool-off (s)", null=True, blank=True)
    note = models.TextField(blank=True)
    lead_type = models.CharField("type", max_length=60, blank=True)
    skill = models.CharField(max_length=60, blank=True)
    extension = models.CharField(max_length=20, blank=True)
    crm_data = models.JSONField("CRM fields", default=dict, blank=True)
    # The zone the lead is shown in, and every zone the number may ring in (windows must be
    # open in all of them). Derived from the number, else the account timezone.
    timezone = models.CharField(max_length=64)
    timezones = models.JSONField(default=list)

    state = models.CharField(max_length=12, choices=LeadState.choices, default=LeadState.NEW)
    attempts = models.PositiveIntegerField(default=0, help_text="Failed dial attempts so far.")
    next_dial_at = models.DateTimeField(
        help_text="Earliest time the lead may be dialed (cool-off, callback, next window)."
    )
    dial_cycle = models.PositiveIntegerField(default=0)
    last_result = models.CharField(max_length=40, blank=True)
    last_dialed_at = models.DateTimeField(null=True, blank=True)
    callback_agent = models.ForeignKey(
        "agents.Agent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="callbacks",
        help_text="A personal callback goes to this agent only.",
    )
    reserved_by = models.ForeignKey(
        "agents.Agent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reserved_leads",
        help_text="The agent whose lead card shows this lead.",
    )
    reserved_until = models.DateTimeField(null=True, blank=True)
    # Why the selector last passed over the lead, in words (shown in admin and lead list).
    not_dialable_reason = models.CharField(max_length=200, blank=True)
    # next_dial_at was moved to the next opening of a window (the lead's cool-off had ended):
    # a schedule change or a restart moves it back to now, so the new windows apply at once.
    window_held = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "number"], name="lead_campaign_number_unique"
            )
        ]
        indexes = [
            # The selector's access path: only dialable rows, in the order it takes them.
            models.Index(
                "campaign",
                models.F("priority").desc(),
                "next_dial_at",
                "id",
                name="lead_dialable_idx",
                condition=_DIALABLE_Q,
            ),
            models.Index(
                "campaign",
                "next_dial_at",
                name="lead_callback_due_idx",
                condition=Q(state=LeadState.CALLBACK),
            ),
            models.Index(fields=["campaign", "state"], name="lead_campaign_state_idx"),
            models.Index(
                fields=["state", "reserved_until"],
                name="lead_in_flight_idx",
                condition=Q(state__in=[LeadState.DIALING, LeadState.RESERVED]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} {self.number}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def status(self) -> str:
        return STATUS_OF_STATE[self.state]

    def get_status_display(self) -> str:
        return LeadStatus(self.status).label

    @property
    def max_attempts(self) -> int:
        return self.retries if self.retries is not None else self.campaign.retries


class LeadEvent(models.Model):
    """One row per state change or record edit: the lead's history."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12, blank=True)
    reason = models.CharField(max_length=200)
    actor = models.CharField(max_length=100, blank=True, help_text="user, dialer, selector …")
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["lead", "at", "id"]
        indexes = [models.Index(fields=["lead", "at"], name="leadevent_lead_at_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.from_state}→{self.to_state} {self.reason}"


class DoNotCall(models.Model):
    number = models.CharField(max_length=20, help_text="E.164")
    campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="do_not_call",
        help_text="Empty: the whole account.",
    )
    reason = models.CharField(max_length=200, blank=True)
    added_at = models.DateTimeField(auto_now_add=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = "Do-Not-Call number"
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["number", "campaign"], name="dnc_number_campaign_unique"
            ),
            models.UniqueConstraint(
                fields=["number"], condition=Q(campaign=None), name="dnc_number_account_unique"
            ),
        ]
        indexes = [models.Index(fields=["number"], name="dnc_number_idx")]

    def __str__(self) -> str:
        return self.number
