"""REST API of the reports: lead status counts, campaign activity, dashboard, CSV exports.

Read-only for admins and report viewers (token or session auth); agents get 403. The activity
list pages by cursor on (time, id) like the page, never counting the table.
"""

from __future__ import annotations

from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.roles import is_report_viewer
from campaigns.api import CSVRenderer
from dialer.models import Call, CallResult
from leads.models import LeadStatus

from .csv import stream_activity_csv, stream_lead_status_csv
from .forms import CallFilterForm, LeadFilterForm, form_errors
from .selectors import (
    InvalidCursor,
    StatusCounts,
    Totals,
    account_zone,
    activity_page,
    dashboard,
    lead_status_counts,
)
from .views import csv_response

MAX_PAGE_SIZE = 1000


class ReportViewerReadOnly(BasePermission):
    message = "Reports are for admins and report viewers, and only to read."

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in SAFE_METHODS and is_report_viewer(request.user)


class ReportAPIView(APIView):
    permission_classes = [IsAuthenticated, ReportViewerReadOnly]
    http_method_names = ["get", "head", "options"]


CALL_FILTER_PARAMS = [
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="First day (account timezone)."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Last day (account timezone)."),
    OpenApiParameter("campaign", OpenApiTypes.INT),
    OpenApiParameter("agent", OpenApiTypes.INT),
    OpenApiParameter("result", OpenApiTypes.STR, enum=CallResult.values),
    OpenApiParameter("disposition", OpenApiTypes.INT),
]
LEAD_FILTER_PARAMS = [
    OpenApiParameter("campaign", OpenApiTypes.INT),
    OpenApiParameter("status", OpenApiTypes.STR, enum=LeadStatus.values),
    OpenApiParameter("number", OpenApiTypes.STR, description="Digits anywhere in the number."),
    OpenApiParameter("name", OpenApiTypes.STR, description="Words in the first or last name."),
]


def _call_form(request: Request) -> CallFilterForm:
    form = CallFilterForm(request.query_params)
    if not form.is_valid():
        raise serializers.ValidationError(form_errors(form))
    return form


def _lead_form(request: Request) -> LeadFilterForm:
    form = LeadFilterForm(request.query_params)
    if not form.is_valid():
        raise serializers.ValidationError(form_errors(form))
    return form


def _counts_dict(row: StatusCounts) -> dict[str, Any]:
    return {
        "campaign": row.campaign_id,
        "campaign_name": row.campaign_name,
        "total": row.total,
        "counts": row.counts,
    }


