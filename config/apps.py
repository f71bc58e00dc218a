"""The admin app, with the back office's own site (config/admin.py) as `admin.site`."""

from django.contrib.admin.apps import AdminConfig


class DialerAdminConfig(AdminConfig):
    default_site = "config.admin.DialerAdminSite"
