"""REST API for campaigns: CRUD, start/stop, the campaign's leads (import, CRM sync,
export, delete all, status counts) and its compliance ledger (summary and CSV). Thin callers of
campaigns.services, leads.* and dialer.compliance."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, QuerySet
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.api_permissions import AdminOrReportViewerReadOnly
from dialer import compliance
from dialer.pacing.ledger import WindowRate
from leads.exporting import stream_leads_csv
from leads.importing import ImportReport, lead_import_csv, lead_sync_crm
from leads.models import STATUS_OF_STATE, Lead, LeadStatus
from leads.serializers import (
    CsvUploadSerializer,
    ImportReportSerializer,
    LeadStatusCountsSerializer,
)
from leads.services import leads_delete_all

from .models import AbandonWindow, Campaign
from .pacing_views import ledger_csv_response, ledger_summary
from .serializers import CampaignSerializer, StartedCampaignSerializer
from .services import (
    CampaignRunning,
    campaign_settings_saved,
    campaign_start,
    campaign_stop,
    ringing_first_warning,
)


class ByIdCursorPagination(CursorPagination):
    """Stable pages over lists that change while read (new leads, status changes)."""

    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def decode_cursor(self, request: Request) -> Cursor | None:
        cursor = super().decode_cursor(request)
        # The position is an id: a forged one would reach the database query and fail there.
        position = cursor.position if cursor is not None else None
        if position is not None and not re.fullmatch(r"-?[0-9]{1,18}", str(position)):
            raise NotFound(self.invalid_cursor_message)
        return cursor


class CampaignIsRunning(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The campaign is running: stop it first."
    default_code = "campaign_running"


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        # Error bodies (403, 404) still reach the client, as JSON text.
        if isinstance(data, bytes):
            return data
        if isinstance(data, str):
            return data.encode()
        return json.dumps(data).encode()


def actor_of(request: Request) -> str:
    return request.user.get_username()


def import_response(report: ImportReport) -> Response:
    """200 when the file went in (bad rows listed); 400 when nothing went in because of it."""
    refused = report.error is not None or (report.imported == 0 and report.rejected_count > 0)
    code = status.HTTP_400_BAD_REQUEST if refused else status.HTTP_200_OK
    return Response(report.as_dict(), status=code)


def lead_status_counts(campaigns: QuerySet[Campaign]) -> list[dict[str, Any]]:
    """Leads per spec status (Active, In Progress, …) for each campaign, zeros included."""
    rows = (
        Lead.objects.filter(campaign__in=campaigns)
        .values_list("campaign_id", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[int, dict[str, int]] = {}
    for campaign_id, state, n in rows:
        per = counts.setdefault(campaign_id, dict.fromkeys(LeadStatus.values, 0))
        per[STATUS_OF_STATE[state]] += n
    result = []
    for campaign in campaigns:
        per = counts.get(campaign.pk, dict.fromkeys(LeadStatus.values, 0))
        result.append(
            {
                "campaign": campaign.pk,
                "campaign_name": campaign.name,
                "total": sum(per.values()),
                "counts": per,
            }
        )
    return result


class CampaignViewSet(viewsets.ModelViewSet[Campaign]):
    """Campaigns. Admins change them; report viewers read them; agents get 403."""

    permission_classes = [IsAuthenticated, AdminOrReportViewerReadOnly]
    serializer_class = CampaignSerializer
    pagination_class = ByIdCursorPagination
    queryset = Campaign.objects.select_related("queue").prefetch_related(
        "schedule_rows", "caller_ids", "tz_slots"
    )

    def perform_update(self, serializer: Any) -> None:
        campaign = serializer.save()
        campaign_settings_saved(campaign, now=timezone.now())

    def perform_destroy(self, instance: Campaign) -> None:
        try:
            # Leads first, in batches: a campaign may hold a million of them.
            leads_delete_all(campaign=instance, now=timezone.now(), actor=actor_of(self.request))
        except CampaignRunning as exc:
            raise CampaignIsRunning(str(exc)) from None
        instance.delete()

    @extend_schema(request=None, responses=StartedCampaignSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str | None = None) -> Response:
        """Start dialing (Running; shown as Scheduled outside the schedule). ``warnings``
        names agents not on auto-answer, as the builder's start button does."""
        campaign = self._run(request, campaign_start)
        warning = ringing_first_warning(campaign)
        data = self.get_serializer(campaign).data
        return Response({**data, "warnings": [warning] if warning else []})

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, pk: str | None = None) -> Response:
        """Stop dialing: calls in progress end and their leads go back to retry."""
        return Response(self.get_serializer(self._run(request, campaign_stop)).data)

    def _run(self, request: Request, service: Any) -> Campaign:
        campaign = self.get_object()
        try:
            campaign = service(campaign, now=timezone.now(), actor=actor_of(request))
        except (DjangoValidationError, ValueError) as exc:
            messages = exc.messages if isinstance(exc, DjangoValidationError) else [str(exc)]
            raise serializers.ValidationError({"detail": messages}) from None
        return campaign

    @extend_schema(responses=LeadStatusCountsSerializer)
    @action(detail=True, methods=["get"], url_path="lead-status")
    def lead_status(self, request: Request, pk: str | None = None) -> Response:
        """How many of the campaign's leads are Active, In Progress, Cool Off, … now."""
        campaign = self.get_object()
        qs = Campaign.objects.filter(pk=campaign.pk)
        return Response(lead_status_counts(qs)[0])

    @extend_schema(responses=LeadStatusCountsSerializer(many=True))
    @action(detail=False, methods=["get"], url_path="lead-status", pagination_class=None)
    def lead_status_all(self, request: Request) -> Response:
        """Lead status counts of every campaign."""
        return Response(lead_status_counts(Campaign.objects.order_by("name")))

    @extend_schema(
        request={"multipart/form-data": CsvUploadSerializer},
        responses={
            200: ImportReportSerializer,
            400: OpenApiResponse(ImportReportSerializer, description="Nothing imported."),
            409: OpenApiResponse(description="The campaign is running."),
        },
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="leads/import",
        parser_classes=[MultiPartParser, FormParser],
    )
    def leads_import(self, request: Request, pk: str | None = None) -> Response:
        """Upload a CSV of leads (refused while the campaign runs)."""
        campaign = self.get_object()
        upload = request.FILES.get("file")
        if upload is None:
            raise serializers.ValidationError({"file": ["Attach the CSV file as 'file'."]})
        try:
            report = lead_import_csv(
                campaign=campaign, fileobj=upload, now=timezone.now(), actor=actor_of(request)
            )
        except CampaignRunning as exc:
            raise CampaignIsRunning(str(exc)) from None
        return import_response(report)

    @extend_schema(
        request=None,
        responses={
            200: ImportReportSerializer,
            400: OpenApiResponse(ImportReportSerializer, description="Nothing imported."),
            409: OpenApiResponse(description="The campaign is running."),
        },
    )
    @action(detail=True, methods=["post"], url_path="leads/sync")
    def leads_sync(self, request: Request, pk: str | None = None) -> Response:
        """Pull leads from the campaign's CRM API (refused while running or mapping invalid)."""
        campaign = self.get_object()
        try:
            report = lead_sync_crm(campaign=campaign, now=timezone.now(), actor=actor_of(request))
        except CampaignRunning as exc:
            raise CampaignIsRunning(str(exc)) from None
        return import_response(report)

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY})
    @action(
        detail=True,
        methods=["get"],
        url_path="leads/export",
        renderer_classes=[JSONRenderer, CSVRenderer],
    )
    def leads_export(self, request: Request, pk: str | None = None) -> StreamingHttpResponse:
        """Download the campaign's leads as CSV (streamed)."""
        campaign = self.get_object()
        response = StreamingHttpResponse(
            stream_leads_csv(Lead.objects.filter(campaign=campaign)),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-leads.csv"'
        return response

    @extend_schema(
        request=None,
        responses={200: OpenApiTypes.OBJECT, 409: OpenApiResponse(description="Running.")},
    )
    @action(detail=True, methods=["post"], url_path="leads/delete-all")
    def delete_all_leads(self, request: Request, pk: str | None = None) -> Response:
        """Delete every lead of the campaign (refused while it runs)."""
        campaign = self.get_object()
        try:
            deleted = leads_delete_all(
                campaign=campaign, now=timezone.now(), actor=actor_of(request)
            )
        except CampaignRunning as exc:
            raise CampaignIsRunning(str(exc)) from None
        return Response({"deleted": deleted})


# --- Compliance ledger (the same as /campaigns/<id>/pacing/ and its CSV: admins only) --------

LEDGER_WINDOW_PARAM = OpenApiParameter(
    "window",
    OpenApiTypes.STR,
    enum=AbandonWindow.values,
    description="30d or 24h; the campaign's own abandon window when absent or unknown.",
)


def ledger_summary_data(campaign: Campaign, *, now: datetime, window: str) -> dict[str, Any]:
    """The ledger's figures as JSON: the window's and today's (account-timezone day)."""
    summary = ledger_summary(campaign, now=now, window=window)

    def rate(w: WindowRate) -> dict[str, Any]:
        return {
            "start": datetime.fromtimestamp(w.window_start, tz=UTC).isoformat(),
            "end": datetime.fromtimestamp(w.window_end, tz=UTC).isoformat(),
            "live_answers": w.live_answers,
            "abandons": w.abandons,
            "abandon_rate": w.rate,
        }

    return {
        "campaign": campaign.pk,
        "window": window,
        "window_label": summary.window_label,
        "cap": summary.cap,
        "within_cap": summary.window.rate <= summary.cap,
        "drop_seconds": campaign.drop_seconds,
        "window_rate": rate(summary.window),
        "today": rate(summary.today),
        "amd_mistakes": {
            "people_hung_up_on_as_machines": summary.amd_abandons,
            "machines_reached_by_agents_not_counted": summary.machines_excluded,
        },
    }


class LedgerAPIView(APIView):
    # Read-only proof: report viewers (compliance staff) read it as admins do.
    permission_classes = [IsAuthenticated, AdminOrReportViewerReadOnly]
    http_method_names = ["get", "head", "options"]


class CampaignLedgerView(LedgerAPIView):
    @extend_schema(parameters=[LEDGER_WINDOW_PARAM], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> Response:
        """The campaign's compliance ledger: live answers, abandons and rate over the window
        and today, the cap, and the AMD mistakes counted."""
        campaign = get_object_or_404(Campaign, pk=pk)
        window = compliance.chosen_window(campaign, request.query_params.get("window"))
        return Response(ledger_summary_data(campaign, now=timezone.now(), window=window))


class CampaignLedgerExportView(LedgerAPIView):
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        parameters=[LEDGER_WINDOW_PARAM], responses={(200, "text/csv"): OpenApiTypes.BINARY}
    )
    def get(self, request: Request, pk: int) -> StreamingHttpResponse:
        """The ledger as CSV (streamed): the proof, the same rows as the pacing page's export."""
        campaign = get_object_or_404(Campaign, pk=pk)
        return ledger_csv_response(
            campaign, now=timezone.now(), window=request.query_params.get("window")
        )
