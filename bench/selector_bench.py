"""Lead selector benchmark (issue 3): select and lock 100 leads in a 1,000,000-lead campaign
and in a 10,000-lead one, a tick over 50 running campaigns, and the EXPLAIN plan.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dialer_bench_selector \\
    REDIS_URL=redis://127.0.0.1:6379/9 .venv/bin/python bench/selector_bench.py [--write-docs]

The database is created (and its tables replaced) by the script: point it at a throwaway one.
Leads: 30 % cool-off (due later), 10 % failed, 5 % successful, the rest new or retry and due;
priorities 0-9; New York, Chicago and Los Angeles numbers. The clock is set to a weekday
13:00 New York time, when every zone's legal hours are open.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dialer_bench_selector")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")

NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)  # Wednesday 13:00 in New York
ZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles"]


def ensure_database() -> None:
    import psycopg
    from django.conf import settings

    name = settings.DATABASES["default"]["NAME"]
    with psycopg.connect(
        host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def load_leads(campaign_id: int, n: int, seed: int) -> None:
    """COPY n leads with the benchmark's status mix into the campaign."""
    from django.db import connection

    rng = random.Random(seed)
    buf = io.StringIO()
    for i in range(n):
        r = rng.random()
        if r < 0.30:
            state, next_at = "cooloff", NOW + timedelta(seconds=rng.randint(60, 7200))
        elif r < 0.40:
            state, next_at = "failed", NOW - timedelta(days=1)
        elif r < 0.45:
            state, next_at = "success", NOW - timedelta(days=1)
        else:
            state = "new" if r < 0.85 else "retry"
            next_at = NOW - timedelta(seconds=rng.randint(0, 86400))
        zone = ZONES[i % 3]
        buf.write(
            f"{campaign_id}\t+1{2025550000 + i:010d}\tLead\t\t{rng.randint(0, 9)}\t\t\t\t\t\t"
            f'{{}}\t{zone}\t["{zone}"]\t{state}\t0\t{next_at.isoformat()}\t0\t\t\tf\t'
            f"{NOW.isoformat()}\t{NOW.isoformat()}\n"
        )
    columns = (
        "campaign_id, number, first_name, last_name, priority, ticket_id, note, lead_type, "
        "skill, extension, crm_data, timezone, timezones, state, attempts, next_dial_at, "
        "dial_cycle, last_result, not_dialable_reason, window_held, created_at, updated_at"
    )
    with (
        connection.cursor() as cur,
        cur.connection.cursor().copy(f"COPY leads_lead ({columns}) FROM STDIN") as copy,
    ):
        copy.write(buf.getvalue())
    # Autovacuum would do this on a real table: hint bits and the visibility map set, so the
    # timed rounds do not pay for the COPY's first reads.
    with connection.cursor() as cur:
        cur.execute("VACUUM (ANALYZE) leads_lead")


def make_campaign(name: str, leads: int, seed: int):  # type: ignore[no-untyped-def]
    from agents.models import Queue
    from campaigns.models import Campaign

    queue, _ = Queue.objects.get_or_create(name=f"{name}@default")
    campaign = Campaign.objects.create(
        name=name, queue=queue, run_status="running", type="progressive"
    )
    load_leads(campaign.pk, leads, seed)
    return campaign


def time_selection(campaign, rounds: int) -> list[float]:  # type: ignore[no-untyped-def]
    from dialer import selector

    rules = selector.build_rules(campaign)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        calls = selector.select_for_dialing(campaign, now=NOW, limit=100, rules=rules)
        times.append((time.perf_counter() - t0) * 1000)
        assert len(calls) == 100, len(calls)
    return times


class _Rollback(Exception):
    pass


def time_select_and_lock(campaign, rounds: int) -> list[float]:  # type: ignore[no-untyped-def]
    """The selection itself: candidates in index order, FOR UPDATE SKIP LOCKED, Do-Not-Call and
    window checks; rolled back so every round sees the same list."""
    from django.db import transaction

    from dialer import selector

    rules = selector.build_rules(campaign)
    times = []
    for _ in range(rounds):
        # As a tick does: the campaign-callback probe only when the tick's facts show one due.
        callbacks_due = campaign.pk in selector.TickFacts.read(now=NOW).campaign_callbacks
        t0 = time.perf_counter()
        try:
            with transaction.atomic():
                taken = selector._take_eligible(
                    campaign,
                    now=NOW,
                    limit=100,
                    rules=rules,
                    cycle_pass=None,
                    callbacks_due=callbacks_due,
                )
                times.append((time.perf_counter() - t0) * 1000)
                assert len(taken) == 100, len(taken)
                raise _Rollback
        except _Rollback:
            pass
    return times


