"""REST API for leads: list with filters, detail, record edit, delete, sample CSV, and the
Do-Not-Call list. Campaign-level lead actions (import, sync, export) are in campaigns/api.py."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.http import HttpResponse, QueryDict
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from agents.api_permissions import AdminOrReportViewerReadOnly, IsDialerAdmin
from campaigns.api import ByIdCursorPagination, CampaignIsRunning, CSVRenderer, actor_of
from campaigns.services import CampaignRunning

from .exporting import SAMPLE_CSV_FILENAME, sample_csv
from .models import STATES_OF_STATUS, DoNotCall, Lead, LeadStatus
from .phone import InvalidNumber, to_e164
from .serializers import DoNotCallSerializer, LeadRecordEditSerializer, LeadSerializer
from .services import dnc_add, lead_delete, lead_update_record

_FILTERS = [
    OpenApiParameter("campaign", int, description="Campaign id."),
    OpenApiParameter(
        "status",
        str,
        description="Lead status, or several separated by commas: " + ", ".join(LeadStatus.values),
    ),
    OpenApiParameter("number", str, description="Phone number (any format) or its digits."),
    OpenApiParameter("name", str, description="Part of the first or last name."),
]


@extend_schema_view(list=extend_schema(parameters=_FILTERS))
class LeadViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Lead],
):
    """Leads. Admins edit and delete; report viewers read; agents get 403."""

    permission_classes = [IsAuthenticated, AdminOrReportViewerReadOnly]
    serializer_class = LeadSerializer
    pagination_class = ByIdCursorPagination

    def get_queryset(self) -> QuerySet[Lead]:
        leads = Lead.objects.all()
        if self.action != "list":
            return leads
        params = self.request.query_params
        if campaign := params.get("campaign"):
            # ASCII digits of a database id only: int() also takes "²"-like digits, and
            # refuses over 4300 of them.
            if not re.fullmatch(r"[0-9]{1,18}", campaign):
                raise serializers.ValidationError({"campaign": ["Give the campaign's id."]})
            leads = leads.filter(campaign_id=int(campaign))
        if wanted := params.get("status"):
            statuses = [s.strip() for s in wanted.split(",") if s.strip()]
            unknown = [s for s in statuses if s not in STATES_OF_STATUS]
            if unknown:
                raise serializers.ValidationError(
                    {"status": [f"Unknown status {', '.join(unknown)}; use {LeadStatus.values}."]}
                )
            leads = leads.filter(
                state__in=[state for s in statuses for state in STATES_OF_STATUS[s]]
            )
        if number := params.get("number", "").strip():
            leads = leads.filter(_number_filter(number))
        if name := params.get("name", "").strip():
            if "\x00" in name:
                raise serializers.ValidationError({"name": ["Names hold no NUL characters."]})
            leads = leads.filter(Q(first_name__icontains=name) | Q(last_name__icontains=name))
        return leads

    @extend_schema(request=LeadRecordEditSerializer, responses=LeadSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Edit the customer's record (number re-validated; kept in the lead's history)."""
        lead = self.get_object()
        data = request.data
        if not isinstance(data, dict):
            raise serializers.ValidationError({"detail": ["Send a JSON object of fields."]})
        # A form-encoded body: one value per field, not the lists dict() would give.
        changes = data.dict() if isinstance(data, QueryDict) else dict(data)
        try:
            lead = lead_update_record(
                lead=lead, changes=changes, now=timezone.now(), actor=actor_of(request)
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return Response(LeadSerializer(lead).data)

    def perform_destroy(self, instance: Lead) -> None:
        try:
            lead_delete(lead=instance, now=timezone.now(), actor=actor_of(self.request))
        except CampaignRunning as exc:
            raise CampaignIsRunning(str(exc)) from None

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY})
    @action(
        detail=False,
        methods=["get"],
        url_path="sample-csv",
        renderer_classes=[JSONRenderer, CSVRenderer],
        pagination_class=None,
    )
    def sample(self, request: Request) -> HttpResponse:
        """The sample upload file, campaign-leads-sample.csv."""
        response = HttpResponse(sample_csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{SAMPLE_CSV_FILENAME}"'
        return response


def _number_filter(text: str) -> Q:
    try:
        from django.conf import settings

        return Q(number=to_e164(text, settings.ACCOUNT_DEFAULT_REGION))
    except InvalidNumber:
        digits = "".join(c for c in text if c.isdigit())
        if not digits:
            raise serializers.ValidationError({"number": ["Give digits of a number."]}) from None
        return Q(number__contains=digits)


class DoNotCallViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[DoNotCall],
):
    """The Do-Not-Call list. Adding a number ends its dialable leads Failed."""

    permission_classes = [IsAuthenticated, IsDialerAdmin]
    serializer_class = DoNotCallSerializer
    pagination_class = ByIdCursorPagination
    queryset = DoNotCall.objects.all()

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        incoming = self.get_serializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        try:
            entry = dnc_add(
                number=data["number"],
                campaign=data.get("campaign"),
                reason=data.get("reason", ""),
                actor_user=request.user,  # type: ignore[arg-type]
                now=timezone.now(),
            )
        except InvalidNumber as exc:
            raise serializers.ValidationError({"number": [str(exc)]}) from None
        return Response(self.get_serializer(entry).data, status=status.HTTP_201_CREATED)
