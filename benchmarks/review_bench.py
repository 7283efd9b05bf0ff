"""The periodic review on a catalog of many incidents: how long `review` takes to compute and
to write, against a per-row Python script that works out its core figures (incidents per
month by severity and service, median and p90 times per service) from the same rows.

Not a test (pytest does not collect benchmarks/): nothing is asserted, figures and ratios
are printed. The catalog is generated (incidents over a year on 40 services, a third with
action items, most with a draft), no lake behind it. Run:

    python3 benchmarks/review_bench.py                   # 20,000 incidents
    python3 benchmarks/review_bench.py --incidents 2000
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import incident_timeline.lake.catalog as catalog  # noqa: E402
from incident_timeline.export import review_render  # noqa: E402
from incident_timeline.export.review import compute  # noqa: E402
from incident_timeline.export.review_period import period  # noqa: E402

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")


def make_catalog(path: Path, incidents: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    rows, items, drafts = [], [], []
    for n in range(incidents):
        detected = START + timedelta(seconds=rng.randrange(365 * 86_400))
        service = f"svc-{rng.randrange(40):02d}"
        tta, ttr = rng.randrange(30, 1800), rng.randrange(600, 6 * 3600)
        incident_id = f"pagerduty:P{n:07d}"
        rows.append((incident_id, f"{service} is failing", rng.choice(SEVERITIES), [service],
                     [f"alert:{service}-{rng.randrange(5)}"], detected, detected + timedelta(seconds=ttr), tta, ttr))
        if rng.random() < 0.33:
            items.append((incident_id, "follow-up", None, (detected + timedelta(days=14)).date(), f"jira:OPS-{n}",
                          rng.choice(("done", "open", "in progress")), "e"))
        if rng.random() < 0.9:
            at = detected + timedelta(seconds=ttr, hours=rng.choice((2, 20, 40, 70)))
            drafts.append((incident_id, at, at))
    con = catalog.connect(path, read_only=False)
    try:
        catalog.ensure_tables(con)
        names = ("incident_id", "title", "severity", "services", "refs", "detected", "resolved",
                 "time_to_acknowledge_s", "time_to_resolve_s")
        _insert(con, "incidents", names, rows)
        _insert(con, "action_items", ("incident_id", "title", "owner", "due", "ref", "status", "origin"), items)
        _insert(con, "incident_drafts", ("incident_id", "first_built_at", "last_built_at"), drafts)
    finally:
        con.close()


def _insert(con, table: str, names: tuple[str, ...], rows: list[tuple]) -> None:
    """Rows in one statement through Arrow (executemany is a statement per row)."""
    import pyarrow as pa
    data = pa.table({n: [r[k] for r in rows] for k, n in enumerate(names)})
    con.register("_rows", data)
    con.execute(f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(names)} FROM _rows")
    con.unregister("_rows")


def per_row_script(path: Path, start: datetime, end: datetime) -> dict:
    """What an analyst writes without the review: every row into Python, then loops."""
    con = catalog.connect(path, read_only=True)
    try:
        rows = con.execute("SELECT severity, services, detected, time_to_acknowledge_s, time_to_resolve_s "
                           "FROM incidents").fetchall()
    finally:
        con.close()
    by_sev, by_svc, times = defaultdict(int), defaultdict(int), defaultdict(lambda: ([], []))
    for severity, services, detected, tta, ttr in rows:
        if not (start <= detected < end):
            continue
        month = f"{detected:%Y-%m}"
        by_sev[(month, severity)] += 1
        for s in services:
            by_svc[(month, s)] += 1
            times[s][0].append(tta)
            times[s][1].append(ttr)
    out = {}
    for s, (ttas, ttrs) in times.items():
        q = statistics.quantiles(ttrs, n=10, method="inclusive") if len(ttrs) > 1 else ttrs
        out[s] = (statistics.median(ttas), statistics.median(ttrs), q[-1])
    return {"by_sev": by_sev, "by_svc": by_svc, "times": out}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalog.duckdb"
        t = time.perf_counter()
        make_catalog(path, args.incidents)
        made = time.perf_counter() - t
        q3 = period(name="2026-Q3")
        con = catalog.connect(path, read_only=True)
        try:
            t = time.perf_counter()
            review = compute(con, q3, date(2026, 11, 1))
            computed = time.perf_counter() - t
        finally:
            con.close()
        t = time.perf_counter()
        review_render.write(review, Path(tmp) / "out")
        written = time.perf_counter() - t
        t = time.perf_counter()
        per_row_script(path, q3.start, q3.end)
        script = time.perf_counter() - t
    figures = {"incidents": args.incidents, "in_period": review["headline"]["incidents"],
               "catalog_made_s": round(made, 2), "review_compute_s": round(computed, 3),
               "review_write_s": round(written, 3), "per_row_script_s": round(script, 3),
               "compute_over_script": round(computed / script, 2) if script else None}
    print(f"{'incidents':>10} {'in Q3':>7} {'compute':>9} {'write':>7} {'per-row script':>15} {'ratio':>6}")
    print(f"{args.incidents:>10} {figures['in_period']:>7} {computed:8.3f}s {written:6.3f}s {script:14.3f}s "
          f"{figures['compute_over_script']:>6}")
    print("(the script works out only the counts and the times; the review all its figures and the period before)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
