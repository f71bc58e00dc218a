"""Load test of the dialer daemon against the FreeSWITCH simulator (issue 5).

    .venv/bin/python bench/dialer_load.py [--calls 8000] [--rate 150] [--agents 600] [--talk 0.3]
                                          [--answer-share 0.3]

Targets: the dialer sustains >= 100 originates/s and >= 5,000 ESL events/s; from the
CHANNEL_ANSWER reaching the dialer to the dialer sending the `callcenter` application takes
at most 50 ms at p99.

What runs:
- the project's simulator (`python -m freeswitch.simulator`) as a subprocess on a free
  loopback port (its own interpreter: it does not share the dialer's GIL, as a real
  FreeSWITCH would not), time scale 1, `--agents` callback agents in one queue; of every ten
  leads `--answer-share` x 10 answer (ring 0.2 s, answer 0.2 s later) and the others answer
  busy after 0.5 s, as most dials of a real list do not reach a person; agents answer within
  0.3 s and talk `--talk` s. With every lead answering (`--answer-share 1`) Progressive's
  gate (never more customers ringing than free agents) sets the pace, not the dialer;
- the real `dialer.daemon.Dialer` in this process (ESL thread, request thread, publisher; its
  database writers are `DIALER_RECORDER_PROCESSES` processes, 2 by default), Progressive,
  its free-agent gate on, rate cap `--rate` per node and per gateway, on a throwaway
  PostgreSQL database (`--db`, dropped at the end) created with `--calls` leads in
  `dialing` and their pending Call rows up front; the request source is
  in memory (the Redis stream read is not part of this measure) and claims with the real
  `dialer.handoff.claim_many` (a batch in a constant number of queries; `--claim one`: one
  call at a time, as a source without `claim_many` is claimed);
- instrumentation in the dialer process, outside the daemon: the time each ESL frame is
  read off the socket (the reader's `handle_event`), and the time a `sendmsg … execute
  callcenter` is handed to the socket (`send`); their difference per call is the answer →
  callcenter latency. Every second a sampler records originates sent (the daemon's
  `stats.originates`), events received and handled (`stats.events`, counted in the daemon's
  `on_event`), calls in flight and the load average;
- then (`--replay-rate`, default 6000/s) a second dialer reads the same events again, sent by
  a minimal Event Socket server in a child process at that rate, every call they name put
  back in its live table first: the answers send the callcenter application, callcenter
  events move agents and calls, hangups end calls (their database work finds the rows
  finished). The simulator, one Python process, cannot itself produce 5,000 events/s of
  this traffic on 2 cores; the replay measures whether the dialer's connection can.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import logging
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUEUE = "bench@default"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def thread_cpu_seconds(thread: threading.Thread | None) -> float:
    """CPU time (user + system) a thread of this process has used, from /proc."""
    if thread is None or thread.native_id is None:
        return float("nan")
    fields = Path(f"/proc/self/task/{thread.native_id}/stat").read_text().rsplit(")", 1)[1]
    utime, stime = fields.split()[11:13]
    return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


# --- database ----------------------------------------------------------------------------


def create_database(name: str) -> str:
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'drop database if exists "{name}" with (force)')
        c.execute(f'create database "{name}"')
    url = f"postgres://postgres@127.0.0.1:5432/{name}"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-only"},
        check=True,
    )
    return url


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'drop database if exists "{name}" with (force)')


def make_calls(n: int) -> tuple[int, list[str]]:
    """A running Progressive campaign, n leads being dialed, and their pending Call rows."""
    from agents.models import Queue
    from campaigns.models import Campaign
    from dialer.models import Call
    from leads.models import Lead

    now = datetime.now(UTC)
    queue = Queue.objects.create(name=QUEUE, phone_number="+12025550100")
    campaign = Campaign.objects.create(
        name="Bench dialer",
        type="progressive",
        queue=queue,
        run_status="running",
        retries=1,
        cool_off=0,
        agent_dial_timeout=30,
    )
    leads = Lead.objects.bulk_create(
        Lead(
            campaign=campaign,
            # 202-555-xxxx and 212-555-xxxx: valid US numbers for phonenumbers.
            number=f"+1{202 if i < 10_000 else 212}555{i % 10_000:04d}",
            first_name=f"Lead {i}",
            timezone="America/New_York",
            timezones=["America/New_York"],
            state="dialing",
            next_dial_at=now,
            created_at=now,
        )
        for i in range(n)
    )
    calls = Call.objects.bulk_create(
        Call(
            uuid=uuid.uuid4(),
            campaign=campaign,
            lead=lead,
            attempt=1,
            number=lead.number,
            requested_at=now,
        )
        for lead in leads
    )
    return campaign.pk, [str(c.uuid) for c in calls]


class MemoryRequests:
    """The dial-request stream in memory, with the real claim-once on the Call row."""

    def __init__(self, call_uuids: list[str]) -> None:
        self._q = [(f"{i + 1}-0", u) for i, u in enumerate(call_uuids)]
        self._lock = threading.Lock()
        self.acked = 0

    def read(self, count: int, block_ms: int) -> list[tuple[str, str]]:
        with self._lock:
            out, self._q = self._q[:count], self._q[count:]
        if not out and block_ms:
            time.sleep(block_ms / 1000)
        return out

    def ack(self, message_id: str) -> None:
        self.acked += 1

    def reclaim(self) -> list[tuple[str, str]]:
        return []

    def claim(self, call_uuid: str) -> Any:
        from dialer.handoff import claim_many as claim_calls

        return claim_calls([call_uuid]).get(call_uuid)


class BatchMemoryRequests(MemoryRequests):
    """The same, claiming a batch in a constant number of queries, as the daemon's
    StreamRequests does through dialer.handoff.claim_many."""

    def claim_many(self, call_uuids: list[str]) -> dict[str, Any]:
        from dialer.handoff import claim_many as claim_calls

        return claim_calls(call_uuids)


# --- the simulator -------------------------------------------------------------------------


def busy_rule(answer_share: float) -> list[dict[str, Any]]:
    """Scenario rules that make the leads whose number ends in the last tenths of the digits
    answer busy (the numbers run 0000, 0001, ... so the share is exact over every 10 leads)."""
    busy = 10 - round(answer_share * 10)
    if busy <= 0:
        return []
    digits = "".join(str(d) for d in range(10 - busy, 10))
    return [{"match": f"[{digits}]$", "action": "busy", "ring": 0.5}]


def start_simulator(
    workdir: Path, port: int, agents: int, talk: float, answer_share: float = 1.0
) -> subprocess.Popen[bytes]:
    names = [f"{5000 + i}@default" for i in range(agents)]
    config = {
        "queues": {QUEUE: {"strategy": "longest-idle-agent", "moh-sound": "local_stream://moh"}},
        "agents": {
            name: {
                "type": "callback",
                "contact": f"user/{name.split('@')[0]}",
                "status": "Available",
                "wrap-up-time": 0,
                "max-no-answer": 1000,
            }
            for name in names
        },
        "tiers": [{"queue": QUEUE, "agent": name} for name in names],
    }
    scenario = {
        "rules": busy_rule(answer_share),
        "default": {"action": "answer", "ring": 0.2, "answer_after": 0.2, "talk": talk + 5},
        "agents": {"default": {"action": "answer", "ring": 0.1, "answer_after": 0.2, "talk": talk}},
    }
    (workdir / "callcenter.json").write_text(json.dumps(config))
    (workdir / "scenario.json").write_text(json.dumps(scenario))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "freeswitch.simulator",
            "--port",
            str(port),
            "--scenario",
            str(workdir / "scenario.json"),
            "--callcenter-config",
            str(workdir / "callcenter.json"),
            "--time-scale",
            "1",
            "--seed",
            "5",
            "--sps",
            "100000",
            "--max-sessions",
            "100000",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(workdir / "simulator.log", "wb"),  # noqa: SIM115 - lives with the process
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the simulator did not start (see simulator.log)")


# --- instrumentation (in the dialer process, outside the daemon) ------------------------------


class Probe:
    """Timestamps at frame receipt and at command send, keyed by channel UUID."""

    def __init__(self) -> None:
        self.frame_at = 0.0  # when the frame being handled was read off the socket
        self.answer_at: dict[str, float] = {}
        self.answer_lag: list[float] = []  # simulator's Event-Date-Timestamp → receipt, ms
        self.enqueue_at: dict[str, float] = {}
        self.record = True
        self.bodies: list[str] = []  # every event body the dialer read, for the replay

    def reset(self) -> None:
        self.answer_at.clear()
        self.answer_lag.clear()
        self.enqueue_at.clear()

    def install(self, dialer_cls: Any) -> None:
        from dialer.esl import connection

        esl_cls = connection._SafeInboundESL
        handle_event = esl_cls.handle_event
        send = esl_cls.send
        on_event = dialer_cls.on_event
        probe = self

        def timed_handle_event(self: Any, event: Any) -> None:
            probe.frame_at = time.perf_counter()
            handle_event(self, event)

        def timed_send(self: Any, data: str) -> Any:
            if data.startswith("sendmsg ") and "execute-app-name: callcenter" in data:
                probe.enqueue_at.setdefault(data[8:44], time.perf_counter())
            return send(self, data)

        def timed_on_event(self: Any, event: dict[str, str]) -> None:
            if event.get("Event-Name") == "CHANNEL_ANSWER":
                leg = event.get("Unique-ID", "")
                probe.answer_at.setdefault(leg, probe.frame_at)
                stamp = event.get("Event-Date-Timestamp")
                if stamp and stamp.isdigit():
                    probe.answer_lag.append((time.time() - int(stamp) / 1e6) * 1e3)
            on_event(self, event)

        parse = connection.parse_plain_event

        def recording_parse(text: str) -> Any:
            if probe.record:
                probe.bodies.append(text)
            return parse(text)

        connection.parse_plain_event = recording_parse
        esl_cls.handle_event = timed_handle_event  # type: ignore[method-assign]
        esl_cls.send = timed_send  # type: ignore[method-assign]
        dialer_cls.on_event = timed_on_event

    def latencies_ms(self) -> list[float]:
        return [
            (sent - self.answer_at[leg]) * 1e3
            for leg, sent in list(self.enqueue_at.items())
            if leg in self.answer_at
        ]


# --- the replay: the run's own events, as fast as asked, from another process -------------


def replay_server(port: int, frames: list[bytes], rate: float, ready: Any) -> None:
    """A minimal inbound Event Socket: auth, subscription, +OK to every command (empty api
    replies), then the frames at `rate` per second (TCP back-pressure slows it down if the
    reader cannot keep up)."""
    srv = socket.create_server(("127.0.0.1", port))
    ready.set()
    conn, _ = srv.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    lock = threading.Lock()

    def write(data: bytes) -> None:
        with lock:
            conn.sendall(data)

    write(b"Content-Type: auth/request\n\n")
    subscribed = threading.Event()

    def commands() -> None:
        buf = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk
            while b"\n\n" in buf:
                command, buf = buf.split(b"\n\n", 1)
                if command.startswith(b"auth "):
                    write(b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n")
                elif command.startswith(b"api "):
                    write(b"Content-Type: api/response\nContent-Length: 0\n\n")
                else:
                    write(b"Content-Type: command/reply\nReply-Text: +OK\n\n")
                if command.startswith(b"event "):
                    subscribed.set()

    threading.Thread(target=commands, daemon=True).start()
    subscribed.wait(10)
    time.sleep(1.0)  # the dialer's reconcile
    t0 = time.monotonic()
    sent = 0
    while sent < len(frames):
        due = min(len(frames), int((time.monotonic() - t0) * rate) + 1)
        if due > sent:
            write(b"".join(frames[sent:due]))
            sent = due
        else:
            time.sleep(0.002)
    time.sleep(3)
    conn.close()


def replay(args: argparse.Namespace, probe: Probe, campaign_id: int) -> dict[str, Any]:
    """The dialer reads the events of the run again, at --replay-rate, each call it names
    being in its live table again: the answer sends the callcenter application, the
    callcenter events update agents and calls, the hangup ends the call (its database work
    finds the row finished and changes nothing)."""
    import multiprocessing

    from django.db import close_old_connections

    from dialer.daemon import Dialer, LiveCall
    from dialer.models import Call

    bodies = probe.bodies
    probe.record = False
    frames = [
        b"Content-Length: %d\nContent-Type: text/event-plain\n\n%s"
        % (len(body.encode("utf-8")), body.encode("utf-8"))
        for body in bodies
    ]
    port = free_port()
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    server = ctx.Process(target=replay_server, args=(port, frames, args.replay_rate, ready))
    server.start()
    ready.wait(10)
    dialer = Dialer(
        host="127.0.0.1",
        port=port,
        password="ClueCon",
        node="bench1",
        gateway="carrier",
        requests=None,
        publish=lambda snapshot: None,
    )
    rows = list(Call.objects.filter(campaign_id=campaign_id).values_list("uuid", "pk", "lead_id"))
    close_old_connections()
    for call_uuid, pk, lead_id in rows:
        live = LiveCall(
            uuid=str(call_uuid),
            call_id=pk,
            lead_id=lead_id,
            campaign_id=campaign_id,
            queue=QUEUE,
            kind="progressive",
            agent_dial_timeout=30,
        )
        dialer.calls[live.uuid] = live
    probe.reset()
    samples: list[tuple[float, int]] = []
    load_before = load_average()
    dialer.start()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120:
        samples.append((time.monotonic() - t0, dialer.stats.events))
        if dialer.stats.events >= len(frames):
            break
        time.sleep(1.0)
    samples.append((time.monotonic() - t0, dialer.stats.events))
    load_after = load_average()
    esl_cpu = thread_cpu_seconds(dialer.conn._thread)
    dialer.stop()
    server.join(10)
    if server.is_alive():
        server.kill()
    return {
        "frames": len(frames),
        "handled": dialer.stats.events,
        "samples": samples,
        "latencies": probe.latencies_ms(),
        "esl_cpu": esl_cpu,
        "load_before": load_before,
        "load_after": load_after,
    }


def report_replay(args: argparse.Namespace, r: dict[str, Any]) -> None:
    samples = r["samples"]
    rates = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in itertools.pairwise(samples) if b[0] > a[0]]
    # Whole seconds inside the replay: from the first event on, without the last (partial).
    first = next((i for i, v in enumerate(rates) if v > 0), 0)
    full = rates[first + 1 : -1] or rates
    span = samples[-1][0] - samples[0][0]
    lat = r["latencies"]
    print(f"\nreplay of the run's {r['frames']} events at {args.replay_rate:.0f}/s:")
    print(f"load average before: {r['load_before']}; after: {r['load_after']}")
    print(
        f"  handled {r['handled']} in {span:.1f} s; per second: "
        + " ".join(f"{v:.0f}" for v in rates)
        + f"\n  full seconds: mean {statistics.fmean(full):.0f}/s, min {min(full):.0f}/s"
    )
    print(
        f"  ESL thread CPU {r['esl_cpu']:.1f} s = "
        f"{r['esl_cpu'] / max(1, r['handled']) * 1e6:.0f} us per event"
    )
    print(
        f"  answer -> callcenter sent (ms), {len(lat)} calls: p50 {pct(lat, 50):.2f}, "
        f"p95 {pct(lat, 95):.2f}, p99 {pct(lat, 99):.2f}, "
        f"max {max(lat) if lat else float('nan'):.2f}"
    )


# --- the run -------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    db_url = create_database(args.db)
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    # The daemon logs every call decision at INFO, as in production: to a file, not the tty.
    log_path = Path(args.workdir) / "dialer.log"
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    file_handler = logging.FileHandler(log_path)
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.addHandler(file_handler)
    root.setLevel(logging.INFO)

    from django.db import close_old_connections

    from dialer.daemon import Dialer
    from dialer.models import Call

    campaign_id, call_uuids = make_calls(args.calls)
    close_old_connections()
    port = free_port()
    sim = start_simulator(Path(args.workdir), port, args.agents, args.talk, args.answer_share)
    probe = Probe()
    probe.install(Dialer)
    requests = (MemoryRequests if args.claim == "one" else BatchMemoryRequests)(call_uuids)
    dialer = Dialer(
        host="127.0.0.1",
        port=port,
        password="ClueCon",
        node="bench1",
        gateway="carrier",
        requests=requests,
        calls_per_second=args.rate,
        max_concurrent=args.max_concurrent,
        originate_timeout=30,
        publish=lambda snapshot: None,
    )
    samples: list[dict[str, float]] = []
    stop_sampling = threading.Event()

    def sampler() -> None:
        t0 = time.monotonic()
        while not stop_sampling.is_set():
            with dialer.lock:
                in_flight = len(dialer.calls)
                now = time.time()
                free = sum(1 for a in dialer.agents.values() if a.free(now))
                unbridged = sum(1 for c in dialer.calls.values() if not c.agent_name)
                states = collections.Counter((a.status, a.state) for a in dialer.agents.values())
            if args.verbose:
                print(
                    f"t={time.monotonic() - t0:.0f} orig={dialer.stats.originates} "
                    f"held={len(dialer._held)} in_flight={in_flight} "
                    f"without_agent={unbridged} free_agents={free} "
                    f"states={states.most_common(3)}",
                    flush=True,
                )
            samples.append(
                {
                    "t": time.monotonic() - t0,
                    "originates": dialer.stats.originates,
                    "events": dialer.stats.events,
                    "finished": dialer.stats.finished,
                    "in_flight": in_flight,
                    "load1": os.getloadavg()[0],
                }
            )
            stop_sampling.wait(1.0)

    load_before = load_average()
    try:
        dialer.start()
        if not dialer.conn.wait_connected(10):
            raise RuntimeError("the dialer did not connect to the simulator")
        time.sleep(1.0)  # reconcile: agents and tiers loaded
        with dialer.lock:
            free = sum(1 for a in dialer.agents.values() if a.free(time.time()))
            print(
                f"dialer sees {len(dialer.agents)} agents ({free} free), "
                f"{len(dialer.tiers.get(QUEUE, ()))} in the queue's tiers",
                flush=True,
            )
        threading.Thread(target=sampler, daemon=True).start()
        began = time.monotonic()
        deadline = began + args.timeout
        while time.monotonic() < deadline:
            if dialer.stats.originates >= args.calls and dialer.stats.finished >= args.calls:
                break
            time.sleep(0.2)
        wall = time.monotonic() - began
        # The database workers catch up: every Call row finished.
        db_deadline = time.monotonic() + 120
        while time.monotonic() < db_deadline:
            if not Call.objects.filter(campaign_id=campaign_id, result="pending").exists():
                break
            time.sleep(0.5)
        db_lag = time.monotonic() - began - wall
        close_old_connections()
        stop_sampling.set()
        esl_cpu = thread_cpu_seconds(dialer.conn._thread)
        load_after = load_average()
    finally:
        dialer.stop()
        sim.terminate()
        sim.wait(10)
    from django.db.models import Count

    results = dict(
        Call.objects.filter(campaign_id=campaign_id)
        .values_list("result")
        .annotate(n=Count("id"))
        .values_list("result", "n")
    )
    close_old_connections()
    out = {
        "samples": samples,
        "latencies": probe.latencies_ms(),
        "answer_lag": list(probe.answer_lag),
        "answers": len(probe.answer_at),
        "enqueues": len(probe.enqueue_at),
        "results": results,
        "wall": wall,
        "db_lag": db_lag,
        "esl_cpu": esl_cpu,
        "load_before": load_before,
        "load_after": load_after,
        "originates": dialer.stats.originates,
        "events": dialer.stats.events,
        "finished": dialer.stats.finished,
    }
    out["replay"] = replay(args, probe, campaign_id) if args.replay_rate else None
    return out


def per_second(samples: list[dict[str, float]], key: str) -> list[tuple[float, float]]:
    out = []
    for a, b in itertools.pairwise(samples):
        dt = b["t"] - a["t"]
        if dt > 0:
            out.append((b["t"], (b[key] - a[key]) / dt))
    return out


def sustained(series: list[tuple[float, float]], floor: float) -> tuple[float, float, int]:
    """The longest run of consecutive seconds at or above `floor`: (mean rate, seconds, n)."""
    best: list[float] = []
    cur: list[float] = []
    for _t, rate in series:
        if rate >= floor:
            cur.append(rate)
            if len(cur) > len(best):
                best = list(cur)
        else:
            cur = []
    return (statistics.fmean(best) if best else 0.0), float(len(best)), len(best)


def report(args: argparse.Namespace, r: dict[str, Any]) -> None:
    samples = r["samples"]
    orig = per_second(samples, "originates")
    ev = per_second(samples, "events")
    busy = [s for s in orig if s[1] > 0]
    lat = r["latencies"]
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average before: {r['load_before']}; after: {r['load_after']}")
    print(
        f"calls {args.calls}, rate cap {args.rate}/s, agents {args.agents}, talk {args.talk} s, "
        f"answer share {args.answer_share}; "
        f"done in {r['wall']:.1f} s"
    )
    print(f"originates sent: {r['originates']}; finished: {r['finished']}; rows: {r['results']}")
    o_mean, o_secs, _ = sustained(orig, 100.0)
    e_mean, e_secs, _ = sustained(ev, 5000.0)
    print(
        "originates/s per second: "
        + " ".join(f"{v:.0f}" for _t, v in orig)
        + f"\n  busy seconds {len(busy)}, mean {statistics.fmean(v for _t, v in busy):.1f}/s"
        f" (min {min(v for _t, v in busy):.0f}, max {max(v for _t, v in busy):.0f});"
        f" longest run >= 100/s: {o_secs:.0f} s at {o_mean:.1f}/s"
    )
    print(
        "events/s per second: "
        + " ".join(f"{v:.0f}" for _t, v in ev)
        + f"\n  total {r['events']}; peak {max(v for _t, v in ev):.0f}/s;"
        f" longest run >= 5000/s: {e_secs:.0f} s at {e_mean:.0f}/s"
    )
    if busy:
        span = [v for t, v in ev if busy[0][0] <= t <= busy[-1][0]]
        print(f"  mean while dialing: {statistics.fmean(span):.0f}/s")
    print(
        f"answer -> callcenter sent (ms), {len(lat)} calls of {r['answers']} answers: "
        f"p50 {pct(lat, 50):.2f}, p95 {pct(lat, 95):.2f}, p99 {pct(lat, 99):.2f}, "
        f"max {max(lat) if lat else float('nan'):.2f}"
    )
    lag = r["answer_lag"]
    print(
        f"CHANNEL_ANSWER delivery (simulator stamp -> dialer reads it, ms): "
        f"p50 {pct(lag, 50):.1f}, p99 {pct(lag, 99):.1f}, max {max(lag) if lag else 0:.1f}"
    )
    print(
        f"database caught up {r['db_lag']:.1f} s after the last hangup; ESL thread CPU "
        f"{r['esl_cpu']:.1f} s for {r['events']} events = "
        f"{r['esl_cpu'] / max(1, r['events']) * 1e6:.0f} us per event"
    )
    peak_flight = max((s["in_flight"] for s in samples), default=0)
    print(f"peak calls in flight: {peak_flight}")
    print("load average (1 min) per second: " + " ".join(f"{s['load1']:.1f}" for s in samples))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=8000)
    ap.add_argument("--rate", type=float, default=150.0, help="calls/s cap (node and gateway)")
    ap.add_argument("--agents", type=int, default=600)
    ap.add_argument("--talk", type=float, default=0.3, help="agent talk seconds")
    ap.add_argument(
        "--answer-share",
        type=float,
        default=0.3,
        help="share of leads that answer (in tenths); the others answer busy after 0.5 s",
    )
    ap.add_argument("--max-concurrent", type=int, default=2000)
    ap.add_argument("--timeout", type=float, default=180.0)
    ap.add_argument("--db", default="dialer_bench_h5")
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--workdir", default="")
    ap.add_argument(
        "--claim",
        choices=["batch", "one"],
        default="batch",
        help="request source with claim_many (batch) or claim only (one by one)",
    )
    ap.add_argument(
        "--replay-rate",
        type=float,
        default=6000.0,
        help="then replay the run's events at this rate (0: no replay)",
    )
    ap.add_argument("--switch-interval", type=float, default=0.0)
    ap.add_argument("--verbose", action="store_true", help="print the dialer's state every second")
    args = ap.parse_args()
    tmp = None
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    if not args.workdir:
        tmp = tempfile.TemporaryDirectory(prefix="dialer_load_")
        args.workdir = tmp.name
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    try:
        r = run(args)
        report(args, r)
        if r["replay"] is not None:
            report_replay(args, r["replay"])
    finally:
        if not args.keep_db:
            drop_database(args.db)


if __name__ == "__main__":
    main()
