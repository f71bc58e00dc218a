"""Helpers for tests: a raw ESL client and a pytest-friendly simulator factory."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .protocol import Frame, FrameParser, Headers, parse_event_body
from .simulator import Simulator


@contextmanager
def running_simulator(**kwargs: Any) -> Iterator[Simulator]:
    """`with running_simulator(time_scale=50) as sim:` - started on a free port, stopped after."""
    sim = Simulator(**kwargs)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


class RawEslClient:
    """A minimal blocking ESL client that keeps every frame and the raw bytes received."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 5.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.timeout = timeout
        self.parser = FrameParser()
        self.raw = bytearray()
        self.frames: list[Frame] = []  # everything received, in order
        self._cursor = 0  # next unread reply (command/reply, api/response)
        self.closed = False

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, command: str, headers: Headers | None = None) -> None:
        text = command + "\n" + "".join(f"{k}: {v}\n" for k, v in (headers or [])) + "\n"
        self.sock.sendall(text.encode("utf-8"))

    def _pump(self, deadline: float) -> bool:
        if self.closed:
            return False
        self.sock.settimeout(max(0.001, deadline - time.monotonic()))
        try:
            data = self.sock.recv(262144)
        except TimeoutError:
            return False
        except OSError:
            self.closed = True
            return False
        if not data:
            self.closed = True
            return False
        self.raw += data
        self.frames.extend(self.parser.feed(data))
        return True

    def wait_frame(self, pred: Callable[[Frame], bool], timeout: float | None = None) -> Frame:
        deadline = time.monotonic() + (timeout or self.timeout)
        seen = 0
        while True:
            for f in self.frames[seen:]:
                if pred(f):
                    return f
            seen = len(self.frames)
            if time.monotonic() >= deadline or (not self._pump(deadline) and self.closed):
                raise TimeoutError("no matching frame")

    def next_reply(self, timeout: float | None = None) -> Frame:
        """The next command/reply, api/response, auth/request or disconnect notice."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            while self._cursor < len(self.frames):
                f = self.frames[self._cursor]
                self._cursor += 1
                if not f.content_type.startswith("text/event"):
                    return f
            if time.monotonic() >= deadline or (not self._pump(deadline) and self.closed):
                raise TimeoutError("no reply")

    def command(self, command: str, headers: Headers | None = None) -> Frame:
        self.send(command, headers)
        return self.next_reply()

    def api(self, command: str) -> str:
        return self.command("api " + command).body.decode("utf-8")

    def connect(self, password: str = "ClueCon") -> Frame:  # noqa: S107 - FreeSWITCH default
        assert self.next_reply().content_type == "auth/request"
        return self.command("auth " + password)

    def events(self) -> list[dict[str, str]]:
        """Every event received so far as a dict (first value wins; body as `_body`)."""
        out = []
        for f in self.frames:
            if f.content_type.startswith("text/event"):
                hdrs, body = parse_event_body(f)
                d: dict[str, str] = {}
                for k, v in hdrs:
                    d.setdefault(k, v)
                if body is not None:
                    d["_body"] = body
                out.append(d)
        return out

    def wait_event(
        self, pred: Callable[[dict[str, str]], bool], timeout: float | None = None
    ) -> dict[str, str]:
        def match(f: Frame) -> bool:
            if not f.content_type.startswith("text/event"):
                return False
            hdrs, body = parse_event_body(f)
            d = dict(reversed(hdrs))
            if body is not None:
                d["_body"] = body
            return pred(d)

        f = self.wait_frame(match, timeout)
        hdrs, body = parse_event_body(f)
        d = dict(reversed(hdrs))
        if body is not None:
            d["_body"] = body
        return d

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._pump(deadline)
