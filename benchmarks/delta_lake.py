"""Delta Lake (delta-rs) against today's lake layout, measured in one run (issue 16's groundwork).

Today: one Parquet file per source, day and run (`events/source=<s>/date=<d>/<run>.parquet`,
written whole by lake/storage.py), published by the catalog, deduplicated at read by its view
(the newest `ingested_at` per `event_id`, lake/catalog.py). Delta: the same rows in a Delta table
partitioned by source and date (lake/delta.py).

1. append a batch of 10k / 100k / 1M new events (a night's backfill: 8 sources, the last 3 days):
   today's files (and, beside it, today's catalog publish) against a Delta commit per source,
   and (up to 100k) against the same batch written as a MERGE on event_id;
2. dedup by event_id: a re-fetch (up to half the batch events already in the lake, fetched again
   with new text) as a MERGE on write (newest fetch wins) against an append + the dedup view,
   each followed by the night's compaction (optimize.compact; compact_newest, which folds);
3. one incident's 6-hour window through DuckDB over the snapshot's files: today's view, Delta
   appended read through the same view, Delta merged read plainly; a whole-lake count the same
   three ways; what opening a table and reading its log costs after many commits.

Prints figures, ratios and the dedup choice the figures favour; asserts nothing.

    python3 benchmarks/delta_lake.py            # 1M-event history, ~3 min on 2 busy cores
    python3 benchmarks/delta_lake.py --quick    # 100k-event history, about a minute
    python3 benchmarks/delta_lake.py --work DIR # keep the lakes (in a new folder under DIR)
"""
from __future__ import annotations

import argparse
import shutil
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
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from incident_timeline.contract.schemas import EVENT_SCHEMA  # noqa: E402
from incident_timeline.lake import catalog, catalog_store, delta  # noqa: E402
from incident_timeline.lake.event_files import EventFiles  # noqa: E402
from incident_timeline.lake.layout import Lake  # noqa: E402

UTC = timezone.utc
START = datetime(2026, 1, 1, tzinfo=UTC)
US_PER_DAY = 86_400_000_000
SOURCES = [("slack", "chat"), ("pagerduty", "alert"), ("alertmanager", "alert"), ("opsgenie", "alert"),
           ("grafana", "alert"), ("jira", "ticket"), ("servicenow", "ticket"), ("notes", "note")]
NIGHT_DAYS = 3   # a night's backfill re-reads this many days
MODES = {
    "default": {"history": 1_000_000, "days": 90, "append": [10_000, 100_000, 1_000_000],
                "merge_up_to": 100_000, "dedup": [10_000, 100_000], "commits": 200},
    "quick": {"history": 100_000, "days": 60, "append": [10_000, 100_000], "merge_up_to": 100_000,
              "dedup": [10_000], "commits": 50},
}


# ---------------------------------------------------------------- data

