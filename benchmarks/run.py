"""The scale benchmark: ingest, normalise and build, each against a naive baseline, in one run.

    python -m benchmarks              # quick: lakes of 10k and 100k events over 30 days, seconds to a minute
    python -m benchmarks --full       # lakes of 10k, 1M and 10M events over 365 days (tens of minutes)
    python benchmarks/run.py --full --json results.json

Prints one table (figures, and ratios measured in this same run) and writes the figures
to a JSON file (default benchmarks/out/results-<mode>.json). Asserts nothing: a target
missed is printed as missed. Generated lakes are cached under benchmarks/out/ (git-ignored);
`--fresh` regenerates them.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import ingestgen, lakegen, layouts  # noqa: E402

MODES = {
    "quick": {"lakes": [10_000, 100_000], "days": 30, "normalize_rows": 20_000, "ingest": [2_000, 20_000],
              "repeats": 3},
    "full": {"lakes": [10_000, 1_000_000, 10_000_000], "days": 365, "normalize_rows": 1_000_000,
             "ingest": [10_000, 200_000], "repeats": 5},
}
TARGETS = {"build_10M_s": 1.0, "build_ratio_to_10k": 2.0, "normalize_values_per_s": 1_000_000,
           "normalize_x_baseline": 50.0, "ingest_peak_rss_mb": 300.0}


def child(task: str, args: dict) -> dict:
    """Run one task in a fresh interpreter; its peak RSS is its own."""
    out = subprocess.run([sys.executable, "-m", "benchmarks.child", task, json.dumps(args)], cwd=REPO,
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    if out.returncode != 0:
        raise SystemExit(f"benchmark task {task} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def prepared_lake(out: Path, events: int, days: int, fresh: bool) -> tuple[Path, dict]:
    """A generated lake with its catalog published (files registered, ref index built)."""
    from incident_timeline.lake import catalog_store
    from incident_timeline.lake.layout import Lake

    root = out / f"lake-{events}-d{days}"
    ready = root / "READY.json"
    if ready.exists() and not fresh:
        return root, json.loads(ready.read_text())
    shutil.rmtree(root, ignore_errors=True)
    t0 = time.perf_counter()
    made = lakegen.generate(root, events, days)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    lake = Lake(root.resolve())
    with catalog_store.catalog_writer(lake) as con:
        catalog_store.publish(con, lake)
    info = {"events": made.events, "days": days, "files": made.files, "generate_s": t_gen,
            "publish_and_index_s": time.perf_counter() - t0,
            "bytes": sum(f.stat().st_size for f in (root / "events").rglob("*.parquet"))}
    ready.write_text(json.dumps(info))
    return root, info


def bench_build(out: Path, mode: dict, fresh: bool, naive: bool) -> dict:
    results = {}
    for n in mode["lakes"]:
        root, info = prepared_lake(out, n, mode["days"], fresh)
        print(f"  lake of {info['events']:,} events in {info['files']:,} files: building {lakegen.BENCH_INCIDENT}",
              flush=True)
        ours = child("build", {"lake": str(root), "seed": lakegen.BENCH_INCIDENT, "repeats": mode["repeats"]})
        base = child("naive_build", {"lake": str(root), "seed": lakegen.BENCH_INCIDENT}) if naive else None
        results[str(n)] = {"lake": info, "build": ours, "naive": base}
    return results


def bench_layouts(out: Path, mode: dict) -> dict:
    """The build of the largest lake's incident on variants of that lake (row-group sizes,
    files per source-day): the same events, cut differently."""
    source = out / f"lake-{max(mode['lakes'])}-d{mode['days']}"
    if not (source / "READY.json").exists():
        return {}
    results = {}
    for name, cut in layouts.VARIANTS.items():
        print(f"  {name}", flush=True)
        root = source if not cut else layouts.variant(
            source, out / ("layout-" + "-".join(f"{k}{v}" for k, v in sorted(cut.items()))), **cut)
        results[name] = child("build", {"lake": str(root), "seed": lakegen.BENCH_INCIDENT,
                                        "repeats": mode["repeats"]})
        results[name]["files"] = sum(1 for _ in (root / "events").rglob("*.parquet"))
    return results


def bench_ingest(out: Path, mode: dict, history: Path | None) -> dict:
    """Ingest N Slack messages from recorded pages into an empty lake, and into one that
    already holds the largest generated lake's history (hard links, not copies)."""
    results = {}
    for n in mode["ingest"]:
        pages = ingestgen.generate(out / f"pages-{n}", n)
        for label, base in (("empty lake", None), ("with history", history)):
            if base is None and label != "empty lake":
                continue
            lake = out / f"ingest-{n}-{label.replace(' ', '-')}"
            shutil.rmtree(lake, ignore_errors=True)
            if base is not None:   # the history as a backfill left it: files published, index built
                shutil.copytree(base / "events", lake / "events", copy_function=os.link)
                shutil.copy2(base / "catalog.duckdb", lake / "catalog.duckdb")
                # the first write of a catalog an older version made migrates its views: not an
                # ingest's cost, a backfill by this version would have done it
                layouts.publish_catalog(lake)
            config = out / f"ingest-{n}.yaml"
            config.write_text(json.dumps({"lake": str(lake.resolve()), "timezone": "UTC", "sources": [
                {"name": "slack-archive", "type": "slack_export", "path": str(pages.resolve())}]}))
            ours = child("ingest", {"config": str(config)})
            naive = child("naive_ingest", {"pages": str(pages), "out": str(out / f"naive-{n}.parquet")})
            results[f"{n} {label}"] = {"ingest": ours, "naive": naive}
            shutil.rmtree(lake, ignore_errors=True)
    return results


