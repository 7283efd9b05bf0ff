"""A catalog that cannot be read is set aside and rebuilt from the lake.

The catalog is derived data. What the lake alone gives back:
- the events and rejects: the views are pointed at the Delta tables' snapshots again;
- the cursors: each raw file a cursor-moving fetch wrote names its partition and the end
  of its window in its Parquet metadata; the newest one per partition is the cursor
  (a file written before that metadata existed gives its run's start, which is where the
  cursor was unless that run fetched an explicit `--since/--until` window);
- the built incidents: `build` copies their tables to `tables/` in the lake;
- on object storage, the cursors come from the per-source manifests.
What is lost: the `runs` history (it starts again with a row for the rebuild).

The unreadable file is renamed `catalog.duckdb.corrupt-<UTC time>`, never deleted.
"""
from __future__ import annotations

import logging
import os
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

import incident_timeline.lake.catalog as catalog

from incident_timeline.lake import catalog_store, commits, shared_tables, state, upgrade
from incident_timeline.lake.layout import Lake, new_run_id
from incident_timeline.lake.locks import file_lock

log = logging.getLogger("incident_timeline")

# Parquet key-value metadata of a raw file whose fetch moves a cursor
CURSOR_PARTITION_KEY = b"incident_timeline.cursor_partition"
CURSOR_UNTIL_KEY = b"incident_timeline.cursor_until"
STATE_TABLES = ("cursors", "runs")


def cursor_metadata(partition: str, until: datetime | None) -> dict[bytes, bytes]:
    """What a raw file records of the cursor its fetch moves (`until` None: an explicit
    `--since` window, which moves none)."""
    return {CURSOR_PARTITION_KEY: partition.encode("utf-8"),
            CURSOR_UNTIL_KEY: b"" if until is None else until.astimezone(timezone.utc).isoformat().encode()}


def unreadable(path: Path) -> str | None:
    """Why the catalog at `path` cannot be read, or None when it can (or does not exist).
    A catalog another process holds (a lock) is not unreadable."""
    if not path.exists():
        return None
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        return None if "lock" in str(exc).lower() else _first_line(exc)
    try:
        present = {name for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        for table in STATE_TABLES:   # small, and read by every run: read them whole
            if table in present:
                con.execute(f'SELECT * FROM "{table}"').fetchall()
    except duckdb.Error as exc:
        return _first_line(exc)
    finally:
        con.close()
    return None


def set_aside_if_unreadable(lake: Lake) -> tuple[Path, str] | None:
    """Rename an unreadable catalog out of the way: (its new path, why), or None."""
    if unreadable(lake.catalog) is None:   # the common case, without taking the lock
        return None
    home = lake.state_dir
    with file_lock(home / ".catalog.lock", wait_s=catalog_store.WRITER_WAIT_S):
        reason = unreadable(lake.catalog)  # another process may have rebuilt it meanwhile
        if reason is None:
            return None
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        aside = lake.catalog.with_name(f"{lake.catalog.name}.corrupt-{stamp}")
        n = 1
        while aside.exists():
            n += 1
            aside = lake.catalog.with_name(f"{lake.catalog.name}.corrupt-{stamp}-{n}")
        os.replace(lake.catalog, aside)
        wal = lake.catalog.with_name(lake.catalog.name + ".wal")
        if wal.exists():
            os.replace(wal, aside.with_name(aside.name + ".wal"))
    return aside, reason


def recover_catalog(config) -> Path | None:
    """Check the catalog; if it cannot be read, set it aside, say so in one warning line,
    and rebuild it from the lake. Returns where the unreadable file went, or None."""
    lake = Lake.for_config(config)
    found = set_aside_if_unreadable(lake)
    if upgrade.needed(lake):   # a lake the previous version wrote: its tables become Delta tables first
        upgrade.upgrade(lake)
    if found is None:
        return None
    aside, reason = found
    log.warning("catalog %s could not be read (%s): set aside as %s and rebuilt from the lake "
                "(views over the lake's tables, cursors from the newest fetch per partition, "
                "built incidents from tables/; the runs history starts again)", lake.catalog, reason, aside.name)
    started = datetime.now(timezone.utc)
    restored = _restore_state(lake)
    state.record_run(lake, new_run_id(), "rebuild-catalog", started, "ok",
                     {"set_aside": aside.name, "reason": reason, **restored})
    return aside


def _restore_state(lake: Lake) -> dict:
    with catalog_store.catalog_writer(lake) as con:
        if lake.remote:
            catalog_store.sync_from_lake(con, lake)
            cursors = 0
        else:
            cursors = _restore_cursors(con, lake)
        incidents = _restore_incident_tables(con, lake)
        catalog_store.publish(con, lake)
    return {"cursors_restored": cursors, "incidents_restored": incidents}


def _restore_cursors(con: duckdb.DuckDBPyConnection, lake: Lake) -> int:
    newest: dict[tuple[str, str], datetime] = {}
    for source in commits.sources(lake, "raw"):
        for f in lake.raw_files(source):
            found = _cursor_of(Path(f))
            if found is None:
                continue
            key = (source, found[0])
            if key not in newest or found[1] > newest[key]:
                newest[key] = found[1]
    now = datetime.now(timezone.utc)
    con.executemany('INSERT OR REPLACE INTO cursors VALUES (?, ?, ?, ?)',
                    [[s, p, v, now] for (s, p), v in sorted(newest.items())])
    return len(newest)


def _cursor_of(path: Path) -> tuple[str, datetime] | None:
    """(partition, cursor) a raw file records; for a file without that metadata, its run's start."""
    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, ValueError):
        return None   # an unreadable raw file: the normaliser sets it aside and says so
    if CURSOR_UNTIL_KEY in meta:
        if not meta[CURSOR_UNTIL_KEY]:
            return None   # an explicit window: it moved no cursor
        return (meta[CURSOR_PARTITION_KEY].decode("utf-8"),
                datetime.fromisoformat(meta[CURSOR_UNTIL_KEY].decode()))
    try:   # written before the metadata existed: <run id = its start>-<partition>-<seq>.parquet
        started = datetime.strptime(path.name[:22], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=timezone.utc)
        partitions = pq.read_table(path, columns=["partition"]).column(0).unique().to_pylist()
    except (OSError, ValueError):
        return None
    return (partitions[0] or "", started) if len(partitions) == 1 else None


def _restore_incident_tables(con: duckdb.DuckDBPyConnection, lake: Lake) -> int:
    catalog.ensure_tables(con)
    # with each incident's aliases and draft times, and the merges and forgets people decided
    for table in (*catalog.INCIDENT_TABLES, *shared_tables.IDENTITY_TABLES):
        uris = shared_tables.table_uris(lake, table)
        if not uris:
            continue
        cols = [c for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index",
            [table]).fetchall()]
        found = {row[0] for row in con.execute(
            "DESCRIBE SELECT * FROM read_parquet(?, union_by_name = true)", [uris]).fetchall()}
        shared = ", ".join(f'"{c}"' for c in cols if c in found)
        con.execute(f'INSERT INTO "{table}" ({shared}) SELECT {shared} FROM read_parquet(?, union_by_name = true)',
                    [uris])
    return con.execute("SELECT count(*) FROM incidents").fetchone()[0]


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
