"""Dialplan applications the simulator can execute on a channel."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from .channels import Channel, Core, OriginateError, split_vars, take_block

App = Callable[[Core, Channel, str], Awaitable[str]]


async def app_park(core: Core, ch: Channel, data: str) -> str:
    ch.parked = True
    core.fire_channel("CHANNEL_PARK", ch)
    await asyncio.Event().wait()  # until hangup, bridge or transfer cancels us
    return "_none_"


async def app_echo(core: Core, ch: Channel, data: str) -> str:
    await asyncio.Event().wait()
    return "_none_"


async def app_playback(core: Core, ch: Channel, data: str) -> str:
    await core.play(ch, data)
    return "FILE PLAYED"


async def app_answer(core: Core, ch: Channel, data: str) -> str:
    core.mark_answered(ch)
    return "_none_"


async def app_pre_answer(core: Core, ch: Channel, data: str) -> str:
    core.mark_progress(ch, media=True)
    if ch.partner is not None:
        core.mark_progress(ch.partner, media=True)
    return "_none_"


async def app_ring_ready(core: Core, ch: Channel, data: str) -> str:
    core.mark_progress(ch)
    if ch.partner is not None:
        core.mark_progress(ch.partner)
    return "_none_"


async def app_sleep(core: Core, ch: Channel, data: str) -> str:
    try:
        ms = float(data.split()[0]) if data.strip() else 0.0
    except ValueError:
        ms = 0.0
    await core.clock.sleep(ms / 1000.0)
    return "_none_"


async def app_hangup(core: Core, ch: Channel, data: str) -> str:
    core.hangup(ch, (data.strip() or "NORMAL_CLEARING").upper())
    return "_none_"


async def app_set(core: Core, ch: Channel, data: str) -> str:
    if "=" in data:
        k, v = data.split("=", 1)
        if v:
            ch.variables[k.strip()] = v
        else:
            ch.variables.pop(k.strip(), None)
    return "_none_"


async def app_bridge(core: Core, ch: Channel, data: str) -> str:
    """Originate a B-leg from this channel and bridge it (hangup_after_bridge)."""
    text = data.strip()
    gvars: dict[str, str] = {}
    blk, rest = take_block(text, "{", "}")
    if blk is not None:
        gvars.update(split_vars(blk))
        text = rest
    cause = "NORMAL_CLEARING"
    for raw in text.split("|"):
        lvars = dict(gvars)
        blk, rest = take_block(raw, "[", "]")
        if blk is not None:
            lvars.update(split_vars(blk))
            raw = rest
        lvars.setdefault("origination_caller_id_number", ch.caller_id_number)
        lvars.setdefault("origination_caller_id_name", ch.caller_id_name)
        try:
            other = await core.dial(
                raw.strip(), lvars, role="agent" if raw.startswith("user/") else "lead"
            )
        except OriginateError as err:
            cause = err.cause
            continue
        if not ch.alive:
            core.hangup(other, "ORIGINATOR_CANCEL")
            return "_none_"
        if not ch.is_answered:
            core.mark_answered(ch)
        core.bridge(ch, other, via_api=False)
        await other.gone.wait()
        return "_none_"
    ch.variables["originate_disposition"] = cause
    ch.variables["DIALSTATUS"] = cause
    return "_none_"


async def app_transfer(core: Core, ch: Channel, data: str) -> str:
    dest = data.split()[0] if data.strip() else ""
    asyncio.get_running_loop().call_soon(core.transfer, ch, dest)
    await asyncio.Event().wait()
    return "_none_"


async def app_callcenter(core: Core, ch: Channel, data: str) -> str:
    if core.callcenter is None:
        return "_none_"
    return await core.callcenter.member_app(ch, data.strip())


APPS: dict[str, App] = {
    "park": app_park,
    "echo": app_echo,
    "playback": app_playback,
    "answer": app_answer,
    "pre_answer": app_pre_answer,
    "ring_ready": app_ring_ready,
    "sleep": app_sleep,
    "hangup": app_hangup,
    "set": app_set,
    "export": app_set,
    "bridge": app_bridge,
    "transfer": app_transfer,
    "callcenter": app_callcenter,
}
