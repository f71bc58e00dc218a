"""REST API permissions for the three roles (agents/roles.py).

Admins do everything; report viewers read campaigns, leads and lead status and export;
agents get 403 on the back-office endpoints (their desktop API has its own permissions).
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from .roles import is_admin, is_report_viewer


class IsDialerAdmin(BasePermission):
    message = "Only an admin may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_admin(request.user)


class AdminOrReportViewerReadOnly(BasePermission):
    """Reading (GET, HEAD, OPTIONS) for admins and report viewers; changes for admins only."""

    message = "Admins may change this; report viewers may only read it."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return is_report_viewer(request.user)
        return is_admin(request.user)
