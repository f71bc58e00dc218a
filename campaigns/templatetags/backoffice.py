"""Template helpers of the back office: role checks for the menu, dictionary lookups."""

from __future__ import annotations

from typing import Any

from django import template

from agents import roles

register = template.Library()


@register.filter
def is_admin(user: Any) -> bool:
    return roles.is_admin(user)


@register.filter
def is_report_viewer(user: Any) -> bool:
    return roles.is_report_viewer(user)


@register.filter
def lookup(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, "")