def events(n: int, *, first_day: int, days: int, seed: int, id_start: int, fetched: datetime) -> pa.Table:
    """`n` canonical events spread over `days` days from `first_day`, ids from `id_start`."""
    rng = np.random.default_rng(seed)
    start_us = int(START.timestamp() * 1_000_000) + first_day * US_PER_DAY
    micros = pa.array(start_us + rng.integers(0, days * US_PER_DAY, n), pa.int64())
    ts = micros.cast(EVENT_SCHEMA.field("ts").type)
    which = pa.array(rng.integers(0, len(SOURCES), n), pa.int32())
    source = _pick([s for s, _ in SOURCES], which)
    native = pc.cast(pa.array(np.arange(id_start, id_start + n)), pa.string())
    title = _pick(["looking into it", "p99 is up again", "rolled back", "ticket updated"],
                  pa.array(rng.integers(0, 4, n), pa.int32()))
    incident = pc.cast(pa.array(rng.integers(0, max(1, (id_start + n) // 2_000), n)), pa.string())
    refs = pa.ListArray.from_arrays(pa.array(np.arange(0, n + 1, dtype=np.int32)),
                                    pc.binary_join_element_wise("pagerduty:P", incident, ""))
    const = lambda value: pa.repeat(pa.scalar(value), n)  # noqa: E731
    columns = {name: pa.nulls(n, EVENT_SCHEMA.field(name).type) for name in EVENT_SCHEMA.names}
    columns.update({
        "event_id": pc.binary_join_element_wise(source, native, "/"), "source": source, "source_type": source,
        "category": _pick([c for _, c in SOURCES], which), "kind": const("note.added"), "ts": ts,
        "ts_raw": pc.cast(micros, pa.string()),   # as a source writing epoch microseconds would
        "actor": title, "actor_type": const("human"), "title": title, "body": title, "refs": refs,
        "native_id": native, "attrs": const("{}"), "warnings": pa.array([[]] * n, pa.list_(pa.string())),
        "ingested_at": pa.repeat(pa.scalar(fetched, EVENT_SCHEMA.field("ingested_at").type), n)})
    return pa.table(columns, schema=EVENT_SCHEMA)


def _pick(values: list[str], indices: pa.Array) -> pa.Array:
    return pa.DictionaryArray.from_arrays(indices, pa.array(values)).cast(pa.string())


def refetch(history: pa.Table, n: int, last_day: int, seed: int, id_start: int, fetched: datetime) -> pa.Table:
    """A night's re-read: n/2 events of the last days fetched again (same id and ts, new text,
    newer ingested_at) and n/2 new ones in those days."""
    recent = history.filter(pc.greater_equal(history["ts"], pa.scalar(
        START + timedelta(days=last_day - NIGHT_DAYS), EVENT_SCHEMA.field("ts").type)))
    rng = np.random.default_rng(seed)
    again = recent.take(rng.choice(recent.num_rows, min(n // 2, recent.num_rows), replace=False))
    again = again.set_column(again.schema.get_field_index("title"), "title",
                             pc.binary_join_element_wise(again["title"], pa.scalar(" (edited)"), ""))
    again = again.set_column(again.schema.get_field_index("ingested_at"), "ingested_at",
                             pa.array([fetched] * again.num_rows, EVENT_SCHEMA.field("ingested_at").type))
    new = events(n - again.num_rows, first_day=last_day - NIGHT_DAYS, days=NIGHT_DAYS, seed=seed + 1,
                 id_start=id_start, fetched=fetched)
    return pa.concat_tables([again, new])


# ---------------------------------------------------------------- the two ways to write

def write_today(lake: Lake, batch: pa.Table, name: str, write=None) -> int:
    """As normalize writes events today: sorted, one file per source and UTC day of ts, each
    written whole (`write`: another writer, for the history, which is set up and not measured)."""
    write = write or lake.write_parquet
    batch = batch.sort_by([("ts", "ascending"), ("event_id", "ascending")])
    keys = pa.table({"source": batch["source"], "day": pc.strftime(batch["ts"], format="%Y-%m-%d")})
    files = 0
    for group in keys.group_by(["source", "day"]).aggregate([]).to_pylist():
        part = batch.filter(pc.and_(pc.equal(keys["source"], group["source"]), pc.equal(keys["day"], group["day"])))
        write(part, lake.events_dir(group["source"], group["day"]) / f"{name}.parquet")
        files += 1
    return files


def _write_unsynced(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")


def publish_today(lake: Lake) -> None:
    with catalog_store.catalog_writer(lake) as con:
        catalog_store.publish(con, lake)


def by_source(batch: pa.Table):
    for source in sorted(pc.unique(batch["source"]).to_pylist()):
        yield source, batch.filter(pc.equal(batch["source"], source))


def append_delta(location: delta.Location, batch: pa.Table, run_id: str) -> None:
    """One commit per source, as each source's job publishes its own."""
    for source, part in by_source(batch):
        delta.append(location, part, day_from="ts", run_id=run_id, source=source)


def merge_delta(location: delta.Location, batch: pa.Table, run_id: str) -> dict:
    """One MERGE per source on event_id, the newest fetch winning."""
    totals: dict = {}
    for source, part in by_source(batch):
        for key, value in delta.merge_newest(location, part, source=source, run_id=run_id).items():
            if isinstance(value, int):
                totals[key] = totals.get(key, 0) + value
    return totals


def compact_delta(location: delta.Location, batch: pa.Table, dedup: bool) -> int:
    """The night's compaction of the partitions `batch` touched: folding re-fetches (after
    appends), or merging files only (after MERGEs, which leave one row per event_id)."""
    dropped = 0
    for source, part in by_source(batch):
        if dedup:
            days = pc.unique(delta.with_date(part, "ts")["date"]).to_pylist()
            dropped += delta.compact_newest(location, source, days, run_id="night-compaction")
        else:
            delta.compact(location, source, run_id="night-compaction")
    return dropped


# ---------------------------------------------------------------- reading

def today_files(lake: Lake) -> list[str]:
    con = catalog_store.read_catalog(lake)
    try:
        return [str(p) for p in catalog_store.live_files(con, lake, "events")]
    finally:
        con.close()


def window_rows(files: list[str], start: datetime, end: datetime, dedup: bool) -> int:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if dedup:
        sql = catalog.events_relation_sql(Path("/"), files, ts_between=(start, end))
        return con.sql(sql).to_arrow_table().num_rows
    return con.sql("SELECT * EXCLUDE (date) FROM read_parquet(?, hive_partitioning = true, union_by_name = true) "
                   "WHERE ts >= ? AND ts <= ?", params=[files, start, end]).to_arrow_table().num_rows


def lake_counts(files: list[str], dedup: bool) -> tuple[int, int]:
    """(rows a whole-lake count per source returns, rows stored)."""
    con = duckdb.connect()
    scan = "read_parquet(?, hive_partitioning = true, union_by_name = true)"
    if dedup:
        counted = con.sql(f"SELECT source, count(*) FROM ({catalog.events_relation_sql(Path('/'), files)}) "
                          "GROUP BY 1").fetchall()
    else:
        counted = con.sql(f"SELECT source, count(*) FROM {scan} GROUP BY 1", params=[files]).fetchall()
    return sum(c for _, c in counted), con.sql(f"SELECT count(*) FROM {scan}", params=[files]).fetchall()[0][0]


def timed(fn, repeats: int = 3, make=None):
    """Median seconds of `fn()` (of `fn(make())` with `make`, made outside the clock), and its result."""
    times, result = [], None
    for _ in range(repeats):
        args = (make(),) if make else ()
        t0 = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


# ---------------------------------------------------------------- the run

def run(mode: dict, work: Path) -> dict:
    days, out = mode["days"], {"mode": mode}
    first_fetch = START + timedelta(days=days + 1)
    history = events(mode["history"], first_day=0, days=days, seed=1, id_start=0, fetched=first_fetch)
    today = Lake(work / "today")
    write_today(today, history, "history", write=_write_unsynced)
    publish_today(today)
    base = delta.Location(str(work / "delta-base"))
    delta.append(base, history, day_from="ts", run_id="history")
    next_id = mode["history"]

    # 2. dedup: MERGE on write against append, the same re-fetch on copies of one table
    out["dedup"], tables, batches = {}, {}, {}
    for k, n in enumerate(mode["dedup"]):
        batches[n] = batch = refetch(history, n, days, seed=100 + k, id_start=next_id,
                                     fetched=first_fetch + timedelta(hours=k + 1))
        next_id += n
        tables[n] = merged, appended = [delta.Location(str(work / f"delta-{name}-{n}"))
                                        for name in ("merged", "appended")]
        for copy in (merged, appended):
            shutil.copytree(base.uri, copy.uri)
        t_merge, metrics = timed(lambda: merge_delta(merged, batch, f"merge-{n}"), 1)
        t_append, _ = timed(lambda: append_delta(appended, batch, f"append-{n}"), 1)
        # today's lake takes the largest re-fetch only, so that it holds what the Delta tables read below hold
        target = today if n == mode["dedup"][-1] else Lake(work / f"today-scratch-{n}")
        t_today, _ = timed(lambda: write_today(target, batch, f"refetch-{n}"), 1)
        out["dedup"][n] = {"merge_s": t_merge, "append_s": t_append, "today_s": t_today,
                           "rewritten_files": metrics.get("num_target_files_removed", 0),
                           "updated": metrics.get("num_target_rows_updated", 0),
                           "inserted": metrics.get("num_target_rows_inserted", 0)}
    publish_today(today)
    merged, appended = tables[mode["dedup"][-1]]

    # 3. reads: a window of last night (re-fetched, so duplicates in it until compaction) and an old one
    out["reads"] = {}
    for label, at in (("last night's incident", START + timedelta(days=days - 1, hours=14)),
                      ("an incident months ago", START + timedelta(days=days // 2, hours=14))):
        start, end = at, at + timedelta(hours=6)
        day = [start.date()]
        t_list_today, files = timed(lambda: EventFiles(today.root, today_files(today)).between(start, end))
        t_list_app, app_files = timed(lambda: delta.file_uris(appended, days=day))
        _, merged_files = timed(lambda: delta.file_uris(merged, days=day), 1)
        t_today, rows_today = timed(lambda: window_rows(files, start, end, dedup=True))
        t_app, rows_app = timed(lambda: window_rows(app_files, start, end, dedup=True))
        t_merged, rows_merged = timed(lambda: window_rows(merged_files, start, end, dedup=False))
        out["reads"][label] = {"list_today_s": t_list_today, "list_delta_s": t_list_app, "today_s": t_today,
                               "appended_s": t_app, "merged_s": t_merged,
                               "rows": (rows_today, rows_app, rows_merged)}
    t_scan_today, c_today = timed(lambda: lake_counts(today_files(today), dedup=True), 1)
    t_scan_app, c_app = timed(lambda: lake_counts(delta.file_uris(appended), dedup=True), 1)
    t_scan_merged, c_merged = timed(lambda: lake_counts(delta.file_uris(merged), dedup=False), 1)
    out["scan"] = {"today": (t_scan_today, c_today), "appended": (t_scan_app, c_app),
                   "merged": (t_scan_merged, c_merged)}

    # the night's compaction on each path, then what the appended table stores
    for n, (m, a) in tables.items():
        out["dedup"][n]["compact_merged_s"], _ = timed(lambda: compact_delta(m, batches[n], dedup=False), 1)
        out["dedup"][n]["compact_appended_s"], dropped = timed(lambda: compact_delta(a, batches[n], dedup=True), 1)
        out["dedup"][n]["dropped"] = dropped
    out["scan"]["appended_compacted"] = appended.open().count()

    # 1. appends of new events: today's files (+ publish), Delta append, Delta MERGE
    out["append"] = {}
    for n in mode["append"]:
        repeats = 3 if n <= 10_000 else 1

        def night() -> pa.Table:
            nonlocal next_id
            next_id += n
            return events(n, first_day=days - NIGHT_DAYS, days=NIGHT_DAYS, seed=next_id, id_start=next_id - n,
                          fetched=first_fetch + timedelta(days=1))

        t_today, files = timed(lambda b: write_today(today, b, f"night-{b['native_id'][0]}"), repeats, night)
        t_publish, _ = timed(lambda: publish_today(today), 1)
        t_delta, _ = timed(lambda b: append_delta(appended, b, "night"), repeats, night)
        t_merge = None   # a MERGE of 1M events takes ~3x an append too (measured), and half a minute here
        if n <= mode["merge_up_to"]:
            t_merge, _ = timed(lambda b: merge_delta(merged, b, "night-merge"), repeats, night)
        out["append"][n] = {"today_s": t_today, "files": files, "publish_s": t_publish, "delta_s": t_delta,
                            "merge_s": t_merge}

    # the log after many small commits: opening the table, its files, the raw files normalised
    log = delta.Location(str(work / "delta-log"))
    small = events(50, first_day=days - 1, days=1, seed=3, id_start=0, fetched=first_fetch)   # one day
    for c in range(mode["commits"]):
        delta.append(log, small, day_from="ts", run_id=f"run-{c}",
                     raw_files=[f"raw/{c}-{p}.parquet" for p in range(3)])
    t_open, uris = timed(lambda: delta.file_uris(log))
    t_raw, raw = timed(lambda: delta.normalized_raw_files(log))
    out["log"] = {"commits": mode["commits"], "open_s": t_open, "files": len(uris), "raw_s": t_raw, "raw": len(raw)}
    return out


# ---------------------------------------------------------------- the report

NORMALISE_EVENTS_PER_S = 16_600   # the whole normaliser on this machine (docs/performance.md)


def _row(cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def report(out: dict) -> str:
    mode = out["mode"]
    lines = [f"Delta Lake (delta-rs {_version()}) against today's layout: history of {mode['history']:,} events "
             f"over {mode['days']} days, {len(SOURCES)} sources; batches cover the last {NIGHT_DAYS} days", "",
             "1. appending new events (median seconds; Delta: one commit per source)",
             _row(["batch", "today: files", "files", "today: catalog publish", "Delta: append",
                   "Delta / today's files", "Delta / (files + publish)", "Delta: MERGE on event_id",
                   "MERGE / append"]), _row(["---"] * 9)]
    for n, a in out["append"].items():
        merge = a["merge_s"]
        lines.append(_row([f"{n:,}", f"{a['today_s']:.3f}", a["files"], f"{a['publish_s']:.3f}", f"{a['delta_s']:.3f}",
                           f"{a['delta_s'] / a['today_s']:.2f}x",
                           f"{a['delta_s'] / (a['today_s'] + a['publish_s']):.2f}x",
                           "-" if merge is None else f"{merge:.3f}",
                           "-" if merge is None else f"{merge / a['delta_s']:.1f}x"]))
    lines += ["", "2. a re-fetch, half of it events already in the lake (seconds; one commit per source)",
              _row(["batch", "today: files", "Delta: append", "+ compact_newest (folds re-fetches)",
                    "Delta: MERGE", "+ optimize.compact", "MERGE / append", "rows updated / inserted",
                    "files rewritten by MERGE", "rows folded by compact_newest"]), _row(["---"] * 10)]
    for n, d in out["dedup"].items():
        lines.append(_row([f"{n:,}", f"{d['today_s']:.3f}", f"{d['append_s']:.3f}",
                           f"{d['compact_appended_s']:.3f}", f"{d['merge_s']:.3f}", f"{d['compact_merged_s']:.3f}",
                           f"{d['merge_s'] / d['append_s']:.1f}x",
                           f"{d['updated']:,} / {d['inserted']:,}", d["rewritten_files"], f"{d['dropped']:,}"]))
    lines += ["", "3. one incident's 6-hour window through DuckDB over the snapshot's files, before the night's "
              "compaction (median seconds)",
              _row(["window", "file list: today (catalog)", "file list: Delta log", "today + dedup view",
                    "Delta appended + dedup view", "Delta merged, no dedup", "rows (today, appended, merged)"]),
              _row(["---"] * 7)]
    for label, r in out["reads"].items():
        lines.append(_row([label, f"{r['list_today_s']:.3f}", f"{r['list_delta_s']:.3f}", f"{r['today_s']:.3f}",
                           f"{r['appended_s']:.3f}", f"{r['merged_s']:.3f}", ", ".join(f"{x:,}" for x in r["rows"])]))
    scan = out["scan"]
    lines += ["", "whole-lake count per source, before the night's compaction (seconds; rows counted / rows stored)",
              _row(["today + dedup view", "Delta appended + dedup view", "Delta merged, no dedup"]), _row(["---"] * 3),
              _row([f"{t:.3f} ({c[0]:,} / {c[1]:,})" for t, c in (scan["today"], scan["appended"], scan["merged"])]),
              f"after compact_newest the appended table stores {scan['appended_compacted']:,} rows "
              f"for {scan['appended'][1][0]:,} events (optimize.compact alone would keep every copy)"]
    log = out["log"]
    lines += ["", f"the log after {log['commits']} small commits: opening the table and listing its {log['files']:,} "
              f"files {log['open_s']:.3f} s; reading the {log['raw']:,} raw files normalised from the commits' "
              f"metadata {log['raw_s']:.3f} s", ""]
    return "\n".join(lines + verdict(out))


def verdict(out: dict) -> list[str]:
    """Which dedup the figures favour. The one cost someone waits for is `run` after an incident:
    it writes the incident's window (a small batch) and then reads it. MERGE is favoured when
    that costs no more than 20% over append + the view (then every engine reads exact rows for
    next to nothing); else append + view, with re-fetches folded by the nightly compaction."""
    small = out["append"][min(out["append"])]
    recent, old = out["reads"]["last night's incident"], out["reads"]["an incident months ago"]
    run_merge = small["merge_s"] + recent["merged_s"]
    run_append = small["delta_s"] + recent["appended_s"]
    favour_merge = run_merge <= 1.2 * run_append
    n = max(out["dedup"])
    d = out["dedup"][n]
    ratios = [a["merge_s"] / a["delta_s"] for a in out["append"].values() if a["merge_s"] is not None] + \
        [r["merge_s"] / r["append_s"] for r in out["dedup"].values()]
    return [
        f"Dedup: {'MERGE on write' if favour_merge else 'append + a dedup view at read'} is what these figures "
        "favour, because:",
        f"- `run` after an incident writes its window and reads it: for {min(out['append']):,} events "
        f"{run_merge:.2f} s with MERGE ({small['merge_s']:.2f} s write + {recent['merged_s']:.2f} s read) against "
        f"{run_append:.2f} s with append + view ({small['delta_s']:.2f} + {recent['appended_s']:.2f}); a MERGE "
        f"costs {small['merge_s'] / small['delta_s']:.1f}x an append, the view "
        f"{1000 * (recent['appended_s'] - recent['merged_s']):+.0f} ms on last night's window and "
        f"{1000 * (old['appended_s'] - old['merged_s']):+.0f} ms on an old one;",
        f"- the night's work for a {n:,}-event re-fetch: {d['merge_s'] + d['compact_merged_s']:.2f} s "
        f"(MERGE + optimize.compact) against {d['append_s'] + d['compact_appended_s']:.2f} s "
        f"(append + compact_newest);",
        f"- an analyst's whole-lake count pays the view: {out['scan']['appended'][0]:.2f} s against "
        f"{out['scan']['merged'][0]:.2f} s on the merged table;",
        "- every engine can get exact rows either way: after a MERGE the table holds one row per event_id; after "
        "append, compact_newest folds the re-fetches of the days it compacts and the newest-row rule (the "
        "catalog's view, the SQL of docs/scale.md for Spark, Trino, polars) covers the rest. Delta's own "
        "optimize.compact folds nothing.",
        f"(Timings on a busy machine move by tens of percent from run to run; the choice rests on the MERGE / append "
        f"ratio, {min(ratios):.1f}x to {max(ratios):.1f}x over every batch of this run.)"]


def _version() -> str:
    import deltalake
    return deltalake.__version__


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a 100k-event history and smaller batches")
    parser.add_argument("--work", type=Path, help="folder for the lakes (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    mode = MODES["quick" if args.quick else "default"]
    t0 = time.perf_counter()
    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
        out = run(mode, Path(tempfile.mkdtemp(dir=args.work)))
    else:
        with tempfile.TemporaryDirectory(prefix="delta-bench-") as work:
            out = run(mode, Path(work))
    print(report(out))
    print(f"\n(whole run {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
