"""Fixtures shared by every test module: the named users of the product's roles.

pytest-django's own ``admin_client`` logs in the ``admin_user`` defined here."""

from __future__ import annotations

import os

os.environ.setdefault("SECRET_KEY", "tests-only-not-secret")

import pytest
from django.contrib.auth.models import Group

from agents.roles import ADMINS, AGENTS, REPORT_VIEWERS
from tests.factories import AgentFactory, QueueFactory, UserFactory


@pytest.fixture
def admin_user(db):  # type: ignore[no-untyped-def]
    user = UserFactory(username="ada_admin", is_staff=True)
    user.groups.add(Group.objects.get(name=ADMINS))
    return user


@pytest.fixture
def report_viewer(db):  # type: ignore[no-untyped-def]
    user = UserFactory(username="rita_reports")
    user.groups.add(Group.objects.get(name=REPORT_VIEWERS))
    return user


@pytest.fixture
def queue(db):  # type: ignore[no-untyped-def]
    return QueueFactory(name="sales@default")


@pytest.fixture
def agent(db, queue):  # type: ignore[no-untyped-def]
    a = AgentFactory(name="1001@default", extension="1001", user__username="alice_agent")
    a.user.groups.add(Group.objects.get(name=AGENTS))
    a.tiers.create(queue=queue, level=1, position=1)
    return a


@pytest.fixture
def other_agent(db):  # type: ignore[no-untyped-def]
    """An agent of another team: must never see the first team's calls or leads."""
    other_queue = QueueFactory(name="support@default")
    a = AgentFactory(name="2001@default", extension="2001", user__username="otto_other")
    a.user.groups.add(Group.objects.get(name=AGENTS))
    a.tiers.create(queue=other_queue, level=1, position=1)
    return a
