"""Originate commands built only from whitelisted values.

Nothing a person typed reaches FreeSWITCH unchecked: numbers must be E.164, names are cut to a
small safe alphabet, every other value is an integer, a UUID or a name this module validates.
A lead's name, note, ticket ID or CRM data never goes into a dial string at all; channel
variables carry only the ids that tie events back to the lead, campaign and attempt.

Why whitelists and not escaping: FreeSWITCH parses a dial string in several passes (the API's
blank-separated arguments with quotes, `{…}`/`[…]` variable blocks split on commas, `${…}`
expansion, `|`/`:_:` alternatives, `^^` delimiter changes, `&app(…)`). An escape that is right
for one pass is wrong for the next; a value drawn from `[0-9+]` is right for all of them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# Gateway, queue and application names: what FreeSWITCH's own XML names allow, no more.
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_QUEUE = re.compile(r"[A-Za-z0-9_.-]{1,64}@[A-Za-z0-9_.-]{1,64}")
_VAR_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
# Values we put in channel variables ourselves: digits, letters, dot, dash, underscore, @, +, /
# (a sound path like local_stream://moh).
_SAFE_VALUE = re.compile(r"[A-Za-z0-9_.@+:/-]{0,255}")
# Caller ID names shown on phones: letters, digits, space, dot, dash. Anything else is dropped.
_CALLER_NAME_DROP = re.compile(r"[^A-Za-z0-9 .-]+")
CALLER_NAME_MAX = 40


class UnsafeValue(ValueError):
    """A value that cannot be placed in a dial string (the call is not placed)."""


def is_e164(value: object) -> bool:
    """Shape check only: `+`, a non-zero digit, 7 to 15 digits in all (ITU E.164)."""
    return isinstance(value, str) and _E164.fullmatch(value) is not None


def require_e164(value: object, what: str) -> str:
    if not is_e164(value):
        raise UnsafeValue(f"{what} is not an E.164 number: {value!r}")
    assert isinstance(value, str)
    return value


def require_name(value: object, what: str) -> str:
    if not isinstance(value, str) or _NAME.fullmatch(value) is None:
        raise UnsafeValue(f"{what} has characters a dial string cannot carry: {value!r}")
    return value


def require_queue(value: object) -> str:
    if not isinstance(value, str) or _QUEUE.fullmatch(value) is None:
        raise UnsafeValue(f"queue name is not name@domain: {value!r}")
    return value


def require_uuid(value: object, what: str = "call UUID") -> str:
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise UnsafeValue(f"{what} is not a UUID: {value!r}") from None


def safe_caller_name(value: object) -> str:
    """A caller ID name cut to letters, digits, space, dot and dash (never raises).

    Spaces survive only inside the single quotes `format_vars` puts around such values, and
    no quote can appear in the name, so the quoting cannot be closed early."""
    if not isinstance(value, str):
        return ""
    cleaned = _CALLER_NAME_DROP.sub("", value)
    cleaned = " ".join(cleaned.split())[:CALLER_NAME_MAX].strip()
    return cleaned


def _format_value(name: str, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise UnsafeValue(f"channel variable {name}: unsupported type {type(value).__name__}")
    if name.endswith("caller_id_name"):
        cleaned = safe_caller_name(value)
        return f"'{cleaned}'" if " " in cleaned else cleaned
    if _SAFE_VALUE.fullmatch(value) is None:
        raise UnsafeValue(f"channel variable {name} has unsafe characters: {value!r}")
    return value


def format_vars(variables: Mapping[str, object], brackets: str = "{}") -> str:
    """`{a=1,b=2}` from whitelisted names and values; empty values are left out."""
    parts = []
    for name, value in variables.items():
        if _VAR_NAME.fullmatch(name) is None:
            raise UnsafeValue(f"channel variable name not allowed: {name!r}")
        if value is None or value == "":
            continue
        formatted = _format_value(name, value)
        if formatted in ("", "''"):
            continue
        parts.append(f"{name}={formatted}")
    return brackets[0] + ",".join(parts) + brackets[1]


@dataclass(frozen=True)
class LeadDial:
    """Everything the dial string of one customer leg is made of."""

    call_uuid: str
    call_id: int
    lead_id: int
    campaign_id: int
    attempt: int
    number: str
    caller_id_number: str
    caller_id_name: str
    gateway: str
    node: str
    originate_timeout: int = 30
    # What the agent's phone shows for this customer (mask or the lead's number).
    agent_sees_number: str = ""
    agent_sees_name: str = ""
    kind: str = "progressive"


def lead_leg_variables(dial: LeadDial) -> dict[str, object]:
    """The channel variables of a customer leg, validated one by one."""
    agent_number = dial.agent_sees_number
    if agent_number and not is_e164(agent_number) and not agent_number.isdigit():
        raise UnsafeValue(f"number shown to the agent is not a number: {agent_number!r}")
    return {
        "origination_uuid": require_uuid(dial.call_uuid),
        # Without it a number that plays early media (183) counts as answered.
        "ignore_early_media": True,
        "originate_timeout": _positive_int(dial.originate_timeout, "originate timeout"),
        "origination_caller_id_number": require_e164(dial.caller_id_number, "caller ID"),
        "origination_caller_id_name": dial.caller_id_name,
        # mod_callcenter shows the member's effective caller ID on the agent leg; on an
        # originated leg the plain caller ID is our own CLI, so this is what masks or shows.
        "effective_caller_id_number": agent_number,
        "effective_caller_id_name": dial.agent_sees_name,
        "dialer_call_uuid": require_uuid(dial.call_uuid),
        "dialer_call_id": _positive_int(dial.call_id, "call id"),
        "dialer_lead_id": _positive_int(dial.lead_id, "lead id"),
        "dialer_campaign_id": _positive_int(dial.campaign_id, "campaign id"),
        "dialer_attempt": _positive_int(dial.attempt, "attempt"),
        "dialer_node": require_name(dial.node, "node name"),
        "dialer_kind": require_name(dial.kind, "dial kind"),
        "hangup_after_bridge": True,
    }


def lead_endpoint(dial: LeadDial) -> str:
    gateway = require_name(dial.gateway, "gateway")
    number = require_e164(dial.number, "lead number")
    return f"sofia/gateway/{gateway}/{number}"


def originate_command(dial: LeadDial) -> str:
    """`originate {vars}sofia/gateway/<gw>/<E.164> &park()` for a customer leg.

    The leg parks on answer; the dialer then puts it into the queue (Progressive) or bridges it
    to the waiting agent (Preview). Keeping the decision in the dialer lets it check answering
    machine detection first and time the customer-wait SLA."""
    return f"originate {format_vars(lead_leg_variables(dial))}{lead_endpoint(dial)} &park()"


def agent_originate_command(
    *,
    leg_uuid: str,
    call_uuid: str,
    contact: str,
    caller_id_number: str,
    caller_id_name: str,
    timeout: int,
    node: str,
) -> str:
    """The agent leg of a Preview call: ring the agent's contact and park on answer."""
    if not _AGENT_CONTACT.fullmatch(contact or ""):
        raise UnsafeValue(f"agent contact is not a FreeSWITCH endpoint: {contact!r}")
    variables = {
        "origination_uuid": require_uuid(leg_uuid, "agent leg UUID"),
        "ignore_early_media": True,
        "originate_timeout": _positive_int(timeout, "agent timeout"),
        "origination_caller_id_number": require_e164(caller_id_number, "caller ID"),
        "origination_caller_id_name": caller_id_name,
        "dialer_call_uuid": require_uuid(call_uuid),
        "dialer_leg": "agent",
        "dialer_node": require_name(node, "node name"),
    }
    return f"originate {format_vars(variables)}{contact} &park()"


