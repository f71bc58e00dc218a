"""Benchmark: how long from a desk change to the agent's browser knowing it (issue 6: 300 ms).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dialer_bench_desktop \\
    REDIS_URL=redis://127.0.0.1:6379/8 .venv/bin/python bench/desktop_push.py [--rounds 200]

Migrates the given (throwaway) database, serves the app with Django's threaded WSGI server on
127.0.0.1, opens the agent's event stream over HTTP like EventSource does, then repeats: a
service changes the desk (the dialer's `desk_event("bridged")` and `("ended")` alternately:
a card appears / wrap-up starts) and commits; we time (a) until the `changed` event arrives on
the stream, (b) until the page's follow-up GET /desktop/panels/ has returned the new panels.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application
    from django.test import Client
    from django.utils import timezone

    from agents.desktop import dialer_bridge, services
    from agents.models import Agent, Queue
    from campaigns.models import Campaign
    from dialer.models import Call
    from leads.models import Lead

    call_command("migrate", verbosity=0)
    dialer_bridge.fs_api = lambda command: "+OK"  # no FreeSWITCH needed for this measure
    user, _ = get_user_model().objects.get_or_create(username="bench_agent")
    queue, _ = Queue.objects.get_or_create(name="bench@default")
    agent, _ = Agent.objects.get_or_create(
        user=user, defaults={"name": "9001@default", "extension": "9001", "contact": "user/9001"}
    )
    agent.tiers.get_or_create(queue=queue)
    campaign, _ = Campaign.objects.get_or_create(name="Bench desktop", defaults={"queue": queue})
    now = timezone.now()
    lead, _ = Lead.objects.get_or_create(
        campaign=campaign,
        number="+12025550999",
        defaults={
            "first_name": "Bench",
            "timezone": "America/New_York",
            "timezones": ["America/New_York"],
            "created_at": now,
            "next_dial_at": now,
            "state": "dialing",
        },
    )
    call = Call.objects.create(
        campaign=campaign, lead=lead, attempt=1, number=lead.number, requested_at=now
    )
    services.agent_login(agent=agent, now=now)
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]

    stream = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    stream.request("GET", "/desktop/events/", headers={"Cookie": cookie})
    response = stream.getresponse()
    assert response.status == 200, response.status

    def next_event() -> str:
        lines = []
        while True:
            line = response.fp.readline().decode()
            if line == "\n":
                if lines and not all(ln.startswith(":") for ln in lines):
                    return "".join(lines)
                lines = []
                continue
            lines.append(line)

    assert "hello" in next_event()
    panels = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    to_event: list[float] = []
    to_panels: list[float] = []
    for i in range(args.rounds):
        event = "bridged" if i % 2 == 0 else "ended"
        if event == "bridged":
            services.desk_for(agent).__class__.objects.filter(agent=agent).update(
                call_state="idle", call=None
            )
        t0 = time.perf_counter()
        services.desk_event(
            event=event, call_uuid=str(call.uuid), agent_name=agent.name, now=timezone.now()
        )
        text = next_event()
        t1 = time.perf_counter()
        assert "changed" in text, text
        panels.request("GET", "/desktop/panels/", headers={"Cookie": cookie})
        body = panels.getresponse().read()
        t2 = time.perf_counter()
        assert b"lead-card" in body or b"wrap" in body
        to_event.append((t1 - t0) * 1000)
        to_panels.append((t2 - t0) * 1000)
    server.shutdown()

    def line(name: str, values: list[float]) -> str:
        values = sorted(values)
        p95 = values[int(len(values) * 0.95) - 1]
        return f"| {name} | {statistics.median(values):.1f} | {p95:.1f} | {values[-1]:.1f} |"

    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs; rounds: {args.rounds}")
    print("| from the committed desk change to … | median ms | p95 ms | max ms |")
    print("|---|---|---|---|")
    print(line("the `changed` event on the stream", to_event))
    print(line("the new panels fetched", to_panels))


if __name__ == "__main__":
    main()
