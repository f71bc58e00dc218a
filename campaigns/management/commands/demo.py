"""`python manage.py demo`: the whole dialer on one machine, with nothing to install but Redis.

It migrates the database (SQLite by default), loads the demo data (`load_demo_data --start`:
the Progressive campaign runs), collects static files, prints the logins and runs every piece
of the system as a child process (`demo_processes()`):

- `redis` — only when nothing answers at REDIS_URL: a private `redis-server` on 127.0.0.1
  (port 6390 by default), no persistence, its files under var/demo/redis; every child uses it;
- `simulator` — the FreeSWITCH simulator (`python -m freeswitch.simulator`) on a free loopback
  port, statistical mode with a fixed seed, its mod_callcenter queue, agents and tiers
  written from the database (`export_callcenter_config`) to var/demo/callcenter.conf.xml
  with the demo agents Available, and simulated agent phones that answer;
- `web` — the back office on http://127.0.0.1:8000 (runserver);
- `celery` — a Celery worker with beat in one process (the lead selector ticks every second;
  the filesystem broker under var/broker);
- `dialer` — `manage.py run_dialer` connected to the simulator;
- `agents` — the simulated agents' hands (`demo --simulate-agents`): a disposition for every
  call in wrap-up, as an agent at the desktop would, so the agents take the next call.

The command waits until one child ends (or Ctrl-C, or SIGTERM) and then stops every other.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

SIMULATOR_SEED = 20261202
DEMO_REDIS_PORT = 6390
DEMO_NODE = "demo"
# The far ends of the demo's calls (docs/simulator.md, statistical mode), in real seconds.
SCENARIO: dict[str, Any] = {
    "statistical": {
        "answer_probability": 0.7,
        "busy_probability": 0.1,
        "invalid_probability": 0.03,
        "voicemail_share": 0.15,
        "ring_time": {"dist": "lognormal", "mean": 5, "sigma": 0.4, "max": 20},
        "talk_time": {"dist": "lognormal", "mean": 20, "sigma": 0.5, "max": 90},
        "machine_time": 8,
    },
    "agents": {"default": {"action": "answer", "ring": 1, "answer_after": 1, "talk": None}},
}
# What the simulated agents choose, by weight (codes of load_demo_data.DISPOSITIONS).
AGENT_CHOICES = [("sale", 4), ("not_interested", 4), ("call_back", 2), ("voicemail", 1)]


@dataclass(frozen=True)
class Child:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


def var_dir() -> Path:
    return Path(settings.BASE_DIR) / "var"


def demo_dir() -> Path:
    return var_dir() / "demo"


def demo_processes(addr: str, *, esl_port: int, redis: Child | None = None) -> list[Child]:
    """The demo's long-running processes, started in this order (stopped in reverse)."""
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    files = demo_dir()
    # The simulator takes the password the dialer uses (ESL_PASSWORD, ClueCon by default).
    esl = {"ESL_HOST": "127.0.0.1", "ESL_PORT": str(esl_port)}
    children = [redis] if redis is not None else []
    children += [
        Child(
            "simulator",
            [
                sys.executable,
                "-m",
                "freeswitch.simulator",
                "--host=127.0.0.1",
                f"--port={esl_port}",
                f"--password={settings.ESL_PASSWORD}",
                f"--scenario={files / 'scenario.json'}",
                f"--callcenter-config={files / 'callcenter.conf.xml'}",
                f"--seed={SIMULATOR_SEED}",
            ],
        ),
        # Every process that tells mod_callcenter an agent's status (the desktop's Ready, the
        # desk's clock ending a wrap-up, the simulated agents) must reach the simulator too.
        Child("web", [*manage, "runserver", "--noreload", addr], env=esl),
        Child(
            "celery",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-B",
                "--pool=solo",
                "--loglevel=WARNING",  # INFO logs two lines per tick, every second
                f"--schedule={files / 'celerybeat-schedule'}",
                "--hostname=demo@%h",
                "--without-mingle",
                "--without-gossip",
            ],
            env=esl,
        ),
        Child(
            "dialer",
            [*manage, "run_dialer", f"--node={DEMO_NODE}", "--drain-timeout=5"],
            env={**esl, "DIALER_NODE": DEMO_NODE},
        ),
        Child("agents", [*manage, "demo", "--simulate-agents"], env=esl),
    ]
    return children


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _interrupt_once(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if the demo itself dies (Linux)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def use_redis(url: str) -> None:
    """Point this process and every child started later at `url`."""
    from dialer import redisconn

    os.environ["REDIS_URL"] = url
    settings.REDIS_URL = url
    redisconn._client = None


def write_simulator_files() -> None:
    """The simulator's scenario and callcenter.conf.xml (from the database) under var/demo."""
    files = demo_dir()
    files.mkdir(parents=True, exist_ok=True)
    (files / "scenario.json").write_text(json.dumps(SCENARIO, indent=2), encoding="utf-8")
    # (Its --stdout flag means "print instead of writing": pass no stdout= here.)
    call_command("export_callcenter_config", output=str(files / "callcenter.conf.xml"))


def agents_ready(now: Any) -> None:
    """The demo agents logged in, Available and idle (as after a fresh login); calls a
    previous demo run left unfinished are closed and their leads retry."""
    from agents.models import Agent, AgentDesk, AgentStatus, DeskCallState
    from dialer.calls import call_lost
    from dialer.models import Call, CallResult

    for call_uuid in Call.objects.filter(result=CallResult.PENDING).values_list("uuid", flat=True):
        call_lost(call_uuid=str(call_uuid), now=now, reason="DEMO_RESTART")
    Agent.objects.update(status=AgentStatus.AVAILABLE, break_reason="", status_changed_at=now)
    for agent in Agent.objects.all():
        AgentDesk.objects.update_or_create(
            agent=agent,
            defaults={
                "call_state": DeskCallState.IDLE,
                "call_state_since": now,
                "lead": None,
                "call": None,
                "card_expires_at": None,
                "wrap_up_until": None,
                "ready_after_wrap_up": True,
                "logged_in_at": now,
                "logout_requested_at": None,
                "logout_authorized_at": None,
            },
        )


def simulate_agents(stdout: Any, *, seed: int = SIMULATOR_SEED, poll: float = 1.0) -> None:
    """The simulated agents' hands: a few seconds into wrap-up, a disposition for the call."""
    from django.db import close_old_connections

    from agents.desktop.services import DesktopError, agent_set_disposition
    from agents.models import AgentDesk, DeskCallState, Disposition

    rng = random.Random(seed)
    codes = [code for code, _ in AGENT_CHOICES]
    weights = [w for _, w in AGENT_CHOICES]
    stdout.write("Simulated agents: a disposition for every call in wrap-up.")
    while True:
        time.sleep(poll)
        close_old_connections()
        now = timezone.now()
        desks = AgentDesk.objects.filter(
            call_state=DeskCallState.WRAP_UP,
            call__disposition=None,
            call_state_since__lte=now - timedelta(seconds=3),
        ).select_related("agent__user", "call__campaign", "call__lead")
        for desk in desks:
            call = desk.call
            if call is None:
                continue
            code = rng.choices(codes, weights)[0]
            callback_at = None
            if code == "call_back":
                callback_at = now + timedelta(hours=rng.choice([2, 4, 24]))
            try:
                disposition = Disposition.objects.get(queue=call.campaign.queue, code=code)
                agent_set_disposition(
                    agent=desk.agent,
                    call=call,
                    disposition=disposition,
                    now=now,
                    callback_at=callback_at,
                )
            except (DesktopError, Disposition.DoesNotExist) as exc:
                stdout.write(f"{desk.agent.name}: {code} refused ({exc}); not interested instead")
                with contextlib.suppress(DesktopError, Disposition.DoesNotExist):
                    agent_set_disposition(
                        agent=desk.agent,
                        call=call,
                        disposition=Disposition.objects.get(
                            queue=call.campaign.queue, code="not_interested"
                        ),
                        now=now,
                    )
                continue
            stdout.write(f"{desk.agent.name}: {code} for {call.lead.full_name} ({call.number})")


class Command(BaseCommand):
    help = "Set up and run the whole demo: web, Celery, the dialer and the FreeSWITCH simulator."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="host:port to serve on")
        parser.add_argument("--password", help="password of the demo users (default: random)")
        parser.add_argument(
            "--no-serve", action="store_true", help="prepare everything, start nothing"
        )
        parser.add_argument(
            "--redis-port",
            type=int,
            default=DEMO_REDIS_PORT,
            help="port of the private redis-server started when none answers at REDIS_URL",
        )
        parser.add_argument(
            "--simulate-agents", action="store_true", help="(a demo child) the agents' hands"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["simulate_agents"]:
            # Ctrl-C reaches this child with the whole process group, then the demo's own
            # SIGTERM follows: stop on the first, quietly, whichever it is.
            with contextlib.suppress(KeyboardInterrupt):
                signal.signal(signal.SIGTERM, _interrupt_once)
                signal.signal(signal.SIGINT, _interrupt_once)
                simulate_agents(self.stdout)
            return
        # The SQLite file, the filesystem broker and the simulator's files live under var/.
        for folder in ("broker", "broker-processed", "demo"):
            (var_dir() / folder).mkdir(parents=True, exist_ok=True)
        # Ctrl-C and a plain `kill` stop the children too (SIGINT even when started from a
        # shell that ignores it, e.g. in the background).
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, _interrupt)
        self.running: list[tuple[Child, subprocess.Popen[bytes]]] = []
        try:
            redis = self._redis(options["redis_port"])
            call_command("migrate", interactive=False, verbosity=0)
            self.stdout.write("Database migrated.")
            demo_args = ["--start"]
            if options["password"]:
                demo_args += ["--password", options["password"]]
            call_command("load_demo_data", *demo_args, stdout=self.stdout)
            call_command("collectstatic", interactive=False, verbosity=0)
            agents_ready(timezone.now())
            write_simulator_files()
            addr = options["addr"]
            self.stdout.write(
                self.style.SUCCESS(
                    f"\nBack office: http://{addr}/  (sign in as admin with the password above)\n"
                    f"Leads:       http://{addr}/reports/leads/\n"
                    f"Admin:       http://{addr}/admin/\n"
                )
            )
            if options["no_serve"]:
                return
            self._run(demo_processes(addr, esl_port=free_port(), redis=redis))
        except KeyboardInterrupt:
            self.stdout.write("\nStopping the demo …")
        finally:
            self._stop()

    def _redis(self, port: int) -> Child | None:
        """Use the Redis at REDIS_URL if it answers; else start a private one (first child)."""
        if redis_answers(settings.REDIS_URL):
            self.stdout.write(f"Redis: {settings.REDIS_URL}")
            return None
        server = shutil.which("redis-server")
        if server is None:
            raise CommandError(
                f"No Redis answers at {settings.REDIS_URL} and redis-server is not installed: "
                "install it (scripts/ensure_redis.sh, or `make demo` does it) or set REDIS_URL."
            )
        folder = demo_dir() / "redis"
        folder.mkdir(parents=True, exist_ok=True)
        child = Child(
            "redis",
            [
                server,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(folder),
                "--logfile",
                str(folder / "redis.log"),
            ],
        )
        url = f"redis://127.0.0.1:{port}/0"
        if _port_answers(port):
            raise CommandError(f"Port {port} is taken by something else: use --redis-port.")
        self._start(child)
        for _ in range(50):
            if redis_answers(url):
                break
            time.sleep(0.1)
        else:
            raise CommandError(f"the private redis-server did not answer at {url}")
        use_redis(url)
        self.stdout.write(f"Redis: private redis-server at {url} (no persistence)")
        return child

    def _start(self, child: Child) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONUNBUFFERED": "1",  # the children's lines appear as they happen
            **child.env,
        }
        self.stdout.write(f"Starting {child.name}: {' '.join(child.argv[1:])}")
        proc = subprocess.Popen(  # noqa: S603
            child.argv,
            env=env,
            cwd=settings.BASE_DIR,
            preexec_fn=_die_with_parent,
            # Ctrl-C reaches the terminal's whole process group: each child has a session of
            # its own, so only this command gets it and stops them in order (_stop).
            start_new_session=True,
        )
        self.running.append((child, proc))
        return proc

    def _run(self, children: list[Child]) -> None:
        started = {child.name for child, _proc in self.running}
        for child in children:
            if child.name in started:
                continue
            proc = self._start(child)
            if child.name == "simulator":
                self._wait_for_simulator(child, proc)
        self.stdout.write("Press Ctrl-C to stop the demo.")
        while all(proc.poll() is None for _child, proc in self.running):
            time.sleep(0.5)
        for child, proc in self.running:
            if proc.returncode is not None:
                self.stderr.write(f"{child.name} exited with status {proc.returncode}.")

    def _wait_for_simulator(self, child: Child, proc: subprocess.Popen[bytes]) -> None:
        port = int(next(a for a in child.argv if a.startswith("--port=")).split("=", 1)[1])
        for _ in range(100):
            if _port_answers(port) or proc.poll() is not None:
                return
            time.sleep(0.1)

    def _stop(self) -> None:
        """Stop the children one by one in reverse order (the dialer drains while the
        simulator and Redis still answer; Redis last); SIGKILL one that takes over 15 s."""
        for child, proc in reversed(getattr(self, "running", [])):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{child.name} did not stop: killed.")
                proc.kill()
                proc.wait()
        if getattr(self, "running", []):
            self.stdout.write("Demo stopped.")
