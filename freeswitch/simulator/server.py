"""mod_event_socket, inbound mode: listeners, subscriptions, filters, commands."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from typing import TYPE_CHECKING, Any

from . import protocol as p
from .channels import new_uuid
from .protocol import Command, Event

if TYPE_CHECKING:
    from .api import Api
    from .channels import Core

log = logging.getLogger(__name__)

LOG_LEVELS = {
    "console": 0,
    "alert": 1,
    "crit": 2,
    "err": 3,
    "warning": 4,
    "notice": 5,
    "info": 6,
    "debug": 7,
}


def xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def serialize_xml(ev: Event) -> bytes:
    lines = ["<event>", "  <headers>"]
    for k, v in ev.headers:
        lines.append(f"    <{k}>{xml_escape(p.url_encode(v))}</{k}>")
    lines.append("  </headers>")
    if ev.body is not None:
        lines.append(f"  <body>{xml_escape(ev.body)}</body>")
    lines.append("</event>")
    payload = "\n".join(lines).encode("utf-8")
    return b"Content-Length: %d\nContent-Type: text/event-xml\n\n" % len(payload) + payload


class Listener(asyncio.Protocol):
    """One ESL connection."""

    def __init__(self, server: EslServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.parser = p.CommandParser()
        self.authed = False
        self.fmt = "plain"
        self.all_events = False
        self.names: set[str] = set()
        self.subclasses: set[str] = set()
        self.filters: list[tuple[str, str]] = []
        self.myevents: str | None = None
        self.pending: deque[bytes] = deque()
        self.paused = False
        self.holding = False  # while a blocking `api` runs, events wait (as in FreeSWITCH)
        self.lost = 0
        self.logging = False  # after `log <level>`, until `nolog`
        self.closed = False
        self._out: list[bytes] = []
        self._out_scheduled = False
        self.commands: asyncio.Queue[Command | None] = asyncio.Queue()
        self.worker: asyncio.Task[None] | None = None

    # -- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.listeners.add(self)
        transport.write(p.AUTH_REQUEST)
        self.worker = asyncio.ensure_future(self._work())

    def data_received(self, data: bytes) -> None:
        for cmd in self.parser.feed(data):
            self.commands.put_nowait(cmd)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.listeners.discard(self)
        self.commands.put_nowait(None)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self._flush()

    # -- output ------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        # Frames written in one loop iteration go out in one send (in order): one
        # system call per burst of events rather than per event.
        if self.transport is None or self.closed:
            return
        self._out.append(data)
        if not self._out_scheduled:
            self._out_scheduled = True
            asyncio.get_running_loop().call_soon(self._send_out)

    def _send_out(self) -> None:
        self._out_scheduled = False
        data = b"".join(self._out)
        self._out.clear()
        # A peer gone mid-stream: the transport is closing before connection_lost runs;
        # writing on would only make asyncio log "socket.send() raised exception".
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self._send_out()  # what was written before the close still goes out
            self.closed = True
            self.server.listeners.discard(self)
            self.transport.close()

    def _flush(self) -> None:
        while self.pending and not self.paused and not self.holding and not self.closed:
            self.write(self.pending.popleft())

    def wants(self, ev: Event) -> bool:
        if self.myevents is not None:
            # that session's events, and the jobs it owns (mod_event_socket event_handler)
            uid = ev.get("Unique-ID")
            if uid != self.myevents and ev.get("Job-Owner-UUID") != self.myevents:
                return False
        elif not self.all_events:
            if ev.name not in self.names:
                return False
            if ev.name == "CUSTOM" and self.subclasses and ev.subclass not in self.subclasses:
                return False
        if self.filters:
            return self._passes_filters(ev)
        return True

    def _passes_filters(self, ev: Event) -> bool:
        """mod_event_socket's filter loop: filters in the order added; a value starting
        with `-` excludes (and wins), `+` or none includes; `/re/` is a regex, anything
        else a case-insensitive match; a filter whose header the event lacks is skipped;
        nothing included means not sent."""
        send = False
        for header, value in self.filters:
            got = ev.get_ci(header)
            if got is None:
                continue
            comp, pos = value, True
            while comp and comp[0] in "+- ":
                if comp[0] != " ":
                    pos = comp[0] == "+"
                comp = comp[1:]
            if send and pos:
                continue
            if value.startswith("/"):
                pattern = comp[1:-1] if len(comp) > 1 and comp.endswith("/") else comp[1:]
                try:
                    hit = re.search(pattern, got) is not None
                except re.error:
                    hit = False
            else:
                hit = got.lower() == comp.lower()
            if hit:
                if not pos:
                    return False
                send = True
        return send

    def deliver(self, ev: Event) -> None:
        if self.closed or not self.authed or not self.wants(ev):
            return
        frame = serialize_xml(ev) if self.fmt == "xml" else ev.frame(self.fmt)
        if self.paused or self.holding or self.pending:
            if len(self.pending) >= self.server.queue_size:
                # FreeSWITCH drops events for a full queue and kills the listener
                # once more than 500 were lost: a client that stops reading is cut off.
                self.lost += 1
                if self.lost > self.server.max_lost:
                    log.warning("killed listener because of lost events")
                    if self.transport is not None:
                        self.transport.abort()
                    self.closed = True
                    self.server.listeners.discard(self)
                return
            self.pending.append(frame)
            self.lost = 0  # FreeSWITCH counts consecutive losses only
            return
        self.write(frame)

    # -- commands ----------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            cmd = await self.commands.get()
            if cmd is None or self.closed:
                return
            try:
                await self.handle(cmd)
            except Exception:
                log.exception("command failed: %s", cmd.line)
                self.write(p.command_reply("-ERR command failed"))

    def reply(self, text: str, extra: p.Headers | None = None) -> None:
        self.write(p.command_reply(text, extra))

    def goodbye(self, body: str = p.GOODBYE) -> None:
        self.write(p.disconnect_notice(body))
        self.close()

    async def handle(self, cmd: Command) -> None:
        line = cmd.line
        word, _, rest = line.partition(" ")
        word = word.lower()
        rest = rest.strip()
        if word == "exit":
            self.reply("+OK bye")
            self.goodbye()
            return
        if not self.authed:
            if word == "auth":
                if rest == self.server.password:
                    self.authed = True
                    self.reply("+OK accepted")
                else:
                    self.reply("-ERR invalid")
                    self.goodbye()
            elif word == "userauth":
                self.reply("-ERR invalid")
                self.goodbye()
            else:
                self.reply("-ERR command not found")
            return
        handler = getattr(self, "cmd_" + word, None)
        if handler is None:
            self.reply("-ERR command not found")
            return
        await handler(rest, cmd)

    async def cmd_api(self, rest: str, cmd: Command) -> None:
        self.holding = True
        try:
            out = await self.server.api.execute(rest, from_socket=True)
            self.write(p.api_response(out))
        finally:
            self.holding = False
            self._flush()

    async def cmd_bgapi(self, rest: str, cmd: Command) -> None:
        job = cmd.headers.get("Job-UUID") or new_uuid()
        self.reply(f"+OK Job-UUID: {job}", [("Job-UUID", job)])
        self.server.api.background(rest, job)

    async def cmd_event(self, rest: str, cmd: Command) -> None:
        tokens = rest.split()
        fmt = "plain"
        if tokens and tokens[0].lower() in ("plain", "json", "xml"):
            fmt = tokens.pop(0).lower()
        if not tokens:
            self.reply("-ERR no keywords supplied")
            return
        self.fmt = fmt
        self._subscribe(tokens, add=True)
        self.reply(f"+OK event listener enabled {fmt}")

    def _subscribe(self, tokens: list[str], add: bool) -> None:
        custom = False
        for tok in tokens:
            up = tok.upper()
            if custom and up not in ("ALL",) and not up.startswith("CHANNEL_"):
                (self.subclasses.add if add else self.subclasses.discard)(tok)
                continue
            if up == "CUSTOM":
                custom = True
                if add:
                    self.names.add("CUSTOM")
                continue
            if up == "ALL":
                self.all_events = add
                if not add:
                    self.names.clear()
                    self.subclasses.clear()
                continue
            (self.names.add if add else self.names.discard)(up)

    async def cmd_nixevent(self, rest: str, cmd: Command) -> None:
        tokens = rest.split()
        if not tokens:
            self.reply("-ERR no keywords supplied")
            return
        self._subscribe(tokens, add=False)
        self.reply("+OK events nixed")

    async def cmd_noevents(self, rest: str, cmd: Command) -> None:
        if not (self.all_events or self.names or self.myevents):
            self.reply("-ERR not listening for events")
            return
        self.all_events = False
        self.names.clear()
        self.subclasses.clear()
        self.myevents = None
        self.pending.clear()
        self.reply("+OK no longer listening for events")

    async def cmd_myevents(self, rest: str, cmd: Command) -> None:
        tokens = rest.split()
        if self.myevents is not None:
            self.reply("-ERR aready enabled.")
            return
        if not tokens or (len(tokens) > 1 and tokens[0] not in self.server.core.channels):
            # an unknown uuid is refused only when a format follows it (as in FreeSWITCH)
            self.reply("-ERR invalid uuid")
            return
        self.myevents = tokens[0]
        if len(tokens) > 1 and tokens[1].lower() in ("plain", "json", "xml"):
            self.fmt = tokens[1].lower()
        self.reply("+OK Events Enabled")

    async def cmd_filter(self, rest: str, cmd: Command) -> None:
        tokens = rest.split(None, 1)
        if not tokens:
            self.reply("-ERR invalid syntax")
            return
        if tokens[0].lower() == "delete":
            args = tokens[1].split(None, 1) if len(tokens) > 1 else []
            if not args:
                self.reply("-ERR invalid syntax")
                return
            header = args[0]
            value = args[1].strip() if len(args) > 1 else ""
            if header.lower() == "all":
                self.filters.clear()
            elif value:
                self.filters = [f for f in self.filters if f != (header, value)]
            else:
                self.filters = [f for f in self.filters if f[0] != header]
            self.reply(f"+OK filter deleted. [{header}][{value}]")
            return
        if len(tokens) < 2:
            self.reply("-ERR invalid syntax")
            return
        header, value = tokens[0], tokens[1]
        if header.lower() == "add":  # "filter add <header> <value>" is the same command
            more = value.split(None, 1)
            if len(more) < 2:
                self.reply("-ERR invalid syntax")
                return
            header, value = more
        self.filters.append((header, value))
        self.reply(f"+OK filter added. [{header}]=[{value}]")

    async def cmd_linger(self, rest: str, cmd: Command) -> None:
        self.reply("-ERR not controlling a session")

    async def cmd_nolinger(self, rest: str, cmd: Command) -> None:
        self.reply("-ERR not controlling a session")

    async def cmd_log(self, rest: str, cmd: Command) -> None:
        level = rest.split()[0] if rest.split() else ""
        if not level:
            num: int | None = 7  # SWITCH_LOG_DEBUG
        elif level.lstrip("-").isdigit():
            num = min(max(int(level), 0), 63)
        else:
            num = LOG_LEVELS.get(level.lower())
        if num is None:
            self.reply("-ERR invalid log level")
            return
        self.logging = True
        self.reply(f"+OK log level {level} [{num}]")

    async def cmd_nolog(self, rest: str, cmd: Command) -> None:
        if not self.logging:
            self.reply("-ERR not loging")  # sic
            return
        self.logging = False
        self.reply("+OK no longer logging")

    async def cmd_sendevent(self, rest: str, cmd: Command) -> None:
        name = (rest.split() or ["CUSTOM"])[0].upper()
        subclass = cmd.headers.get("Event-Subclass") if name == "CUSTOM" else None
        event_uuid = new_uuid()
        # The sender's headers, then Event-UUID (the id the reply gives back); the
        # subclass is the event's own Event-Subclass header, not a second one.
        headers = [
            (k, v) for k, v in cmd.headers.items() if not (subclass and k == "Event-Subclass")
        ]
        headers.append(("Event-UUID", event_uuid))
        body = cmd.body.decode("utf-8") if cmd.body else None
        self.server.core.fire(name, headers, body, subclass=subclass)
        self.reply(f"+OK {event_uuid}")

    async def cmd_sendmsg(self, rest: str, cmd: Command) -> None:
        uuid = rest.split()[0] if rest.split() else ""
        core = self.server.core
        ch = core.channels.get(uuid)
        if ch is None or not ch.alive:
            self.reply(f"-ERR invalid session id [{uuid}]")
            return
        h = {k.lower(): v for k, v in cmd.headers.items()}
        command = h.get("call-command", "")
        if command == "hangup":
            core.hangup(ch, (h.get("hangup-cause") or "NORMAL_CLEARING").upper())
        elif command == "execute":
            app = h.get("execute-app-name", "")
            arg = h.get("execute-app-arg", "")
            if not arg and cmd.body:
                arg = cmd.body.decode("utf-8")
            loops = int(h.get("loops", "1") or 1)
            self.server.api.queue_app(ch, app, arg, loops, h.get("event-uuid"))
        self.reply("+OK")


class EslServer:
    """The TCP side: accepts listeners and fans events out to them."""

    def __init__(
        self,
        core: Core,
        api: Api,
        password: str,
        *,
        queue_size: int = 100_000,
        max_lost: int = 500,
    ) -> None:
        self.core = core
        self.api = api
        self.password = password
        self.queue_size = queue_size
        self.max_lost = max_lost
        self.listeners: set[Listener] = set()
        self.server: asyncio.base_events.Server | None = None
        core.dispatch = self.dispatch

    def dispatch(self, ev: Event) -> None:
        for listener in list(self.listeners):
            listener.deliver(ev)

    async def start(self, host: str, port: int) -> int:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: Listener(self), host, port, reuse_address=True
        )
        sock = self.server.sockets[0]
        addr: Any = sock.getsockname()
        return int(addr[1])

    def disconnect_all(self, body: str) -> None:
        for listener in list(self.listeners):
            listener._flush()
            listener.goodbye(body)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for listener in list(self.listeners):
            listener.close()
