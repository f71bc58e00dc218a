"""Page access by role (agents/roles.py): decorators for server-rendered views, and the site
root that sends each role to its own start page.

A stranger is sent to the login page; a signed-in user without the role gets 403. The REST
API has its own permission classes (agents/api_permissions.py).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect

from .roles import home_url_name, is_admin, is_report_viewer

View = Callable[..., HttpResponseBase]


def _role_required(check: Callable[[Any], bool], refusal: str) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not check(request.user):
                raise PermissionDenied(refusal)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


admin_required = _role_required(is_admin, "This page is for admins only.")
admin_required.__doc__ = "Campaign builder and other back-office pages: admins (and superusers)."

report_viewer_required = _role_required(
    is_report_viewer, "This page is for admins and report viewers."
)
report_viewer_required.__doc__ = "Read-only pages: admins and report viewers."


def home(request: HttpRequest) -> HttpResponseBase:
    """The site root (and where signing in lands): each role's own start page."""
    if not request.user.is_authenticated:
        return redirect_to_login("/")
    return redirect(home_url_name(request.user))
