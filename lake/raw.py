"""Raw rows into the lake, one Parquet file per batch, and read back in passes of bounded size."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Iterator

import pyarrow as pa

from incident_timeline.lake import commits, quarantine
from incident_timeline.lake.layout import Lake


def write_raw(lake: Lake, source: str, run_id: str, partition: str, seq: int, rows: pa.Table):
    """Write `rows` (ingest.raw_rows) as one raw file of the day they were fetched, whole once
    this returns; `publish_raw` then makes it part of the raw table."""
    fetched = rows["fetched_at"][0].as_py() if rows.num_rows else datetime.now(timezone.utc)
    day = fetched.astimezone(timezone.utc).strftime("%Y-%m-%d")
    part = "".join(c if c.isalnum() or c in "-_" else "_" for c in partition)[:60] or "all"
    path = lake.raw_dir(source, day) / f"{run_id}-{part}-{seq:05d}.parquet"
    return lake.write_parquet(rows, path)


def publish_raw(lake: Lake, source: str, files: list, run_id: str) -> None:
    """Add written raw files to the raw table, in one commit: the next normalisation's work."""
    if files:
        commits.commit(lake, "raw", files, run_id=run_id, operation="fetch", sources=[source])


def raw_chunks(lake: Lake, files: list, records_at_once: int,
               set_aside: Callable[[str], None]) -> Iterator[list]:
    """`files` in consecutive runs of up to `records_at_once` records (one file at least); a
    file that is not readable Parquet is set aside (quarantine.py), told to `set_aside`, and skipped."""
    chunk: list = []
    records = 0
    for f in files:
        try:
            n = lake.storage.read_parquet(f, columns=["run_id"]).num_rows
        except (OSError, pa.ArrowException) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            set_aside(quarantine.set_aside(lake, f, reason))
            continue
        if chunk and records + n > records_at_once:
            yield chunk
            chunk, records = [], 0
        chunk.append(f)
        records += n
    if chunk:
        yield chunk
