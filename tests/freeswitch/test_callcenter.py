"""mod_callcenter: callcenter_config replies, strategies, wrap-up, abandonment."""

from __future__ import annotations

import pytest

from freeswitch.simulator import Simulator
from freeswitch.simulator.testing import RawEslClient

from .conftest import SCENARIO


def make(strategy: str, wrap: int = 0) -> Simulator:
    cfg = {
        "queues": {"sales@default": {"strategy": strategy}},
        "agents": {
            n: {"contact": f"user/{n}", "status": "Available", "wrap-up-time": str(wrap),
                "max-no-answer": "2"}
            for n in ("1001", "1002", "1003")
        },
        "tiers": [
            {"queue": "sales@default", "agent": n, "level": 1, "position": i}
            for i, n in enumerate(("1001", "1002", "1003"), 1)
        ],
    }  # fmt: skip
    s = Simulator(scenario=SCENARIO, callcenter_config=cfg, time_scale=50, heartbeat_interval=3600)
    s.start()
    return s


def call(c: RawEslClient, uuid: str, number: str = "+15556660000") -> None:
    c.command(
        f"bgapi originate {{origination_uuid={uuid},ignore_early_media=true}}"
        f"sofia/gateway/gw/{number} &callcenter(sales@default)"
    )


def bridged_agent(c: RawEslClient, member: str) -> str:
    ev = c.wait_event(
        lambda d: (
            d.get("CC-Action") == "bridge-agent-start" and d.get("CC-Member-Session-UUID") == member
        ),
        timeout=10,
    )
    return ev["CC-Agent"]


def test_callcenter_config_commands() -> None:
    s = make("longest-idle-agent")
    try:
        c = RawEslClient(s.port)
        c.connect()
        cc = "callcenter_config "
        assert c.api(cc + "agent add 2001 callback") == "+OK\n"
        assert c.api(cc + "agent add 2001 callback") == "-ERR Agent already exist!\n"
        assert c.api(cc + "agent add 2002 bogus") == "-ERR Agent type invalid!\n"
        assert c.api(cc + "agent set contact 2001 user/2001") == "+OK\n"
        assert c.api(cc + "agent set status 2001 'Available (On Demand)'") == "+OK\n"
        assert c.api(cc + "agent get status 2001") == "Available (On Demand)"
        assert c.api(cc + "agent set status 2001 Busy") == "-ERR Invalid Agent Status!\n"
        assert c.api(cc + "agent set state 2001 Idle") == "+OK\n"
        assert c.api(cc + "agent set state 2001 Sleeping") == "-ERR Invalid Agent State!\n"
        assert c.api(cc + "agent set max_no_answer 2001 3") == "+OK\n"
        assert c.api(cc + "agent set wrap_up_time 2001 10") == "+OK\n"
        assert c.api(cc + "agent set reject_delay_time 2001 5") == "+OK\n"
        assert c.api(cc + "agent set colour 2001 5") == "-ERR Invalid Agent Update KEY!\n"
        assert c.api(cc + "agent set status nobody Available") == "-ERR Agent not found!\n"
        assert c.api(cc + "agent get status nobody") == "-ERR Agent not found!\n"
        assert c.api(cc + "tier add sales@default 2001 2 1") == "+OK\n"
        assert c.api(cc + "tier add sales@default 2001") == "-ERR Tier already exist!\n"
        assert c.api(cc + "tier add nope@default 2001") == "-ERR Queue not found!\n"
        assert c.api(cc + "tier set level sales@default 2001 3") == "+OK\n"
        assert c.api(cc + "tier set state sales@default 2001 Nap") == "-ERR Invalid Tier State!\n"
        assert c.api(cc + "queue count agents sales@default") == "4\n"
        assert c.api(cc + "queue count tiers sales@default") == "4\n"
        assert c.api(cc + "queue count members sales@default") == "0\n"
        assert c.api(cc + "queue count") == "1\n"
        assert c.api(cc + "queue list members sales@default") == "+OK\n"
        tiers = c.api(cc + "queue list tiers sales@default").splitlines()
        assert tiers[0] == "queue|agent|state|level|position"
        assert "sales@default|2001|Ready|3|1" in tiers
        assert tiers[-1] == "+OK"
        agents = c.api(cc + "agent list").splitlines()
        assert agents[0].startswith("name|instance_id|uuid|type|contact|status|state|")
        assert agents[-1] == "+OK"
        assert len(agents) == 6
        assert c.api(cc + "queue list").splitlines()[1].startswith("sales@default|longest-idle")
        assert c.api(cc + "queue load sales@default") == "+OK\n"
        assert c.api(cc + "queue reload sales@default") == "+OK\n"
        assert c.api(cc + "queue load nope") == "-ERR Invalid Queue not found!\n"
        assert c.api(cc + "tier del sales@default 2001") == "+OK\n"
        assert c.api(cc + "agent del 2001") == "+OK\n"
        assert c.api(cc + "queue unload sales@default") == "+OK\n"
        assert c.api(cc + "bogus") == "-ERR Invalid!\n"
    finally:
        s.stop()


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("top-down", ["1001", "1001"]),
        ("round-robin", ["1001", "1002"]),
        ("longest-idle-agent", ["1001", "1002"]),
        ("agent-with-fewest-calls", ["1001", "1002"]),
        ("ring-all", None),
    ],
)
def test_member_bridged_to_agent_by_strategy(strategy: str, expected: list[str] | None) -> None:
    s = make(strategy)
    try:
        c = RawEslClient(s.port)
        c.connect()
        c.command("event plain CUSTOM callcenter::info")
        got = []
        for i in range(2):
            call(c, f"m-{strategy}-{i}")
            got.append(bridged_agent(c, f"m-{strategy}-{i}"))
            c.wait_event(lambda d: d.get("CC-Action") == "bridge-agent-end", timeout=10)
            c.frames.clear()
            c._cursor = 0
        if expected is not None:
            assert got == expected
        actions = [e.get("CC-Action") for e in c.events()]
        assert actions == [] or "member-queue-end" not in actions[:1]
    finally:
        s.stop()


