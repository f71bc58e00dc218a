"""mod_callcenter: callcenter_config replies, strategies, wrap-up, abandonment."""

from __future__ import annotations

from collections.abc import Callable

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


def call_into(c: RawEslClient, uuid: str, queue: str, number: str = "+15556660000") -> None:
    c.command(
        f"bgapi originate {{origination_uuid={uuid},ignore_early_media=true}}"
        f"sofia/gateway/gw/{number} &callcenter({queue})"
    )


def call(c: RawEslClient, uuid: str, number: str = "+15556660000") -> None:
    c.command(
        f"bgapi originate {{origination_uuid={uuid},ignore_early_media=true}}"
        f"sofia/gateway/gw/{number} &callcenter(sales@default)"
    )


def is_event(name: str, key: str, value: str) -> Callable[[dict[str, str]], bool]:
    """Matcher for an event (Event-Name or CC-Action `name`) whose `key` is `value`."""
    return lambda d: name in (d.get("Event-Name"), d.get("CC-Action")) and d.get(key) == value


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
        # every agent idle, positions 1, 2, 3; each talks 4 s, no wrap-up
        ("top-down", ["1001", "1001", "1001"]),
        ("sequentially-by-agent-order", ["1001", "1001", "1001"]),
        ("round-robin", ["1001", "1002", "1003"]),
        ("longest-idle-agent", ["1001", "1002", "1003"]),
        ("agent-with-fewest-calls", ["1001", "1002", "1003"]),
        ("agent-with-least-talk-time", ["1001", "1002", "1003"]),
    ],
)
def test_member_bridged_to_agent_by_strategy(strategy: str, expected: list[str]) -> None:
    s = make(strategy)
    try:
        c = RawEslClient(s.port)
        c.connect()
        c.command("event plain CHANNEL_BRIDGE CUSTOM callcenter::info")
        got = []
        for i in range(3):
            member = f"m-{strategy}-{i}"
            call(c, member)
            got.append(bridged_agent(c, member))
            bridge = c.wait_event(is_event("CHANNEL_BRIDGE", "Unique-ID", member))
            assert bridge["Bridge-A-Unique-ID"] == member
            c.wait_event(is_event("member-queue-end", "CC-Member-Session-UUID", member), 10)
        assert got == expected
        # One offer per call, no failed offers.
        actions = [e["CC-Action"] for e in c.events() if "CC-Action" in e]
        assert actions.count("agent-offering") == 3
        assert "bridge-agent-fail" not in actions
    finally:
        s.stop()


def test_ring_all_bridges_the_first_to_answer_and_cancels_the_others() -> None:
    s = make("ring-all")
    try:
        c = RawEslClient(s.port)
        c.connect()
        c.command("event plain CHANNEL_HANGUP CUSTOM callcenter::info")
        call(c, "ra-1")
        winner = bridged_agent(c, "ra-1")
        c.wait_event(lambda d: d.get("CC-Action") == "member-queue-end", timeout=10)
        events = c.events()
        offered = {e["CC-Agent"] for e in events if e.get("CC-Action") == "agent-offering"}
        assert offered == {"1001", "1002", "1003"}  # all rung at once
        fails = {
            e["CC-Agent"]: e["CC-Hangup-Cause"]
            for e in events
            if e.get("CC-Action") == "bridge-agent-fail"
        }
        # mod_callcenter hangs the losers up with LOSE_RACE and reports each one.
        assert fails == dict.fromkeys(offered - {winner}, "LOSE_RACE")
        assert [
            e["Hangup-Cause"] for e in events
            if e.get("Event-Name") == "CHANNEL_HANGUP" and e.get("variable_cc_agent") != winner
            and e.get("variable_cc_side") == "agent"
        ] == ["LOSE_RACE", "LOSE_RACE"]  # fmt: skip
        for agent in offered - {winner}:
            assert (s.agent(agent) or {})["state"] == "Waiting"
    finally:
        s.stop()


