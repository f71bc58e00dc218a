"""Load the demo data set: a queue, 3 agents, an admin, a report viewer, 2 campaigns and 1,000
leads. Idempotent: running it again finds what is there and adds only what is missing.
`--start` also starts the Progressive campaign (campaigns.services.campaign_start; needs Redis).

The leads go in through the real CSV import (leads.importing), so they obey the same rules as
an upload. Their numbers are reserved for fiction, valid for phonenumbers and never a real
person's phone: the US 555-01XX numbers in twelve area codes across six timezones, plus the UK
drama numbers (London 020 7946 0xxx, Manchester 0161 496 0xxx) and Australian fictional
numbers (02 and 03 5550 xxxx). The legal calling hours (08:00-21:00 lead local time) are never
bypassed; with leads from Hawaii to Sydney some are inside them at every hour of the day.
The Progressive campaign has no schedule row: it may dial whenever the legal hours allow.
"""

from __future__ import annotations

import csv
import io
import random
import secrets
from datetime import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from agents.models import Agent, Disposition, DispositionOutcome, Queue, Tier
from agents.roles import ADMINS, AGENTS, REPORT_VIEWERS, ensure_roles
from campaigns.models import CallerId, Campaign, CampaignType, ScheduleRow

QUEUE_NAME = "sales@default"
DISPOSITIONS = [
    ("sale", "Sale", DispositionOutcome.SUCCESSFUL),
    ("not_interested", "Not interested", DispositionOutcome.FAILED),
    ("call_back", "Call back", DispositionOutcome.CALLBACK),
    ("voicemail", "Voicemail", DispositionOutcome.VOICEMAIL),
    ("do_not_call", "Do not call", DispositionOutcome.DO_NOT_CALL),
]
AGENTS_DATA = [
    ("agent1", "Alice", "Moreno", "1001"),
    ("agent2", "Ben", "Okafor", "1002"),
    ("agent3", "Chloe", "Nguyen", "1003"),
]
PROGRESSIVE = "Spring Renewals (Progressive)"
PREVIEW = "Win-back Calls (Preview)"
# Area codes from Eastern to Hawaii time.
AREA_CODES = ["212", "305", "404", "617", "312", "214", "713", "303", "602", "415", "206", "808"]
# Fictional numbers of other countries (Ofcom drama ranges; ACMA 5550 xxxx), 100 of each, so
# that some leads are in their legal calling hours while the US sleeps.
# (prefix, digits that follow): +44 20 7946 0xxx, +44 161 496 0xxx, +61 2 5550 xxxx, +61 3 ….
FOREIGN_PREFIXES = [("+442079460", 3), ("+441614960", 3), ("+6125550", 4), ("+6135550", 4)]
LEADS_PER_CAMPAIGN = {PROGRESSIVE: 600, PREVIEW: 400}
FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Carlos",
    "Maria",
    "Wei",
    "Aisha",
    "Diego",
    "Priya",
    "Kenji",
    "Fatima",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Chen",
    "Patel",
    "Kim",
    "Okafor",
    "Nguyen",
]
NOTES = [
    "Asked to be called after lunch.",
    "Renewal due next month.",
    "Prefers Spanish.",
    "Existing customer since 2019.",
    "Interested in the premium plan.",
]


def demo_numbers() -> list[str]:
    """Every fictional number, in a fixed shuffled order (so re-runs pick the same ones)."""
    numbers = [f"+1{area}55501{n:02d}" for area in AREA_CODES for n in range(100)]
    numbers += [f"{prefix}{n:0{width}d}" for prefix, width in FOREIGN_PREFIXES for n in range(100)]
    random.Random(20261118).shuffle(numbers)
    return numbers


def leads_csv(numbers: list[str], seed: int) -> bytes:
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["number", "priority", "first_name", "last_name", "ticket_id", "note", "type"])
    for i, number in enumerate(numbers):
        writer.writerow(
            [
                number,
                rng.choice([1, 1, 1, 2, 2, 3, 5, 10]),
                rng.choice(FIRST),
                rng.choice(LAST),
                f"T-{seed % 100:02d}{i:04d}",
                rng.choice(NOTES) if rng.random() < 0.2 else "",
                rng.choice(["", "", "renewal", "vip"]),
            ]
        )
    return out.getvalue().encode()


