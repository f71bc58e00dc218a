"""The REST API's URLs, under /api/ (the schema is at /api/schema/, docs at /api/docs/).

Each app registers its viewsets on the router or adds one include() line below.
"""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from campaigns.api import CampaignLedgerExportView, CampaignLedgerView, CampaignViewSet
from leads.api import DoNotCallViewSet, LeadViewSet

router = DefaultRouter()
# Back office (issue 2)
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("leads", LeadViewSet, basename="lead")
router.register("do-not-call", DoNotCallViewSet, basename="do-not-call")

urlpatterns = [
    # The compliance ledger of a campaign (issue 8): summary and CSV proof, for
    # admins and report viewers.
    path("campaigns/<int:pk>/ledger/", CampaignLedgerView.as_view(), name="api-campaign-ledger"),
    path(
        "campaigns/<int:pk>/ledger.csv",
        CampaignLedgerExportView.as_view(),
        name="api-campaign-ledger-export",
    ),
    path("", include(router.urls)),
    # Other apps' APIs, one line each, e.g.:
    # path("reports/", include("reports.api_urls")),
    path("reports/", include("reports.api_urls")),
    path("dialer/", include("dialer.api")),
]