def test_wrap_up_time_keeps_agent_out_until_it_ends() -> None:
    s = make("top-down", wrap=10)
    try:
        c = RawEslClient(s.port)
        c.connect()
        c.command("event plain CUSTOM callcenter::info")
        call(c, "w-1")
        assert bridged_agent(c, "w-1") == "1001"
        end = c.wait_event(lambda d: d.get("CC-Action") == "bridge-agent-end", timeout=10)
        call(c, "w-2")
        # 1001 is in wrap-up (10 s after its bridge ended): top-down falls through to 1002.
        assert bridged_agent(c, "w-2") == "1002"
        row = s.agent("1001") or {}
        assert (row["state"], row["last_bridge_end"], row["calls_answered"]) == (
            "Waiting", end["CC-Bridge-Terminated-Time"], "1",
        )  # fmt: skip
        # Once the wrap-up is over 1001 is first again.
        s.wait_for(lambda: s.clock.now() > int(end["CC-Bridge-Terminated-Time"]) + 11)
        call(c, "w-3")
        assert bridged_agent(c, "w-3") == "1001"
        # Becoming Available again resets the counters (cc_agent_update status).
        c.api("callcenter_config agent set status 1003 'On Break'")
        c.api("callcenter_config agent set status 1003 Available")
        c.wait_event(lambda d: d.get("CC-Action") == "bridge-agent-end" and d["CC-Agent"] == "1002")
        assert (s.agent("1002") or {})["calls_answered"] == "1"
        c.api("callcenter_config agent set status 1002 'On Break'")
        c.api("callcenter_config agent set status 1002 Available")
        assert (s.agent("1002") or {})["calls_answered"] == "0"
    finally:
        s.stop()


@pytest.mark.parametrize(
    ("contact", "picks_up_within"),
    [
        ("user/1001", (1.1, 1.5)),  # the phone rings 0.2 s, the agent answers 1 s later
        ("[sip_auto_answer=true]user/1001", (0.0, 0.1)),  # the headset answers itself
    ],
)
def test_agent_on_auto_answer_reaches_the_customer_at_once(
    contact: str, picks_up_within: tuple[float, float]
) -> None:
    cfg = {
        "queues": {"sales@default": {"strategy": "top-down"}},
        "agents": {"1001": {"contact": contact, "status": "Available"}},
        "tiers": [{"queue": "sales@default", "agent": "1001", "level": 1, "position": 1}],
    }
    s = Simulator(scenario=SCENARIO, callcenter_config=cfg, time_scale=50, heartbeat_interval=3600)
    s.start()
    try:
        c = RawEslClient(s.port)
        c.connect()
        c.command("event plain CUSTOM callcenter::info")
        call(c, "aa-1")
        offer = c.wait_event(lambda d: d.get("CC-Action") == "agent-offering", timeout=10)
        start = c.wait_event(lambda d: d.get("CC-Action") == "bridge-agent-start", timeout=10)
        seconds = (int(start["Event-Date-Timestamp"]) - int(offer["Event-Date-Timestamp"])) / 1e6
        low, high = picks_up_within
        assert low <= seconds <= high
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


AGENT_HEADER = (
    "name|instance_id|uuid|type|contact|status|state|max_no_answer|wrap_up_time|"
    "reject_delay_time|busy_delay_time|no_answer_delay_time|last_bridge_start|last_bridge_end|"
    "last_offered_call|last_status_change|no_answer_count|calls_answered|talk_time|ready_time|"
    "external_calls_count"
)
QUEUE_HEADER = (
    "name|strategy|moh_sound|time_base_score|tier_rules_apply|tier_rule_wait_second|"
    "tier_rule_wait_multiply_level|tier_rule_no_agent_no_wait|discard_abandoned_after|"
    "abandoned_resume_allowed|max_wait_time|max_wait_time_with_no_agent|"
    "max_wait_time_with_no_agent_time_reached|record_template|calls_answered|calls_abandoned|"
    "ring_progressively_delay|skip_agents_with_external_calls|agent_no_answer_status"
)