def test_wrap_up_time_keeps_agent_out() -> None:
    s = make("top-down", wrap=60)
    try:
        c = RawEslClient(s.port)
        c.connect()
        c.command("event plain CUSTOM callcenter::info")
        call(c, "w-1")
        assert bridged_agent(c, "w-1") == "1001"
        c.wait_event(lambda d: d.get("CC-Action") == "bridge-agent-end", timeout=10)
        call(c, "w-2")
        # 1001 is in wrap-up (60 s) so top-down falls through to 1002.
        assert bridged_agent(c, "w-2") == "1002"
        assert (s.agent("1001") or {})["state"] == "Waiting"
    finally:
        s.stop()


def test_abandoned_member() -> None:
    s = make("top-down")
    try:
        c = RawEslClient(s.port)
        c.connect()
        for n in ("1001", "1002", "1003"):
            c.api(f"callcenter_config agent set status {n} 'On Break'")
        c.command("event plain CUSTOM callcenter::info")
        call(c, "ab-1")
        c.wait_event(lambda d: d.get("CC-Action") == "member-queue-start")
        assert c.api("callcenter_config queue count members sales@default") == "1\n"
        assert c.api("uuid_kill ab-1") == "+OK\n"
        ev = c.wait_event(lambda d: d.get("CC-Action") == "member-queue-end")
        assert (ev["CC-Cause"], ev["CC-Cancel-Reason"]) == ("Cancel", "BREAK_OUT")
        members = c.api("callcenter_config queue list members sales@default")
        assert "|Abandoned|" in members
    finally:
        s.stop()


def test_agent_no_answer_goes_on_break_after_max_no_answer() -> None:
    cfg = {
        "queues": {"q@d": {"strategy": "top-down"}},
        "agents": {"1009": {"contact": "{originate_timeout=2}user/1009", "status": "Available",
                            "max-no-answer": "1", "no-answer-delay-time": "1"}},
        "tiers": [{"queue": "q@d", "agent": "1009"}],
    }  # fmt: skip
    with Simulator(scenario=SCENARIO, callcenter_config=cfg, time_scale=50) as s:
        c = RawEslClient(s.port)
        c.connect()
        c.command("event plain CUSTOM callcenter::info")
        c.command("bgapi originate {ignore_early_media=true}null/x &callcenter(q@d)")
        fail = c.wait_event(lambda d: d.get("CC-Action") == "bridge-agent-fail", timeout=10)
        assert fail["CC-Hangup-Cause"] == "NO_ANSWER"
        st = c.wait_event(lambda d: d.get("CC-Action") == "agent-status-change", timeout=10)
        assert st["CC-Agent-Status"] == "On Break"


