"""Writing the catalog without ever locking a reader out, and publishing lake files.

DuckDB lets one process hold a database file read-write and refuses read-only openers
meanwhile (and vice versa). So the catalog is never opened read-write under its own name:
a writer copies it, changes the copy, checkpoints, and renames the copy over the original.
Readers keep whatever version they opened; new readers get the new one at once. Writers
take turns on a lock file.

The catalog also says which lake files are live (`lake_files`): views read exactly that
list, so compaction can retire files (marked superseded, deleted only after a grace
period) without a running query ever losing a file under it, and which raw files have
been normalised (`raw_normalized`), so a run killed between fetching and normalising is
finished by the next one.
"""
from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import duckdb

import correlate.catalog as catalog

from .lake import Lake, fsync_dir
from .locks import file_lock

WRITER_WAIT_S = 120.0
SUPERSEDED_GRACE = timedelta(hours=1)

STATE_DDL = """
CREATE TABLE IF NOT EXISTS lake_files (
    path VARCHAR PRIMARY KEY, kind VARCHAR, source VARCHAR, added_at TIMESTAMPTZ,
    superseded_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS raw_normalized (
    path VARCHAR PRIMARY KEY, source VARCHAR, run_id VARCHAR, normalized_at TIMESTAMPTZ
);
"""


@contextmanager
def catalog_writer(lake: Lake) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to a copy of the catalog, published atomically on success."""
    lake.root.mkdir(parents=True, exist_ok=True)
    with file_lock(lake.root / ".catalog.lock", wait_s=WRITER_WAIT_S):
        for stale in lake.root.glob(".catalog-*.tmp*"):  # left by a killed writer
            stale.unlink(missing_ok=True)
        tmp = lake.root / f".catalog-{uuid.uuid4().hex[:8]}.tmp"
        if lake.catalog.exists():
            shutil.copyfile(lake.catalog, tmp)
        con = duckdb.connect(str(tmp))
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute(catalog.TABLES_DDL)
            con.execute(STATE_DDL)
            yield con
            con.execute("CHECKPOINT")
            con.close()
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, lake.catalog)
            fsync_dir(lake.root)
        finally:
            try:
                con.close()
            except duckdb.Error:
                pass
            for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                leftover.unlink(missing_ok=True)


def read_catalog(lake: Lake) -> duckdb.DuckDBPyConnection | None:
    """A read-only connection, or None when there is no catalog yet."""
    if not lake.catalog.exists():
        return None
    return catalog.connect(lake.catalog, read_only=True)


def register_files(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """Add files that appeared on disk; forget rows whose file is gone."""
    on_disk = {}
    for kind, files in (("events", lake.event_files()), ("rejects", lake.reject_files())):
        for f in files:
            rel = f.relative_to(lake.root).as_posix()
            on_disk[rel] = (kind, f.parent.parent.name.removeprefix("source="))
    known = {p for (p,) in con.execute("SELECT path FROM lake_files").fetchall()}
    now = datetime.now(timezone.utc)
    new = [(p, k, s, now) for p, (k, s) in on_disk.items() if p not in known]
    if new:
        con.executemany("INSERT INTO lake_files VALUES (?, ?, ?, ?, NULL)", new)
    gone = sorted(known - set(on_disk))
    if gone:
        con.execute("DELETE FROM lake_files WHERE list_contains(?, path)", [gone])


def live_files(con: duckdb.DuckDBPyConnection, lake: Lake, kind: str, source: str | None = None) -> list[Path]:
    sql = "SELECT path FROM lake_files WHERE kind = ? AND superseded_at IS NULL"
    params: list = [kind]
    if source is not None:
        sql += " AND source = ?"
        params.append(source)
    return [lake.root / p for (p,) in con.execute(sql + " ORDER BY path", params).fetchall()]


def supersede(con: duckdb.DuckDBPyConnection, lake: Lake, files: list[Path]) -> None:
    if not files:
        return
    rels = [f.relative_to(lake.root).as_posix() for f in files]
    con.execute("UPDATE lake_files SET superseded_at = ? WHERE list_contains(?, path) AND superseded_at IS NULL",
                [datetime.now(timezone.utc), rels])


def purge_superseded(con: duckdb.DuckDBPyConnection, lake: Lake, grace: timedelta = SUPERSEDED_GRACE) -> int:
    """Delete files retired longer ago than `grace`: no running query can still be reading them."""
    cutoff = datetime.now(timezone.utc) - grace
    rows = con.execute("SELECT path FROM lake_files WHERE superseded_at IS NOT NULL AND superseded_at <= ?",
                       [cutoff]).fetchall()
    for (rel,) in rows:
        (lake.root / rel).unlink(missing_ok=True)
    if rows:
        con.execute("DELETE FROM lake_files WHERE list_contains(?, path)", [[r for (r,) in rows]])
    return len(rows)


def publish(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """Register what is on disk and point the views at the live files."""
    register_files(con, lake)
    catalog.refresh(con, lake.root, live_files(con, lake, "events"), live_files(con, lake, "rejects"))


def pending_raw(lake: Lake, source: str) -> list[Path]:
    """Raw files of `source` that no run has finished normalising."""
    files = lake.raw_files(source)
    con = read_catalog(lake)
    if con is None:
        return files
    try:
        done = {p for (p,) in con.execute(
            "SELECT path FROM raw_normalized WHERE source = ?", [source]).fetchall()} \
            if _has_table(con, "raw_normalized") else set()
    finally:
        con.close()
    return [f for f in files if f.relative_to(lake.root).as_posix() not in done]


def mark_normalized(con: duckdb.DuckDBPyConnection, lake: Lake, source: str, files: list[Path], run_id: str) -> None:
    now = datetime.now(timezone.utc)
    con.executemany("INSERT OR REPLACE INTO raw_normalized VALUES (?, ?, ?, ?)",
                    [(f.relative_to(lake.root).as_posix(), source, run_id, now) for f in files])


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                            [name]).fetchone()[0])