def test_callcenter_config_agent_commands_and_their_effect() -> None:
    s = make("longest-idle-agent")
    try:
        c = RawEslClient(s.port)
        c.connect()
        c.command("event plain CUSTOM callcenter::info")

        def cc(args: str) -> str:
            return c.api("callcenter_config " + args)

        def row(name: str) -> str:
            lines = cc(f"agent list {name}").splitlines()
            assert (lines[0], lines[-1]) == (AGENT_HEADER, "+OK")
            return lines[1]

        assert cc("agent add 2001 callback") == "+OK\n"
        added = c.wait_event(lambda d: d.get("CC-Action") == "agent-add")
        assert (added["CC-Agent"], added["CC-Agent-Type"]) == ("2001", "callback")
        # A new agent: Logged Out, Waiting, every counter at its column default.
        assert row("2001") == "2001|single_box||callback||Logged Out|Waiting" + "|0" * 14
        assert cc("agent set contact 2001 [leg_timeout=10]user/2001") == "+OK\n"
        ev = c.wait_event(lambda d: d.get("CC-Action") == "agent-contact-change")
        assert ev["CC-Agent-Contact"] == "[leg_timeout=10]user/2001"
        for key, value in (
            ("max_no_answer", "3"), ("wrap_up_time", "10"), ("reject_delay_time", "5"),
            ("busy_delay_time", "6"), ("no_answer_delay_time", "7"), ("ready_time", "12x"),
        ):  # fmt: skip
            assert cc(f"agent set {key} 2001 {value}") == "+OK\n", key
        cols = row("2001").split("|")
        got = {k: cols[AGENT_HEADER.split("|").index(k)] for k in (
            "contact", "max_no_answer", "wrap_up_time", "reject_delay_time", "busy_delay_time",
            "no_answer_delay_time", "ready_time",
        )}  # fmt: skip
        assert got == {
            "contact": "[leg_timeout=10]user/2001", "max_no_answer": "3", "wrap_up_time": "10",
            "reject_delay_time": "5", "busy_delay_time": "6", "no_answer_delay_time": "7",
            "ready_time": "12",  # atol: leading digits
        }  # fmt: skip
        assert cc("agent set status 2001 'Available (On Demand)'") == "+OK\n"
        assert cc("agent get status 2001") == "Available (On Demand)"  # bare value
        st = c.wait_event(lambda d: d.get("CC-Action") == "agent-status-get")
        assert st["CC-Agent-Status"] == "Available (On Demand)"
        assert cc("agent set state 2001 Idle") == "+OK\n"
        assert cc("agent get state 2001") == "Idle"
        # state_if_waiting only moves an available agent who is Waiting.
        assert cc("agent set state_if_waiting 2001 Receiving") == "-ERR Agent not found!\n"
        assert cc("agent set state 2001 Waiting") == "+OK\n"
        assert cc("agent set state_if_waiting 2001 Idle") == "+OK\n"
        assert cc("agent get state 2001") == "Idle"
        assert cc("agent set uuid 2001 abc-1") == "+OK\n"
        assert cc("agent get uuid 2001") == "abc-1"
        assert c.wait_event(lambda d: d.get("CC-Action") == "agent-uuid-get")["CC-Agent-UUID"] == (
            "abc-1"
        )
        assert cc("agent set type 2001 uuid-standby") == "+OK\n"
        assert row("2001").split("|")[3] == "uuid-standby"
        assert cc("agent set type 2001 phone") == "-ERR Invalid Agent Type!\n"
        assert cc("agent set talk_time 2001 5") == "-ERR Invalid Agent Update KEY!\n"
        assert cc("agent get colour 2001") == "-ERR Invalid Agent Update KEY!\n"
        assert cc("agent get colour nobody") == "-ERR Agent not found!\n"
        assert cc("agent set status 2001") == "-ERR Invalid!\n"
        assert cc("agent list 2001 extra") == "-ERR Invalid!\n"
        assert cc("tier add sales@default 2001 2 3") == "+OK\n"
        assert cc("agent del 2001") == "+OK\n"
        assert cc("agent list 2001") == "+OK\n"  # zero rows: no header
        assert "2001" not in cc("tier list")  # its tiers go with it
        assert cc("agent del 2001") == "+OK\n"  # a DELETE of nothing still succeeds
        # reload brings a config-file agent back
        assert cc("agent del 1003") == "+OK\n"
        assert cc("agent reload 1003") == "+OK\n"
        assert row("1003").startswith("1003|single_box||callback|user/1003|Available|Waiting|")
    finally:
        s.stop()


