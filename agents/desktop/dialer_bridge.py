"""The desktop's seam to the dialer: agent status, call commands and preview cards.

Each function uses the dialer's own service when it exists (dialer.agent_control,
dialer.preview, dialer.selector, campaigns.services) and otherwise a small local fallback,
so the desktop works before and without the daemon. Call commands go to FreeSWITCH over a
short Event Socket connection; every argument is a validated name or a UUID, never user text.
"""

from __future__ import annotations

import importlib
import json
import logging
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from agents.models import Agent, AgentStatus
from campaigns.models import Campaign
from dialer.models import Call
from leads import lifecycle
from leads.models import DIALABLE_STATES, Lead, LeadState

log = logging.getLogger("agents.desktop.bridge")


class PhoneSystemError(RuntimeError):
    """FreeSWITCH refused or did not answer a call command."""


class CardError(ValueError):
    """The dialer refused a lead-card action (no longer reserved, another agent's …)."""


def _card_refusal(exc: Exception) -> bool:
    return type(exc).__name__ == "PreviewError"


def _optional(module: str, name: str) -> Callable[..., Any] | None:
    try:
        mod: ModuleType = importlib.import_module(module)
    except ImportError:
        return None
    fn = getattr(mod, name, None)
    return fn if callable(fn) else None


# --- Event Socket: one short connection per command -----------------------------------------


def esl_api(command: str, *, timeout: float = 3.0) -> str:
    """Run one `api` command on FreeSWITCH and return its body; PhoneSystemError on -ERR."""
    try:
        with socket.create_connection((settings.ESL_HOST, settings.ESL_PORT), timeout) as sock:
            reader = sock.makefile("rb")
            _read_frame(reader)  # auth/request
            sock.sendall(f"auth {settings.ESL_PASSWORD}\n\n".encode())
            headers, _ = _read_frame(reader)
            if not headers.get("Reply-Text", "").startswith("+OK"):
                raise PhoneSystemError("Event Socket refused the password")
            sock.sendall(f"api {command}\n\n".encode())
            while True:
                headers, body = _read_frame(reader)
                if headers.get("Content-Type") == "api/response":
                    break
    except OSError as exc:
        raise PhoneSystemError(f"the phone system is not reachable ({exc})") from exc
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("-ERR"):
        raise PhoneSystemError(text)
    return text


def _read_frame(reader: Any) -> tuple[dict[str, str], bytes]:
    headers: dict[str, str] = {}
    while True:
        line = reader.readline()
        if not line:
            raise OSError("connection closed")
        line = line.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if headers:
                break
            continue
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    length = int(headers.get("Content-Length", "0") or 0)
    body = reader.read(length) if length else b""
    return headers, body


# --- Agent status (mod_callcenter) ----------------------------------------------------------

# Tests and the demo may replace FreeSWITCH: a function taking one api command, returning the
# reply. None: the dialer's one-shot ESL client (dialer.esl.oneshot), else esl_api above.
fs_api: Callable[[str], str] | None = None


def _api() -> Callable[[str], str]:
    if fs_api is not None:
        return fs_api
    oneshot = _optional("dialer.esl.oneshot", "api")
    return oneshot if oneshot is not None else esl_api


def set_agent_status(agent: Agent, status: str, *, reason: str = "", now: datetime) -> None:
    """Tell mod_callcenter, then record the status (dialer.agent_control.agent_set_status).

    Fails safe: going Available is refused (PhoneSystemError) when FreeSWITCH does not accept
    it, so the desktop never shows Ready for an agent who would get no calls. Going On Break
    or Logged Out is recorded even then: fewer offers is the safe direction, and the dialer
    re-applies statuses when it reconnects."""
    control = _optional("dialer.agent_control", "agent_set_status")
    try:
        if control is not None:
            control(agent, status=status, now=now, break_reason=reason, api=_api())
        else:
            if status not in AgentStatus.values:
                raise ValueError(status)
            reply = _api()(f"callcenter_config agent set status {agent.name} '{status}'")
            if not reply.startswith("+OK"):
                raise PhoneSystemError(f"FreeSWITCH refused: {reply.strip()}")
    except Exception as exc:
        if status == AgentStatus.AVAILABLE:
            raise PhoneSystemError(str(exc)) from exc
        log.warning("status %r of agent %s recorded, not applied: %s", status, agent.name, exc)
    Agent.objects.filter(pk=agent.pk).update(
        status=status, break_reason=reason[:100], status_changed_at=now
    )
    agent.status, agent.break_reason, agent.status_changed_at = status, reason[:100], now


# --- Call commands ----------------------------------------------------------------------------


