"""Dial strings: only whitelisted values reach FreeSWITCH, whatever a lead or caller ID holds."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.esl.dialstring import (
    LeadDial,
    UnsafeValue,
    agent_originate_command,
    execute_app_message,
    format_vars,
    is_e164,
    originate_command,
    parse_originate,
    safe_caller_name,
    uuid_command,
)

HOSTILE = [
    "a,b",
    "x}y",
    "{evil=1}",
    "[leg=1]",
    "]",
    "O'Brien",
    'say "hi"',
    "a&b",
    "&bridge(user/1000)",
    "x|y",
    "^^:a:b",
    "line\nEvent-Name: FAKE",
    "line\r\nx",
    "${system(rm -rf /)}",
    "$${esl_password}",
    "two words",
    "   ",
    "\t",
    "+1202555\x000123",
    "%0Aforged: yes",
    "',origination_caller_id_number=666,x='",
    "}sofia/gateway/evil/+15550000 &park(){",
    "\u202e\u0000nul",
    "a" * 500,
    ":_:sofia/gateway/other/1",
]
CALL_UUID = "3f8e4c52-7c1b-4f0a-9a53-2d1e0f6b7a11"


def dial(**overrides: object) -> LeadDial:
    values: dict[str, object] = {
        "call_uuid": CALL_UUID,
        "call_id": 7,
        "lead_id": 42,
        "campaign_id": 3,
        "attempt": 1,
        "number": "+12025550123",
        "caller_id_number": "+12025550100",
        "caller_id_name": "Demo Call Center",
        "gateway": "carrier",
        "node": "fs1",
        "originate_timeout": 30,
        "agent_sees_number": "+12025550123",
        "agent_sees_name": "Campaign 3",
    }
    values.update(overrides)
    return LeadDial(**values)  # type: ignore[arg-type]


def test_originate_has_the_call_uuid_early_media_rule_and_the_ids():
    cmd = originate_command(dial())
    variables, endpoint, app = parse_originate(cmd)
    assert endpoint == "sofia/gateway/carrier/+12025550123"
    assert app == "&park()"
    assert variables["origination_uuid"] == CALL_UUID
    assert variables["ignore_early_media"] == "true"
    assert variables["dialer_lead_id"] == "42"
    assert variables["dialer_campaign_id"] == "3"
    assert variables["dialer_call_id"] == "7"
    assert variables["origination_caller_id_number"] == "+12025550100"
    assert variables["origination_caller_id_name"] == "Demo Call Center"
    assert "'Demo Call Center'" in cmd


@pytest.mark.parametrize("bad", HOSTILE)
def test_a_hostile_number_is_refused(bad):
    with pytest.raises(UnsafeValue):
        originate_command(dial(number=bad))
    with pytest.raises(UnsafeValue):
        originate_command(dial(caller_id_number=bad))
    with pytest.raises(UnsafeValue):
        originate_command(dial(gateway=bad))


@pytest.mark.parametrize("bad", HOSTILE)
def test_a_hostile_caller_name_cannot_change_the_structure(bad):
    reference = parse_originate(originate_command(dial()))
    variables, endpoint, app = parse_originate(originate_command(dial(caller_id_name=bad)))
    assert set(variables) <= set(reference[0])
    assert (endpoint, app) == reference[1:]
    name = variables.get("origination_caller_id_name", "")
    assert all(c.isalnum() or c in " .-" for c in name)


def test_shown_agent_number_must_be_a_number():
    with pytest.raises(UnsafeValue):
        originate_command(dial(agent_sees_number="+1202,x=1"))


@settings(max_examples=300, deadline=None)
@given(name=st.text(), number=st.text(max_size=30))
def test_fuzzed_values_never_add_variables_or_applications(name, number):
    reference = parse_originate(originate_command(dial()))
    try:
        cmd = originate_command(dial(caller_id_name=name, number=number))
    except UnsafeValue:
        assert not is_e164(number)
        return
    variables, endpoint, app = parse_originate(cmd)
    assert set(variables) <= set(reference[0])
    assert app == "&park()"
    assert endpoint == f"sofia/gateway/carrier/{number}"
    assert "\n" not in cmd
    assert "$" not in cmd
    assert cmd.count("{") == 1
    assert cmd.count("}") == 1


@given(st.text())
def test_safe_caller_name_keeps_only_the_safe_alphabet(text):
    cleaned = safe_caller_name(text)
    assert len(cleaned) <= 40
    assert all(c.isascii() and (c.isalnum() or c in " .-") for c in cleaned)


def test_variable_names_are_whitelisted():
    with pytest.raises(UnsafeValue):
        format_vars({"a}b": "1"})
    with pytest.raises(UnsafeValue):
        format_vars({"x": "v,y=1"})


def test_agent_leg_of_a_preview_call():
    leg = str(uuid.uuid4())
    cmd = agent_originate_command(
        leg_uuid=leg,
        call_uuid=CALL_UUID,
        contact="[leg_timeout=10]user/1001@default",
        caller_id_number="+12025550100",
        caller_id_name="Preview",
        timeout=20,
        node="fs1",
    )
    variables, endpoint, app = parse_originate(cmd)
    assert app == "&park()"
    assert endpoint == "[leg_timeout=10]user/1001@default"
    assert variables["origination_uuid"] == leg
    with pytest.raises(UnsafeValue):
        agent_originate_command(
            leg_uuid=leg,
            call_uuid=CALL_UUID,
            contact="user/1001 &bridge(x)",
            caller_id_number="+12025550100",
            caller_id_name="",
            timeout=20,
            node="fs1",
        )


def test_commands_on_a_channel_take_only_safe_arguments():
    assert uuid_command("uuid_kill", CALL_UUID, "NORMAL_CLEARING") == (
        f"uuid_kill {CALL_UUID} NORMAL_CLEARING"
    )
    assert "tone_stream://%(500,0,800)" in uuid_command(
        "uuid_broadcast", CALL_UUID, "tone_stream://%(500,0,800)", "aleg"
    )
    with pytest.raises(UnsafeValue):
        uuid_command("uuid_broadcast", CALL_UUID, "a b")
    with pytest.raises(UnsafeValue):
        uuid_command("uuid_kill", "not-a-uuid")
    msg = execute_app_message(CALL_UUID, "callcenter", "sales@default")
    assert msg.splitlines() == [
        f"sendmsg {CALL_UUID}",
        "call-command: execute",
        "execute-app-name: callcenter",
        "execute-app-arg: sales@default",
    ]
    with pytest.raises(UnsafeValue):
        execute_app_message(CALL_UUID, "callcenter", "sales@default\nx: y")
