"""The in-process simulator: an asyncio loop in its own OS thread.

Runs in a real thread (not a greenlet) so a gevent-based client such as
greenswitch can talk to it from the test's main thread without monkey-patching.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from .api import Api
from .callcenter import CallCenter
from .channels import Core
from .clock import Clock
from .scenario import Scenario
from .server import EslServer

T = TypeVar("T")


class Simulator:
    """A FreeSWITCH look-alike speaking the Event Socket protocol on 127.0.0.1.

    >>> with Simulator(password="ClueCon", time_scale=50) as sim:
    ...     port = sim.port
    """

    def __init__(
        self,
        password: str = "ClueCon",  # noqa: S107 - FreeSWITCH's default
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        scenario: Scenario | dict[str, Any] | str | Path | None = None,
        callcenter_config: dict[str, Any] | str | Path | None = None,
        time_scale: float = 1.0,
        seed: int | None = None,
        sps: int = 30,
        max_sessions: int = 1000,
        heartbeat_interval: float = 20.0,
        event_queue_size: int = 100_000,
        max_lost_events: int = 500,
        hostname: str = "freeswitch-sim",
    ) -> None:
        self.password = password
        self.host = host
        self.requested_port = port
        self.clock = Clock(time_scale)
        if isinstance(scenario, Scenario):
            self.scenario = scenario
        elif isinstance(scenario, (str, Path)):
            self.scenario = Scenario.load(scenario, seed)
        else:
            self.scenario = Scenario(scenario, seed)
        self._cc_config = callcenter_config
        self._sps = sps
        self._max_sessions = max_sessions
        self._hostname = hostname
        self.heartbeat_interval = heartbeat_interval
        self._queue_size = event_queue_size
        self._max_lost = max_lost_events
        self.port = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.core: Core | None = None
        self.server: EslServer | None = None
        self.callcenter: CallCenter | None = None
        self.api: Api | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> int:
        """Start the server thread; returns the bound port."""
        if self._thread is not None:
            return self.port
        self._thread = threading.Thread(target=self._run, name="freeswitch-sim", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise RuntimeError("simulator failed to start") from self._error
        return self.port

    def stop(self) -> None:
        if self.loop is None or self._thread is None:
            return
        if self._stopped is not None and self.loop.is_running():
            self.loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(10)
        self._thread = None

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main())
        except BaseException as err:  # surfaced to start()
            self._error = err
            self._ready.set()
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    async def _main(self) -> None:
        self._stopped = asyncio.Event()
        core = Core(
            self.clock,
            self.scenario,
            hostname=self._hostname,
            sps=self._sps,
            max_sessions=self._max_sessions,
        )
        api = Api(core)
        cc = CallCenter(core)
        if self._cc_config is not None:
            cc.load_config(self._cc_config)
        core.callcenter = cc
        api.callcenter = cc
        server = EslServer(
            core, api, self.password, queue_size=self._queue_size, max_lost=self._max_lost
        )
        api.on_shutdown = self._shutdown
        self.core, self.api, self.callcenter, self.server = core, api, cc, server
        self.port = await server.start(self.host, self.requested_port)
        cc.start()
        hb = asyncio.ensure_future(self._heartbeat())
        self._ready.set()
        await self._stopped.wait()
        hb.cancel()
        cc.stop()
        await server.close()

    async def _heartbeat(self) -> None:
        while True:
            await self.clock.sleep(self.heartbeat_interval)
            if self.core is not None:
                self.core.fire("HEARTBEAT", self.core.heartbeat_headers())

    def _shutdown(self) -> None:
        """fsctl shutdown: SHUTDOWN event, calls torn down, listeners told and closed."""
        core, server = self.core, self.server
        if core is None or server is None:
            return
        core.fire("SHUTDOWN", [("Event-Info", "System Shutting Down")])
        core.hupall("SYSTEM_SHUTDOWN")
        for mod in ("mod_event_socket", "mod_callcenter", "mod_loopback", "mod_sofia"):
            core.fire("MODULE_UNLOAD", [("type", "module"), ("name", mod)])
        server.disconnect_all("The system is being shut down.\n")
        if server.server is not None:
            server.server.close()

    # -- thread-safe introspection -----------------------------------------------------

    def call(self, fn: Callable[[], T], timeout: float = 10.0) -> T:
        """Run `fn` on the simulator's loop and return its result."""
        if self.loop is None:
            raise RuntimeError("simulator not started")
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                fut.set_result(fn())
            except BaseException as err:
                fut.set_exception(err)

        self.loop.call_soon_threadsafe(run)
        return fut.result(timeout)

    def run_api(self, line: str, timeout: float = 30.0) -> str:
        """Execute an API command directly (no socket), e.g. for test setup."""
        if self.loop is None or self.api is None:
            raise RuntimeError("simulator not started")
        api = self.api
        return asyncio.run_coroutine_threadsafe(api.execute(line), self.loop).result(timeout)

    @property
    def originate_log(self) -> list[str]:
        """Argument strings of every originate received, in order."""
        return self.call(lambda: list(self._core().originate_log))

    def _core(self) -> Core:
        assert self.core is not None
        return self.core

    def channel_count(self) -> int:
        return self.call(lambda: len(self._core().channels))

    def stats(self) -> dict[str, int]:
        def snap() -> dict[str, int]:
            core = self._core()
            return {
                "channels": len(core.channels),
                "ringing": core.ringing_count(),
                "peak_channels": core.peak_channels,
                "peak_ringing": core.peak_ringing,
                "sessions_since_startup": core.session_count,
                "originates": len(core.originate_log),
                "listeners": len(self.server.listeners) if self.server else 0,
            }

        return self.call(snap)

    def channels(self) -> list[dict[str, str]]:
        """Snapshot of live channels: uuid, name, state, callstate, variables..."""

        def snap() -> list[dict[str, str]]:
            out = []
            for ch in self._core().channels.values():
                out.append(
                    {
                        "uuid": ch.uuid,
                        "name": ch.name,
                        "direction": ch.direction,
                        "destination": ch.destination,
                        "state": ch.state,
                        "callstate": ch.callstate,
                        "answer_state": ch.answer_state,
                        "bridged_to": ch.bridged_to.uuid if ch.bridged_to else "",
                        **{"variable_" + k: v for k, v in ch.variables.items()},
                    }
                )
            return out

        return self.call(snap)

    def agent(self, name: str) -> dict[str, str] | None:
        """An agent's row as `callcenter_config agent list` shows it."""

        def snap() -> dict[str, str] | None:
            assert self.callcenter is not None
            ag = self.callcenter.agents.get(name)
            return ag.as_row() if ag is not None else None

        return self.call(snap)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Poll `predicate` (run on the simulator loop) until true or timeout (real s)."""
        import time

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.call(predicate):
                return True
            time.sleep(0.01)
        return False
