"""Merging the many small Parquet files of frequent runs into one per source and day, with
one row per event (the newest fetch).

The merged file is written next to its inputs (whole or not at all), then one Delta commit
publishes it and retires the inputs (lake/published.py); `vacuum` deletes them after the
retention. Readers of the `events` view see each event exactly once at every moment: before
the commit the old files, after it the new one.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import PurePath

import duckdb
import pyarrow as pa

from incident_timeline.contract.schemas import EVENT_SCHEMA, REJECT_SCHEMA
from incident_timeline.lake.layout import Lake

MIN_FILES = 2   # a partition with fewer live files than this is left alone


def compact_partitions(lake: Lake, live: list, kind: str, run_id: str) -> tuple[list, list]:
    """Merge each partition's live files; return (new files, replaced files)."""
    by_partition: dict[PurePath, list] = defaultdict(list)
    for f in live:
        by_partition[f.parent].append(f)
    written, replaced = [], []
    for folder, files in sorted(by_partition.items()):
        if len(files) < MIN_FILES:
            continue
        table = _merged(lake, files, kind)
        written.append(lake.write_parquet(table, folder / f"compacted-{run_id}.parquet"))
        replaced += files
    return written, replaced


def _merged(lake: Lake, files: list, kind: str) -> pa.Table:
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        lake.attach(con)
        listing = [lake.uri(f) for f in files]
        if kind == "events":
            sql = ("SELECT * FROM read_parquet(?, union_by_name = true, hive_partitioning = false) "
                   "QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY ingested_at DESC) = 1 "
                   "ORDER BY ts, event_id")
            schema = EVENT_SCHEMA
        else:
            sql = ("SELECT * FROM read_parquet(?, union_by_name = true, hive_partitioning = false) "
                   "QUALIFY row_number() OVER (PARTITION BY native_id, field, reason, md5(coalesce(record, '')) "
                   "ORDER BY rejected_at DESC) = 1 ORDER BY rejected_at, native_id")
            schema = REJECT_SCHEMA
        table = con.sql(sql, params=[listing]).to_arrow_table()
    finally:
        con.close()
    return table.select(schema.names).cast(schema)
