"""Queues, agents, tiers, skills and disposition codes: mod_callcenter's side of the back office."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from dialer.esl.dialstring import sound_problem
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


def validate_hold_music(value: str) -> None:
    """A sound file or a local stream, nothing FreeSWITCH would read as an application."""
    problem = sound_problem(value, streams=True)
    if problem is not None:
        raise ValidationError(problem, code="sound")


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
        validators=[validate_hold_music],
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
        help_text=(
            "Dial string mod_callcenter uses to ring the agent, e.g. "
            "[sip_auto_answer=true]user/1001: on auto-answer the customer reaches the agent "
            "inside the 2 s abandon rule; a phone that rings first turns answers into abandons."
        ),
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

    @property
    def auto_answers(self) -> bool:
        """The contact asks the phone to pick up by itself (``[sip_auto_answer=true]…``)."""
        if not self.contact.startswith("["):
            return False
        head = self.contact[1:].split("]", 1)[0]
        variables = dict(part.partition("=")[::2] for part in head.split(","))
        # FreeSWITCH's switch_true, as the phone's auto-answer header is sent on it.
        return variables.get("sip_auto_answer", "").lower() in ("true", "1", "yes", "on")


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


# --- The agent desktop (agents/desktop/) ------------------------------------------------------


class MessageKind(models.TextChoices):
    CAMPAIGN = "campaign", "Campaign"
    LOGOUT = "logout", "Logout"
    SYSTEM = "system", "System"


class AgentMessage(models.Model):
    """My Messages: campaign notifications, logout negotiation and system messages."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=10, choices=MessageKind.choices)
    title = models.CharField(max_length=160)
    text = models.TextField(blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    # Negotiated logout: when logoff is authorized (None while a call is still up).
    countdown_until = models.DateTimeField(null=True, blank=True)
    # Campaign notifications: one per agent and campaign start.
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    campaign_started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "campaign", "campaign_started_at"],
                name="agentmessage_one_per_campaign_start",
                condition=models.Q(campaign__isnull=False),
            )
        ]
        indexes = [models.Index(fields=["agent", "-created_at"], name="agentmessage_agent_idx")]

    def __str__(self) -> str:
        return self.title


class DeskCallState(models.TextChoices):
    IDLE = "idle", "Idle"
    CARD = "card", "Lead card (preview)"
    DIALING = "dialing", "Dialing the customer"
    OFFERED = "offered", "Call being set up"
    TALKING = "talking", "On a call"
    HELD = "held", "Customer on hold"
    WRAP_UP = "wrap_up", "Wrap-up"


class AgentDesk(models.Model):
    """What one agent's desktop shows: the current lead card or call, wrap-up, logout.

    mod_callcenter's status (Available, On Break, Logged Out) stays on Agent.status."""

    agent = models.OneToOneField(Agent, on_delete=models.CASCADE, related_name="desk")
    call_state = models.CharField(
        max_length=10, choices=DeskCallState.choices, default=DeskCallState.IDLE
    )
    call_state_since = models.DateTimeField(null=True, blank=True)
    lead = models.ForeignKey(
        "leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    call = models.ForeignKey(
        "dialer.Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Push Preview: the card must be accepted before this.
    card_expires_at = models.DateTimeField(null=True, blank=True)
    wrap_up_until = models.DateTimeField(null=True, blank=True)
    # The status to return to once a required disposition is set.
    ready_after_wrap_up = models.BooleanField(default=True)
    logged_in_at = models.DateTimeField(null=True, blank=True)
    logout_requested_at = models.DateTimeField(null=True, blank=True)
    # Negotiated logout: logoff is authorized at this time (None: after the current call).
    logout_authorized_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"desk of {self.agent.name}: {self.call_state}"

    @property
    def logout_pending(self) -> bool:
        return self.logout_requested_at is not None
