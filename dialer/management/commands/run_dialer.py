"""`python manage.py run_dialer`: the dialer daemon for one FreeSWITCH node.

Run one per node (DIALER_NODE names it, ESL_HOST/ESL_PORT/ESL_PASSWORD reach it). It consumes
the selector's dial requests, places the calls and follows them to the end. SIGTERM drains:
no new dials, calls in progress end normally, then the process exits.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from dialer.daemon import Dialer, default_request_source


class Command(BaseCommand):
    help = "Run the dialer daemon for one FreeSWITCH node."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--node", default=settings.DIALER_NODE)
        parser.add_argument("--host", default=settings.ESL_HOST)
        parser.add_argument("--port", type=int, default=settings.ESL_PORT)
        parser.add_argument("--gateway", default=settings.DIALER_GATEWAY)
        parser.add_argument("--drain-timeout", type=float, default=60.0)

    def handle(self, *args: Any, **options: Any) -> None:
        logging.getLogger("dialer").setLevel(logging.INFO)
        node = options["node"]
        dialer = Dialer(
            host=options["host"],
            port=options["port"],
            node=node,
            gateway=options["gateway"],
            requests=default_request_source(f"dialer-{node}"),
        )
        done = dialer.install_signal_handlers(options["drain_timeout"])
        dialer.start()
        where = f"{options['host']}:{options['port']}"
        self.stdout.write(f"Dialer for node {node} running (ESL {where}).")
        while not done.wait(1.0):
            pass
        self.stdout.write("Dialer stopped.")
