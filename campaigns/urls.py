from django.urls import path

from . import pacing_views, views

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_create, name="new"),
    path("<int:pk>/edit/", views.campaign_edit, name="edit"),
    path("<int:pk>/start/", views.campaign_start_view, name="start"),
    path("<int:pk>/stop/", views.campaign_stop_view, name="stop"),
    path("<int:pk>/leads/upload/", views.leads_upload, name="leads-upload"),
    path("<int:pk>/leads/sync/", views.leads_sync, name="leads-sync"),
    path("<int:pk>/leads/export.csv", views.leads_export, name="leads-export"),
    path("<int:pk>/leads/rejected.csv", views.leads_rejected_export, name="leads-rejected-export"),
    path("<int:pk>/leads/delete-all/", views.leads_delete_all, name="leads-delete-all"),
    path("<int:pk>/leads/<int:lead_id>/delete/", views.lead_delete, name="lead-delete"),
    path("<int:pk>/pacing/", pacing_views.campaign_pacing, name="pacing"),
    path("<int:pk>/pacing/live/", pacing_views.campaign_pacing_live, name="pacing-live"),
    path("<int:pk>/pacing/ledger.csv", pacing_views.ledger_export, name="ledger-export"),
    path("leads/sample.csv", views.leads_sample, name="leads-sample"),
]
