"""Agent desktop pages: one server-rendered page, its panels as fragments, an event stream,
and plain POST actions (CSRF-checked) that call agents.desktop.services.

Every view works on the signed-in user's own Agent; a call or lead of another agent is a 403.
Actions answer JSON (the page's script) or redirect back (a browser without script)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from agents.models import (
    Agent,
    AgentDesk,
    AgentMessage,
    AgentStatus,
    DeskCallState,
    Disposition,
    MessageKind,
)
from campaigns.models import Campaign, CampaignType
from leads.models import LeadState

from . import services
from .push import subscribe

log = logging.getLogger("agents.desktop.views")

KEEPALIVE_SECONDS = 10.0
# A stream ends after this long and the browser reconnects by itself (retry:), so a
# vanished browser never holds a worker for more than a few minutes.
STREAM_SECONDS = 300.0
RETRY_MS = 1000
MESSAGES_SHOWN = 30
RECORD_FIELDS = (
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("ticket_id", "Ticket ID"),
    ("lead_type", "Type"),
    ("note", "Note"),
)

AgentView = Callable[..., HttpResponseBase]


def agent_required(view: AgentView) -> AgentView:
    """Signed-in users with an Agent record; anyone else: login page or 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        agent = Agent.objects.select_related("user").filter(user=request.user).first()
        if agent is None:
            raise PermissionDenied("The agent desktop is for agents.")
        return view(request, agent, *args, **kwargs)

    return wrapper


# --- What the page shows ---------------------------------------------------------------------


def _status(agent: Agent, desk: AgentDesk, now: datetime) -> dict[str, Any]:
    """The always-visible status: a label, its colour, and when its clock started."""
    logged_in = agent.status != AgentStatus.LOGGED_OUT and desk.logged_in_at is not None
    since = agent.status_changed_at or now
    state = desk.call_state
    if not logged_in:
        label, tone = "Logged out", "off"
    elif desk.logout_pending:
        label, tone = "Logout pending", "warn"
    elif state in (DeskCallState.TALKING,):
        label, tone, since = "On call", "call", desk.call_state_since or now
    elif state == DeskCallState.HELD:
        label, tone, since = "On hold", "call", desk.call_state_since or now
    elif state == DeskCallState.WRAP_UP:
        label, tone, since = "Wrap-up", "wrap", desk.call_state_since or now
    elif state in (DeskCallState.DIALING, DeskCallState.OFFERED):
        label, tone, since = "Connecting", "call", desk.call_state_since or now
    elif state == DeskCallState.CARD:
        label, tone, since = "Previewing", "call", desk.call_state_since or now
    elif agent.status == AgentStatus.AVAILABLE:
        label, tone = "Ready", "ready"
    else:
        label, tone = "Not Ready", "break"
    return {
        "label": label,
        "tone": tone,
        "since": since,
        "logged_in": logged_in,
        "reason": agent.break_reason if agent.status == AgentStatus.ON_BREAK else "",
        "ready": agent.status == AgentStatus.AVAILABLE,
    }


def _context(agent: Agent, now: datetime) -> dict[str, Any]:
    desk = (
        AgentDesk.objects.select_related(
            "lead__campaign__queue", "call__campaign__queue", "call__disposition"
        )
        .filter(agent=agent)
        .first()
    ) or services.desk_for(agent)
    lead = desk.lead
    call = desk.call
    campaign = call.campaign if call else (lead.campaign if lead else None)
    account_zone = ZoneInfo(settings.ACCOUNT_TIMEZONE)
    card: dict[str, Any] = {"state": desk.call_state}
    if lead is not None and campaign is not None:
        zone = ZoneInfo(lead.timezone)
        card.update(
            lead=lead,
            campaign=campaign,
            masked=campaign.mask_lead_caller_id,
            push=campaign.type == CampaignType.PUSH_PREVIEW,
            crm=sorted((str(k), v) for k, v in (lead.crm_data or {}).items()),
            attempts=services.previous_attempts(lead),
            lead_local=now.astimezone(zone),
            callback_min=now.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
            record=[(name, label, getattr(lead, name)) for name, label in RECORD_FIELDS],
        )
    if call is not None:
        card.update(
            call=call,
            dispositions=list(Disposition.objects.filter(queue_id=call.campaign.queue_id)),
        )
    messages_qs = AgentMessage.objects.filter(agent=agent)
    logout_message = (
        messages_qs.filter(kind=MessageKind.LOGOUT).order_by("-created_at", "-id").first()
        if desk.logout_pending
        else None
    )
    return {
        "agent": agent,
        "desk": desk,
        "now": now,
        "status": _status(agent, desk, now),
        "break_reasons": services.BREAK_REASONS,
        "campaigns": services.my_campaigns(agent, now=now),
        "card": card,
        "messages_list": list(messages_qs[:MESSAGES_SHOWN]),
        "unread": messages_qs.filter(read_at=None).count(),
        "logout_message": logout_message,
        "account_zone": account_zone,
        # Calls still waiting for this agent's disposition besides the desk's own.
        "owed": list(services.owed_dispositions(agent, desk)),
    }


