"""One FreeSWITCH Event Socket connection, kept alive: greenswitch in its own OS thread.

greenswitch is gevent-based. The dialer does not monkey-patch (the Django ORM, Redis and the
tests' simulator run in real threads), so the connection owns a thread whose gevent hub runs
greenswitch's reader; other threads hand it commands through `run_callback_threadsafe`.

What this wrapper fixes in greenswitch 0.0.19 (see the ESL reference, §5):
- events are parsed here, lines split before URL-decoding (no forged headers), and a
  BACKGROUND_JOB keeps its body;
- `send` is serialised with `sendall` (no interleaved partial writes) and waits with a timeout
  (a command pending when the socket dies fails instead of blocking forever);
- a short read on a dead socket ends the connection instead of looping;
- an abrupt close is noticed (the reader greenlet ends) and the connection is rebuilt with
  jittered exponential backoff, resubscribed, and `on_connect` lets the daemon reconcile.

Event handlers run in the reader greenlet: they must be quick and never block (no database,
no Redis). The daemon keeps its bookkeeping in memory and hands database work to threads.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import gevent
import gevent.lock
from greenswitch import esl as gs

from .events import Event, parse_plain_event

log = logging.getLogger("dialer.esl")

# What the dialer listens to. Plain format: greenswitch's reader dies on json/xml.
DEFAULT_EVENTS = (
    "CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA CHANNEL_ANSWER CHANNEL_EXECUTE_COMPLETE "
    "CHANNEL_BRIDGE CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB HEARTBEAT "
    "CUSTOM callcenter::info"
)


class EslError(RuntimeError):
    """A command failed: not connected, timed out, or the connection dropped."""


class _SafeInboundESL(gs.InboundESL):
    """greenswitch's InboundESL with safe parsing, serialised sends and timeouts."""

    def __init__(
        self,
        host: str,
        port: int,
        password: str,
        timeout: float,
        on_event: Callable[[Event], None],
    ) -> None:
        super().__init__(host, port, password, timeout=timeout)
        self._on_event = on_event
        self._commands_sent: list[Any] = []
        self._send_lock = gevent.lock.Semaphore()
        self.queued_commands = False  # set by send_nowait from the ESL thread
        self.command_timeout = timeout

    @staticmethod
    def _read_socket(sock: Any, length: int) -> str:
        data = b""
        while len(data) < length:
            chunk = sock.read(length - len(data))
            if not chunk:
                raise ConnectionError("socket closed in the middle of a frame")
            data += chunk
        return data.decode("utf-8", "replace")

    def handle_event(self, event: Any) -> None:
        content_type = event.headers.get("Content-Type", "")
        if content_type in ("text/event-plain", "text/event-json", "text/event-xml"):
            length = int(event.headers["Content-Length"])
            body = self._read_socket(self.sock_file, length)
            if content_type != "text/event-plain":
                return  # we subscribe in plain only
            try:
                self._on_event(parse_plain_event(body))
            except Exception:
                # One bad event never stops the reader.
                log.exception("event handler failed")
            if self.queued_commands:
                # Let the commands the handler just queued (send_nowait spawns their sender)
                # go out now: the reader only yields when the socket is empty, so under a
                # burst of events an answered customer's `callcenter` would wait for the
                # whole burst. (Only then: a yield per event costs a loop turn each.)
                self.queued_commands = False
                gevent.sleep(0)
            return
        if content_type == "log/data":
            self._read_socket(self.sock_file, int(event.headers["Content-Length"]))
            return
        super().handle_event(event)

    def send(self, data: str) -> Any:
        if not self.connected:
            raise gs.NotConnectedError()
        result: Any = gevent.event.AsyncResult()
        with self._send_lock:
            self._commands_sent.append(result)
            self.sock.sendall((data + "\n\n").encode("utf-8"))
        try:
            return result.get(timeout=self.command_timeout)
        except gevent.Timeout:
            raise EslError(f"no reply within {self.command_timeout} s: {data[:60]!r}") from None

    def fail_pending(self) -> None:
        pending: list[Any] = self._commands_sent
        self._commands_sent = []
        for result in pending:
            result.set_exception(EslError("connection lost"))


