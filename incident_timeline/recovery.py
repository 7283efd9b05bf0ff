"""A catalog that cannot be read is set aside and rebuilt from the lake.

The catalog is derived data. What the lake alone gives back:
- the events, rejects and cursors: they are the lake's Delta tables; the views and the
  catalog's copy of the cursors are made again from them;
- the built incidents: `build` copies their tables to `tables/` in the lake.
What is lost: the `runs` history (it starts again with a row for the rebuild).

The unreadable file is renamed `catalog.duckdb.corrupt-<UTC time>`, never deleted.
"""
from __future__ import annotations

import logging
import os
from datetime import datetime, timezone
from pathlib import Path

import duckdb

import incident_timeline.lake.catalog as catalog

from incident_timeline.lake import catalog_store, shared_tables, state, upgrade
from incident_timeline.lake.layout import Lake, new_run_id
from incident_timeline.lake.locks import file_lock

log = logging.getLogger("incident_timeline")

STATE_TABLES = ("cursors", "runs")


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
                "(views and cursors from the lake's tables, "
                "built incidents from tables/; the runs history starts again)", lake.catalog, reason, aside.name)
    started = datetime.now(timezone.utc)
    restored = _restore_state(lake)
    state.record_run(lake, new_run_id(), "rebuild-catalog", started, "ok",
                     {"set_aside": aside.name, "reason": reason, **restored})
    return aside


def _restore_state(lake: Lake) -> dict:
    with catalog_store.catalog_writer(lake) as con:
        incidents = _restore_incident_tables(con, lake)
        catalog_store.publish(con, lake)   # the views and the cursors, from the lake's tables
        cursors = con.execute("SELECT count(*) FROM cursors").fetchone()[0]
    return {"cursors_restored": cursors, "incidents_restored": incidents}


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