PANELS = {
    "status": "desktop/_status.html",
    "campaigns": "desktop/_campaigns.html",
    "card": "desktop/_card.html",
    "messages": "desktop/_messages.html",
}


def _panel_key(name: str, ctx: dict[str, Any]) -> str:
    """Changes when the panel's forms would change meaning; the script keeps a panel the
    agent is typing in as long as its key stays the same."""
    desk: AgentDesk = ctx["desk"]
    if name == "card":
        disposition = desk.call.disposition_id if desk.call else None
        owed = ",".join(str(call.pk) for call in ctx["owed"])
        return f"{desk.call_state}:{desk.lead_id}:{desk.call_id}:{disposition}:{owed}"
    return ""


def _panels(request: HttpRequest, agent: Agent) -> dict[str, Any]:
    now = timezone.now()
    ctx = _context(agent, now)
    desk: AgentDesk = ctx["desk"]
    logout = ctx["logout_message"]
    return {
        "now": now.isoformat(),
        "unread": ctx["unread"],
        "panels": {
            name: {
                "html": render_to_string(tpl, ctx, request=request),
                "key": _panel_key(name, ctx),
            }
            for name, tpl in PANELS.items()
        },
        "logout": {
            "pending": desk.logout_pending,
            "requested_at": desk.logout_requested_at.isoformat()
            if desk.logout_requested_at
            else None,
            "authorized_at": desk.logout_authorized_at.isoformat()
            if desk.logout_authorized_at
            else None,
            "message_id": logout.pk if logout else None,
        },
    }


@require_GET
@agent_required
def desktop(request: HttpRequest, agent: Agent) -> HttpResponse:
    ctx = _context(agent, timezone.now())
    return render(request, "desktop/page.html", ctx)


@require_GET
@agent_required
def panels(request: HttpRequest, agent: Agent) -> JsonResponse:
    return JsonResponse(_panels(request, agent))


