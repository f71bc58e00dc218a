"""Event Socket wire format: framing, URL-encoding and event serialisation.

Kept free of any server state so tests (and other components) can parse what a
real FreeSWITCH or the simulator sends with the same code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import unquote

# Characters FreeSWITCH's switch_url_encode escapes besides controls and non-ASCII.
_UNSAFE = set(b'\r\n #%&+:;<=>?@[\\]^`{|}"')
_HEX = "0123456789ABCDEF"
_ENCODE_TABLE: list[str] = []
for _b in range(256):
    if _b < 0x20 or _b > 0x7E or _b in _UNSAFE:
        _ENCODE_TABLE.append("%" + _HEX[_b >> 4] + _HEX[_b & 15])
    else:
        _ENCODE_TABLE.append(chr(_b))

_HEXU = frozenset(b"0123456789ABCDEF")
_SAFE_ASCII = frozenset(chr(b) for b in range(0x20, 0x7F) if b not in _UNSAFE)


def _is_pct_upper(data: bytes, i: int) -> bool:
    return i + 2 < len(data) and data[i + 1] in _HEXU and data[i + 2] in _HEXU


_ENCODED: dict[str, str] = {}  # most values repeat (host names, states, variables)


def url_encode(value: str) -> str:
    """URL-encode a header value as FreeSWITCH does for plain events."""
    if not value:
        return value
    hit = _ENCODED.get(value)
    if hit is not None:
        return hit
    if len(_ENCODED) > 200_000:
        _ENCODED.clear()
    _ENCODED[value] = out = _url_encode(value)
    return out


def _url_encode(value: str) -> str:
    # Fast path: most values (uuids, numbers, names) need no escaping.
    if _SAFE_ASCII.issuperset(value):
        return value
    data = value.encode("utf-8")
    out: list[str] = []
    i = 0
    n = len(data)
    while i < n:
        b = data[i]
        # An existing %XX with uppercase hex is kept as it is (not double-encoded).
        if b == 0x25 and _is_pct_upper(data, i):
            out.append("%")
        else:
            out.append(_ENCODE_TABLE[b])
        i += 1
    return "".join(out)


def url_decode(value: str) -> str:
    return unquote(value)


Headers = list[tuple[str, str]]


@dataclass
class Event:
    """One FreeSWITCH event: ordered headers (duplicates allowed) and an optional body."""

    name: str
    headers: Headers
    body: str | None = None
    subclass: str | None = None
    _cache: dict[str, bytes] = field(default_factory=dict, repr=False)

    def get(self, name: str, default: str | None = None) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v
        return default

    def get_ci(self, name: str) -> str | None:
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return None

    def frame(self, fmt: str) -> bytes:
        """The complete framed message for a listener in format `fmt` (cached)."""
        cached = self._cache.get(fmt)
        if cached is None:
            if fmt == "json":
                payload = serialize_json(self.headers, self.body).encode("utf-8")
                ctype = "text/event-json"
            else:
                payload = serialize_plain(self.headers, self.body).encode("utf-8")
                ctype = "text/event-plain"
            cached = (
                b"Content-Length: %d\nContent-Type: %s\n\n" % (len(payload), ctype.encode())
                + payload
            )
            self._cache[fmt] = cached
        return cached


def serialize_plain(headers: Iterable[tuple[str, str]], body: str | None = None) -> str:
    parts = [f"{k}: {url_encode(v) if v != '' else '_undef_'}\n" for k, v in headers]
    if body is not None:
        parts.append(f"Content-Length: {len(body.encode('utf-8'))}\n\n{body}")
    else:
        parts.append("\n")
    return "".join(parts)


def serialize_json(headers: Iterable[tuple[str, str]], body: str | None = None) -> str:
    obj: dict[str, str | list[str]] = {}
    for k, v in headers:
        if k in obj:
            # Repeated headers are arrays in FreeSWITCH's JSON serialiser.
            prev = obj[k]
            obj[k] = [*prev, v] if isinstance(prev, list) else [prev, v]
        else:
            obj[k] = v
    if body is not None:
        obj["Content-Length"] = str(len(body.encode("utf-8")))
        obj["_body"] = body
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def command_reply(text: str, extra: Headers | None = None) -> bytes:
    lines = ["Content-Type: command/reply", f"Reply-Text: {text}"]
    for k, v in extra or []:
        lines.append(f"{k}: {v}")
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def api_response(body: str) -> bytes:
    data = body.encode("utf-8")
    return b"Content-Type: api/response\nContent-Length: %d\n\n" % len(data) + data


def disconnect_notice(body: str, extra: Headers | None = None) -> bytes:
    data = body.encode("utf-8")
    head = "Content-Type: text/disconnect-notice\n"
    for k, v in extra or []:
        head += f"{k}: {v}\n"
    return head.encode() + b"Content-Length: %d\n\n" % len(data) + data


AUTH_REQUEST = b"Content-Type: auth/request\n\n"
GOODBYE = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
MAX_BODY = 16 * 1024 * 1024


@dataclass
class Command:
    """A client command: first line, `Name: value` lines, optional body."""

    line: str
    headers: dict[str, str]
    body: bytes = b""


class CommandParser:
    """Incremental parser for what an ESL client sends (CR tolerated)."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pending: Command | None = None
        self._need = 0

    def feed(self, data: bytes) -> Iterator[Command]:
        self._buf += data
        while True:
            if self._pending is not None:
                if len(self._buf) < self._need:
                    return
                cmd = self._pending
                cmd.body = bytes(self._buf[: self._need])
                del self._buf[: self._need]
                self._pending = None
                yield cmd
                continue
            buf = self._buf.replace(b"\r", b"") if b"\r" in self._buf else self._buf
            if buf is not self._buf:
                self._buf = bytearray(buf)
            end = self._buf.find(b"\n\n")
            if end < 0:
                return
            block = self._buf[:end].decode("utf-8", "replace")
            del self._buf[: end + 2]
            lines = block.split("\n")
            # Blank keep-alive lines between commands are ignored.
            while lines and not lines[0].strip():
                lines.pop(0)
            if not lines:
                continue
            headers: dict[str, str] = {}
            for ln in lines[1:]:
                if ":" in ln:
                    k, v = ln.split(":", 1)
                    headers[k.strip()] = v.strip()
            cmd = Command(lines[0].strip(), headers)
            length = headers.get("Content-Length") or headers.get("content-length")
            if length and length.isdigit() and 0 < int(length) <= MAX_BODY:
                self._pending = cmd
                self._need = int(length)
                continue
            yield cmd


