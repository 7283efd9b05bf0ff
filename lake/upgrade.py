"""A lake of the previous layout becomes Delta tables, once, without copying a file.

The previous layout published through the catalog (`lake_files`: the live events and
rejects files; `raw_normalized`: the raw files already normalised) or, on object storage,
through per-source manifests (format 1) holding the same lists. Exactly those files are
added to the Delta tables where they lie (a Delta file may sit at any path inside its
table's folder); a glob is never trusted, as it also finds retired and unpublished files,
which stay outside every snapshot until `vacuum` deletes them.

- `raw`: its first commit holds the raw files already normalised (version 0), then the
  others; every source's events are then normalised up to version 0, so the others are
  what the next run normalises, as before.
- `rejects`, then `events` (which records the raw version): one commit each.
- `cursors`: the catalog's cursors and cursor links (on object storage, the manifests'); a
  catalog that was lost gives them from the raw files' footers, where the previous version
  noted the cursor each fetch moved.
Each step is skipped when its table exists, and the raw step adds only what its table lacks,
so an upgrade killed at any moment is simply run again. The old state tables (and the
manifests) go last: until then a rerun knows there is work left.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path, PurePath

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from incident_timeline.lake import catalog_store, commits
from incident_timeline.lake.layout import Lake, new_run_id

log = logging.getLogger("incident_timeline")

OLD_STATE_TABLES = ("lake_files", "raw_normalized")


def needed(lake: Lake) -> bool:
    """Whether the lake still holds the previous layout's state (or files with no table)."""
    if lake.remote:
        if lake.storage.glob(lake.manifests, "*/*.json"):
            return True
    elif lake.catalog.exists():
        con = catalog_store.read_catalog(lake)
        try:
            if _old_tables(con):
                return True
        finally:
            con.close()
    if commits.exists(lake, "events"):
        return False
    return bool(_old_raw_files(lake)) or any(_old_published(lake, None)[0].values())


def upgrade(lake: Lake) -> dict[str, int]:
    """Convert the lake (under the catalog's writer lock); returns the files each table took."""
    run_id = new_run_id()
    with catalog_store.catalog_writer(lake) as con:
        published, normalized = _old_published(lake, con)
        counts = {"raw": _upgrade_raw(lake, normalized, run_id)}
        for kind in ("rejects", "events"):
            counts[kind] = _upgrade_table(lake, kind, published[kind], run_id)
        counts["cursors"] = _upgrade_cursors(lake, con, run_id)
        for table in OLD_STATE_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")
        for old in lake.storage.glob(lake.manifests, "*/*.json") if lake.remote else []:
            lake.storage.delete(old)
        catalog_store.publish(con, lake)
    log.info("lake upgraded to Delta tables: %s", ", ".join(f"{k} {v} files" for k, v in counts.items()))
    return counts


def _upgrade_raw(lake: Lake, normalized: set[str], run_id: str) -> int:
    on_disk = _old_raw_files(lake)
    if not commits.exists(lake, "raw"):
        done = [f for f in on_disk if lake.rel(f) in normalized]
        commits.commit(lake, "raw", [_raw_added(f) for f in done], run_id=run_id, operation="upgrade",
                       transactions={"incident_timeline.upgrade": 1})   # a commit even with no file
    listed = set(commits.files(lake, "raw"))
    rest = [f for f in on_disk if f not in listed]
    commits.commit(lake, "raw", [_raw_added(f) for f in rest], run_id=run_id, operation="upgrade")
    return len(on_disk)


def _upgrade_table(lake: Lake, kind: str, files: list[PurePath], run_id: str) -> int:
    if commits.exists(lake, kind):
        return 0
    transactions = {"incident_timeline.upgrade": 1}
    if kind == "events":
        for source in commits.sources(lake, "raw"):
            transactions.update(commits.normalized_through(source, 0))
    commits.commit(lake, kind, [commits.added(f) for f in files], run_id=run_id, operation="upgrade",
                   transactions=transactions)
    return len(files)