def _call_command(name: str, call: Call, command: str) -> None:
    """`command` holds only fixed words and the call's UUID (a UUIDField): no user text."""
    fn = _optional("dialer.agent_control", name)
    if fn is not None:
        fn(call=call)
        return
    try:
        reply = _api()(command)
    except Exception as exc:
        raise PhoneSystemError(f"the phone system is not reachable ({exc})") from exc
    if reply.strip().startswith("-ERR"):
        raise PhoneSystemError(reply.strip())


def call_hangup(call: Call) -> None:
    _call_command("call_hangup", call, f"uuid_kill {call.uuid} NORMAL_CLEARING")


def call_hold(call: Call) -> None:
    _call_command("call_hold", call, f"uuid_hold {call.uuid}")


def call_resume(call: Call) -> None:
    _call_command("call_resume", call, f"uuid_hold off {call.uuid}")


# --- Campaign status and preview cards ----------------------------------------------------------


def campaign_display_status(campaign: Campaign, *, now: datetime) -> str:
    """Started/Running, Scheduled (running, outside its schedule) or Stopped."""
    fn = _optional("campaigns.services", "campaign_display_status")
    if fn is not None:
        try:
            return str(fn(campaign, now=now))
        except TypeError:
            return str(fn(campaign, now))
    return "Running" if campaign.is_running else "Stopped"


def select_preview_lead(campaign: Campaign, agent: Agent, now: datetime) -> Lead | None:
    """Reserve the next record of the calling list for the agent's card (state Reserved)."""
    fn = _optional("dialer.selector", "select_preview_lead")
    if fn is not None:
        lead = fn(campaign, agent, now)
        return lead if isinstance(lead, Lead) else None
    # Fallback until the selector lands: the first due lead by priority, skipping locked rows.
    with transaction.atomic():
        lead = (
            Lead.objects.select_for_update(skip_locked=True)
            .select_related("campaign")
            .filter(campaign=campaign, state__in=DIALABLE_STATES, next_dial_at__lte=now)
            .filter(Q(callback_agent=None) | Q(callback_agent=agent))
            .order_by("-priority", "next_dial_at", "id")
            .first()
        )
        if lead is None:
            return None
        until = now + timedelta(seconds=max(campaign.preview_timeout, 300))
        return lifecycle.lead_reserve_for_agent(
            lead, now=now, agent_id=agent.pk, until=until, actor=agent.name
        )


def preview_accept(*, agent: Agent, lead: Lead, now: datetime) -> Call:
    """The agent connects a card: a Call row and the lead Dialing; the dialer places it."""
    fn = _optional("dialer.preview", "preview_accept")
    if fn is not None:
        try:
            call = fn(agent=agent, lead=lead, now=now)
        except Exception as exc:
            if _card_refusal(exc):
                raise CardError(str(exc)) from exc
            raise
        if isinstance(call, Call):
            return call
    with transaction.atomic():
        call = Call.objects.create(
            campaign=lead.campaign,
            lead=lead,
            attempt=lead.attempts + 1,
            number=lead.number,
            requested_at=now,
            agent=agent,
            agent_name=agent.display_name[:150],
            agent_extension=agent.extension,
        )
        lifecycle.transition(
            lead,
            LeadState.DIALING,
            now=now,
            reason=f"agent {agent.name} connected the lead card",
            actor=agent.name,
            reserved_until=None,
        )
        # The daemon rings the agent first, then the customer (dialer.daemon.dial_preview).
        command = {
            "action": "preview_dial",
            "call_uuid": str(call.uuid),
            "contact": agent.contact,
            "agent": agent.name,
        }
        transaction.on_commit(lambda: _send_control(command))
    return call


CONTROL_STREAM = "dialer:control"  # read by dialer.daemon.read_control


def _send_control(command: dict[str, str]) -> None:
    from .push import redis_client

    try:
        redis_client().xadd(CONTROL_STREAM, {"payload": json.dumps(command)}, maxlen=10000)
    except Exception as exc:  # the Call row stays pending; the dialer's reaper frees the lead
        log.error("could not hand the preview dial to the dialer: %s", exc)


def preview_skip(*, agent: Agent, lead: Lead, now: datetime, reason: str) -> None:
    """Skip, reject or countdown expiry: the record goes back to the list, no attempt spent."""
    fn = _optional("dialer.preview", "preview_skip")
    if fn is not None:
        try:
            fn(agent=agent, lead=lead, now=now, reason=reason)
        except Exception as exc:
            if not _card_refusal(exc):
                raise
            log.info("card of lead %s already left agent %s: %s", lead.pk, agent.name, exc)
        return
    if lead.state == LeadState.RESERVED:
        lifecycle.lead_release_card(lead, now=now, reason=reason, actor=agent.name)