def test_callcenter_config_tier_commands_and_their_effect() -> None:
    s = make("top-down")
    try:
        c = RawEslClient(s.port)
        c.connect()

        def cc(args: str) -> str:
            return c.api("callcenter_config " + args)

        assert cc("agent add 2001 callback") == "+OK\n"
        assert cc("tier add sales@default 2001") == "+OK\n"  # level 1, position 1
        assert cc("tier add sales@default 2001") == "-ERR Tier already exist!\n"
        assert cc("tier add nope@default 2001") == "-ERR Queue not found!\n"
        assert cc("tier add sales@default nobody") == "-ERR Agent not found!\n"
        assert cc("tier add sales@default") == "-ERR Invalid!\n"
        tiers = cc("queue list tiers sales@default").splitlines()
        assert tiers[0] == "queue|agent|state|level|position"
        assert tiers[-2:] == ["sales@default|2001|Ready|1|1", "+OK"]
        assert cc("tier set level sales@default 2001 3") == "+OK\n"
        assert cc("tier set position sales@default 2001 7") == "+OK\n"
        assert cc("tier set state sales@default 2001 'No Answer'") == "+OK\n"
        assert "sales@default|2001|No Answer|3|7" in cc("queue list tiers sales@default")
        assert cc("tier set state sales@default 2001 Unknown") == "-ERR Invalid Tier State!\n"
        assert cc("tier set colour sales@default 2001 1") == "-ERR Invalid Tier Update KEY!\n"
        assert cc("tier set level sales@default 1009 1") == "-ERR Unknown Error!\n"  # no tier
        # tier list: every queue's tiers by level then position
        rows = cc("tier list").splitlines()
        assert rows[0] == "queue|agent|state|level|position"
        assert rows[1:] == [
            "sales@default|1001|Ready|1|1", "sales@default|1002|Ready|1|2",
            "sales@default|1003|Ready|1|3", "sales@default|2001|No Answer|3|7", "+OK",
        ]  # fmt: skip
        assert cc("queue count tiers sales@default") == "4\n"
        assert cc("tier del sales@default 2001") == "+OK\n"
        assert cc("queue count tiers sales@default") == "3\n"
        assert cc("tier reload sales@default") == "+OK\n"
        assert cc("tier reload") == "-ERR Invalid!\n"
    finally:
        s.stop()


def test_callcenter_config_queue_commands_and_their_effect() -> None:
    s = make("top-down")
    try:
        c = RawEslClient(s.port)
        c.connect()

        def cc(args: str) -> str:
            return c.api("callcenter_config " + args)

        assert cc("queue list") == (
            QUEUE_HEADER + "\n"
            "sales@default|top-down|(null)|queue|false|0|false|true|60|false|0|0|5|(null)|0|0|10"
            "|true|On Break\n+OK\n"
        )
        assert cc("queue count") == "1\n"
        assert cc("agent set status 1002 'On Break'") == "+OK\n"
        assert cc("queue count agents sales@default") == "3\n"
        assert cc("queue count agents sales@default Available") == "2\n"
        assert cc("queue count agents sales@default 'On Break' Waiting") == "1\n"
        agents = cc("queue list agents sales@default Available").splitlines()
        assert agents[0] == AGENT_HEADER
        assert [r.split("|")[0] for r in agents[1:-1]] == ["1001", "1003"]
        assert cc("queue list agents sales@default 'Logged Out'") == "+OK\n"
        # A member waits when nobody is available; it is listed and counted.
        for n in ("1001", "1003"):
            assert cc(f"agent set status {n} 'On Break'") == "+OK\n"
        c.command("event plain CUSTOM callcenter::info")
        call(c, "q-1")
        start = c.wait_event(lambda d: d.get("CC-Action") == "member-queue-start")
        assert cc("queue count members sales@default") == "1\n"
        members = cc("queue list members sales@default").splitlines()
        assert members[0] == (
            "queue|instance_id|uuid|session_uuid|cid_number|cid_name|system_epoch|joined_epoch|"
            "rejoined_epoch|bridge_epoch|abandoned_epoch|base_score|skill_score|serving_agent|"
            "serving_system|state|score"
        )
        cols = members[1].split("|")
        assert cols[:6] == [
            "sales@default", "single_box", start["CC-Member-UUID"], "q-1", "+15556660000",
            "Outbound Call",
        ]  # fmt: skip
        assert cols[-3:-1] == ["", "Waiting"]
        assert cc("queue list members") == cc("queue list members sales@default")
        assert cc("queue list bogus sales@default") == "-ERR Invalid!\n"
        # load / reload / unload
        assert cc("queue reload sales@default") == "+OK\n"
        assert cc("queue unload sales@default") == "+OK\n"
        assert cc("queue count") == "0\n"
        assert cc("tier add sales@default 1001") == "-ERR Queue not found!\n"
        assert cc("queue load sales@default") == "+OK\n"  # back from the config
        assert cc("queue count") == "1\n"
        assert cc("queue load nope@default") == "-ERR Invalid Queue not found!\n"
        assert cc("queue reload nope@default") == "-ERR Invalid Queue not found!\n"
        assert cc("queue load") == "-ERR Invalid!\n"
        assert c.api("uuid_kill q-1") == "+OK\n"
    finally:
        s.stop()


