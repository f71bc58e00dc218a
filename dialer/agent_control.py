"""Agent login, logout and break, mapped to mod_callcenter (`callcenter_config agent set status`).

The agent desktop calls these; they tell FreeSWITCH first and then record the status, so the
database never says Available for an agent mod_callcenter would not offer calls to.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime

from agents.models import Agent, AgentStatus
from dialer.esl import oneshot

log = logging.getLogger("dialer.agent_control")

# mod_callcenter's status strings, quoted as its argument splitter wants ('On Break').
_FS_STATUS: dict[str, str] = {
    AgentStatus.AVAILABLE: "Available",
    AgentStatus.LOGGED_OUT: "'Logged Out'",
    AgentStatus.ON_BREAK: "'On Break'",
}
_AGENT_NAME = re.compile(r"[A-Za-z0-9_.-]+(@[A-Za-z0-9_.-]+)?")

Api = Callable[[str], str]


class AgentControlError(RuntimeError):
    """FreeSWITCH refused or could not be reached; the agent's status is unchanged."""


def set_status_command(agent_name: str, status: str) -> str:
    if _AGENT_NAME.fullmatch(agent_name or "") is None:
        raise AgentControlError(f"agent name not usable in a command: {agent_name!r}")
    if status not in _FS_STATUS:
        raise AgentControlError(f"unknown agent status: {status!r}")
    return f"callcenter_config agent set status {agent_name} {_FS_STATUS[status]}"


def agent_set_status(
    agent: Agent,
    *,
    status: str,
    now: datetime,
    break_reason: str = "",
    api: Api | None = None,
) -> Agent:
    """Tell mod_callcenter, then record it. Raises AgentControlError when FreeSWITCH says no."""
    send = api or oneshot.api
    command = set_status_command(agent.name, status)
    try:
        reply = send(command)
    except (OSError, oneshot.EslCommandError) as exc:
        raise AgentControlError(f"FreeSWITCH unreachable: {exc}") from exc
    if not reply.startswith("+OK"):
        raise AgentControlError(f"FreeSWITCH refused: {reply.strip()}")
    agent.status = status
    agent.break_reason = break_reason[:100] if status == AgentStatus.ON_BREAK else ""
    agent.status_changed_at = now
    agent.save(update_fields=["status", "break_reason", "status_changed_at"])
    log.info("agent status", extra={"agent": agent.name, "status": status})
    return agent


def agent_login(agent: Agent, *, now: datetime, api: Api | None = None) -> Agent:
    return agent_set_status(agent, status=AgentStatus.AVAILABLE, now=now, api=api)


def agent_logout(agent: Agent, *, now: datetime, api: Api | None = None) -> Agent:
    return agent_set_status(agent, status=AgentStatus.LOGGED_OUT, now=now, api=api)


def agent_break(agent: Agent, *, now: datetime, reason: str = "", api: Api | None = None) -> Agent:
    return agent_set_status(
        agent, status=AgentStatus.ON_BREAK, now=now, break_reason=reason, api=api
    )
