"""REST API of the dialer under /api/dialer/: lead-card actions and agent status.

Thin callers of dialer.preview and dialer.agent_control; the signed-in user acts as their own
agent (request.user.agent).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.models import Agent, AgentStatus
from dialer import agent_control, preview
from leads.models import Lead


def _agent(request: Request) -> Agent:
    agent = (
        Agent.objects.filter(user_id=request.user.pk).first()
        if request.user.pk is not None
        else None
    )
    if agent is None:
        raise PermissionDenied("Only agents act on lead cards.")
    return agent


class CallSerializer(serializers.Serializer):
    call_uuid = serializers.UUIDField()
    lead = serializers.IntegerField()
    attempt = serializers.IntegerField()


class SkipSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, default="skipped by agent")


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AgentStatus.choices)
    reason = serializers.CharField(max_length=100, required=False, default="")


def _error(message: str, code: int = status.HTTP_409_CONFLICT) -> Response:
    return Response({"detail": message}, status=code)


class PreviewAcceptView(APIView):
    @extend_schema(request=None, responses={201: CallSerializer})
    def post(self, request: Request, lead_id: int) -> Response:
        """Connect the lead card: the agent's phone rings first, then the customer's."""
        agent = _agent(request)
        lead = get_object_or_404(Lead.objects.select_related("campaign"), pk=lead_id)
        try:
            call = preview.preview_accept(agent=agent, lead=lead, now=timezone.now())
        except preview.PreviewError as exc:
            return _error(str(exc))
        data = {"call_uuid": call.uuid, "lead": call.lead_id, "attempt": call.attempt}
        return Response(CallSerializer(data).data, status=status.HTTP_201_CREATED)


class PreviewSkipView(APIView):
    @extend_schema(request=SkipSerializer, responses={204: None})
    def post(self, request: Request, lead_id: int) -> Response:
        """Skip the lead card: back to the list, no attempt spent."""
        agent = _agent(request)
        body = SkipSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        lead = get_object_or_404(Lead.objects.select_related("campaign"), pk=lead_id)
        try:
            preview.preview_skip(
                agent=agent, lead=lead, now=timezone.now(), reason=body.validated_data["reason"]
            )
        except preview.PreviewError as exc:
            return _error(str(exc))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AgentStatusView(APIView):
    @extend_schema(request=StatusSerializer, responses={200: StatusSerializer})
    def post(self, request: Request) -> Response:
        """Log in (Available), take a break (On Break) or log out (Logged Out)."""
        agent = _agent(request)
        body = StatusSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            agent_control.agent_set_status(
                agent,
                status=body.validated_data["status"],
                now=timezone.now(),
                break_reason=body.validated_data["reason"],
            )
        except agent_control.AgentControlError as exc:
            return _error(str(exc), status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response({"status": agent.status, "reason": agent.break_reason})


urlpatterns = [
    path(
        "preview/<int:lead_id>/accept/", PreviewAcceptView.as_view(), name="dialer-preview-accept"
    ),
    path("preview/<int:lead_id>/skip/", PreviewSkipView.as_view(), name="dialer-preview-skip"),
    path("agent/status/", AgentStatusView.as_view(), name="dialer-agent-status"),
]