def test_uuid_standby_agent_is_bridged_to_its_channel_or_logged_out() -> None:
    cfg = {"queues": {"q@d": {"strategy": "top-down"}}, "agents": {}, "tiers": []}
    with Simulator(scenario=SCENARIO, callcenter_config=cfg, time_scale=50) as s:
        c = RawEslClient(s.port)
        c.connect()
        c.command("event plain CHANNEL_BRIDGE CUSTOM callcenter::info")
        assert c.api("originate {origination_uuid=sb-1}null/agent &park()") == "+OK sb-1\n"
        for cmd in (
            "agent add 3001 uuid-standby", "agent set uuid 3001 sb-1", "tier add q@d 3001",
            "agent set status 3001 Available",
        ):  # fmt: skip
            assert c.api("callcenter_config " + cmd) == "+OK\n"
        c.command(
            "bgapi originate {origination_uuid=sb-m,ignore_early_media=true}"
            "sofia/gateway/gw/+15556660000 &callcenter(q@d)"
        )
        start = c.wait_event(lambda d: d.get("CC-Action") == "bridge-agent-start", timeout=10)
        assert (start["CC-Agent"], start["CC-Agent-UUID"]) == ("3001", "sb-1")
        bridge = c.wait_event(lambda d: d.get("Event-Name") == "CHANNEL_BRIDGE")
        assert (bridge["Bridge-A-Unique-ID"], bridge["Bridge-B-Unique-ID"]) == ("sb-m", "sb-1")
        assert c.api("uuid_kill sb-m") == "+OK\n"
        c.wait_event(lambda d: d.get("CC-Action") == "bridge-agent-end", timeout=10)
        # A standby agent keeps its uuid; once that channel is gone it is logged out.
        assert (s.agent("3001") or {})["uuid"] == "sb-1"
        c.api("uuid_kill sb-1")
        assert s.callcenter is not None
        agents = s.callcenter.agents
        assert s.wait_for(lambda: agents["3001"].state == "Waiting")
        c.command(
            "bgapi originate {origination_uuid=sb-m2,ignore_early_media=true}"
            "sofia/gateway/gw/+15556660000 &callcenter(q@d)"
        )
        fail = c.wait_event(lambda d: d.get("CC-Action") == "bridge-agent-fail", timeout=10)
        assert fail["CC-Hangup-Cause"] == "NONE"
        row = s.agent("3001") or {}
        assert (row["status"], row["uuid"]) == ("Logged Out", "")


def queue_sim(params: dict[str, str], statuses: dict[str, str]) -> Simulator:
    cfg = {
        "queues": {"q@d": params},
        "agents": {n: {"contact": f"user/{n}", "status": st} for n, st in statuses.items()},
        "tiers": [{"queue": "q@d", "agent": n, "level": 1, "position": 1} for n in statuses],
    }
    return Simulator(scenario=SCENARIO, callcenter_config=cfg, time_scale=20)


