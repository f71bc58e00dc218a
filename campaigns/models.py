"""Campaigns and their settings: schedule, caller ID, timezone windows and lead source."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from agents.models import Queue, validate_e164_field
from dialer.esl.dialstring import sound_problem

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def validate_sound_file(value: str) -> None:
    """A message that plays and ends (greeting, safe-harbor): a sound file, nothing else."""
    problem = sound_problem(value, streams=False)
    if problem is not None:
        raise ValidationError(problem, code="sound")


# PostgreSQL cannot store NUL in text or jsonb, and UTF-8 has no lone surrogates.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# An HTTP header name is a token (RFC 9110); its value printable Latin-1 on one line, which is
# what the HTTP client can send.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE = re.compile(
    r"(?:[\x21-\x7e\xa1-\xff](?:[\x20-\x7e\xa0-\xff]*[\x21-\x7e\xa1-\xff])?)?"
)
TZ_SLOTS_NEEDED = "Add at least one day and start time for Dial by Schedule by Timezone."


def unstorable_text_problem(value: Any) -> str | None:
    """Why the database cannot keep this JSON value (a NUL or a lone surrogate in any text,
    keys included), or None."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return "Text may not hold NUL characters or unpaired surrogates (\\u0000, \\ud800)."
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return None


def crm_headers_problem(headers: Any) -> str | None:
    """What is wrong with the CRM request headers, in words, or None: a JSON object of header
    names and values the HTTP client can send."""
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        return 'Headers are a JSON object of names and text values, e.g. {"X-Api-Key": "…"}.'
    if problem := unstorable_text_problem(headers):
        return problem
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name):
            return f"{name!r} is not a header name: use letters, digits and - only."
        if not _HEADER_VALUE.fullmatch(value):
            return (
                f"The value of {name!r} must be one line of printable Latin-1 text "
                "without spaces at its ends."
            )
    return None


def crm_mapping_shape_problem(mapping: Any) -> str | None:
    """What makes a CRM mapping unusable whatever the lead source (the full check, when the
    source is CRM, is leads.importing.validate_crm_mapping), or None."""
    if not isinstance(mapping, dict):
        return 'The mapping must be a JSON object such as {"leads_array": "data.items", …}.'
    return unstorable_text_problem(mapping)


class CampaignType(models.TextChoices):
    PREVIEW = "preview", "Preview"
    PUSH_PREVIEW = "push_preview", "Push Preview"
    PROGRESSIVE = "progressive", "Progressive"
    PREDICTIVE = "predictive", "Predictive"


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    STOPPED = "stopped", "Stopped"


class AbandonWindow(models.TextChoices):
    DAYS_30 = "30d", "30 days (US: FTC TSR, FCC)"
    HOURS_24 = "24h", "24 hours (UK: Ofcom)"


class DropRule(models.TextChoices):
    RETRY = "retry", "Retry after the drop retry delay"
    NO_REPEAT_72H = "no_repeat_72h", "No repeat call within 72 hours (UK)"


class LeadSource(models.TextChoices):
    CSV = "csv", "CSV upload"
    CRM = "crm", "CRM API"


class HttpMethod(models.TextChoices):
    GET = "GET", "GET"
    POST = "POST", "POST"
    PUT = "PUT", "PUT"


