"""REST API of the dialer under /api/dialer/: lead-card actions and agent status.

Thin callers of dialer.preview and the agent desktop's services (agent status goes through the
desk, so the API keeps its rules); the signed-in user acts as their own agent.
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
from dialer import preview
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
    logout_pending = serializers.BooleanField(read_only=True)


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
        """Log in (Available), take a break (On Break) or log out (Logged Out), with the
        desktop's rules: Ready waits for the last call's disposition, and a logout during a
        call is negotiated (``logout_pending``: it completes when the call and wrap-up end)."""
        from agents.desktop import dialer_bridge
        from agents.desktop import services as desk

        agent = _agent(request)
        body = StatusSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        wanted, now = body.validated_data["status"], timezone.now()
        pending = False
        try:
            if wanted == AgentStatus.LOGGED_OUT:
                if agent.status != AgentStatus.LOGGED_OUT:
                    pending = not desk.agent_request_logout(agent=agent, now=now).completed
            else:
                if agent.status == AgentStatus.LOGGED_OUT or not desk.desk_for(agent).logged_in_at:
                    desk.agent_login(agent=agent, now=now)
                if wanted == AgentStatus.AVAILABLE:
                    desk.agent_go_ready(agent=agent, now=now)
                else:
                    reason = body.validated_data["reason"] or "Not Ready"
                    desk.agent_go_not_ready(agent=agent, reason=reason, now=now)
        except desk.DesktopError as exc:
            return _error(str(exc))
        except dialer_bridge.PhoneSystemError as exc:
            return _error(str(exc), status.HTTP_503_SERVICE_UNAVAILABLE)
        agent.refresh_from_db(fields=["status", "break_reason"])
        return Response(
            {"status": agent.status, "reason": agent.break_reason, "logout_pending": pending}
        )


urlpatterns = [
    path(
        "preview/<int:lead_id>/accept/", PreviewAcceptView.as_view(), name="dialer-preview-accept"
    ),
    path("preview/<int:lead_id>/skip/", PreviewSkipView.as_view(), name="dialer-preview-skip"),
    path("agent/status/", AgentStatusView.as_view(), name="dialer-agent-status"),
]
