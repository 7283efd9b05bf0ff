"""One measured task in a fresh process, so its peak memory (ru_maxrss) is its own.

    python -m benchmarks.child TASK '{"json": "args"}'

prints one JSON object: the task's figures plus `peak_rss_mb`, `seconds` and `cpu_s`.
"""
from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from incident_timeline.config import CORRELATION_DEFAULTS, Config, load_config


def lake_config(root: str) -> Config:
    root_path = Path(root).resolve()
    return Config(path=root_path / "connectors.yaml", lake=root_path, timezone="UTC", sources=[],
                  correlation=dict(CORRELATION_DEFAULTS))


def build(args: dict) -> dict:
    """The build's work (correlate + store in the catalog), `repeats` times; times of each."""
    from incident_timeline import pipeline

    config = lake_config(args["lake"])
    times, cpu = [], []
    for _ in range(args.get("repeats", 3)):
        t0, c0 = time.perf_counter(), time.process_time()
        pipeline.correlate_incident(config, args["seed"])
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)   # every thread of the process, DuckDB's too
    con = pipeline.catalog_store.read_catalog(pipeline.Lake.for_config(config))
    try:
        events, rows = con.execute("SELECT event_count, row_count FROM incidents WHERE incident_id = ?",
                                   [args["seed"]]).fetchall()[0]
    finally:
        con.close()
    return {"times": times, "seconds": sorted(times)[len(times) // 2], "cpu_times": cpu,
            "cpu_seconds": sorted(cpu)[len(cpu) // 2], "events": events, "rows": rows}


def naive_build(args: dict) -> dict:
    """What a script without this tool does: pandas reads every event (a full scan), rows are
    matched to the seed and its co-occurring refs one by one, their times parsed with dateutil."""
    import pandas as pd
    from dateutil import parser

    t0 = time.perf_counter()
    frame = pd.read_parquet(Path(args["lake"]) / "events",
                            columns=["event_id", "source", "kind", "ts", "ts_raw", "refs", "title"],
                            partitioning=None)
    seed = args["seed"]
    seed_rows = frame[[seed in list(r) for r in frame["refs"]]]
    times = [parser.parse(v) for v in seed_rows["ts_raw"]]
    start = min(times) - pd.Timedelta(hours=1)
    end = max(times) + pd.Timedelta(hours=12)
    window = frame[(frame["ts"] >= start) & (frame["ts"] <= end)]
    cluster = {seed}
    for _ in range(3):
        for refs in window["refs"]:
            refs = set(refs)
            if refs & cluster:
                cluster |= {r for r in refs if r.startswith(("pagerduty:", "alert:", "jira:"))}
    members = window[[bool(set(r) & cluster) for r in window["refs"]]].drop_duplicates("event_id")
    members = members.assign(parsed=[parser.parse(v) for v in members["ts_raw"]]).sort_values(["ts", "event_id"])
    return {"seconds": time.perf_counter() - t0, "events": len(members)}


def ingest(args: dict) -> dict:
    from incident_timeline import pipeline

    config = load_config(Path(args["config"]))
    stages = {"fetch": _timed(pipeline, "_fetch_source"), "normalize": _timed(pipeline, "_normalize_pending")}
    t0, c0 = time.perf_counter(), time.process_time()
    result = pipeline.ingest(config)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    failed = [s.error for s in result.failed]
    if failed:
        raise SystemExit(f"ingest failed: {failed}")
    spent = {f"{name}_s": total[0] for name, total in stages.items()}
    spent_cpu = {f"{name}_cpu_s": total[1] for name, total in stages.items()}
    return {"seconds": seconds, "fetched": sum(s.fetched for s in result.sources),
            "events": sum(s.events for s in result.sources), "rejects": sum(s.rejects for s in result.sources),
            **spent, "commit_s": seconds - sum(spent.values()), "ingest_cpu_s": cpu,
            **spent_cpu, "commit_cpu_s": cpu - sum(spent_cpu.values())}


def _timed(module, name: str) -> list[float]:
    """Wrap module.name so the seconds spent in it add up in the returned list (wall, CPU):
    where an ingest's time goes (fetch + raw writes, normalise + its writes, the rest)."""
    total = [0.0, 0.0]
    real = getattr(module, name)

    def timed(*args, **kwargs):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return real(*args, **kwargs)
        finally:
            total[0] += time.perf_counter() - t0
            total[1] += time.process_time() - c0

    setattr(module, name, timed)
    return total


def naive_ingest(args: dict) -> dict:
    """Every page json.load-ed, each message's time converted on its own, a pandas frame
    written to Parquet."""
    import pandas as pd
    from datetime import datetime, timezone

    folder = Path(args["pages"])
    t0 = time.perf_counter()
    rows = []
    for page in sorted(folder.glob("*/*.json")):
        for m in json.loads(page.read_text()):
            rows.append({"channel": page.parent.name, "user": m.get("user"), "text": m.get("text"),
                         "ts": datetime.fromtimestamp(float(m["ts"]), timezone.utc), "ts_raw": m["ts"]})
    frame = pd.DataFrame(rows)
    out = Path(args["out"])
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(out)
    return {"seconds": time.perf_counter() - t0, "fetched": len(frame)}


def pandas_notes(args: dict) -> dict:
    """The script a user would write with pandas: read_json(lines=True), to_datetime, Parquet.
    It does less than an ingest: no raw copy, no dedup, no rejects."""
    import pandas as pd

    t0 = time.perf_counter()
    frame = pd.read_json(args["file"], lines=True, dtype=False)
    frame["ts"] = pd.to_datetime(frame["time"], utc=True, format="ISO8601")
    frame.to_parquet(args["out"])
    return {"seconds": time.perf_counter() - t0, "fetched": len(frame)}


TASKS = {"build": build, "naive_build": naive_build, "ingest": ingest, "naive_ingest": naive_ingest,
         "pandas_notes": pandas_notes}


def main() -> None:
    task, args = sys.argv[1], json.loads(sys.argv[2])
    figures = TASKS[task](args)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures["peak_rss_mb"] = usage.ru_maxrss / 1024
    # CPU seconds of the whole child (imports included): steadier than wall time on a shared machine
    figures["cpu_s"] = usage.ru_utime + usage.ru_stime
    print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
