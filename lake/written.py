"""Events and rejects into the lake, and what of them is new to it."""
from __future__ import annotations

import hashlib

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from incident_timeline.lake.layout import Lake


def write_by_day(lake: Lake, source: str, events: pa.Table, name: str) -> list:
    if events.num_rows == 0:
        return []
    events = events.sort_by([("ts", "ascending"), ("event_id", "ascending")])
    days = pc.strftime(events["ts"], format="%Y-%m-%d")
    written = []
    for day in pc.unique(days).to_pylist():
        part = events.filter(pc.equal(days, day))
        written.append(lake.write_parquet(part, lake.events_dir(source, day) / f"{name}.parquet"))
    return written


def count_new_events(lake: Lake, existing_files: list, events: pa.Table) -> int:
    """How many of `events` have an event_id not already in `existing_files`."""
    if events.num_rows == 0:
        return 0
    ids = pc.unique(events["event_id"])
    if not existing_files:
        return len(ids)
    con = duckdb.connect()
    try:
        con.register("new_ids", pa.table({"event_id": ids}))
        lake.attach(con)
        listing = [lake.uri(f) for f in existing_files]
        seen = con.execute("SELECT count(DISTINCT event_id) FROM read_parquet(?, union_by_name = true) "
                           "WHERE event_id IN (SELECT event_id FROM new_ids)", [listing]).fetchone()[0]
    finally:
        con.close()
    return len(ids) - seen


def reject_keys(lake: Lake, files: list) -> set[tuple]:
    """What identifies each reject of `files` (the rejects view's key, see lake.catalog)."""
    if not files:
        return set()
    return set(lake.query("SELECT DISTINCT source, stage, native_id, field, reason, md5(coalesce(record, '')) "
                          "FROM read_parquet(?, union_by_name = true)", [[lake.uri(f) for f in files]]))


def count_new_rejects(rejects: pa.Table, seen: set[tuple]) -> int:
    """How many of `rejects` are not in `seen` (which then holds them): a record rejected
    again for the same reason is reported once, not on every run."""
    new = 0
    columns = [rejects[c].to_pylist() for c in ("source", "stage", "native_id", "field", "reason", "record")]
    for source, stage, native_id, field, reason, record in zip(*columns):
        key = (source, stage, native_id, field, reason, hashlib.md5((record or "").encode()).hexdigest())
        if key not in seen:
            seen.add(key)
            new += 1
    return new