class Campaign(models.Model):
    # General configuration
    name = models.CharField(max_length=120, unique=True)
    note = models.TextField(blank=True)
    type = models.CharField(
        max_length=20, choices=CampaignType.choices, default=CampaignType.PROGRESSIVE
    )
    retries = models.PositiveIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Dial attempts per lead before it is marked Failed.",
    )
    cool_off = models.PositiveIntegerField(
        "cool-off (s)", default=3600, help_text="Wait after a failed dial before the next."
    )
    cool_off_2nd = models.PositiveIntegerField(
        "2nd cool-off (s)",
        null=True,
        blank=True,
        help_text="After the second failed attempt; overrides the lead's own value.",
    )
    cool_off_3rd = models.PositiveIntegerField(
        "3rd cool-off (s)",
        null=True,
        blank=True,
        help_text="After the third failed attempt; overrides the lead's own value.",
    )
    dial_cycles = models.PositiveIntegerField(
        default=0, help_text="Full passes through the list per cycle window. 0: no limit."
    )
    dial_cycles_time = models.TimeField(
        null=True, blank=True, help_text="Time of day (account timezone) when cycles reset."
    )
    mask_lead_caller_id = models.BooleanField(
        default=False, help_text="Agents do not see the lead's number."
    )

    # Select queue
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="campaigns")

    # Progressive-only
    customer_wait_sla = models.PositiveIntegerField(
        "customer wait for agent SLA (s)",
        default=3,
        help_text="Seconds the customer waits in silence before the greeting plays.",
    )
    greeting_media = models.CharField(
        "greeting post lead wait SLA",
        max_length=255,
        blank=True,
        validators=[validate_sound_file],
        help_text="Sound file played when the SLA is exceeded; empty: silence.",
    )
    agent_dial_timeout = models.PositiveIntegerField(
        "agent dial timeout (s)",
        default=30,
        validators=[MinValueValidator(1)],
        help_text="Then the customer waits in the queue with hold music.",
    )

    # Predictive: compliance ledger and drops
    abandon_cap = models.DecimalField(
        "abandon rate cap (%)",
        max_digits=4,
        decimal_places=2,
        default=3,
        validators=[MinValueValidator(0.1), MaxValueValidator(10)],
        help_text="Abandoned ÷ live answers over the window; pacing keeps under it.",
    )
    abandon_window = models.CharField(
        "abandon rate window", max_length=4, choices=AbandonWindow.choices, default="30d"
    )
    drop_seconds = models.PositiveSmallIntegerField(
        "drop time (s)",
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="Live answer without an agent after this: dropped, safe-harbor message.",
    )
    safe_harbor_media = models.CharField(
        "safe-harbor message",
        max_length=255,
        blank=True,
        validators=[validate_sound_file],
        help_text="Sound file naming the caller and how to opt out, for dropped calls.",
    )
    drop_rule = models.CharField(
        "after a drop", max_length=20, choices=DropRule.choices, default="retry"
    )
    drop_retry_minutes = models.PositiveIntegerField(
        "drop retry delay (min)", default=60, help_text="Before a dropped lead is dialed again."
    )
    max_lines_per_agent = models.DecimalField(
        "max lines per agent",
        max_digits=3,
        decimal_places=1,
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )

    # Preview / Push Preview
    preview_timeout = models.PositiveIntegerField(
        "push preview countdown (s)",
        default=30,
        validators=[MinValueValidator(5)],
        help_text="Seconds an agent has to accept a pushed lead card.",
    )

    # Dial By Timezone
    tz_window_enabled = models.BooleanField("dial by timezone", default=False)
    tz_window_from = models.TimeField("from (lead local time)", null=True, blank=True)
    tz_window_to = models.TimeField("to (lead local time)", null=True, blank=True)

    # Dial by Schedule by Timezone
    tz_schedule_enabled = models.BooleanField("dial by schedule by timezone", default=False)
    tz_schedule_window_hours = models.DecimalField(
        "window duration (hours)",
        max_digits=4,
        decimal_places=2,
        default=1,
        validators=[MinValueValidator(0.25), MaxValueValidator(24)],
    )

    # Lead source
    lead_source = models.CharField(max_length=10, choices=LeadSource.choices, default="csv")
    crm_method = models.CharField(max_length=6, choices=HttpMethod.choices, default="GET")
    crm_url = models.URLField("CRM API URL", blank=True, max_length=500)
    crm_headers = models.JSONField("CRM request headers", default=dict, blank=True)
    crm_body = models.TextField("CRM request body", blank=True)
    crm_mapping = models.JSONField("parse response body", default=dict, blank=True)

    # Run status
    run_status = models.CharField(
        max_length=10, choices=RunStatus.choices, default=RunStatus.STOPPED
    )
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    # Start of the current dial-cycle window and how many full passes were made in it.
    cycle_window_start = models.DateTimeField(null=True, blank=True)
    cycles_done = models.PositiveIntegerField(default=0)
    # A number that only grows: a lead whose dial_cycle is below it has not been dialed in the
    # current pass. Starting a new pass is one UPDATE of the campaign, not of its leads.
    cycle_pass = models.PositiveIntegerField(default=1)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("start_stop_campaign", "Can start and stop campaigns")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_running(self) -> bool:
        return self.run_status == RunStatus.RUNNING

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.tz_window_enabled and self.tz_schedule_enabled:
            errors["tz_schedule_enabled"] = (
                "Dial By Timezone and Dial by Schedule by Timezone cannot both be on."
            )
        if self.tz_window_enabled and (self.tz_window_from is None or self.tz_window_to is None):
            errors["tz_window_from"] = "Dial By Timezone needs both From and To."
        if self.dial_cycles and self.dial_cycles_time is None:
            errors["dial_cycles_time"] = "Set the time of day when dial cycles reset."
        if self.lead_source == LeadSource.CRM and not self.crm_url:
            errors["crm_url"] = "A CRM lead source needs the API URL."
        if errors:
            raise ValidationError(errors)


