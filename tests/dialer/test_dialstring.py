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
    require_media,
    safe_caller_name,
    sound_problem,
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
    assert uuid_command("uuid_broadcast", CALL_UUID, "/sounds/please_hold.wav", "aleg") == (
        f"uuid_broadcast {CALL_UUID} /sounds/please_hold.wav aleg"
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


# Sounds an admin may configure: what the defaults, the FreeSWITCH configuration, the demo and
# the tests use, and what a real installation's sounds look like.
GOOD_SOUNDS = [
    "local_stream://moh",
    "local_stream://moh/8000",
    "/usr/share/freeswitch/sounds/en/us/callie/ivr/8000/ivr-thank_you.wav",
    "/sounds/acme-optout.wav",
    "sounds/please_hold.wav",
    "hacked.wav",
    "ivr/ivr-please_hold.WAV",
    "/var/lib/freeswitch/recordings/opt-out_2024.v2.flac",
]
# A sound becomes `uuid_broadcast <uuid> <sound> aleg` (where `app::args` runs an application)
# or `uuid_transfer <uuid> playback:<sound> inline` (where a comma starts another application).
INJECTED_SOUNDS = [
    "bridge::sofia/gateway/carrier/+19005550100",
    "/s/sh.wav,bridge:sofia/gateway/carrier/+19005550100",
    "x.wav,bridge:sofia/gateway/carrier/+19005550100",
    "x.wav;bridge:sofia/gateway/carrier/+19005550100",
    "local_stream://moh,bridge:sofia/gateway/carrier/+19005550100",
    "local_stream://moh::bridge",
    "playback:x.wav",
    "tone_stream://%(500,0,800)",
    "silence_stream://1000,bridge:user/1000",
    "file_string://a.wav!b.wav",
    "shout://evil.example/x.mp3",
    "http://evil.example/x.wav",
    "{execute_on_answer=bridge}x.wav",
    "${sounds_dir}/x.wav",
    "$${sounds_dir}/x.wav",
    "a b.wav",
    "x.wav\nforged: yes",
    "../../etc/freeswitch/vars.xml.wav",
    "/sounds/../../etc/x.wav",
    "/sounds/.hidden.wav",
    "/sounds/",
    "x.mp3",
    "x.exe",
    "x",
    "/" + "a" * 300 + ".wav",
    "",
]


@pytest.mark.parametrize("sound", GOOD_SOUNDS)
def test_real_sounds_are_played_as_given(sound):
    assert sound_problem(sound) is None
    assert require_media(sound) == sound
    assert uuid_command("uuid_broadcast", CALL_UUID, sound, "aleg") == (
        f"uuid_broadcast {CALL_UUID} {sound} aleg"
    )
    assert uuid_command("uuid_transfer", CALL_UUID, f"playback:{sound}", "inline") == (
        f"uuid_transfer {CALL_UUID} playback:{sound} inline"
    )


@pytest.mark.parametrize("sound", INJECTED_SOUNDS + HOSTILE)
def test_a_sound_that_is_not_a_plain_file_or_stream_never_reaches_freeswitch(sound):
    assert "Enter a sound file path such as" in (sound_problem(sound) or "")
    with pytest.raises(UnsafeValue):
        require_media(sound)
    with pytest.raises(UnsafeValue):
        uuid_command("uuid_broadcast", CALL_UUID, sound, "aleg")
    with pytest.raises(UnsafeValue):
        uuid_command("uuid_transfer", CALL_UUID, f"playback:{sound}", "inline")


def test_greeting_and_safe_harbor_are_files_not_endless_streams():
    assert sound_problem("local_stream://moh", streams=False) is not None
    assert sound_problem("/sounds/acme-optout.wav", streams=False) is None


def test_channel_commands_take_only_their_own_shape():
    bridge = "bridge:sofia/gateway/carrier/+19005550100"
    for args in [
        ("uuid_transfer", bridge, "inline"),
        ("uuid_transfer", "+19005550100", "XML", "default"),
        ("uuid_transfer", "playback:/x.wav", "XML"),
        ("uuid_broadcast", "/x.wav", "aleg", "extra"),
        ("uuid_broadcast", "/x.wav", "bridge"),
        ("uuid_kill", bridge),
        ("uuid_getvar", "+19005550100"),
        ("uuid_bridge", "sofia/gateway/carrier/+19005550100"),
    ]:
        with pytest.raises(UnsafeValue):
            uuid_command(args[0], CALL_UUID, *args[1:])
    assert uuid_command("uuid_getvar", CALL_UUID, "amd_result") == (
        f"uuid_getvar {CALL_UUID} amd_result"
    )
    assert (
        uuid_command("uuid_bridge", CALL_UUID, CALL_UUID) == f"uuid_bridge {CALL_UUID} {CALL_UUID}"
    )


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_fuzzed_sounds_never_carry_an_application_or_a_second_step(text):
    try:
        sound = require_media(text)
    except UnsafeValue:
        return
    path = sound.removeprefix("local_stream://")
    assert all(c.isascii() and (c.isalnum() or c in "_./-") for c in path)
    assert ".." not in path
