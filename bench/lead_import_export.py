"""Benchmark: import a 1,000,000-row lead CSV into PostgreSQL, then export it streamed.

    .venv/bin/python bench/lead_import_export.py [--rows 1000000] [--write-docs]

Creates (and drops first) the throwaway database dialer_bench_imports on 127.0.0.1, migrates
it, writes the CSV into bench/out/, and runs each phase in its own process so its peak memory
(ru_maxrss) is its own. Targets (issue 2): import <= 60 s and <= 400 MB peak; export <= 30 s
with memory that does not grow with the row count (RSS at 100k rows vs at the end).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DB_NAME = "dialer_bench_imports"
DB_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
AREAS = [
    201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219,
    224, 225, 228, 229, 231, 234, 239, 240, 248, 251, 252, 253, 254, 256, 260, 262, 267,
    269, 270, 276, 281, 301, 302, 303, 304, 305, 307, 308, 309, 310, 312, 313, 314,
]  # fmt: skip
FIRST = ["Ada", "Grace", "Alan", "Zoë", "José", "Mary", "Linus", "Edsger", "Barbara", "Ken"]
LAST = ["Lovelace", "Hopper", "Turing", "Müller", "García", "Smith", "O'Brien", "Nakamura"]


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def us_number(i: int) -> tuple[int, int, int]:
    rest = i // len(AREAS)
    return AREAS[i % len(AREAS)], 200 + (rest // 10_000) % 800, rest % 10_000


def generate(rows: int, path: Path) -> dict[str, object]:
    """Realistic mix: national and international formats, 0.1 % bad numbers, 0.1 % repeats."""
    started = time.perf_counter()
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("number,priority,first_name,last_name,ticket_id,note,type\n")
        for i in range(rows):
            area, exchange, line = us_number(i)
            if i % 1000 == 999:
                number = "12345"
            elif i % 1000 == 500:
                number = "+1{}{}{:04d}".format(*us_number(i - 1))
            elif i % 4 == 0:
                number = f"({area}) {exchange}-{line:04d}"
            elif i % 4 == 1:
                number = f"+1 {area}-{exchange}-{line:04d}"
            else:
                number = f"{area}{exchange}{line:04d}"
            out.write(
                f'{number},{i % 10},{FIRST[i % 10]},"{LAST[i % 8]}",T-{i},'
                f'"note for lead {i}, called before",{"vip" if i % 7 == 0 else ""}\n'
            )
    return {"rows": rows, "bytes": path.stat().st_size, "seconds": time.perf_counter() - started}


def setup_django() -> None:
    os.environ["DATABASE_URL"] = DB_URL
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def campaign_for_bench():  # type: ignore[no-untyped-def]
    from agents.models import Queue
    from campaigns.models import Campaign

    queue, _ = Queue.objects.get_or_create(name="bench@default")
    campaign, _ = Campaign.objects.get_or_create(name="Bench campaign", defaults={"queue": queue})
    return campaign


def run_import(path: Path) -> dict[str, object]:
    setup_django()
    from django.utils import timezone

    from leads.importing import lead_import_csv

    campaign = campaign_for_bench()
    before = rss_mb()
    started = time.perf_counter()
    with path.open("rb") as fileobj:
        report = lead_import_csv(
            campaign=campaign, fileobj=fileobj, now=timezone.now(), actor="bench"
        )
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 1),
        "imported": report.imported,
        "rejected": report.rejected_count,
        "error": report.error,
        "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(peak_mb(), 1),
    }


def run_export() -> dict[str, object]:
    setup_django()
    from leads.exporting import stream_leads_csv
    from leads.models import Lead

    campaign = campaign_for_bench()
    started = time.perf_counter()
    size = 0
    rows = 0
    samples: dict[str, float] = {}
    with (OUT / "export.csv").open("wb") as out:
        for chunk in stream_leads_csv(Lead.objects.filter(campaign=campaign)):
            out.write(chunk)
            size += len(chunk)
            rows += chunk.count(b"\n")
            if rows >= 100_000 and "rss_at_100k_mb" not in samples:
                samples["rss_at_100k_mb"] = round(rss_mb(), 1)
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 1),
        "lines": rows,
        "bytes": size,
        **samples,
        "rss_at_end_mb": round(rss_mb(), 1),
        "peak_rss_mb": round(peak_mb(), 1),
    }


def phase(name: str, *args: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, __file__, "--phase", name, *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def prepare_database() -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as db:
        db.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        db.execute(f"CREATE DATABASE {DB_NAME}")
    env = {**os.environ, "DATABASE_URL": DB_URL, "SECRET_KEY": "bench-only"}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], check=True, cwd=ROOT, env=env
    )


def write_docs(text: str) -> None:
    docs = ROOT / "docs" / "benchmarks.md"
    content = docs.read_text()
    title = "## Lead import and export (issue 2)"
    start = content.index(title)
    end = content.find("\n## ", start + len(title))
    end = len(content) if end == -1 else end + 1
    docs.write_text(content[:start] + text.rstrip() + "\n\n" + content[end:])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--phase", choices=["generate", "import", "export"])
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    csv_path = OUT / f"leads_{args.rows}.csv"
    if args.phase == "generate":
        print(json.dumps(generate(args.rows, csv_path)))
        return
    if args.phase == "import":
        print(json.dumps(run_import(csv_path)))
        return
    if args.phase == "export":
        print(json.dumps(run_export()))
        return

    prepare_database()
    gen = phase("generate", "--rows", str(args.rows))
    print("generated", gen, flush=True)
    imp = phase("import", "--rows", str(args.rows))
    print("import", imp, flush=True)
    exp = phase("export", "--rows", str(args.rows))
    print("export", exp, flush=True)
    import_ok = float(imp["seconds"]) <= 60 and float(imp["peak_rss_mb"]) <= 400  # type: ignore[arg-type]
    grow = float(exp["rss_at_end_mb"]) - float(exp.get("rss_at_100k_mb", 0))  # type: ignore[arg-type]
    export_ok = float(exp["seconds"]) <= 30 and grow < 20  # type: ignore[arg-type]
    text = f"""## Lead import and export (issue 2)

Command: `.venv/bin/python bench/lead_import_export.py --rows {args.rows} --write-docs`
(throwaway database `{DB_NAME}` on 127.0.0.1; each phase runs in its own process).
Machine: {os.cpu_count()} cores, Python {platform.python_version()}, measured {time.strftime("%Y-%m-%d")}.

Input: {args.rows:,} rows, {int(gen["bytes"]) / 1_048_576:.0f} MB (national and international
number formats; 0.1 % invalid numbers and 0.1 % repeated numbers, each reported with its line).

| phase | target | result |
|---|---|---|
| import (`lead_import_csv`, COPY) | ≤ 60 s, ≤ 400 MB peak | {imp["seconds"]} s, peak RSS {imp["peak_rss_mb"]} MB; {imp["imported"]:,} imported, {imp["rejected"]:,} rejected — {"met" if import_ok else "NOT met"} |
| export (`stream_leads_csv`) | ≤ 30 s, flat memory | {exp["seconds"]} s for {int(exp["lines"]) - 1:,} leads ({int(exp["bytes"]) / 1_048_576:.0f} MB); RSS {exp.get("rss_at_100k_mb")} MB at 100k rows, {exp["rss_at_end_mb"]} MB at the end — {"met" if export_ok else "NOT met"} |
"""  # noqa: E501
    print(text)
    if args.write_docs:
        write_docs(text)


if __name__ == "__main__":
    main()
