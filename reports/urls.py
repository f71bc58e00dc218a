from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("", views.dashboard_view, name="dashboard"),
    path("activity/", views.activity_view, name="activity"),
    path("activity/export.csv", views.activity_export, name="activity-export"),
    path("leads/", views.leads_status_view, name="leads"),
    path("leads/live/", views.leads_status_live, name="leads-live"),
    path("leads/export.csv", views.leads_status_export, name="leads-export"),
    path("compliance/", views.compliance_view, name="compliance"),
    path(
        "compliance/<int:pk>/ledger.csv",
        views.compliance_ledger_export,
        name="compliance-ledger-export",
    ),
]
