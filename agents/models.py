"""Queues, agents, tiers, skills and disposition codes: mod_callcenter's side of the back office."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from leads.phone import InvalidNumber, to_e164

queue_name_validator = RegexValidator(
    r"^[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+$",
    "Use mod_callcenter's form name@domain, e.g. sales@default (letters, digits, . _ -).",
)
agent_name_validator = RegexValidator(
    r"^[A-Za-z0-9_.-]+(@[A-Za-z0-9_.-]+)?$",
    "Use letters, digits, . _ - and optionally @domain, e.g. 1001@default.",
)


def validate_e164_field(value: str) -> None:
    if not value:
        return
    try:
        normalised = to_e164(value, settings.ACCOUNT_DEFAULT_REGION)
    except InvalidNumber as exc:
        raise ValidationError(f"{value!r}: {exc}") from None
    if normalised != value:
        raise ValidationError(f"Write the number in E.164 form: {normalised}")


class Strategy(models.TextChoices):
    # mod_callcenter's strategies, spelled exactly as callcenter.conf.xml wants them.
    RING_ALL = "ring-all", "Ring all"
    LONGEST_IDLE_AGENT = "longest-idle-agent", "Longest idle agent"
    ROUND_ROBIN = "round-robin", "Round robin"
    TOP_DOWN = "top-down", "Top down"
    AGENT_WITH_LEAST_TALK_TIME = "agent-with-least-talk-time", "Agent with least talk time"
    AGENT_WITH_FEWEST_CALLS = "agent-with-fewest-calls", "Agent with fewest calls"
    SEQUENTIALLY_BY_AGENT_ORDER = "sequentially-by-agent-order", "Sequentially by agent order"
    RANDOM = "random", "Random"
    RING_PROGRESSIVELY = "ring-progressively", "Ring progressively"


class Queue(models.Model):
    name = models.CharField(max_length=100, unique=True, validators=[queue_name_validator])
    strategy = models.CharField(
        max_length=40, choices=Strategy.choices, default=Strategy.LONGEST_IDLE_AGENT
    )
    moh_sound = models.CharField(
        "hold music",
        max_length=255,
        default="local_stream://moh",
        help_text="FreeSWITCH sound or stream the waiting customer hears.",
    )
    wrap_up_time = models.PositiveIntegerField(
        "wrap-up time (s)", default=10, help_text="Seconds after a call before the next offer."
    )
    max_wait_time = models.PositiveIntegerField(
        "max wait (s)", default=0, help_text="0 waits forever."
    )
    outbound_enabled = models.BooleanField("outbound calls enabled", default=True)
    phone_number = models.CharField(
        max_length=20,
        blank=True,
        validators=[validate_e164_field],
        help_text="E.164; the caller ID when a campaign has no caller ID rows.",
    )
    tier_rules_apply = models.BooleanField(default=False)
    tier_rule_wait_second = models.PositiveIntegerField(default=300)
    discard_abandoned_after = models.PositiveIntegerField(default=60)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Skill(models.Model):
    name = models.CharField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgentStatus(models.TextChoices):
    # mod_callcenter's status strings, exactly.
    LOGGED_OUT = "Logged Out", "Logged Out"
    AVAILABLE = "Available", "Available"
    ON_BREAK = "On Break", "On Break"


class Agent(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent"
    )
    name = models.CharField(
        "callcenter agent name",
        max_length=100,
        unique=True,
        validators=[agent_name_validator],
        help_text="The agent's name in mod_callcenter, e.g. 1001@default.",
    )
    extension = models.CharField(
        max_length=20, validators=[RegexValidator(r"^[0-9]{2,10}$", "Digits only, 2 to 10.")]
    )
    contact = models.CharField(
        "FreeSWITCH contact",
        max_length=255,
        help_text="Dial string mod_callcenter uses to ring the agent, e.g. user/1001.",
        validators=[
            RegexValidator(
                r"^(\[[A-Za-z0-9_=.,-]*\])?(user|sofia|verto\.rtc)/[A-Za-z0-9_@.:/-]+$",
                "A FreeSWITCH endpoint such as user/1001 or sofia/internal/1001@pbx.",
            )
        ],
    )
    status = models.CharField(
        max_length=20, choices=AgentStatus.choices, default=AgentStatus.LOGGED_OUT
    )
    break_reason = models.CharField(max_length=100, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    max_no_answer = models.PositiveIntegerField(default=3)
    no_answer_delay_time = models.PositiveIntegerField(default=10)
    reject_delay_time = models.PositiveIntegerField(default=10)
    busy_delay_time = models.PositiveIntegerField(default=10)
    skills = models.ManyToManyField(Skill, blank=True, related_name="agents")
    queues: models.ManyToManyField[Queue, Tier] = models.ManyToManyField(
        Queue, through="Tier", related_name="agents"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        full = self.user.get_full_name() or self.user.get_username()
        return f"{full} ({self.extension})"

    @property
    def display_name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class Tier(models.Model):
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="tiers")
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="tiers")
    level = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    position = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["queue", "level", "position"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "queue"], name="tier_agent_queue_unique")
        ]

    def __str__(self) -> str:
        return f"{self.agent.name} in {self.queue.name} (level {self.level})"


class DispositionOutcome(models.TextChoices):
    SUCCESSFUL = "successful", "Ends the lead as Successful"
    FAILED = "failed", "Ends the lead as Failed"
    CALLBACK = "callback", "Schedules a callback"
    VOICEMAIL = "voicemail", "Marks voicemail"
    DO_NOT_CALL = "dnc", "Adds the number to Do-Not-Call"


class Disposition(models.Model):
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="dispositions")
    code = models.SlugField(max_length=40)
    label = models.CharField(max_length=100)
    outcome = models.CharField(max_length=20, choices=DispositionOutcome.choices)
    position = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["queue", "position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["queue", "code"], name="disposition_queue_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.code})"