def explain(campaign) -> str:  # type: ignore[no-untyped-def]
    from django.db import connection, transaction

    from dialer import selector

    qs = selector.candidate_query(campaign, NOW).select_for_update(skip_locked=True)[:100]
    with transaction.atomic(), connection.cursor() as cur:
        sql, params = qs.query.sql_with_params()
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
        return "\n".join(row[0] for row in cur.fetchall())


def time_ticks(campaigns: list, rounds: int) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    from dialer import livestate, selector
    from dialer.models import Call

    def publish(available: int) -> None:
        queues = {
            c.queue.name: {
                "agents_available": available,
                "members_waiting": 0,
                "calls_in_flight": 0,
            }
            for c in campaigns
        }
        livestate.publish_dialer_snapshot(
            {"node": "bench", "connected": True, "queues": queues, "campaigns": {}, "agents": {}}
        )

    busy, idle = [], []
    for _ in range(rounds):
        Call.objects.filter(result="pending").update(result="no_answer")  # agents free again
        publish(2)
        t0 = time.perf_counter()
        results = selector.run_tick(now=NOW)
        busy.append((time.perf_counter() - t0) * 1000)
        assert sum(r.placed for r in results) == 2 * len(campaigns), results[:3]
        publish(0)
        t0 = time.perf_counter()
        selector.run_tick(now=NOW)
        idle.append((time.perf_counter() - t0) * 1000)
    return busy, idle


def summary(xs: list[float]) -> str:
    xs = sorted(xs)
    p95 = xs[max(0, int(len(xs) * 0.95) - 1)]
    return f"median {statistics.median(xs):.1f} ms, p95 {p95:.1f} ms, max {xs[-1]:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    ensure_database()
    with connection.cursor() as cur:
        cur.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    call_command("migrate", verbosity=0)

    t0 = time.perf_counter()
    big = make_campaign("big", args.leads, 1)
    small = make_campaign("small", 10_000, 2)
    fleet = [make_campaign(f"c{i:02d}", 2_000, 10 + i) for i in range(50)]
    load_s = time.perf_counter() - t0
    for c in fleet:
        c.queue  # noqa: B018  (load before timing)

    plan = explain(big)
    time_select_and_lock(big, 3)  # warm the cache
    big_lock = time_select_and_lock(big, args.rounds)
    time_select_and_lock(small, 3)
    small_lock = time_select_and_lock(small, args.rounds)
    big_ms = time_selection(big, args.rounds)
    small_ms = time_selection(small, args.rounds)
    busy, idle = time_ticks(fleet, 10)

    load = os.getloadavg()
    lines = [
        f"Command: `.venv/bin/python bench/selector_bench.py --leads {args.leads} --write-docs` "
        "(throwaway database `dialer_bench_selector`, Redis db 9, both on 127.0.0.1).",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"measured {datetime.now(UTC):%Y-%m-%d}; load average at the end "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}. Leads loaded in {load_s:.0f} s.",
        "",
        "| figure | target | result |",
        "|---|---|---|",
        f"| select and lock 100 eligible leads, {args.leads:,}-lead campaign ({args.rounds} "
        f"rounds) | median <= 10 ms | {summary(big_lock)} |",
        f"| the same, 10,000-lead campaign | no more than 2x faster | {summary(small_lock)} "
        f"(ratio of medians {statistics.median(big_lock) / statistics.median(small_lock):.2f}) |",
        f"| whole dialing transaction for 100 leads ({args.leads:,}-lead campaign): select, "
        f"lock, mark Dialing, history, Call rows, commit | - | {summary(big_ms)} |",
        f"| the same, 10,000-lead campaign | - | {summary(small_ms)} |",
        f"| tick over 50 running campaigns, 2 free agents each (100 calls placed) | <= 200 ms | "
        f"{summary(busy)} |",
        f"| tick over 50 running campaigns, nothing to do | cheap | {summary(idle)} |",
        "",
        '"Select and lock" is the selection alone, rolled back after each round so every '
        "round sees the same list. "
        "A selection is one transaction: the due campaign callbacks, then the leads in index "
        "order (`lead_dialable_idx`: campaign, priority desc, next_dial_at, id, partial on the "
        "dialable states) with FOR UPDATE SKIP LOCKED and a Do-Not-Call probe per row "
        "(`dnc_number_idx`), the window check of each, the 100 "
        "leads moved to Dialing with their history rows, 100 Call rows, and the stream append "
        "after commit. The plan (1,000,000-lead campaign):",
        "",
        "```",
        plan,
        "```",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write_docs:
        doc = ROOT / "docs" / "benchmarks.md"
        body = doc.read_text()
        start = body.index("## Lead selector (issue 3)")
        end = body.index("\n## ", start + 5)
        doc.write_text(body[:start] + "## Lead selector (issue 3)\n\n" + text + "\n" + body[end:])


if __name__ == "__main__":
    main()
