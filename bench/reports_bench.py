"""Benchmark: the reports over 1,000,000 calls.

    .venv/bin/python bench/reports_bench.py [--calls 1000000] [--runs 7] [--skip-load]

Uses the throwaway database dialer_bench_reports on 127.0.0.1 (created if missing, migrated,
its dialer tables emptied), bulk-loads campaigns, agents, 200,000 leads and the calls with COPY
(30 days, 08:00-20:00 New York time), then measures, each phase in its own process so its
memory is its own:

* export: /reports/activity/export.csv of every call through the Django test client, streamed;
  time and RSS every 100,000 rows and at the end (issue 7: <= 30 s, memory flat);
* activity: /reports/activity/ first page, a deep page (cursor after 500,000 rows) and filtered
  pages; median of --runs (issue 7: <= 300 ms);
* dashboard: /reports/ over all 30 days (every call) and over one day; median of --runs
  (issue 7: <= 1 s).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "dialer_bench_reports"
DB_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
NY = ZoneInfo("America/New_York")
FIRST_DAY = datetime(2026, 10, 20, tzinfo=NY)
DAYS = 30
LEADS = 200_000
AGENTS = 40
CAMPAIGNS = [
    ("Spring renewals", "progressive"),
    ("Win-back", "predictive"),
    ("Survey follow-up", "preview"),
    ("Upsell Q4", "progressive"),
    ("Payment reminders", "progressive"),
    ("Event invites", "push_preview"),
    ("Lapsed donors", "predictive"),
    ("Welcome calls", "progressive"),
]


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def setup_django() -> None:
    os.environ["DATABASE_URL"] = DB_URL
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("CONN_MAX_AGE", "0")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def ensure_database() -> None:
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        exists = c.execute("select 1 from pg_database where datname = %s", [DB_NAME]).fetchone()
        if not exists:
            c.execute(f"create database {DB_NAME}")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": DB_URL, "SECRET_KEY": "bench-only"},
        check=True,
    )


def _copy(cursor, table: str, columns: list[str], lines) -> None:  # type: ignore[no-untyped-def]
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        buffer = io.StringIO()
        for line in lines:
            buffer.write(line)
            if buffer.tell() > 1 << 20:
                copy.write(buffer.getvalue())
                buffer.seek(0)
                buffer.truncate()
        copy.write(buffer.getvalue())


def load(calls: int) -> dict[str, float]:
    """Campaigns, agents, dispositions by the ORM; leads and calls by COPY."""
    setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from agents.models import Agent, Disposition, Queue
    from campaigns.models import Campaign

    started = time.perf_counter()
    with connection.cursor() as c:
        c.execute(
            "TRUNCATE dialer_call, leads_leadevent, leads_lead, campaigns_campaign, "
            "agents_disposition, agents_tier, agents_agent, agents_queue CASCADE"
        )
    User = get_user_model()
    User.objects.filter(username__startswith="bench_").delete()
    queue = Queue.objects.create(name="sales@default")
    campaigns = [Campaign.objects.create(name=n, type=t, queue=queue) for n, t in CAMPAIGNS]
    dispositions = [
        Disposition.objects.create(queue=queue, code=c, label=label, outcome="successful")
        for c, label in [("sale", "Sale"), ("no", "Not interested"), ("later", "Call back")]
    ]
    first = ["Ada", "Grace", "Alan", "Zoë", "José", "Mary", "Linus", "Barbara", "Ken", "Edsger"]
    last = ["Lovelace", "Hopper", "Turing", "Müller", "García", "Smith", "O'Brien", "Nakamura"]
    agents = []
    for i in range(AGENTS):
        user = User.objects.create_user(
            f"bench_agent{i}", first_name=first[i % 10], last_name=last[i % 8]
        )
        agents.append(
            Agent.objects.create(
                user=user,
                name=f"{2000 + i}@default",
                extension=str(2000 + i),
                contact=f"user/{2000 + i}",
            )
        )
    User.objects.create_superuser("bench_admin", password="bench")

    now = datetime(2026, 11, 19, tzinfo=UTC).isoformat()
    lead_columns = [
        "campaign_id", "number", "first_name", "last_name", "priority", "ticket_id", "note",
        "lead_type", "skill", "extension", "crm_data", "timezone", "timezones", "state",
        "attempts", "next_dial_at", "dial_cycle", "last_result", "not_dialable_reason",
        "created_at", "updated_at", "window_held",
    ]  # fmt: skip
    states = ["new", "cooloff", "cooloff", "success", "failed", "voicemail", "retry"]

    def lead_lines():  # type: ignore[no-untyped-def]
        for i in range(LEADS):
            yield (
                f"{campaigns[i % len(campaigns)].pk}\t+1202{2000000 + i:07d}\t{first[i % 10]}\t"
                f"{last[i % 8]}\t0\t\t\t\t\t\t{{}}\tAmerica/New_York\t[]\t{states[i % 7]}\t"
                f"{i % 3}\t{now}\t0\t\t\t{now}\t{now}\tf\n"
            )

    with connection.cursor() as c:
        _copy(c.cursor, "leads_lead", lead_columns, lead_lines())
        c.execute("select id, campaign_id, number from leads_lead order by id")
        leads = c.fetchall()
    lead_seconds = time.perf_counter() - started

    call_columns = [
        "uuid", "campaign_id", "lead_id", "attempt", "node", "number", "caller_id_number",
        "caller_id_name", "requested_at", "dialed_at", "ringing_at", "answered_at",
        "agent_answered_at", "hangup_at", "result", "hangup_cause", "amd_result", "agent_id",
        "agent_name", "agent_extension", "ring_seconds", "talk_seconds",
        "customer_wait_seconds", "customer_wait_sla_met", "agent_sla_met", "disposition_id",
    ]  # fmt: skip
    progressive = {c.pk for c in campaigns if c.type == "progressive"}
    rng = random.Random(7)
    day_starts = [(FIRST_DAY + timedelta(days=d)).astimezone(UTC) for d in range(DAYS)]
    agent_cells = [(a.pk, a.display_name, a.extension) for a in agents]
    n = r"\N"

    def call_lines():  # type: ignore[no-untyped-def]
        for i in range(calls):
            lead_id, campaign_id, number = leads[rng.randrange(len(leads))]
            at = day_starts[i * DAYS // calls] + timedelta(
                seconds=8 * 3600 + rng.randrange(12 * 3600)
            )
            roll = rng.random()
            ring = round(rng.uniform(3, 28), 1)
            rang = True
            answered = agent_at = None
            agent = ("", n, "", "")
            talk = wait = wait_sla = agent_sla = disposition = n
            amd = ""
            if roll < 0.40:
                result, cause = "connected", "NORMAL_CLEARING"
                answered = at + timedelta(seconds=ring + 1)
                w = round(rng.uniform(0.5, 6), 1)
                agent_at = answered + timedelta(seconds=w)
                aid, aname, aext = agent_cells[rng.randrange(AGENTS)]
                agent = ("", str(aid), aname, aext)
                talk, wait = str(rng.randrange(20, 420)), str(w)
                disposition = str(dispositions[i % 3].pk)
                if campaign_id in progressive:
                    wait_sla = "t" if w <= 3 else "f"
                    agent_sla = "t" if rng.random() < 0.9 else "f"
            elif roll < 0.45:
                result, cause = "abandoned", "NORMAL_CLEARING"
                answered = at + timedelta(seconds=ring + 1)
                wait = str(round(rng.uniform(8, 40), 1))
            elif roll < 0.58:
                result, cause, amd = "voicemail", "NORMAL_CLEARING", "MACHINE"
                answered = at + timedelta(seconds=ring + 1)
            elif roll < 0.85:
                result, cause = "no_answer", "NO_ANSWER"
            elif roll < 0.95:
                result, cause, rang = "busy", "USER_BUSY", False
            else:
                result, cause, rang = "invalid", "UNALLOCATED_NUMBER", False
            hangup = at + timedelta(seconds=40 + (int(talk) if talk != n else 0))
            yield (
                "\t".join(
                    (
                        str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        str(campaign_id),
                        str(lead_id),
                        "1",
                        "fs1",
                        number,
                        "+12025550100",
                        "Acme Sales",
                        at.isoformat(),
                        (at + timedelta(seconds=1)).isoformat(),
                        (at + timedelta(seconds=2)).isoformat() if rang else n,
                        answered.isoformat() if answered else n,
                        agent_at.isoformat() if agent_at else n,
                        hangup.isoformat(),
                        result,
                        cause,
                        amd,
                        agent[1],
                        agent[2],
                        agent[3],
                        str(ring) if rang else n,
                        talk,
                        wait,
                        wait_sla,
                        agent_sla,
                        disposition,
                    )
                )
                + "\n"
            )

    copy_started = time.perf_counter()
    with connection.cursor() as c:
        _copy(c.cursor, "dialer_call", call_columns, call_lines())
    copy_seconds = time.perf_counter() - copy_started
    with connection.cursor() as c:
        c.execute("VACUUM ANALYZE dialer_call")
        c.execute("ANALYZE leads_lead")
    return {
        "leads_seconds": round(lead_seconds, 1),
        "calls_copy_seconds": round(copy_seconds, 1),
        "total_seconds": round(time.perf_counter() - started, 1),
    }


def _client():  # type: ignore[no-untyped-def]
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench_admin"))
    return client


def phase_export() -> dict[str, object]:
    setup_django()
    client = _client()
    started = time.perf_counter()
    response = client.get("/reports/activity/export.csv")
    assert response.status_code == 200, response.status_code
    rows = -1  # the header line
    first_byte = None
    size = 0
    rss_start = rss_mb()
    load_before = os.getloadavg()[0]
    # (rows so far, seconds so far, RSS MB) every 100,000 rows: flat memory means the RSS at
    # 900,000 rows is no higher than at 100,000.
    samples: list[tuple[int, float, float]] = []
    next_sample = 100_000
    for chunk in response.streaming_content:
        if first_byte is None:
            first_byte = time.perf_counter() - started
        rows += chunk.count(b"\n")
        size += len(chunk)
        if rows >= next_sample:
            samples.append((rows, round(time.perf_counter() - started, 1), round(rss_mb(), 1)))
            next_sample += 100_000
    return {
        "rows": rows,
        "megabytes": round(size / 1e6, 1),
        "seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds": round(sum(os.times()[:2]), 1),
        "first_byte_seconds": round(first_byte or 0, 2),
        "rss_start_mb": round(rss_start, 1),
        "rss_samples": samples,
        "rss_at_end_mb": round(rss_mb(), 1),
        "load_average_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }


def _median_ms(client, url: str, runs: int) -> float:  # type: ignore[no-untyped-def]
    client.get(url)  # warm: connection, templates, plan cache
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def phase_pages(runs: int) -> dict[str, object]:
    setup_django()
    from dialer.models import Call
    from reports.selectors import Cursor

    client = _client()
    middle = min(500_000, Call.objects.count() // 2)
    deep = Call.objects.order_by("-requested_at", "-id").values_list("requested_at", "id")[middle]
    cursor = Cursor(requested_at=deep[0], id=deep[1]).encode()
    campaign_id = Call.objects.values_list("campaign_id", flat=True).first()
    agent_id = Call.objects.exclude(agent=None).values_list("agent_id", flat=True).first()
    disposition_id = (
        Call.objects.exclude(disposition=None).values_list("disposition_id", flat=True).first()
    )
    last_day = (FIRST_DAY + timedelta(days=DAYS - 1)).date().isoformat()
    first_day = FIRST_DAY.date().isoformat()
    urls = {
        "activity: first page": "/reports/activity/",
        "activity: page after 500,000 rows": f"/reports/activity/?after={cursor}",
        "activity: one campaign": f"/reports/activity/?campaign={campaign_id}",
        "activity: one agent": f"/reports/activity/?agent={agent_id}",
        "activity: result = invalid (5 %)": "/reports/activity/?result=invalid",
        # Filters that match few or no rows: the page must not walk the whole index to say so.
        "activity: result = pending (no rows)": "/reports/activity/?result=pending",
        "activity: one agent, abandoned (no rows)": (
            f"/reports/activity/?agent={agent_id}&result=abandoned"
        ),
        "activity: one disposition": f"/reports/activity/?disposition={disposition_id}",
        "activity: one day, one campaign": (
            f"/reports/activity/?date_from={last_day}&date_to={last_day}&campaign={campaign_id}"
        ),
        "dashboard: all 30 days (every call)": (
            f"/reports/?date_from={first_day}&date_to={last_day}"
        ),
        "dashboard: all 30 days, one campaign": (
            f"/reports/?date_from={first_day}&date_to={last_day}&campaign={campaign_id}"
        ),
        "dashboard: one day": f"/reports/?date_from={last_day}&date_to={last_day}",
        "leads status page": "/reports/leads/",
    }
    load_before = os.getloadavg()[0]
    medians: dict[str, object] = {name: _median_ms(client, url, runs) for name, url in urls.items()}
    medians["load_average_1min"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    return medians


def run_phase(args: list[str]) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, *args],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--phase", choices=["load", "export", "pages"])
    args = parser.parse_args()
    if args.phase == "load":
        print(json.dumps(load(args.calls)))
        return
    if args.phase == "export":
        print(json.dumps(phase_export()))
        return
    if args.phase == "pages":
        print(json.dumps(phase_pages(args.runs)))
        return

    results: dict[str, object] = {
        "machine": f"{os.cpu_count()} cores, {platform.platform()}, "
        f"Python {platform.python_version()}",
    }
    if not args.skip_load:
        ensure_database()
        results["load"] = run_phase(["--phase", "load", "--calls", str(args.calls)])
        print("load", results["load"], flush=True)
    results["export"] = run_phase(["--phase", "export"])
    print("export", results["export"], flush=True)
    results["pages_ms"] = run_phase(["--phase", "pages", "--runs", str(args.runs)])
    print("pages (median ms)", json.dumps(results["pages_ms"], indent=1), flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