@require_GET
@agent_required
def events(request: HttpRequest, agent: Agent) -> StreamingHttpResponse:
    """Server-sent events: "changed" whenever the agent's desk changes. The stream opens with
    "hello" so a reconnecting page re-reads everything it may have missed."""
    pubsub = subscribe(agent.pk)

    def stream() -> Iterator[str]:
        # The stream needs no database; do not hold a connection for minutes.
        if not connection.in_atomic_block:
            connection.close()
        try:
            yield f"retry: {RETRY_MS}\nevent: hello\ndata: {{}}\n\n"
            started = last_sent = time.monotonic()
            while last_sent - started < STREAM_SECONDS:
                # Wakes at once on a message; the 1 s bound only paces the keep-alives.
                message = pubsub.get_message(timeout=1.0)
                if message is None or message.get("type") != "message":
                    if time.monotonic() - last_sent >= KEEPALIVE_SECONDS:
                        last_sent = time.monotonic()
                        yield ": keep-alive\n\n"
                    continue
                last_sent = time.monotonic()
                try:
                    payload = json.loads(message["data"])
                    event = str(payload.get("event", "changed"))
                    data = payload.get("data", {})
                except (ValueError, AttributeError):
                    continue
                # One event type for the page; what happened travels in the data.
                yield f"event: changed\ndata: {json.dumps({'event': event, 'data': data})}\n\n"
        finally:
            pubsub.close()

    response = StreamingHttpResponse(stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return response


# --- Actions ---------------------------------------------------------------------------------


def _wants_json(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _act(
    request: HttpRequest,
    agent: Agent,
    action: Callable[[], Any],
    done: str | Callable[[], str] = "",
) -> Any:
    """Run one action: JSON panels (or a redirect) on success, the refusal in words on error.
    ``done`` is the notice, or what says it once the action ran."""
    try:
        action()
        if callable(done):
            done = done()
    except services.DesktopError as exc:
        if _wants_json(request):
            return JsonResponse({"error": str(exc)}, status=400)
        messages.error(request, str(exc))
        return redirect("desktop:home")
    if _wants_json(request):
        data = _panels(request, agent)
        if done:
            data["notice"] = done
        return JsonResponse(data)
    if done:
        messages.success(request, done)
    return redirect("desktop:home")


@require_POST
@agent_required
def login_queues(request: HttpRequest, agent: Agent) -> HttpResponseBase:
    return _act(request, agent, lambda: services.agent_login(agent=agent, now=timezone.now()))


@require_POST
@agent_required
def go_ready(request: HttpRequest, agent: Agent) -> HttpResponseBase:
    return _act(request, agent, lambda: services.agent_go_ready(agent=agent, now=timezone.now()))


@require_POST
@agent_required
def go_not_ready(request: HttpRequest, agent: Agent) -> HttpResponseBase:
    reason = request.POST.get("reason", "")
    return _act(
        request,
        agent,
        lambda: services.agent_go_not_ready(agent=agent, reason=reason, now=timezone.now()),
    )


@require_POST
@agent_required
def logout_queues(request: HttpRequest, agent: Agent) -> HttpResponseBase:
    return _act(
        request, agent, lambda: services.agent_request_logout(agent=agent, now=timezone.now())
    )


@require_POST
@agent_required
def tick(request: HttpRequest, agent: Agent) -> HttpResponseBase:
    return _act(request, agent, lambda: services.desk_tick(agent=agent, now=timezone.now()))


@require_POST
@agent_required
def get_record(request: HttpRequest, agent: Agent, campaign_id: int) -> HttpResponseBase:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    if campaign.queue_id not in services.agent_queue_ids(agent):
        raise PermissionDenied("You are not assigned to this campaign.")
    return _act(
        request,
        agent,
        lambda: services.agent_get_preview_record(
            agent=agent, campaign=campaign, now=timezone.now()
        ),
    )


@require_POST
@agent_required
def connect_card(request: HttpRequest, agent: Agent, lead_id: int) -> HttpResponseBase:
    lead = services.own_lead(agent, lead_id)
    return _act(
        request,
        agent,
        lambda: services.agent_connect_card(agent=agent, lead=lead, now=timezone.now()),
    )


@require_POST
@agent_required
def skip_card(request: HttpRequest, agent: Agent, lead_id: int) -> HttpResponseBase:
    lead = services.own_lead(agent, lead_id)
    return _act(
        request, agent, lambda: services.agent_skip_card(agent=agent, lead=lead, now=timezone.now())
    )


@require_POST
@agent_required
def call_action(request: HttpRequest, agent: Agent, call_id: int, action: str) -> HttpResponseBase:
    call = services.own_call(agent, call_id)
    now = timezone.now()
    actions: dict[str, Callable[[], Any]] = {
        "hangup": lambda: services.agent_hangup(agent=agent, call=call, now=now),
        "hold": lambda: services.agent_hold(agent=agent, call=call, now=now),
        "resume": lambda: services.agent_resume(agent=agent, call=call, now=now),
        "voicemail": lambda: services.agent_mark_voicemail(agent=agent, call=call, now=now),
    }
    if action not in actions:
        return HttpResponse("Unknown action", status=404)
    return _act(request, agent, actions[action])


def _callback_entry(request: HttpRequest) -> datetime | None:
    text = request.POST.get("callback_at", "").strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=None, second=0, microsecond=0)
    except ValueError:
        raise services.DesktopError(
            "Write the callback date and time as YYYY-MM-DD HH:MM."
        ) from None


@require_POST
@agent_required
def disposition(request: HttpRequest, agent: Agent, call_id: int) -> HttpResponseBase:
    call = services.own_call(agent, call_id)

    def run() -> None:
        code = request.POST.get("disposition", "")
        # ASCII digits only: "²".isdigit() is true and int() refuses it.
        chosen = (
            Disposition.objects.filter(queue_id=call.campaign.queue_id, pk=int(code)).first()
            if code.isascii() and code.isdigit() and len(code) <= 18
            else None
        )
        if chosen is None:
            raise services.DesktopError("Pick a disposition code.")
        entry = _callback_entry(request)
        at = services.callback_time(entry, call.lead) if entry else None
        services.agent_set_disposition(
            agent=agent,
            call=call,
            disposition=chosen,
            now=timezone.now(),
            callback_at=at,
            personal=request.POST.get("personal") == "on",
        )

    return _act(request, agent, run, done="Disposition saved.")


@require_POST
@agent_required
def schedule_callback(request: HttpRequest, agent: Agent, lead_id: int) -> HttpResponseBase:
    lead = services.own_lead(agent, lead_id)

    def run() -> None:
        entry = _callback_entry(request)
        if entry is None:
            raise services.DesktopError("Pick the callback date and time.")
        services.agent_schedule_callback(
            agent=agent,
            lead=lead,
            at=entry,
            personal=request.POST.get("personal") == "on",
            now=timezone.now(),
        )

    def said() -> str:
        lead.refresh_from_db(fields=["state"])
        if lead.state == LeadState.DIALING:  # the customer is still on the line
            return "Callback kept: it is booked when the call ends."
        return "Callback scheduled."

    return _act(request, agent, run, done=said)


@require_POST
@agent_required
def update_record(request: HttpRequest, agent: Agent, lead_id: int) -> HttpResponseBase:
    lead = services.own_lead(agent, lead_id)
    changes = {name: request.POST[name] for name, _label in RECORD_FIELDS if name in request.POST}
    return _act(
        request,
        agent,
        lambda: services.agent_update_lead_record(
            agent=agent, lead=lead, changes=changes, now=timezone.now()
        ),
        done="Customer record saved.",
    )


@require_POST
@agent_required
def read_message(request: HttpRequest, agent: Agent, message_id: int) -> HttpResponseBase:
    return _act(
        request,
        agent,
        lambda: services.agent_read_message(agent=agent, message_id=message_id, now=timezone.now()),
    )


@require_POST
@agent_required
def read_all_messages(request: HttpRequest, agent: Agent) -> HttpResponseBase:
    return _act(
        request,
        agent,
        lambda: services.agent_read_all_messages(agent=agent, now=timezone.now()),
    )