def member_exit(params: dict[str, str], statuses: dict[str, str]) -> tuple[str, int]:
    """A member alone in q@d: (CC-Cancel-Reason, seconds waited) of its member-queue-end."""
    with queue_sim(params, statuses) as s:
        c = RawEslClient(s.port)
        c.connect()
        c.command("event plain CUSTOM callcenter::info")
        c.command(
            "bgapi originate {origination_uuid=mw-1,ignore_early_media=true}"
            "sofia/gateway/gw/+15556660000 &callcenter(q@d)"
        )
        end = c.wait_event(lambda d: d.get("CC-Action") == "member-queue-end", timeout=10)
        assert end["CC-Cause"] == "Cancel"
        waited = int(end["CC-Member-Leaving-Time"]) - int(end["CC-Member-Joined-Time"])
        return end["CC-Cancel-Reason"], waited


def test_max_wait_time_cancels_with_timeout() -> None:
    reason, waited = member_exit({"max-wait-time": "4"}, {"a1": "On Break"})
    assert reason == "TIMEOUT"
    assert 4 <= waited <= 6


def test_max_wait_time_with_no_agent_counts_the_grace_period() -> None:
    # Nobody logged in: cancelled after max-wait-time-with-no-agent (2 s) plus
    # max-wait-time-with-no-agent-time-reached (default 5 s) since the member joined.
    reason, waited = member_exit({"max-wait-time-with-no-agent": "2"}, {"a1": "Logged Out"})
    assert reason == "NO_AGENT_TIMEOUT"
    assert 7 <= waited <= 9


def test_an_agent_on_break_counts_as_an_agent_for_the_no_agent_timeout() -> None:
    params = {"max-wait-time-with-no-agent": "1", "max-wait-time": "12"}
    reason, waited = member_exit(params, {"a1": "On Break"})
    assert reason == "TIMEOUT"  # never NO_AGENT_TIMEOUT
    assert waited >= 12


def test_available_on_demand_agent_goes_idle_after_a_call() -> None:
    with queue_sim({"strategy": "top-down"}, {"1001": "Available (On Demand)"}) as s:
        c = RawEslClient(s.port)
        c.connect()
        c.command("event plain CUSTOM callcenter::info")
        call_into(c, "od-1", "q@d")
        assert bridged_agent(c, "od-1") == "1001"
        c.wait_event(lambda d: d.get("CC-Agent-State") == "Idle", timeout=10)
        # Idle: the next caller waits until the agent is set Waiting again.
        call_into(c, "od-2", "q@d")
        c.wait_event(is_event("member-queue-start", "CC-Member-Session-UUID", "od-2"))
        c.drain(0.3)
        assert "od-2" not in [e.get("CC-Member-Session-UUID") for e in c.events()
                              if e.get("CC-Action") == "agent-offering"]  # fmt: skip
        assert c.api("callcenter_config agent set state 1001 Waiting") == "+OK\n"
        assert bridged_agent(c, "od-2") == "1001"


def test_tier_levels_offer_level_one_first() -> None:
    cfg = {
        "queues": {"q@d": {"strategy": "top-down"}},
        "agents": {n: {"contact": f"user/{n}", "status": "Available"} for n in ("1001", "1002")},
        "tiers": [
            {"queue": "q@d", "agent": "1002", "level": 1, "position": 1},
            {"queue": "q@d", "agent": "1001", "level": 2, "position": 1},
        ],
    }
    with Simulator(scenario=SCENARIO, callcenter_config=cfg, time_scale=50) as s:
        c = RawEslClient(s.port)
        c.connect()
        c.command("event plain CUSTOM callcenter::info")
        call_into(c, "tl-1", "q@d")
        assert bridged_agent(c, "tl-1") == "1002"
        call_into(c, "tl-2", "q@d")  # 1002 is busy: level 2 takes it
        assert bridged_agent(c, "tl-2") == "1001"


