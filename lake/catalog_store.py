"""Writing the catalog without ever locking a reader out, and publishing lake files.

DuckDB lets one process hold a database file read-write and refuses read-only openers
meanwhile (and vice versa). So the catalog is never opened read-write under its own name:
a writer copies it, changes the copy, checkpoints, and renames the copy over the original.
Readers keep whatever version they opened; new readers get the new one at once. Writers
take turns on a lock file.

Which lake files are live is the Delta tables' business (lake/commits.py): each publish
points the views at the current snapshots' files, so a running query keeps the files of
the snapshot it started on (retired files stay until `vacuum`'s retention).

A lake on object storage keeps its catalog on a local disk (`catalog:`); the cursors are
published in per-source manifests in the lake (see manifests.py): a writer that owns
sources writes their manifests in the same commit, and every writer first takes the other
sources' cursors from their newest manifests.
"""
from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from typing import Iterable, Iterator

import duckdb

import incident_timeline.lake.catalog as catalog

from incident_timeline.lake import commits, manifests
from incident_timeline.lake.layout import Lake, fsync_dir
from incident_timeline.lake.locks import file_lock

WRITER_WAIT_S = 120.0
@contextmanager
def catalog_writer(lake: Lake, owned: Iterable[str] = ()) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to a copy of the catalog, published atomically on success.

    On object storage, the manifests of the `owned` sources are written from the new state
    just before the commit (no manifest, no commit: the next run redoes the work)."""
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
            if lake.remote:
                for source in sorted(set(owned)):
                    manifests.write_manifest(con, lake, source)
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


def publish(con: duckdb.DuckDBPyConnection, lake: Lake, owned: Iterable[str] | None = None) -> None:
    """Point the views at the tables' current snapshots.

    On object storage: the cursors of the sources this writer does not own come from their manifests."""
    owned = tuple(sorted(set(owned or ())))
    if lake.remote:
        manifests.import_manifests(con, lake, skip=owned)
    catalog.refresh(con, lake.root, [lake.uri(f) for f in commits.files(lake, "events")],
                    [lake.uri(f) for f in commits.files(lake, "rejects")])


def sync_from_lake(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """Take every source's state (cursors too) from the lake's manifests: a job starting on a
    machine whose catalog is new or stale. A no-op for a local lake (the catalog is the truth)."""
    if lake.remote:
        manifests.import_manifests(con, lake)


def read_only_catalog(lake: Lake) -> duckdb.DuckDBPyConnection:
    """An analyst's connection: read-only, with the lake readable behind the views."""
    con = catalog.connect(lake.catalog, read_only=True)
    lake.attach(con)
    return con
