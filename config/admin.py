"""The admin site: for admins only (agents/roles.py), not for anyone with the staff flag.

Installed through config.apps.DialerAdminConfig (settings.INSTALLED_APPS), so `admin.site` is
this site. A signed-in agent or report viewer gets 403; a stranger goes to the login page.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse

from agents.roles import is_admin

REFUSAL = "The admin is for admins only."


class DialerAdminSite(admin.AdminSite):
    site_header = f"{settings.ACCOUNT_NAME} · administration"
    site_title = "Dialer admin"
    index_title = "Back office"

    def has_permission(self, request: HttpRequest) -> bool:
        return is_admin(request.user)

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.user.is_authenticated and not is_admin(request.user):
                raise PermissionDenied(REFUSAL)
            return inner(request, *args, **kwargs)

        return guarded

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        # One sign-in page for the whole back office.
        if request.user.is_authenticated and not is_admin(request.user):
            raise PermissionDenied(REFUSAL)
        index = reverse("admin:index", current_app=self.name)
        if request.user.is_authenticated:
            return HttpResponseRedirect(index)
        # The login view checks `next` against the allowed hosts.
        return redirect_to_login(request.GET.get("next") or index)
