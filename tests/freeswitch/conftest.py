"""Fixtures: an in-process simulator on a free port and a raw ESL client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from freeswitch.simulator import Simulator
from freeswitch.simulator.testing import RawEslClient

SCENARIO = {
    "rules": [
        {"match": "^\\+1555000", "action": "answer", "ring": 0.5, "answer_after": 1, "talk": 5},
        {"match": "^\\+1555111", "action": "busy", "ring": 0.5},
        {"match": "^\\+1555222", "action": "no_answer", "ring": 0.5},
        {"match": "^\\+1555333", "action": "invalid", "ring": 0.2},
        {"match": "^\\+1555444", "action": "machine", "ring": 0.5, "answer_after": 1, "talk": 5},
        {"match": "^\\+1555555", "action": "reject", "ring": 0.2},
        {"match": "^\\+1555666", "action": "answer", "ring": 0.5, "answer_after": 1, "talk": None},
        {"match": "^\\+1555777", "action": "congestion", "ring": 0.2},
    ],
    "agents": {
        "default": {"action": "answer", "ring": 0.2, "answer_after": 1, "talk": 4},
        "rules": [{"match": "^1009$", "action": "no_answer"}],
    },
}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    s = Simulator(password="ClueCon", scenario=SCENARIO, time_scale=50, heartbeat_interval=3600)
    s.start()
    yield s
    s.stop()


@pytest.fixture
def client(sim: Simulator) -> Iterator[RawEslClient]:
    c = RawEslClient(sim.port)
    assert c.connect().headers["Reply-Text"] == "+OK accepted"
    yield c
    c.close()