_RATES = {"values_per_s": r"all of them\s+([\d,]+) values/s", "events_per_s": r"all sources\s+([\d,]+) events/s",
          "baseline_values_per_s": r"times alone:\s+([\d,]+) values/s",
          "baseline_events_per_s": r"whole records \(json \+ time\):\s+([\d,]+) events/s",
          "x_baseline_time": r"event times on declared formats / the per-row dateutil script:\s+([\d,.]+)x",
          "x_baseline_whole": r"whole normaliser / the per-row whole-record script:\s+([\d,.]+)x"}


def bench_normalize(mode: dict) -> dict:
    """benchmarks/normalize_bench.py (the normaliser's own benchmark), run as it is; its
    printed figures are read back."""
    rows = mode["normalize_rows"]
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "normalize_bench.py"), "--rows", str(rows),
                          "--baseline-rows", str(min(50_000, rows))], capture_output=True, text=True, cwd=REPO)
    if out.returncode != 0:
        return {"error": out.stderr[-1000:]}
    figures = {"rows": rows}
    for key, pattern in _RATES.items():
        m = re.search(pattern, out.stdout)
        figures[key] = float(m.group(1).replace(",", "")) if m else None
    figures["output"] = out.stdout
    return figures


def machine() -> dict:
    mem = ""
    if Path("/proc/meminfo").exists():
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split(":")[1].strip()
    cpu = platform.processor()
    if Path("/proc/cpuinfo").exists():
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    import duckdb
    import pyarrow
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory": mem, "python": platform.python_version(),
            "duckdb": duckdb.__version__, "pyarrow": pyarrow.__version__,
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true", help="10k, 1M and 10M-event lakes (tens of minutes)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out", help="where lakes and results go")
    ap.add_argument("--json", type=Path, default=None, help="figures file [default: OUT/results-<mode>.json]")
    ap.add_argument("--fresh", action="store_true", help="regenerate cached lakes")
    ap.add_argument("--only", choices=["build", "ingest", "normalize", "layouts"], action="append",
                    help="run only these parts (repeatable); `layouts` (not run by default) builds on "
                         "variants of the largest lake: row-group sizes, files per source-day")
    ap.add_argument("--no-naive-build", action="store_true", help="skip the full-scan baseline of build")
    args = ap.parse_args(argv)
    name = "full" if args.full else "quick"
    mode = MODES[name]
    parts = args.only or ["build", "ingest", "normalize"]
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict = {"mode": name, "started": datetime.now(timezone.utc).isoformat(), "machine": machine(),
                     "targets": TARGETS}
    if "build" in parts:
        print("build:", flush=True)
        results["build"] = bench_build(args.out, mode, args.fresh, not args.no_naive_build)
    if "ingest" in parts:
        print("ingest:", flush=True)
        biggest = args.out / f"lake-{max(mode['lakes'])}-d{mode['days']}"
        results["ingest"] = bench_ingest(args.out, mode, biggest if (biggest / "READY.json").exists() else None)
    if "layouts" in parts:
        print("layouts:", flush=True)
        results["layouts"] = bench_layouts(args.out, mode)
    if "normalize" in parts:
        print("normalize:", flush=True)
        results["normalize"] = bench_normalize(mode)
    results["machine"]["load_average_after"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    from benchmarks.report import table
    print()
    print(table(results))
    path = args.json or args.out / f"results-{name}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nfigures written to {path}")
    return results


if __name__ == "__main__":
    main()
