"""Who may open the reports: admins and report viewers. Agents get 403, strangers the login page.

agents/access.py (another issue) will hold the project-wide decorators; until it lands this
module is the reports' own, built on agents.roles.is_report_viewer.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from django.views.decorators.http import require_safe

from agents.roles import is_report_viewer

View = Callable[..., HttpResponseBase]


def report_viewer_required(view: View) -> View:
    """Read-only report views: GET and HEAD only (405 otherwise), for report viewers and admins."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_report_viewer(request.user):
            raise PermissionDenied("Reports are for admins and report viewers.")
        return view(request, *args, **kwargs)

    return require_safe(wrapper)
