"""The three roles: admin, agent, report viewer. Django groups carry them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission

ADMINS = "Admins"
AGENTS = "Agents"
REPORT_VIEWERS = "Report viewers"

# Model permissions each group gets (app_label.codename); admins get every permission of
# the dialer's apps.
_DIALER_APPS = ("agents", "campaigns", "leads", "dialer", "reports")
_REPORT_VIEWER_PERMS = ("campaigns.view_campaign", "leads.view_lead", "dialer.view_call")


def ensure_roles(**_: Any) -> None:
    """Create the groups and give them their permissions (idempotent; runs after migrate)."""
    admins, _created = Group.objects.get_or_create(name=ADMINS)
    admins.permissions.set(Permission.objects.filter(content_type__app_label__in=_DIALER_APPS))
    viewers, _created = Group.objects.get_or_create(name=REPORT_VIEWERS)
    viewers.permissions.set(
        [
            p
            for p in Permission.objects.filter(codename__startswith="view_")
            if f"{p.content_type.app_label}.{p.codename}" in _REPORT_VIEWER_PERMS
        ]
    )
    Group.objects.get_or_create(name=AGENTS)


def has_role(user: AbstractBaseUser | AnonymousUser, *roles: str) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return user.groups.filter(name__in=roles).exists()  # type: ignore[attr-defined]


def is_admin(user: AbstractBaseUser | AnonymousUser) -> bool:
    return has_role(user, ADMINS)


def is_report_viewer(user: AbstractBaseUser | AnonymousUser) -> bool:
    return has_role(user, ADMINS, REPORT_VIEWERS)


def is_agent(user: AbstractBaseUser | AnonymousUser) -> bool:
    return has_role(user, AGENTS)


def home_url_name(user: AbstractBaseUser | AnonymousUser) -> str:
    """Where a signed-in user starts: the campaign builder for admins, the reports for report
    viewers, the desktop for agents (a page of their own, never a 403)."""
    if is_admin(user):
        return "campaigns:list"
    if is_report_viewer(user):
        return "reports:dashboard"
    if is_agent(user):
        return "desktop:home"
    return "campaigns:list"  # no role yet: the 403 there says whom to ask
