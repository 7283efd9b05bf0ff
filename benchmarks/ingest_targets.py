"""Issue 15's targets, each printed met or not met from one run (ratios measured in it).

    python3 -m benchmarks targets            # 200k notes, 200k recorded records a source, 200k-record normaliser mix
    python3 -m benchmarks targets --quick    # a smoke test of a few thousand records (figures mean little)

Each ingest runs in a fresh interpreter (`benchmarks/child.py`), so its peak RSS is its
own; the dlt peer is installed on demand, the first time, into a virtual environment of its
own (`~/.cache/incident-timeline/peers/dlt`, or under `$XDG_CACHE_HOME`), never into the
environment under test.
Asserts nothing; the figures go to benchmarks/out/targets-<mode>.json. Targets are judged
on wall time, as stated; each ingest's CPU seconds (whole child, imports included) are shown
beside it, steadier when other jobs share the 2 cores.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import ingestgen  # noqa: E402
from benchmarks.run import bench_normalize, child, machine  # noqa: E402

SIZES = {"full": {"notes": 200_000, "recorded": 200_000, "normalize_rows": 200_000},
         "quick": {"notes": 3_000, "recorded": 3_000, "normalize_rows": 3_000}}
GOALS = {"file_x_dlt": 10.0, "file_x_pandas": 1.0, "recorded_records_per_s": 100_000,
         "normalize_events_per_s": 500_000, "peak_rss_mb": 300.0, "normaliser_lines_share": 0.5}
# Lines of the normaliser's per-source code when the issue was filed (main at ac1a6a5):
# normalize/mappers/ 951 + normalize/fast/ 1,548, as normaliser_lines() counts them.
BASELINE_NORMALISER_LINES = 2_499
# what "the normaliser's code" is: the compiled mappings (mappings, compiler and its SQL
# blocks, transforms, oracle), and the mappers and twins they replaced where a tree has them
NORMALISER_PATHS = ("normalize/mappers", "normalize/fast", "normalize/mappings", "normalize/compiler.py",
                    "normalize/sql.py", "normalize/transforms.py", "normalize/oracle.py")
NOTE_FIELDS = {"ts": "time", "text": "note", "actor": "author", "id": "note_id"}


def normaliser_lines(root: Path = REPO) -> dict[str, int]:
    """Lines of each file of the normaliser's per-source code (mappings, compiler, UDFs),
    read from the files."""
    counts = {}
    for name in NORMALISER_PATHS:
        path = root / name
        files = sorted(path.rglob("*.py")) + sorted(path.rglob("*.yaml")) if path.is_dir() else \
            [path] if path.is_file() else []
        for f in files:
            counts[str(f.relative_to(root))] = len(f.read_text(encoding="utf-8").splitlines())
    return counts


DLT_REQUIREMENT = "dlt[duckdb]>=1.0"


def peer_home() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "incident-timeline" / "peers" / "dlt"


def ensure_dlt() -> Path:
    """dlt is the peer, not a dependency: installed the first time it is needed into a
    virtual environment of its own; returns that environment's interpreter."""
    home = peer_home()
    python = home / "bin" / "python"
    ready = home / "READY"
    if ready.exists() and python.exists():
        return python
    print(f"  installing the dlt peer into {home}: pip install {DLT_REQUIREMENT!r}", flush=True)
    shutil.rmtree(home, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(home)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", DLT_REQUIREMENT], check=True)
    ready.write_text(DLT_REQUIREMENT + "\n")
    return python


def dlt_peer(python: Path, args: dict) -> dict:
    out = subprocess.run([str(python), str(REPO / "benchmarks" / "dlt_peer.py"), json.dumps(args)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"the dlt peer failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _config(out: Path, name: str, source: dict) -> Path:
    lake = out / f"lake-{name}"
    shutil.rmtree(lake, ignore_errors=True)
    path = out / f"{name}.yaml"
    path.write_text(json.dumps({"lake": str(lake.resolve()), "timezone": "UTC", "sources": [source]}))
    return path


def bench_file(out: Path, rows: int) -> dict:
    notes = ingestgen.notes(out / f"notes-{rows}.jsonl", rows)
    print(f"  file source, {rows:,} JSON-lines notes", flush=True)
    ours = child("ingest", {"config": str(_config(out, "notes", {
        "name": "notes", "type": "file", "path": str(notes.resolve()), "fields": NOTE_FIELDS}))})
    print("  pandas read_json + to_datetime script", flush=True)
    pandas = child("pandas_notes", {"file": str(notes), "out": str(out / "notes-pandas.parquet")})
    print("  dlt pipeline (merge on the id into DuckDB)", flush=True)
    python = ensure_dlt()
    work = out / "dlt"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    dlt = dlt_peer(python, {"file": str(notes.resolve()), "out": str(work.resolve())})
    shutil.rmtree(work, ignore_errors=True)
    return {"ours": ours, "pandas": pandas, "dlt": dlt}


RECORDED = {
    "slack_export": lambda out, n: {"type": "slack_export", "path": str(ingestgen.generate(out / f"slack-{n}", n))},
    "pagerduty": lambda out, n: {"type": "pagerduty", "path": str(ingestgen.pagerduty(out / f"pagerduty-{n}", n))},
    "opsgenie": lambda out, n: {"type": "opsgenie", "path": str(ingestgen.opsgenie(out / f"opsgenie-{n}", n))},
}


def bench_recorded(out: Path, records: int) -> dict:
    results = {}
    for stype, make in RECORDED.items():
        print(f"  {stype}, {records:,} recorded records", flush=True)
        source = {"name": stype.replace("_", "-"), **make(out, records)}
        results[stype] = child("ingest", {"config": str(_config(out, stype, source))})
    return results


def targets(results: dict) -> list[dict]:
    """One row per target: what was measured, the goal, met or not."""
    rows = []
    f = results["file"]
    ours = f["ours"]["seconds"]
    cpu = f["ours"]["cpu_s"]
    rows.append(_target("file source: x a dlt pipeline on the same file", f["dlt"]["seconds"] / ours,
                        GOALS["file_x_dlt"], "x", f"{f['ours']['fetched']:,} notes: ours {ours:.2f} s, "
                        f"dlt {f['dlt']['seconds']:.2f} s; in CPU seconds {f['dlt']['cpu_s'] / cpu:.2f}x"))
    rows.append(_target("file source: x the pandas read_json + to_datetime script", f["pandas"]["seconds"] / ours,
                        GOALS["file_x_pandas"], "x", f"pandas {f['pandas']['seconds']:.2f} s; in CPU seconds "
                        f"{f['pandas']['cpu_s'] / cpu:.2f}x"))
    for stype, r in results["recorded"].items():
        rows.append(_target(f"recorded {stype}: records/s end to end", r["fetched"] / r["seconds"],
                            GOALS["recorded_records_per_s"], "/s", f"{r['fetched']:,} records in {r['seconds']:.2f} s; "
                            f"{r['fetched'] / r['cpu_s']:,.0f} per CPU second"))
    norm = results["normalize"]
    rows.append(_target("whole normaliser, all source types mixed: events/s", norm.get("events_per_s") or 0.0,
                        GOALS["normalize_events_per_s"], "/s", f"{norm.get('rows', 0):,} raw records"))
    ingests = [("file", f["ours"])] + list(results["recorded"].items())
    name, peak = max(((n, r["peak_rss_mb"]) for n, r in ingests), key=lambda x: x[1])
    rows.append(_target("peak RSS of any ingest (MB)", peak, GOALS["peak_rss_mb"], "MB", f"highest: {name}",
                        at_most=True))
    lines = results["lines"]
    rows.append(_target("normaliser lines / today's mappers + fast paths", lines["now"] / lines["baseline"],
                        GOALS["normaliser_lines_share"], "x", f"{lines['now']:,} of {lines['baseline']:,} lines",
                        at_most=True))
    return rows


def _target(name: str, value: float, goal: float, unit: str, detail: str, at_most: bool = False) -> dict:
    return {"target": name, "value": value, "goal": goal, "unit": unit, "at_most": at_most, "detail": detail,
            "met": value <= goal if at_most else value >= goal}


def _shown(value: float, unit: str) -> str:
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "/s":
        return f"{value:,.0f}/s"
    return f"{value:.0f} {unit}"


def table(rows: list[dict], results: dict) -> str:
    lines = ["| target | measured | goal | met | detail |", "|---|---|---|---|---|"]
    for r in rows:
        goal = ("<= " if r["at_most"] else ">= ") + _shown(r["goal"], r["unit"])
        lines.append(f"| {r['target']} | {_shown(r['value'], r['unit'])} | {goal} | "
                     f"{'met' if r['met'] else 'not met'} | {r['detail']} |")
    lines += ["", "where each ingest's time goes, wall s (CPU s): fetch + raw writes | normalise + its writes | "
              "catalog commits and the rest",
              "| ingest | records | fetch | normalise | commit | total | peak RSS MB |",
              "|---|---|---|---|---|---|---|"]
    ingests = [("file", results["file"]["ours"])] + list(results["recorded"].items())
    for name, r in ingests:
        lines.append(f"| {name} | {r['fetched']:,} | " + " | ".join(
            f"{r[f'{stage}_s']:.2f} ({r[f'{stage}_cpu_s']:.2f})" for stage in ("fetch", "normalize", "commit"))
            + f" | {r['seconds']:.2f} ({r['ingest_cpu_s']:.2f}) | {r['peak_rss_mb']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python3 -m benchmarks targets", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a few thousand records: checks the run, not the speed")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out", help="where inputs and lakes go")
    ap.add_argument("--json", type=Path, default=None, help="figures file [default: OUT/targets-<mode>.json]")
    args = ap.parse_args(argv)
    mode = "quick" if args.quick else "full"
    size = SIZES[mode]
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict = {"mode": mode, "started": datetime.now(timezone.utc).isoformat(), "machine": machine(),
                     "goals": GOALS}
    print("file source:", flush=True)
    results["file"] = bench_file(args.out, size["notes"])
    print("recorded sources:", flush=True)
    results["recorded"] = bench_recorded(args.out, size["recorded"])
    print("normaliser:", flush=True)
    results["normalize"] = bench_normalize({"normalize_rows": size["normalize_rows"]})
    counts = normaliser_lines()
    results["lines"] = {"baseline": BASELINE_NORMALISER_LINES, "now": sum(counts.values()), "files": counts}
    results["machine"]["load_average_after"] = os.getloadavg()
    results["targets"] = targets(results)
    print()
    print(table(results["targets"], results))
    path = args.json or args.out / f"targets-{mode}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nfigures written to {path}")
    return results


if __name__ == "__main__":
    main()