def test_top_down_goes_on_to_the_next_agent_after_a_no_answer() -> None:
    cfg = {
        "queues": {"q@d": {"strategy": "top-down"}},
        "agents": {
            "1009": {"contact": "[leg_timeout=2]user/1009", "status": "Available"},  # never answers
            "1002": {"contact": "user/1002", "status": "Available"},
        },
        "tiers": [
            {"queue": "q@d", "agent": "1009", "level": 1, "position": 1},
            {"queue": "q@d", "agent": "1002", "level": 1, "position": 2},
        ],
    }
    with Simulator(scenario=SCENARIO, callcenter_config=cfg, time_scale=50) as s:
        c = RawEslClient(s.port)
        c.connect()
        c.command("event plain CUSTOM callcenter::info")
        call_into(c, "td-1", "q@d")
        assert bridged_agent(c, "td-1") == "1002"
        offers = [e["CC-Agent"] for e in c.events() if e.get("CC-Action") == "agent-offering"]
        # 1009 has no delay after its no-answer, yet top-down does not ring it again first.
        assert offers == ["1009", "1002"]
        fail = c.wait_event(lambda d: d.get("CC-Action") == "bridge-agent-fail")
        assert (fail["CC-Agent"], fail["CC-Hangup-Cause"]) == ("1009", "NO_ANSWER")


def test_tier_rules_hold_a_higher_level_back_for_the_wait() -> None:
    cfg = {
        "queues": {"q@d": {"strategy": "top-down", "tier-rules-apply": "true",
                           "tier-rule-wait-second": "4"}},
        "agents": {"1001": {"contact": "user/1001", "status": "On Break"},
                   "1002": {"contact": "user/1002", "status": "Available"}},
        "tiers": [{"queue": "q@d", "agent": "1001", "level": 1, "position": 1},
                  {"queue": "q@d", "agent": "1002", "level": 2, "position": 1}],
    }  # fmt: skip
    with Simulator(scenario=SCENARIO, callcenter_config=cfg, time_scale=20) as s:
        c = RawEslClient(s.port)
        c.connect()
        c.command("event plain CUSTOM callcenter::info")
        call_into(c, "tr-1", "q@d")
        # Level 1 has an agent (on break): level 2 is tried only once the member has
        # waited tier-rule-wait-second.
        offer = c.wait_event(lambda d: d.get("CC-Action") == "agent-offering", timeout=10)
        start = c.wait_event(lambda d: d.get("CC-Action") == "bridge-agent-start", timeout=10)
        assert offer["CC-Agent"] == "1002"
        assert int(start["CC-Agent-Called-Time"]) - int(start["CC-Member-Joined-Time"]) >= 4


def test_ring_progressively_adds_an_agent_every_delay() -> None:
    cfg = {
        "queues": {"q@d": {"strategy": "ring-progressively", "ring-progressively-delay": "3"}},
        "agents": {n: {"contact": f"user/{n}", "status": "Available"} for n in ("1009", "1002")},
        "tiers": [
            {"queue": "q@d", "agent": "1009", "level": 1, "position": 1},  # never answers
            {"queue": "q@d", "agent": "1002", "level": 1, "position": 2},
        ],
    }
    with Simulator(scenario=SCENARIO, callcenter_config=cfg, time_scale=20) as s:
        c = RawEslClient(s.port)
        c.connect()
        c.command("event plain CHANNEL_HANGUP CUSTOM callcenter::info")
        call_into(c, "rp-1", "q@d")
        assert bridged_agent(c, "rp-1") == "1002"
        events = c.events()
        offers = [e for e in events if e.get("CC-Action") == "agent-offering"]
        assert [e["CC-Agent"] for e in offers] == ["1009", "1002"]
        # 1002 joins 1009's ringing after the delay; 1009 keeps ringing until 1002 answers.
        t0, t1 = (int(e["Event-Date-Timestamp"]) // 1_000_000 for e in offers)
        assert t1 - t0 >= 3
        lost = c.wait_event(lambda d: d.get("CC-Action") == "bridge-agent-fail")
        assert (lost["CC-Agent"], lost["CC-Hangup-Cause"]) == ("1009", "LOSE_RACE")