class LeadStatusCountsView(ReportAPIView):
    @extend_schema(parameters=LEAD_FILTER_PARAMS[:1], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        """Leads per status (Active, In Progress, Cool Off, …) of each campaign and overall."""
        form = _lead_form(request)
        campaign = form.cleaned_data.get("campaign")
        rows, overall = lead_status_counts([campaign] if campaign else None)
        return Response(
            {"campaigns": [_counts_dict(r) for r in rows], "overall": _counts_dict(overall)}
        )


class LeadStatusExportView(ReportAPIView):
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        parameters=LEAD_FILTER_PARAMS, responses={(200, "text/csv"): OpenApiTypes.BINARY}
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        """The leads the filters match, with status and why not dialing, as CSV (streamed)."""
        return csv_response(stream_lead_status_csv(_lead_form(request).filters()), "lead-status")


class ActivityCallSerializer(serializers.ModelSerializer[Call]):
    time = serializers.DateTimeField(source="requested_at", default_timezone=account_zone())
    campaign_name = serializers.CharField(source="campaign.name")
    lead_name = serializers.CharField(source="lead.full_name")
    result_display = serializers.CharField(source="get_result_display")
    disposition = serializers.CharField(source="disposition.label", default=None)

    class Meta:
        model = Call
        fields = [
            "id",
            "uuid",
            "time",
            "campaign",
            "campaign_name",
            "lead",
            "lead_name",
            "attempt",
            "number",
            "caller_id_name",
            "caller_id_number",
            "result",
            "result_display",
            "hangup_cause",
            "amd_result",
            "agent",
            "agent_name",
            "agent_extension",
            "ring_seconds",
            "talk_seconds",
            "customer_wait_seconds",
            "customer_wait_sla_met",
            "agent_sla_met",
            "disposition",
        ]


class ActivityListView(ReportAPIView):
    @extend_schema(
        parameters=[
            *CALL_FILTER_PARAMS,
            OpenApiParameter("after", OpenApiTypes.STR, description="Cursor: older calls."),
            OpenApiParameter("before", OpenApiTypes.STR, description="Cursor: newer calls."),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="1 to 1000, 100 default."),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        """One row per dial attempt, newest first; follow ``next`` and ``previous``."""
        filters = _call_form(request).filters()
        raw_size = request.query_params.get("page_size", "100")
        # "²" is a digit int() refuses; so is a number of 5,000 digits.
        whole = raw_size.isascii() and raw_size.isdigit() and len(raw_size) < 10
        if not whole or not 1 <= int(raw_size) <= MAX_PAGE_SIZE:
            raise serializers.ValidationError({"page_size": [f"1 to {MAX_PAGE_SIZE}."]})
        try:
            page = activity_page(
                filters,
                after=request.query_params.get("after"),
                before=request.query_params.get("before"),
                size=int(raw_size),
            )
        except InvalidCursor as exc:
            raise serializers.ValidationError({"cursor": [str(exc)]}) from None
        query = request.query_params.copy()
        query.pop("after", None)
        query.pop("before", None)

        def link(name: str, cursor: str | None) -> str | None:
            if cursor is None:
                return None
            q = query.copy()
            q[name] = cursor
            return request.build_absolute_uri(f"{request.path}?{q.urlencode()}")

        return Response(
            {
                "next": link("after", page.next_cursor),
                "previous": link("before", page.previous_cursor),
                "results": ActivityCallSerializer(page.calls, many=True).data,
            }
        )


class ActivityExportView(ReportAPIView):
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        parameters=CALL_FILTER_PARAMS, responses={(200, "text/csv"): OpenApiTypes.BINARY}
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        """Every call the filters match as CSV (streamed), times in the account timezone."""
        return csv_response(stream_activity_csv(_call_form(request).filters()), "campaign-activity")


def _totals_dict(t: Totals) -> dict[str, Any]:
    return {
        "attempts": t.attempts,
        "answered": t.answered,
        "connected": t.connected,
        "abandoned": t.abandoned,
        "voicemail": t.voicemail,
        "connect_rate": t.connect_rate,
        "abandon_rate": t.abandon_rate,
        "avg_ring_seconds": t.avg_ring,
        "avg_wait_seconds": t.avg_wait,
        "avg_talk_seconds": t.avg_talk,
        "calls_per_hour": t.calls_per_hour,
        "dialing_hours": t.dialing_hours,
        "customer_wait_sla_rate": t.wait_sla_rate,
        "agent_sla_rate": t.agent_sla_rate,
    }


class DashboardView(ReportAPIView):
    @extend_schema(parameters=CALL_FILTER_PARAMS, responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        """Attempts, answered, connected, rates and averages; per campaign, agent and hour."""
        figures = dashboard(_call_form(request).filters())
        return Response(
            {
                "overall": _totals_dict(figures.overall),
                "campaigns": [
                    {"campaign": c.campaign_id, "campaign_name": c.campaign_name}
                    | _totals_dict(c.totals)
                    for c in figures.campaigns
                ],
                "agents": [
                    {
                        "agent": a.agent_id,
                        "name": a.name,
                        "extension": a.extension,
                        "calls": a.calls,
                        "connected": a.connected,
                        "talk_seconds": a.talk_seconds,
                        "avg_talk_seconds": a.avg_talk,
                        "occupancy": a.occupancy,
                    }
                    for a in figures.agents
                ],
                "hours": [
                    {"start": h.start.isoformat()} | _totals_dict(h.totals) for h in figures.hours
                ],
            }
        )
