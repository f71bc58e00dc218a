"""The exported callcenter.conf.xml is what mod_callcenter (here: the simulator) loads."""

from __future__ import annotations

import pytest

from dialer.management.commands.export_callcenter_config import callcenter_xml, live_sync_commands
from freeswitch.simulator import Simulator

pytestmark = pytest.mark.django_db


def test_queues_agents_and_tiers_load_into_callcenter(agent, tmp_path):
    path = tmp_path / "callcenter.conf.xml"
    path.write_text(callcenter_xml())
    with Simulator(callcenter_config=str(path)) as sim:
        assert "sales@default" in sim.run_api("callcenter_config queue list")
        agents = sim.run_api("callcenter_config agent list")
        assert "1001@default" in agents
        assert "user/" in agents
        assert "sales@default|1001@default" in sim.run_api("callcenter_config tier list")
    assert "callcenter_config tier add sales@default 1001@default 1 1" in live_sync_commands()
