"""Variants of a generated lake for tuning its layout: the same events, the files cut anew.

    row_group_rows: rows per Parquet row group (None: one row group per file, as written)
    files_per_day:  each source-day file split into this many consecutive slices, as frequent
                    ingests leave a day before compaction merges it

The variant gets a copy of the original's catalog, published again (outside any measure)
so its file list and ref index are those of the new files.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq

from benchmarks import lakegen

VARIANTS = {
    "one file per source-day, one row group (as compaction writes)": {},
    "row groups of 1,024 rows": {"row_group_rows": 1024},
    "row groups of 256 rows": {"row_group_rows": 256},
    "4 files per source-day (before compaction)": {"files_per_day": 4},
}


def variant(source: Path, target: Path, *, row_group_rows: int | None = None, files_per_day: int = 1) -> Path:
    ready = target / "READY"
    if ready.exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    from incident_timeline.lake import commits
    from incident_timeline.lake.layout import Lake

    written = []
    for f in Lake(source).event_files():
        table = pq.read_table(f, partitioning=None)
        folder = target / f.parent.relative_to(source)
        folder.mkdir(parents=True, exist_ok=True)
        step = -(-table.num_rows // files_per_day)
        for i in range(files_per_day):
            part = table.slice(i * step, step)
            if part.num_rows or i == 0:
                name = f.name if files_per_day == 1 else f"{f.stem}-{i}.parquet"
                pq.write_table(part, folder / name, compression="zstd",
                               row_group_size=row_group_rows or max(part.num_rows, 1))
                written.append(folder / name)
    commits.commit(Lake(target), "events", written, run_id="variant", operation="generate")
    shutil.copy2(source / "catalog.duckdb", target / "catalog.duckdb")
    publish_catalog(target)
    ready.write_text(lakegen.BENCH_INCIDENT)
    return target


def publish_catalog(root: Path) -> None:
    """Publish a lake's catalog once with this version (views over the snapshot, index brought
    up to date, views migrated), outside the measured child."""
    from incident_timeline.lake import catalog_store
    from incident_timeline.lake.layout import Lake

    lake = Lake(root.resolve())
    with catalog_store.catalog_writer(lake) as con:
        catalog_store.publish(con, lake)