class EslConnection:
    """Keeps one inbound ESL connection up and lets any thread send commands on it."""

    def __init__(
        self,
        host: str,
        port: int,
        password: str,
        *,
        on_event: Callable[[Event], None],
        on_connect: Callable[[EslConnection], None] | None = None,
        on_disconnect: Callable[[EslConnection], None] | None = None,
        events: str = DEFAULT_EVENTS,
        command_timeout: float = 5.0,
        backoff_start: float = 0.1,
        backoff_max: float = 5.0,
        ping_interval: float = 5.0,
        name: str = "esl",
    ) -> None:
        self.host, self.port, self.password = host, port, password
        self.on_event = on_event
        self.on_connect = on_connect
        self.on_disconnect = on_disconnect
        self.events = events
        self.command_timeout = command_timeout
        self.backoff_start = backoff_start
        self.backoff_max = backoff_max
        self.ping_interval = ping_interval
        self.name = name
        self.connects = 0
        self._esl: _SafeInboundESL | None = None
        self._thread: threading.Thread | None = None
        self._hub: Any = None
        self._stop = threading.Event()
        self._up = threading.Event()
        self._started = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        self._started.wait(5)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._hub is not None:
            try:
                self._hub.loop.run_callback_threadsafe(self._close_socket)
            except Exception:  # the hub may be gone already
                log.debug("hub gone while stopping", exc_info=True)
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def connected(self) -> bool:
        return self._up.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._up.wait(timeout)

    def drop(self) -> None:
        """Close the socket as if the network failed (tests, and a watchdog's last resort)."""
        self._up.clear()
        if self._hub is not None:
            self._hub.loop.run_callback_threadsafe(self._close_socket)

    # -- commands from any thread --------------------------------------------------------

    def send_nowait(
        self, command: str, callback: Callable[[str | None, Exception | None], None] | None = None
    ) -> None:
        """Send a command without waiting; `callback(reply_text_or_body, error)` runs in the ESL
        thread when the reply comes (keep it quick)."""
        if threading.current_thread() is self._thread:
            gevent.spawn(self._send, command, callback)
            if self._esl is not None:
                self._esl.queued_commands = True
        elif self._hub is not None:
            self._hub.loop.run_callback_threadsafe(gevent.spawn, self._send, command, callback)
        elif callback is not None:
            callback(None, EslError("not started"))

    def run_in_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` in the ESL thread (timers and greenlets live there)."""
        if threading.current_thread() is self._thread:
            fn(*args)
        elif self._hub is not None:
            self._hub.loop.run_callback_threadsafe(fn, *args)

    def call(self, command: str, timeout: float | None = None) -> str:
        """Send a command from a thread other than the ESL thread and wait for its reply."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("call() would block the ESL reader; use send_nowait")
        future: concurrent.futures.Future[str] = concurrent.futures.Future()

        def done(reply: str | None, error: Exception | None) -> None:
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(reply or "")

        self.send_nowait(command, done)
        try:
            return future.result(timeout or self.command_timeout + 1)
        except concurrent.futures.TimeoutError:
            raise EslError(f"no reply: {command[:60]!r}") from None

    def api(self, command: str, timeout: float | None = None) -> str:
        return self.call("api " + command, timeout)

    def _send(
        self, command: str, callback: Callable[[str | None, Exception | None], None] | None
    ) -> None:
        esl = self._esl
        try:
            if esl is None or not esl.connected:
                raise EslError("not connected")
            response = esl.send(command)
            text = response.data if getattr(response, "data", None) is not None else ""
            if callback is not None:
                callback(text, None)
        except Exception as exc:  # reported to the caller, never raised in the hub
            error = exc if isinstance(exc, EslError) else EslError(str(exc) or repr(exc))
            if callback is not None:
                try:
                    callback(None, error)
                except Exception:
                    log.exception("command callback failed")
            else:
                log.warning("command failed", extra={"command": command[:80], "error": str(error)})

    # -- the ESL thread ------------------------------------------------------------------

    def _run(self) -> None:
        self._hub = gevent.get_hub()
        self._started.set()
        delay = self.backoff_start
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                self._session()
            except Exception as exc:
                log.warning(
                    "FreeSWITCH connection failed",
                    extra={"host": self.host, "port": self.port, "error": str(exc)},
                )
            if self._stop.is_set():
                break
            if time.monotonic() - began > 10:
                delay = self.backoff_start  # it was up for a while: start over quickly
            # Full jitter: many dialers restarting together do not reconnect in step.
            gevent.sleep(random.uniform(0, delay))
            delay = min(self.backoff_max, delay * 2)

    def _session(self) -> None:
        esl = _SafeInboundESL(
            self.host, self.port, self.password, self.command_timeout, self.on_event
        )
        self._esl = esl
        try:
            esl.connect()
            reply = esl.send(f"event plain {self.events}")
            if not str(reply.data).startswith("+OK"):
                raise EslError(f"subscription refused: {reply.data}")
            self.connects += 1
            self._up.set()
            log.info("connected to FreeSWITCH", extra={"host": self.host, "port": self.port})
            if self.on_connect is not None:
                gevent.spawn(self._safe, self.on_connect)
            pinger = gevent.spawn(self._ping, esl)
            reader = esl._receive_events_greenlet
            while not self._stop.is_set() and reader is not None and not reader.dead:
                reader.join(timeout=0.2)
            pinger.kill()
        finally:
            was_up = self._up.is_set()
            self._up.clear()
            esl.connected = False
            esl._run = False
            esl.fail_pending()
            self._close_socket(esl)
            reader = esl._receive_events_greenlet
            if reader is not None:
                reader.join(timeout=1)
            self._release(esl)
            if was_up:
                log.warning("FreeSWITCH connection lost", extra={"host": self.host})
                if self.on_disconnect is not None:
                    self._safe(self.on_disconnect)

    def _ping(self, esl: _SafeInboundESL) -> None:
        # A silent peer (no RST, no data) is found by a command that gets no reply.
        while esl.connected:
            gevent.sleep(self.ping_interval)
            try:
                esl.send("api status")
            except Exception:
                log.warning("FreeSWITCH does not answer; reconnecting")
                self._close_socket(esl)
                return

    def _close_socket(self, esl: _SafeInboundESL | None = None) -> None:
        """Shut the socket down: the reader sees end-of-file and the session ends. (Closing
        the file object under a reader blocked in readline would wedge it.)"""
        esl = esl or self._esl
        if esl is None:
            return
        esl.connected = False
        sock = getattr(esl, "sock", None)
        if sock is None:
            return
        with contextlib.suppress(OSError):  # already closed or never connected
            sock.shutdown(socket.SHUT_RDWR)

    @staticmethod
    def _release(esl: _SafeInboundESL) -> None:
        for thing in (getattr(esl, "sock_file", None), getattr(esl, "sock", None)):
            try:
                if thing is not None:
                    thing.close()
            except Exception:
                log.debug("close failed", exc_info=True)

    def _safe(self, fn: Callable[[EslConnection], None]) -> None:
        try:
            fn(self)
        except Exception:
            log.exception("connection callback failed")
