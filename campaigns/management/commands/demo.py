"""`python manage.py demo`: migrate (SQLite by default), load the demo data, collect static
files, print the logins and serve the back office on http://127.0.0.1:8000.

Every long-running piece of the demo is a child process in `demo_processes()`; the web server
is one of them. Add the FreeSWITCH simulator, Celery and the dialer there. The command waits
until one of them ends (or Ctrl-C) and then stops the others.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


@dataclass(frozen=True)
class Child:
    name: str
    argv: list[str]


def demo_processes(addr: str) -> list[Child]:
    """The demo's long-running processes, started in this order."""
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    return [
        Child("web", [*manage, "runserver", "--noreload", addr]),
    ]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Set up and run the demo: migrate, load demo data, collect static, serve."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="host:port to serve on")
        parser.add_argument("--password", help="password of the demo users (default: random)")
        parser.add_argument(
            "--no-serve", action="store_true", help="prepare everything, start nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # The SQLite file and the filesystem broker live under var/ (not in git).
        (Path(settings.BASE_DIR) / "var").mkdir(exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        demo_args = ["--password", options["password"]] if options["password"] else []
        call_command("load_demo_data", *demo_args, stdout=self.stdout)
        call_command("collectstatic", interactive=False, verbosity=0)
        addr = options["addr"]
        self.stdout.write(
            self.style.SUCCESS(
                f"\nBack office: http://{addr}/  (sign in as admin with the password above)\n"
                f"Admin:       http://{addr}/admin/\n"
            )
        )
        if options["no_serve"]:
            return
        self._run(demo_processes(addr))

    def _run(self, children: list[Child]) -> None:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
        # A plain `kill` of the demo stops its children too, like Ctrl-C.
        signal.signal(signal.SIGTERM, _interrupt)
        running: list[tuple[Child, subprocess.Popen[bytes]]] = []
        try:
            for child in children:
                self.stdout.write(f"Starting {child.name}: {' '.join(child.argv[1:])}")
                running.append((child, subprocess.Popen(child.argv, env=env)))  # noqa: S603
            self.stdout.write("Press Ctrl-C to stop the demo.")
            while all(proc.poll() is None for _child, proc in running):
                time.sleep(0.5)
            for child, proc in running:
                if proc.returncode is not None:
                    self.stderr.write(f"{child.name} exited with status {proc.returncode}.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping the demo …")
        finally:
            for _child, proc in reversed(running):
                if proc.poll() is None:
                    proc.terminate()
            for _child, proc in reversed(running):
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
