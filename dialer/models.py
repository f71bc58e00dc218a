"""Call: one activity row per dial attempt, cradle to grave."""

from __future__ import annotations

import uuid

from django.db import models


class CallResult(models.TextChoices):
    PENDING = "pending", "In progress"
    CONNECTED = "connected", "Answered and connected"
    NO_ANSWER = "no_answer", "No answer"
    BUSY = "busy", "Busy"
    INVALID = "invalid", "Invalid number"
    FAILED = "failed", "Failed"
    VOICEMAIL = "voicemail", "Voicemail"
    ABANDONED = "abandoned", "Abandoned"
    CANCELLED = "cancelled", "Cancelled by stop"
    SKIPPED = "skipped", "Skipped by agent"


class AmdMistake(models.TextChoices):
    """What answering-machine detection got wrong on a call, once someone learned it.

    Only these two matter to the compliance ledger (dialer.compliance): a person taken for a
    machine was hung up on — a live answer and an abandon; a machine taken for a person that an
    agent reached is no live answer at all."""

    NONE = "", "None known"
    HUMAN_AS_MACHINE = "human_as_machine", "A person taken for a machine (hung up on)"
    MACHINE_AS_HUMAN = "machine_as_human", "A machine taken for a person (agent reached voicemail)"


class Call(models.Model):
    uuid = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="calls"
    )
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="calls")
    attempt = models.PositiveIntegerField(
        help_text="This call's number among the lead's dials (1, 2 …)."
    )
    node = models.CharField(max_length=60, blank=True)
    number = models.CharField(max_length=20)
    caller_id_number = models.CharField(max_length=20, blank=True)
    caller_id_name = models.CharField(max_length=60, blank=True)

    requested_at = models.DateTimeField(help_text="When the selector created the dial request.")
    dial_deadline = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Not dialed after this (the lead's window closes, or the request is stale).",
    )
    dialed_at = models.DateTimeField(null=True, blank=True)
    ringing_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    agent_answered_at = models.DateTimeField(null=True, blank=True)
    hangup_at = models.DateTimeField(null=True, blank=True)

    result = models.CharField(max_length=20, choices=CallResult.choices, default="pending")
    hangup_cause = models.CharField(max_length=40, blank=True)
    amd_result = models.CharField("answering machine detection", max_length=20, blank=True)
    amd_mistake = models.CharField(
        "AMD mistake",
        max_length=20,
        choices=AmdMistake.choices,
        blank=True,
        default="",
        help_text="Set by dialer.calls.call_record_amd_mistake when AMD is known to be wrong.",
    )
    amd_mistake_at = models.DateTimeField(null=True, blank=True)
    amd_mistake_by = models.CharField(max_length=150, blank=True)

    agent = models.ForeignKey(
        "agents.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    agent_name = models.CharField(max_length=150, blank=True)
    agent_extension = models.CharField(max_length=20, blank=True)

    ring_seconds = models.FloatField(null=True, blank=True)
    talk_seconds = models.FloatField(null=True, blank=True)
    customer_wait_seconds = models.FloatField(null=True, blank=True)
    customer_wait_sla_met = models.BooleanField(null=True, blank=True)
    agent_sla_met = models.BooleanField(null=True, blank=True)
    disposition = models.ForeignKey(
        "agents.Disposition", null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["-requested_at", "-id"], name="call_time_idx"),
            models.Index(fields=["campaign", "-requested_at"], name="call_campaign_time_idx"),
            models.Index(fields=["agent", "-requested_at"], name="call_agent_time_idx"),
            models.Index(fields=["lead", "requested_at"], name="call_lead_idx"),
            models.Index(
                fields=["result"], name="call_pending_idx", condition=models.Q(result="pending")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.get_result_display()}"
