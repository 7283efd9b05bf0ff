"""What moving the lake to object storage costs, measured in one run on this machine.

Writes one synthetic lake (N events over D days and S sources, one Parquet file per source
and day) to a local folder and to an S3-compatible server on loopback (moto), then times
the same DuckDB queries on both: an incident's 6-hour window, and a full scan. With
--spark it also times a local Spark session reading the local copy. Prints a table with
ratios against the local lake; asserts nothing.

    python3 benchmarks/object_storage_bench.py                  # 200k events, ~1 minute
    python3 benchmarks/object_storage_bench.py --events 1000000 --spark

moto serves objects from a Python process: it is slower than real S3 per request and has
no network in between, so read the S3 figures as "what the extra layer costs", not as a
forecast of S3 itself.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from incident_timeline.lake.layout import Lake  # noqa: E402
from incident_timeline.lake.storage import S3Credentials, object_storage  # noqa: E402

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
WINDOW_SQL = ("SELECT count(*) FROM read_parquet(?, hive_partitioning = true) "
              "WHERE ts >= ?::TIMESTAMPTZ AND ts < ?::TIMESTAMPTZ + INTERVAL 6 HOUR")
PRUNED_SQL = WINDOW_SQL + " AND date BETWEEN ?::DATE AND (?::TIMESTAMPTZ + INTERVAL 6 HOUR)::DATE"
SCAN_SQL = "SELECT source, count(*), count(DISTINCT event_id) FROM read_parquet(?, hive_partitioning = true) GROUP BY 1"


def synthetic_events(n: int, days: int, sources: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    offsets = np.sort(rng.integers(0, days * 86_400_000_000, n))
    ts = pa.array(offsets + int(START.timestamp() * 1_000_000), pa.int64()).cast(pa.timestamp("us", "UTC"))
    incident = rng.integers(0, max(1, n // 500), n)
    return pa.table({
        "event_id": pa.array([f"e{i:012d}" for i in range(n)]),
        "source": pa.array([f"src{k}" for k in rng.integers(0, sources, n)]),
        "kind": pa.array(rng.choice(["alert.triggered", "chat.message", "ticket.comment"], n)),
        "ts": ts,
        "title": pa.array([f"{w} " * 12 for w in rng.integers(0, 50_000, n)]),
        "refs": pa.array([[f"pagerduty:P{k}"] for k in incident], pa.list_(pa.string())),
    })


def write_lake(lake: Lake, events: pa.Table) -> tuple[float, int, list[str]]:
    days = pc.strftime(events["ts"], format="%Y-%m-%d")
    keys = pa.table({"source": events["source"], "day": days}).group_by(["source", "day"]).aggregate([])
    t0 = time.perf_counter()
    uris = []
    for source, day in zip(keys["source"].to_pylist(), keys["day"].to_pylist()):
        part = events.filter(pc.and_(pc.equal(events["source"], source), pc.equal(days, day)))
        path = lake.write_parquet(part.drop(["source"]), lake.events_dir(source, day) / "bench.parquet")
        uris.append(lake.uri(path))
    return time.perf_counter() - t0, len(uris), uris


def timed(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def duckdb_queries(lake: Lake, uris: list[str]) -> dict[str, float]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    lake.attach(con)
    window = (START + timedelta(days=3)).isoformat()
    out = {"window": timed(lambda: con.execute(WINDOW_SQL, [uris, window, window]).fetchall()),
           "window_pruned": timed(lambda: con.execute(PRUNED_SQL, [uris, window, window, window[:10],
                                                                    window]).fetchall()),
           "scan": timed(lambda: con.execute(SCAN_SQL, [uris]).fetchall())}
    con.close()
    return out


def spark_queries(uris: list[str], base: str) -> dict[str, float]:
    from pyspark.sql import SparkSession
    t0 = time.perf_counter()
    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.sql.session.timeZone", "UTC").config("spark.sql.shuffle.partitions", "2")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    started = time.perf_counter() - t0
    spark.read.option("basePath", base).parquet(*uris).createOrReplaceTempView("events")
    scan = "SELECT source, count(*), count(DISTINCT event_id) FROM events GROUP BY source"
    window = (START + timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S")
    out = {"start": started,
           "window": timed(lambda: spark.sql(f"SELECT count(*) FROM events WHERE ts >= TIMESTAMP '{window}' "
                                             f"AND ts < TIMESTAMP '{window}' + INTERVAL 6 HOURS").collect()),
           "scan": timed(lambda: spark.sql(scan).collect())}
    spark.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--sources", type=int, default=4)
    ap.add_argument("--spark", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    import logging

    import boto3
    from moto.server import ThreadedMotoServer
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    creds = S3Credentials(f"http://{host}:{port}", "us-east-1", "bench", "bench-secret")
    boto3.client("s3", endpoint_url=creds.endpoint_url, region_name="us-east-1", aws_access_key_id="bench",
                 aws_secret_access_key="bench-secret").create_bucket(Bucket="bench")

    events = synthetic_events(args.events, args.days, args.sources)
    figures: dict = {"events": args.events, "days": args.days, "sources": args.sources}
    with tempfile.TemporaryDirectory() as tmp:
        local = Lake(Path(tmp) / "lake")
        remote = Lake(Path("bench/lake"), object_storage(creds), catalog_file=Path(tmp) / "catalog.duckdb")
        for name, lake in (("local", local), ("s3", remote)):
            seconds, files, uris = write_lake(lake, events)
            figures[name] = {"write_s": seconds, "files": files, **duckdb_queries(lake, uris)}
            if name == "local":
                figures["bytes_per_event"] = sum(p.stat().st_size for p in Path(tmp, "lake").rglob("*.parquet")) / len(events)
                if args.spark:
                    figures["spark"] = spark_queries(uris, str(Path(tmp) / "lake" / "events"))
    server.stop()

    print(f"{args.events:,} events, {args.days} days, {args.sources} sources, "
          f"{figures['local']['files']} files, {figures['bytes_per_event']:.0f} bytes/event on disk")
    print(f"{'':<22}{'local':>10}{'s3 (moto)':>12}{'ratio':>8}")
    for key, label in (("write_s", "write lake"), ("window", "6 h window query"),
                       ("window_pruned", "same + date= pruning"), ("scan", "full scan")):
        lo, s3 = figures["local"][key], figures["s3"][key]
        print(f"{label:<22}{lo:>9.3f}s{s3:>11.3f}s{s3 / lo:>7.1f}x")
    if "spark" in figures:
        sp = figures["spark"]
        print(f"spark local[2]: start {sp['start']:.1f}s, window {sp['window']:.3f}s "
              f"({sp['window'] / figures['local']['window']:.0f}x DuckDB), scan {sp['scan']:.3f}s "
              f"({sp['scan'] / figures['local']['scan']:.1f}x DuckDB)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