# The same shape the Agent model accepts: an optional [a=b,…] block and user|sofia|verto.rtc.
_AGENT_CONTACT = re.compile(
    r"(\[[A-Za-z0-9_=.,-]*\])?(user|sofia|verto\.rtc)/[A-Za-z0-9_@.:/-]{1,200}"
)


def execute_app_message(leg_uuid: str, app: str, arg: str = "") -> str:
    """A `sendmsg` that runs one dialplan application on a channel."""
    require_uuid(leg_uuid, "channel UUID")
    require_name(app, "application")
    if arg and _SAFE_VALUE.fullmatch(arg) is None:
        raise UnsafeValue(f"application argument has unsafe characters: {arg!r}")
    lines = [
        f"sendmsg {leg_uuid}",
        "call-command: execute",
        f"execute-app-name: {app}",
    ]
    if arg:
        lines.append(f"execute-app-arg: {arg}")
    return "\n".join(lines)


# Sounds an admin configures (greeting, safe-harbor message, hold music). A sound reaches
# FreeSWITCH as `uuid_broadcast <uuid> <sound> aleg`, where `app::args` runs any application,
# and as `uuid_transfer <uuid> playback:<sound> inline`, where commas start more applications:
# so a sound is a plain file or a named local stream, never a character those passes read.
# File types are those of the modules freeswitch/conf loads (mod_sndfile; no mod_shout: no mp3).
SOUND_FILE_TYPES = ("wav", "flac", "ogg", "aiff", "au")
# Absolute or relative to the sounds directory; each part starts with a letter, digit or `_`
# (no hidden file) and `..` appears nowhere (no way out of the sounds directory).
_SOUND_FILE = re.compile(
    r"/?(?:[A-Za-z0-9_][A-Za-z0-9_.-]*/)*[A-Za-z0-9_][A-Za-z0-9_.-]*\.(?:"
    + "|".join(SOUND_FILE_TYPES)
    + r")",
    re.IGNORECASE,
)
# A <directory name="…"> of local_stream.conf.xml, such as `moh` or `moh/8000`.
_LOCAL_STREAM = re.compile(r"local_stream://[A-Za-z0-9_-]{1,64}(?:/[A-Za-z0-9_-]{1,64})*")
SOUND_MAX = 255
_EXAMPLE_FILE = "/usr/share/freeswitch/sounds/en/us/callie/ivr/8000/ivr-thank_you.wav"
_RULES = (
    "letters, digits and / _ . - only, ending in "
    + ", ".join(f".{t}" for t in SOUND_FILE_TYPES[:-1])
    + f" or .{SOUND_FILE_TYPES[-1]}"
)