@dataclass
class Frame:
    """One message as a client receives it."""

    headers: dict[str, str]
    body: bytes = b""

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


class FrameParser:
    """Client-side incremental parser for what FreeSWITCH sends."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._head: dict[str, str] | None = None
        self._need = 0

    def feed(self, data: bytes) -> Iterator[Frame]:
        self._buf += data
        while True:
            if self._head is not None:
                if len(self._buf) < self._need:
                    return
                body = bytes(self._buf[: self._need])
                del self._buf[: self._need]
                head, self._head = self._head, None
                yield Frame(head, body)
                continue
            end = self._buf.find(b"\n\n")
            if end < 0:
                return
            block = self._buf[:end].decode("utf-8")
            del self._buf[: end + 2]
            head = {}
            for ln in block.split("\n"):
                if ": " in ln:
                    k, v = ln.split(": ", 1)
                    head[k] = v
            if "Content-Length" in head:
                self._head = head
                self._need = int(head["Content-Length"])
                continue
            yield Frame(head)


def parse_frames(data: bytes) -> list[Frame]:
    return list(FrameParser().feed(data))


def parse_event_body(frame: Frame) -> tuple[Headers, str | None]:
    """Headers (decoded, in order) and body of a text/event-plain or -json frame."""
    text = frame.body.decode("utf-8")
    if frame.content_type == "text/event-json":
        obj = json.loads(text)
        hdrs: Headers = []
        body = None
        for k, v in obj.items():
            if k == "_body":
                body = v
            elif isinstance(v, list):
                hdrs.extend((k, str(x)) for x in v)
            else:
                hdrs.append((k, str(v)))
        return hdrs, body
    head, sep, rest = text.partition("\n\n")
    hdrs = []
    for ln in head.split("\n"):
        if ": " in ln:
            k, v = ln.split(": ", 1)
            hdrs.append((k, url_decode(v)))
    body = None
    if sep and any(k == "Content-Length" for k, _ in hdrs):
        body = rest
        hdrs = [(k, v) for k, v in hdrs if k != "Content-Length"]
    return hdrs, body