class ScheduleRow(models.Model):
    """A time group: when the campaign may dial, in the account timezone."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="schedule_rows")
    weekdays = models.JSONField(default=list, help_text="0 = Monday … 6 = Sunday.")
    start_time = models.TimeField()
    end_time = models.TimeField(help_text="May be earlier than start: the window crosses midnight.")
    month_day_start = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(31)]
    )
    month_day_finish = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(31)]
    )
    months = models.JSONField(default=list, blank=True, help_text="1 … 12; empty: every month.")

    class Meta:
        ordering = ["campaign", "id"]

    def __str__(self) -> str:
        days = ",".join(WEEKDAYS[d] for d in sorted(self.weekdays) if 0 <= d < 7)
        return f"{days} {self.start_time:%H:%M}-{self.end_time:%H:%M}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        # Sent through the API these are any JSON: booleans are ints to Python, not weekdays.
        if (
            not isinstance(self.weekdays, list)
            or not self.weekdays
            or not all(_is_int_in(d, 0, 6) for d in self.weekdays)
        ):
            errors["weekdays"] = "Pick at least one weekday (a list of 0 = Monday … 6 = Sunday)."
        if not isinstance(self.months, list) or not all(_is_int_in(m, 1, 12) for m in self.months):
            errors["months"] = "Months are a list of 1 to 12."
        if (self.month_day_start is None) != (self.month_day_finish is None):
            errors["month_day_finish"] = "Give both Month Day Start and Finish, or neither."
        if self.start_time is not None and self.start_time == self.end_time:
            errors["end_time"] = "Start and end are the same: the window would be empty."
        if errors:
            raise ValidationError(errors)


def _is_int_in(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


class CallerIdKind(models.TextChoices):
    ACCOUNT = "account", "Account number"
    CUSTOM = "custom", "Custom"


class CallerId(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="caller_ids")
    enabled = models.BooleanField(default=True)
    kind = models.CharField(max_length=10, choices=CallerIdKind.choices, default="custom")
    name = models.CharField(max_length=60, blank=True)
    number = models.CharField(max_length=20, validators=[validate_e164_field])
    position = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["campaign", "position", "id"]
        verbose_name = "caller ID"

    def __str__(self) -> str:
        return f"{self.name} <{self.number}>" if self.name else self.number

    def clean(self) -> None:
        from django.conf import settings

        if self.kind == CallerIdKind.ACCOUNT and self.number not in settings.ACCOUNT_MAIN_NUMBERS:
            raise ValidationError({"number": "Pick one of the account's main numbers."})


class TzScheduleSlot(models.Model):
    """Dial by Schedule by Timezone: day N after the lead's creation, a window from start_time."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="tz_slots")
    day_offset = models.PositiveSmallIntegerField(validators=[MaxValueValidator(6)])
    start_time = models.TimeField()

    class Meta:
        ordering = ["campaign", "day_offset", "start_time"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "day_offset", "start_time"], name="tz_slot_unique"
            )
        ]

    def __str__(self) -> str:
        return f"day {self.day_offset} at {self.start_time:%H:%M}"
