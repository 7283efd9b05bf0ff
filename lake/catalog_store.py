"""Writing the catalog without ever locking a reader out, and publishing lake files.

DuckDB lets one process hold a database file read-write and refuses read-only openers
meanwhile (and vice versa). So the catalog is never opened read-write under its own name:
a writer copies it, changes the copy, checkpoints, and renames the copy over the original.
Readers keep whatever version they opened; new readers get the new one at once. Writers
take turns on a lock file.

Which lake files are live is the Delta tables' business (lake/commits.py): each publish
points the views at the current snapshots' files, so a running query keeps the files of
the snapshot it started on (retired files stay until `vacuum`'s retention), and copies the
lake's cursors into the catalog's `cursors` and `cursor_links` tables.

A lake on object storage keeps its catalog on a local disk (`catalog:`): each machine's
catalog is its own view of the one lake, refreshed from the tables' logs at each publish.
"""
from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from typing import Iterator

import duckdb

import incident_timeline.lake.catalog as catalog

from incident_timeline.lake import commits
from incident_timeline.lake.layout import Lake, fsync_dir
from incident_timeline.lake.locks import file_lock

WRITER_WAIT_S = 120.0
@contextmanager
def catalog_writer(lake: Lake) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to a copy of the catalog, published atomically on success."""
    home = lake.state_dir
    home.mkdir(parents=True, exist_ok=True)
    with file_lock(home / ".catalog.lock", wait_s=WRITER_WAIT_S):
        for stale in home.glob(".catalog-*.tmp*"):  # left by a killed writer
            stale.unlink(missing_ok=True)
        tmp = home / f".catalog-{uuid.uuid4().hex[:8]}.tmp"
        if lake.catalog.exists():
            shutil.copyfile(lake.catalog, tmp)
        con = duckdb.connect(str(tmp))
        try:
            # One thread: a writer's statements are small, and each DuckDB worker thread keeps
            # its own buffers (~8 MB of an ingest's peak at the publish, measured).
            con.execute("SET TimeZone = 'UTC'; SET threads = 1")
            lake.attach(con)   # views over s3:// files are checked against the files when made
            con.execute(catalog.TABLES_DDL)
            yield con
            con.execute("CHECKPOINT")
            con.close()
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, lake.catalog)
            fsync_dir(home)
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


def publish(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """Point the views at the tables' current snapshots, and copy the lake's cursors."""
    from incident_timeline.lake.state import all_cursors   # state writes through this module
    catalog.refresh(con, lake.root, [lake.uri(f) for f in commits.files(lake, "events")],
                    [lake.uri(f) for f in commits.files(lake, "rejects")])
    rows = all_cursors(lake)
    con.execute("DELETE FROM cursors")
    con.execute("DELETE FROM cursor_links")
    for table, column in (("cursors", "value"), ("cursor_links", "link")):
        values = [(r["source"], r["partition"], r[column], r["updated_at"]) for r in rows if r[column]]
        if values:
            con.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?)", values)


def read_only_catalog(lake: Lake) -> duckdb.DuckDBPyConnection:
    """An analyst's connection: read-only, with the lake readable behind the views."""
    con = catalog.connect(lake.catalog, read_only=True)
    lake.attach(con)
    return con
