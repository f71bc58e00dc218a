"""factory-boy factories for every model the tests build."""

from __future__ import annotations

from datetime import UTC, datetime

import factory
from django.contrib.auth import get_user_model

from agents.models import Agent, Disposition, Queue
from campaigns.models import Campaign, ScheduleRow
from dialer.models import Call
from leads.models import Lead

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)  # a Wednesday, 10:00 in New York


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("correct horse battery staple")


class QueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Queue
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"queue{n}@default")
    phone_number = "+12025550123"


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"{1100 + n}@default")
    extension = factory.Sequence(lambda n: f"{1100 + n}")
    contact = factory.LazyAttribute(lambda a: f"user/{a.extension}")


class DispositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Disposition

    queue = factory.SubFactory(QueueFactory)
    code = factory.Sequence(lambda n: f"code{n}")
    label = factory.LazyAttribute(lambda d: d.code.title())
    outcome = "successful"


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    queue = factory.SubFactory(QueueFactory)


class ScheduleRowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScheduleRow

    campaign = factory.SubFactory(CampaignFactory)
    weekdays = [0, 1, 2, 3, 4]
    start_time = "09:00"
    end_time = "17:00"


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    campaign = factory.SubFactory(CampaignFactory)
    number = factory.Sequence(lambda n: f"+1202555{n % 10000:04d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    priority = 0
    timezone = "America/New_York"
    timezones = ["America/New_York"]
    created_at = NOW
    next_dial_at = NOW


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call

    lead = factory.SubFactory(LeadFactory)
    campaign = factory.LazyAttribute(lambda c: c.lead.campaign)
    attempt = 1
    number = factory.LazyAttribute(lambda c: c.lead.number)
    requested_at = NOW