def sound_problem(value: object, *, streams: bool = True) -> str | None:
    """Why `value` is not a sound FreeSWITCH can play as given, in words; None when it is.

    The one check behind the model validators, the forms, the API and the command builder.
    `streams=False` for messages that must end (greeting, safe-harbor): a file only."""
    if (
        isinstance(value, str)
        and len(value) <= SOUND_MAX
        and ".." not in value
        and (_SOUND_FILE.fullmatch(value) or (streams and _LOCAL_STREAM.fullmatch(value)))
    ):
        return None
    if streams:
        return f"Enter a sound file path such as {_EXAMPLE_FILE} or local_stream://moh ({_RULES})."
    return f"Enter a sound file path such as {_EXAMPLE_FILE} ({_RULES})."


def require_media(value: object, *, streams: bool = True) -> str:
    """`value` as a sound to play, or UnsafeValue (the command is not sent)."""
    problem = sound_problem(value, streams=streams)
    if problem is not None:
        raise UnsafeValue(f"not a playable sound ({value!r}): {problem}")
    assert isinstance(value, str)
    return value


# What a channel may be told to do, argument by argument. Anything else is a name-like token
# (a UUID, a hangup cause, a variable name): no `:`, `/`, `+` or `,` that could turn it into an
# application, an endpoint or a number to dial.
_BROADCAST_LEGS = ("aleg", "bleg", "both")


def _command_args(command: str, args: tuple[str, ...]) -> list[str]:
    if command == "uuid_broadcast":
        # uuid_broadcast <uuid> <sound> [aleg|bleg|both]: a sound, never `app::args`.
        if not 1 <= len(args) <= 2 or (len(args) == 2 and args[1] not in _BROADCAST_LEGS):
            raise UnsafeValue(f"uuid_broadcast takes a sound and a leg: {args!r}")
        return [require_media(args[0]), *args[1:]]
    if command == "uuid_transfer":
        # Only the one-application inline dialplan the drop uses: play a sound, then hang up.
        if len(args) != 2 or args[1] != "inline" or not args[0].startswith("playback:"):
            raise UnsafeValue(f"uuid_transfer takes only 'playback:<sound> inline': {args!r}")
        return [f"playback:{require_media(args[0].removeprefix('playback:'))}", "inline"]
    for arg in args:
        if not isinstance(arg, str) or _NAME.fullmatch(arg) is None:
            raise UnsafeValue(f"{command} argument has unsafe characters: {arg!r}")
    return list(args)


def uuid_command(command: str, leg_uuid: str, *args: str) -> str:
    """`uuid_kill <uuid> CAUSE`, `uuid_broadcast <uuid> path aleg`, `uuid_bridge a b` …"""
    require_name(command, "API command")
    parts = [command, require_uuid(leg_uuid, "channel UUID"), *_command_args(command, args)]
    return " ".join(parts)


def _positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UnsafeValue(f"{what} must be a non-negative integer: {value!r}")
    return value


def parse_originate(command: str) -> tuple[dict[str, str], str, str]:
    """Split an originate command built here into (variables, endpoint, application).

    Used by the tests and the benchmark to check structure; it understands exactly the
    shape `originate_command` writes (single-quoted values without quotes inside)."""
    if not command.startswith("originate {"):
        raise ValueError("not an originate command")
    rest = command[len("originate {") :]
    variables: dict[str, str] = {}
    i = 0
    name = ""
    value = ""
    in_name = True
    quoted = False
    while True:
        ch = rest[i]
        i += 1
        if in_name:
            if ch == "=":
                in_name = False
            elif ch == "}":
                break
            else:
                name += ch
        elif quoted:
            if ch == "'":
                quoted = False
            else:
                value += ch
        elif ch == "'" and not value:
            quoted = True
        elif ch in ",}":
            variables[name] = value
            name, value, in_name = "", "", True
            if ch == "}":
                break
        else:
            value += ch
    endpoint, _, app = rest[i:].partition(" ")
    return variables, endpoint, app