def ringing_agent_setup(s: Simulator, member: str) -> tuple[RawEslClient, dict[str, str]]:
    """A member in q@d offered to agent 1009, whose phone rings and never answers."""
    c = RawEslClient(s.port)
    c.connect()
    c.command("event plain CHANNEL_PROGRESS CHANNEL_HANGUP CUSTOM callcenter::info")
    c.command(
        f"bgapi originate {{origination_uuid={member},ignore_early_media=true}}"
        "sofia/gateway/gw/+15556660000 &callcenter(q@d)"
    )
    ring = c.wait_event(
        lambda d: (
            d.get("Event-Name") == "CHANNEL_PROGRESS" and d.get("variable_cc_agent") == "1009"
        ),
        timeout=10,
    )
    return c, ring


RINGING_CFG = {
    "queues": {"q@d": {"strategy": "longest-idle-agent"}},
    "agents": {"1009": {"contact": "user/1009", "status": "Available", "max-no-answer": "1",
                        "no-answer-delay-time": "30"}},
    "tiers": [{"queue": "q@d", "agent": "1009"}],
}  # fmt: skip


def test_member_hanging_up_while_agent_rings_frees_the_agent() -> None:
    # mod_callcenter: the member's exit cancels the agent's originate (ORIGINATOR_CANCEL),
    # the agent thread reports bridge-agent-fail and puts the agent back to Waiting with
    # no no-answer penalty (no delay, no count, tier Ready, still Available).
    with Simulator(scenario=SCENARIO, callcenter_config=RINGING_CFG, time_scale=50) as s:
        c, ring = ringing_agent_setup(s, "mem-1")
        agent_leg = ring["Unique-ID"]
        # FreeSWITCH finds the agent's ringing leg by the queue entry id.
        member_entry = c.wait_event(lambda d: d.get("CC-Action") == "agent-offering")
        assert ring["variable_cc_member_pre_answer_uuid"] == member_entry["CC-Member-UUID"]
        assert c.api("uuid_kill mem-1") == "+OK\n"
        c.wait_event(lambda d: d.get("CC-Agent-State") == "Waiting", timeout=5)
        hangup = c.wait_event(
            lambda d: d.get("Event-Name") == "CHANNEL_HANGUP" and d["Unique-ID"] == agent_leg
        )
        assert hangup["Hangup-Cause"] == "ORIGINATOR_CANCEL"
        after = [e["CC-Action"] for e in c.events() if "CC-Action" in e]
        after = after[after.index("agent-offering") + 1 :]
        # The member's exit and the agent thread's report race in FreeSWITCH too; the
        # agent's return to Waiting is last.
        assert sorted(after[:-1]) == ["bridge-agent-fail", "member-queue-end", "members-count"]
        assert after[-1] == "agent-state-change"
        fail = c.wait_event(lambda d: d.get("CC-Action") == "bridge-agent-fail")
        assert fail["CC-Hangup-Cause"] == "ORIGINATOR_CANCEL"
        assert fail["CC-Member-Session-UUID"] == "mem-1"
        assert "CC-Member-Joined-Time" in fail
        row = s.agent("1009")
        assert row is not None
        assert (row["status"], row["state"], row["no_answer_count"], row["ready_time"]) == (
            "Available", "Waiting", "0", "0",
        )  # fmt: skip
        assert "q@d|1009|Ready|1|1" in c.api("callcenter_config queue list tiers q@d")
        # The agent takes the next caller at once.
        c.command(
            "bgapi originate {origination_uuid=mem-2,ignore_early_media=true}"
            "sofia/gateway/gw/+15556660001 &callcenter(q@d)"
        )
        offer = c.wait_event(
            lambda d: (
                d.get("CC-Action") == "agent-offering"
                and d.get("CC-Member-Session-UUID") == "mem-2"
            ),
            timeout=5,
        )
        assert offer["CC-Agent"] == "1009"


def test_agent_going_on_break_while_ringing_cancels_the_offer() -> None:
    with Simulator(scenario=SCENARIO, callcenter_config=RINGING_CFG, time_scale=50) as s:
        c, ring = ringing_agent_setup(s, "mem-3")
        agent_leg = ring["Unique-ID"]
        assert c.api("callcenter_config agent set status 1009 'On Break'") == "+OK\n"
        hangup = c.wait_event(
            lambda d: d.get("Event-Name") == "CHANNEL_HANGUP" and d["Unique-ID"] == agent_leg
        )
        assert hangup["Hangup-Cause"] == "ORIGINATOR_CANCEL"
        c.wait_event(lambda d: d.get("CC-Agent-State") == "Waiting", timeout=5)
        row = s.agent("1009")
        assert row is not None
        assert (row["status"], row["state"]) == ("On Break", "Waiting")
        # The member is back to waiting for an agent, not abandoned.
        assert "|Waiting|" in c.api("callcenter_config queue list members q@d")
