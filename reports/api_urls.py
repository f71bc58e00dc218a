"""The reports' REST API, under /api/reports/."""

from django.urls import path

from . import api

urlpatterns = [
    path("lead-status/", api.LeadStatusCountsView.as_view(), name="api-report-lead-status"),
    path(
        "lead-status/export.csv",
        api.LeadStatusExportView.as_view(),
        name="api-report-lead-status-export",
    ),
    path("activity/", api.ActivityListView.as_view(), name="api-report-activity"),
    path(
        "activity/export.csv", api.ActivityExportView.as_view(), name="api-report-activity-export"
    ),
    path("dashboard/", api.DashboardView.as_view(), name="api-report-dashboard"),
]
