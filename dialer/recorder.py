"""Where the dialer's database work runs: call writes batched, in order per call.

The daemon queues every `dialer.calls` service (dialed, answered, agent answered, finished,
lost, ...) for the worker that owns the call, so one call's writes stay in order. A worker
commits the work that has piled up together: one transaction, one WAL flush for up to
BATCH_MAX writes; a batch that fails runs again item by item (every call service is
idempotent), so one bad write costs no other call its row.

Workers are threads of the daemon, or — `DIALER_RECORDER_PROCESSES` > 0, the default on
PostgreSQL — processes of their own. Each call end costs a few milliseconds of Django ORM
CPU; in the daemon's interpreter that competes for the GIL with the ESL reader, and at a
hundred calls a second the database work fell tens of seconds behind while the reader slowed
down. A process has its own interpreter and connection; only the work's arguments (strings,
datetimes, CallTimes) cross the pipe. SQLite (the demo) keeps threads: it takes one writer.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import threading
import zlib
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections, connections, transaction

log = logging.getLogger("dialer.recorder")

BATCH_MAX = 50

Work = tuple[Callable[..., Any], dict[str, Any]]


def batchable(fn: Callable[..., Any]) -> bool:
    """The call services: idempotent, each touching its own Call and Lead rows."""
    return getattr(fn, "__module__", "") == "dialer.calls"


def run_one(fn: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    try:
        fn(**kwargs)
    except Exception:
        log.exception("database work failed", extra={"work": getattr(fn, "__name__", "?")})
        close_old_connections()


def work_loop(get: Callable[[], Work | None], get_nowait: Callable[[], Work | None]) -> None:
    """Run queued work in order until None. Call services that have piled up meanwhile run
    in one transaction, in queue order; anything else runs alone."""
    done = 0
    stop = False
    pending: Work | None = None
    while not stop:
        item = pending if pending is not None else get()
        pending = None
        if item is None:
            break
        items = [item]
        while batchable(item[0]) and len(items) < BATCH_MAX:
            try:
                more = get_nowait()
            except queue.Empty:
                break
            if more is None:
                stop = True
                break
            if not batchable(more[0]):
                pending = more  # runs next: the order of a call's work is kept
                break
            items.append(more)
        try:
            if len(items) == 1:
                run_one(*items[0])
            else:
                with transaction.atomic():
                    for fn, kwargs in items:
                        fn(**kwargs)
        except Exception:
            # One item failed, or the connection did (nothing of the batch was committed):
            # item by item, each in its own transaction. (A savepoint per item would cost
            # two more round trips for every write that does not fail.)
            log.warning("database batch failed; running its items one by one", exc_info=True)
            close_old_connections()
            for fn, kwargs in items:
                run_one(fn, kwargs)
        done += len(items)
        if done >= 200:
            done = 0
            close_old_connections()
    close_old_connections()


class Recorders:
    """N workers (threads or processes); each call's work always goes to the same one."""

    def __init__(
        self, *, threads: int, processes: int = 0, esl: dict[str, Any] | None = None
    ) -> None:
        self.processes = processes
        self._esl = esl or {}
        self._queues: list[Any]
        if processes > 0:
            ctx = multiprocessing.get_context("spawn")  # never fork a process holding gevent
            self._queues = [ctx.Queue() for _ in range(processes)]
            self._ctx: Any = ctx
        else:
            self._queues = [queue.SimpleQueue() for _ in range(max(1, threads))]
        self._workers: list[Any] = []

    def start(self) -> None:
        if self.processes > 0:
            db = connections["default"].settings_dict
            # The database the daemon uses (a test run's test database too), and its logging.
            overrides = {"NAME": db["NAME"]}
            from django.conf import settings

            extra = {"REDIS_URL": settings.REDIS_URL, **self._esl}
            level = logging.getLogger("dialer").getEffectiveLevel()
            for i, q in enumerate(self._queues):
                p = self._ctx.Process(
                    target=_process_main,
                    args=(q, os.getpid(), overrides, extra, level),
                    name=f"dialer-recorder-{i}",
                    daemon=True,
                )
                p.start()
                self._workers.append(p)
        else:
            for i, q in enumerate(self._queues):
                t = threading.Thread(
                    target=work_loop,
                    args=(q.get, q.get_nowait),
                    name=f"dialer-db-{i}",
                    daemon=True,
                )
                t.start()
                self._workers.append(t)

    def put(self, key: str, fn: Callable[..., Any], kwargs: dict[str, Any]) -> None:
        q = self._queues[zlib.crc32(key.encode()) % len(self._queues)]
        if self.processes > 0 and not batchable(fn):
            # A closure (preview placing sends on the ESL connection) cannot leave this
            # process: it runs here, on a thread of its own.
            threading.Thread(target=run_one, args=(fn, kwargs), daemon=True).start()
            return
        q.put((fn, kwargs))

    def stop(self, timeout: float = 60.0) -> None:
        """Finish what is queued, then stop. (Generous: after a burst the writers may be
        seconds behind, and a write lost here leaves a Call row for the restart to close.)"""
        for q in self._queues:
            q.put(None)
        for w in self._workers:
            w.join(timeout)
            if self.processes > 0 and w.is_alive():
                log.error("recorder process did not finish its work in time; killed")
                w.kill()
        if self.processes > 0:
            for q in self._queues:
                q.cancel_join_thread()  # nobody reads what is left: do not block the exit
        self._workers = []


def _process_main(
    q: Any, parent: int, db_overrides: dict[str, Any], extra: dict[str, Any], level: int
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the daemon drains, then sends None
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings

    for name, value in extra.items():
        setattr(settings, name, value)
    connections["default"].settings_dict.update(db_overrides)
    logging.getLogger("dialer").setLevel(level)

    def get() -> Work | None:
        while True:
            try:
                item: Work | None = q.get(timeout=1.0)
                return item
            except queue.Empty:
                if os.getppid() != parent:  # the daemon died (SIGKILL): nothing more comes
                    return None

    work_loop(get, q.get_nowait)
    connections.close_all()  # the session ends with the work, not when the OS reaps us