def _upgrade_cursors(lake: Lake, con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    if commits.exists(lake, "cursors"):
        return 0
    rows: dict[tuple[str, str], dict] = {}
    if lake.remote:
        for source, body in _old_manifests(lake).items():
            for c in body.get("cursors", []):
                rows[(source, c["partition"])] = {"value": _utc(c["value"]), "updated_at": _utc(c["updated_at"])}
            for c in body.get("cursor_links", []):
                rows.setdefault((source, c["partition"]), {"value": None, "updated_at": _utc(c["updated_at"])})
                rows[(source, c["partition"])]["link"] = c["link"]
    else:
        for source, partition, value, updated in con.execute('SELECT source, "partition", value, updated_at '
                                                             "FROM cursors").fetchall():
            rows[(source, partition)] = {"value": value, "updated_at": updated}
        for source, partition, link, updated in con.execute('SELECT source, "partition", link, updated_at '
                                                            "FROM cursor_links").fetchall():
            rows.setdefault((source, partition), {"value": None, "updated_at": updated})["link"] = link
        if not rows:   # the catalog was lost: the footers of the raw files say where each fetch got to
            rows = _cursors_from_raw_footers(lake)
    by_source: dict[str, list[dict]] = {}
    for (source, partition), row in sorted(rows.items()):
        by_source.setdefault(source, []).append({"source": source, "partition": partition, "link": None, **row})
    written = []
    for source, table_rows in by_source.items():
        path = lake.cursors / f"source={source}" / f"{run_id}.parquet"
        written.append(lake.write_parquet(pa.Table.from_pylist(table_rows, schema=commits.CURSOR_SCHEMA), path))
    commits.commit(lake, "cursors", written, run_id=run_id, operation="upgrade",
                   transactions={"incident_timeline.upgrade": 1})
    return len(written)


def _old_manifests(lake: Lake) -> dict[str, dict]:
    """source -> its newest manifest (`_manifests/<source>/<generation>-<run>.json`)."""
    newest: dict[str, PurePath] = {}
    for path in lake.storage.glob(lake.manifests, "*/*.json"):
        source = PurePath(path).parent.name
        if source not in newest or PurePath(path).name > PurePath(newest[source]).name:
            newest[source] = path
    return {source: json.loads(lake.storage.read_bytes(path)) for source, path in newest.items()}


# Parquet key-value metadata the previous version wrote in a raw file whose fetch moved a cursor
_CURSOR_PARTITION_KEY = b"incident_timeline.cursor_partition"
_CURSOR_UNTIL_KEY = b"incident_timeline.cursor_until"


def _cursors_from_raw_footers(lake: Lake) -> dict[tuple[str, str], dict]:
    newest: dict[tuple[str, str], datetime] = {}
    for f in _old_raw_files(lake):
        found = _cursor_of(Path(f))
        if found is None:
            continue
        key = (_raw_added(f).source, found[0])
        if key not in newest or found[1] > newest[key]:
            newest[key] = found[1]
    now = datetime.now(timezone.utc)
    return {key: {"value": value, "updated_at": now} for key, value in newest.items()}


def _cursor_of(path: Path) -> tuple[str, datetime] | None:
    """(partition, cursor) a raw file records; for a file without that metadata, its run's start."""
    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, ValueError):
        return None   # an unreadable raw file: the normaliser sets it aside and says so
    if _CURSOR_UNTIL_KEY in meta:
        if not meta[_CURSOR_UNTIL_KEY]:
            return None   # an explicit window: it moved no cursor
        return (meta[_CURSOR_PARTITION_KEY].decode("utf-8"),
                datetime.fromisoformat(meta[_CURSOR_UNTIL_KEY].decode()))
    try:   # written before the metadata existed: <run id = its start>-<partition>-<seq>.parquet
        started = datetime.strptime(path.name[:22], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=timezone.utc)
        partitions = pq.read_table(path, columns=["partition"]).column(0).unique().to_pylist()
    except (OSError, ValueError):
        return None
    return (partitions[0] or "", started) if len(partitions) == 1 else None


def _utc(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(timezone.utc)


def _raw_added(path: PurePath) -> commits.Added:
    # the previous layout: raw/<source>/date=<day>/<file>
    rel = PurePath(path).relative_to(PurePath(path).parents[2])
    return commits.Added(PurePath(path), rel.parts[0], rel.parts[1].removeprefix("date="))


def _old_raw_files(lake: Lake) -> list:
    return [f for f in lake.storage.glob(lake.raw, "*/date=*/*.parquet")
            if not PurePath(f).parent.parent.name.startswith("source=")]


def _old_published(lake: Lake, con: duckdb.DuckDBPyConnection | None) -> tuple[dict[str, list], set[str]]:
    """({kind: live files}, lake paths of the normalised raw files) as the previous layout
    published them: the format-1 manifests on object storage, else the catalog's tables, else
    (no catalog, or one from before `lake_files`) every file found, as that version read them."""
    if lake.remote:
        bodies = _old_manifests(lake).values()
        live = {kind: sorted(lake.root / f["path"] for b in bodies for f in b.get("files", [])
                             if f["kind"] == kind and f["superseded_at"] is None) for kind in ("events", "rejects")}
        return live, {r["path"] for b in bodies for r in b.get("raw_normalized", [])}
    own = con is None and lake.catalog.exists()
    if own:
        con = catalog_store.read_catalog(lake)
    try:
        present = _old_tables(con) if con is not None else set()
        if "lake_files" in present:
            rows = con.execute("SELECT kind, path FROM lake_files WHERE superseded_at IS NULL ORDER BY path").fetchall()
            live = {kind: [lake.root / p for k, p in rows if k == kind] for kind in ("events", "rejects")}
        else:
            live = {kind: lake.storage.glob(getattr(lake, kind), "source=*/date=*/*.parquet")
                    for kind in ("events", "rejects")}
        normalized = ({p for (p,) in con.execute("SELECT path FROM raw_normalized").fetchall()}
                      if "raw_normalized" in present else set())
    finally:
        if own:
            con.close()
    return live, normalized


def _old_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {name for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE list_contains(?, table_name)", [list(OLD_STATE_TABLES)]
    ).fetchall()}
