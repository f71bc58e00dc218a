"""Agent login, logout and break go to mod_callcenter first, then to the database."""

from __future__ import annotations

import pytest

from agents.models import AgentStatus
from dialer.agent_control import AgentControlError, agent_break, agent_login, agent_logout
from freeswitch.simulator import Simulator
from tests.dialer.dialer_harness import callcenter_config
from tests.factories import NOW

pytestmark = pytest.mark.django_db


def test_login_break_logout_reach_the_simulator(agent, settings):
    config = callcenter_config("sales@default", 1)
    config["agents"] = {agent.name: {"type": "callback", "contact": "user/1001"}}
    with Simulator(callcenter_config=config) as sim:
        settings.ESL_HOST, settings.ESL_PORT, settings.ESL_PASSWORD = (
            "127.0.0.1",
            sim.port,
            "ClueCon",
        )
        agent_login(agent, now=NOW)
        assert sim.run_api(f"callcenter_config agent get status {agent.name}") == "Available"
        agent_break(agent, now=NOW, reason="lunch")
        assert sim.run_api(f"callcenter_config agent get status {agent.name}") == "On Break"
        agent.refresh_from_db()
        assert (agent.status, agent.break_reason) == (AgentStatus.ON_BREAK, "lunch")
        agent_logout(agent, now=NOW)
        assert sim.run_api(f"callcenter_config agent get status {agent.name}") == "Logged Out"


def test_a_refusal_leaves_the_status_unchanged(agent):
    with pytest.raises(AgentControlError):
        agent_login(agent, now=NOW, api=lambda cmd: "-ERR Agent not found!\n")
    agent.refresh_from_db()
    assert agent.status == AgentStatus.LOGGED_OUT