class Command(BaseCommand):
    help = "Load the demo data set (idempotent) and print the demo logins."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--password",
            help="Password for every demo user (default: a new random one, printed).",
        )
        parser.add_argument(
            "--start",
            action="store_true",
            help="Also start the Progressive campaign (needs Redis, as every start does).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["password"] or secrets.token_urlsafe(9)
        now = timezone.now()
        with transaction.atomic():
            ensure_roles()
            queue = self._queue()
            users = self._users(queue, password)
            campaigns = self._campaigns(queue)
        actor = users["admin"].get_username()
        self._leads(campaigns, now, actor=actor)
        progressive = campaigns[PROGRESSIVE]
        if options["start"] and not progressive.is_running:
            from campaigns.services import campaign_start

            campaign_start(progressive, now=now, actor=actor)
            self.stdout.write(f"  {PROGRESSIVE} started.")
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(
            f"  queue {QUEUE_NAME}: {Agent.objects.count()} agents, "
            f"{Campaign.objects.count()} campaigns, "
            f"{sum(c.leads.count() for c in campaigns.values())} demo leads"
        )
        self.stdout.write(f"  Logins (password for all: {password}):")
        self.stdout.write("    admin   — admin (campaign builder, admin)")
        self.stdout.write("    viewer  — report viewer")
        self.stdout.write("    agent1, agent2, agent3 — agents")

    def _queue(self) -> Queue:
        queue, _ = Queue.objects.get_or_create(
            name=QUEUE_NAME,
            defaults={
                "phone_number": settings.ACCOUNT_DEFAULT_CALLER_ID,
                "wrap_up_time": 10,
                "outbound_enabled": True,
            },
        )
        for position, (code, label, outcome) in enumerate(DISPOSITIONS, start=1):
            Disposition.objects.update_or_create(
                queue=queue,
                code=code,
                defaults={"label": label, "outcome": outcome, "position": position},
            )
        return queue

    def _user(self, username: str, password: str, group: str, **fields: Any) -> Any:
        user, _ = get_user_model().objects.update_or_create(username=username, defaults=fields)
        user.set_password(password)
        user.save()
        user.groups.add(Group.objects.get(name=group))
        return user

    def _users(self, queue: Queue, password: str) -> dict[str, Any]:
        users = {
            "admin": self._user(
                "admin",
                password,
                ADMINS,
                first_name="Ada",
                last_name="Admin",
                is_staff=True,
                is_superuser=True,
            ),
            "viewer": self._user(
                "viewer", password, REPORT_VIEWERS, first_name="Rita", last_name="Reports"
            ),
        }
        for position, (username, first, last, ext) in enumerate(AGENTS_DATA, start=1):
            user = self._user(username, password, AGENTS, first_name=first, last_name=last)
            agent, _ = Agent.objects.get_or_create(
                user=user,
                defaults={
                    "name": f"{ext}@default",
                    "extension": ext,
                    # Auto-answer headsets: the customer is with the agent inside the 2 s rule.
                    "contact": f"[sip_auto_answer=true]user/{ext}",
                },
            )
            Tier.objects.get_or_create(
                agent=agent, queue=queue, defaults={"level": 1, "position": position}
            )
            users[username] = user
        return users

    def _campaigns(self, queue: Queue) -> dict[str, Campaign]:
        progressive, created = Campaign.objects.get_or_create(
            name=PROGRESSIVE,
            defaults={
                "queue": queue,
                "type": CampaignType.PROGRESSIVE,
                "note": "Customers whose contract ends this spring.",
                "retries": 3,
                "cool_off": 3600,
                "cool_off_2nd": 7200,
                "customer_wait_sla": 3,
                "agent_dial_timeout": 30,
            },
        )
        if created:
            # No schedule row: always open; the legal calling hours still apply to each lead.
            CallerId.objects.create(
                campaign=progressive,
                kind="account",
                name=settings.ACCOUNT_DEFAULT_CALLER_NAME[:60],
                number=settings.ACCOUNT_MAIN_NUMBERS[0],
                position=1,
            )
            CallerId.objects.create(
                campaign=progressive,
                kind="custom",
                name="Renewals",
                number="+12025550142",
                position=2,
            )
        preview, created = Campaign.objects.get_or_create(
            name=PREVIEW,
            defaults={
                "queue": queue,
                "type": CampaignType.PREVIEW,
                "note": "Former customers; agents read the card before calling.",
                "retries": 2,
                "cool_off": 86400,
            },
        )
        if created:
            ScheduleRow.objects.create(
                campaign=preview,
                weekdays=[0, 1, 2, 3, 4],
                start_time=time(9, 0),
                end_time=time(18, 0),
            )
        return {PROGRESSIVE: progressive, PREVIEW: preview}

    def _leads(self, campaigns: dict[str, Campaign], now: Any, actor: str) -> None:
        from leads.importing import lead_import_csv

        numbers = demo_numbers()
        start = 0
        for seed, (name, count) in enumerate(LEADS_PER_CAMPAIGN.items(), start=1):
            campaign = campaigns[name]
            mine, start = numbers[start : start + count], start + count
            have = set(campaign.leads.values_list("number", flat=True))
            missing = [n for n in mine if n not in have]
            if not missing:
                continue
            if campaign.is_running:
                raise CommandError(f"{name} is running: stop it to load its demo leads.")
            report = lead_import_csv(
                campaign=campaign,
                fileobj=io.BytesIO(leads_csv(missing, seed)),
                now=now,
                actor=actor,
            )
            if report.error or report.rejected_count:
                raise CommandError(f"demo leads of {name}: {report.summary()}")
