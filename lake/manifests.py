"""Per-source manifests: how a lake on object storage publishes, with no shared catalog.

A catalog (a DuckDB file) cannot be shared read-write on object storage, so each machine
keeps its own, and the lake itself says what is published: `_manifests/<source>/
<generation>-<run>.json`, written only by that source's job, holds the source's live and
retired event/reject files, the raw files already normalised, its cursors and cursor links. Every
manifest is one PUT of a new object; the highest generation wins. A reader (any machine,
Spark too) reads each source's newest manifest, so it sees a source's state before a run's
publication or after it, never half of it. Jobs for different sources never write the
same object, so they run side by side on different machines without a shared lock.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import PurePath

import duckdb

from incident_timeline.lake.layout import Lake, new_run_id

FORMAT = 1
KEEP = 3   # older generations are deleted; a reader that lost the race re-lists


def write_manifest(con: duckdb.DuckDBPyConnection, lake: Lake, source: str) -> PurePath:
    """Publish `source`'s state as the catalog `con` holds it now."""
    files = con.execute("SELECT path, kind, added_at, superseded_at FROM lake_files WHERE source = ? "
                        "ORDER BY path", [source]).fetchall()
    raw = con.execute("SELECT path, run_id, normalized_at FROM raw_normalized WHERE source = ? ORDER BY path",
                      [source]).fetchall()
    cursors = con.execute('SELECT "partition", value, updated_at FROM cursors WHERE source = ? '
                          'ORDER BY "partition"', [source]).fetchall()
    links = con.execute('SELECT "partition", link, updated_at FROM cursor_links WHERE source = ? '
                        'ORDER BY "partition"', [source]).fetchall()
    body = {
        "format": FORMAT, "source": source, "written_at": _iso(datetime.now(timezone.utc)),
        "files": [{"path": p, "kind": k, "added_at": _iso(a), "superseded_at": _iso(s)} for p, k, a, s in files],
        "raw_normalized": [{"path": p, "run_id": r, "normalized_at": _iso(n)} for p, r, n in raw],
        "cursors": [{"partition": p, "value": _iso(v), "updated_at": _iso(u)} for p, v, u in cursors],
        "cursor_links": [{"partition": p, "link": k, "updated_at": _iso(u)} for p, k, u in links],
    }
    existing = _listing(lake).get(source, [])
    generation = _generation(existing[-1]) + 1 if existing else 1
    path = lake.manifests / source / f"{generation:010d}-{new_run_id()}.json"
    lake.storage.write_bytes(json.dumps(body, sort_keys=True).encode(), path)
    for old in existing[:max(0, len(existing) + 1 - KEEP)]:
        lake.storage.delete(old)
    return path


def latest_manifests(lake: Lake, attempts: int = 3) -> dict[str, dict]:
    """source -> its newest manifest."""
    for attempt in range(attempts):
        try:
            return {source: json.loads(lake.storage.read_bytes(paths[-1]))
                    for source, paths in _listing(lake).items()}
        except FileNotFoundError:   # pruned between listing and reading: list again
            if attempt == attempts - 1:
                raise
    return {}


def import_manifests(con: duckdb.DuckDBPyConnection, lake: Lake, skip: tuple[str, ...] = ()) -> list[str]:
    """Replace every source's rows (but those in `skip`) with what its newest manifest says.

    A source with no manifest keeps this catalog's rows: that is a lake moved from a local
    folder with its catalog, until the source's next job publishes its first manifest."""
    imported = []
    published = latest_manifests(lake)
    for source, body in sorted(published.items()):
        if source in skip:
            continue
        for table in ("lake_files", "raw_normalized", "cursors"):
            con.execute(f"DELETE FROM {table} WHERE source = ?", [source])
        if body["files"]:
            con.executemany("INSERT INTO lake_files VALUES (?, ?, ?, ?, ?)", [
                (f["path"], f["kind"], source, f["added_at"], f["superseded_at"]) for f in body["files"]])
        if body["raw_normalized"]:
            con.executemany("INSERT INTO raw_normalized VALUES (?, ?, ?, ?)", [
                (r["path"], source, r["run_id"], r["normalized_at"]) for r in body["raw_normalized"]])
        if body["cursors"]:
            con.executemany("INSERT INTO cursors VALUES (?, ?, ?, ?)", [
                (source, c["partition"], c["value"], c["updated_at"]) for c in body["cursors"]])
        if "cursor_links" in body:   # a manifest written before cursor_links leaves this catalog's rows
            con.execute("DELETE FROM cursor_links WHERE source = ?", [source])
            if body["cursor_links"]:
                con.executemany("INSERT INTO cursor_links VALUES (?, ?, ?, ?)", [
                    (source, c["partition"], c["link"], c["updated_at"]) for c in body["cursor_links"]])
        imported.append(source)
    return imported


def published_files(lake: Lake, kind: str = "events") -> list[str]:
    """URIs of the live files of `kind` across every source: what Spark or Trino should read."""
    return sorted(lake.uri(lake.root / f["path"]) for body in latest_manifests(lake).values()
                  for f in body["files"] if f["kind"] == kind and f["superseded_at"] is None)


def _listing(lake: Lake) -> dict[str, list]:
    by_source: dict[str, list] = {}
    for path in lake.storage.glob(lake.manifests, "*/*.json"):
        by_source.setdefault(PurePath(path).parent.name, []).append(path)
    return {s: sorted(paths, key=lambda p: PurePath(p).name) for s, paths in by_source.items()}


def _generation(path) -> int:
    return int(PurePath(path).name.split("-", 1)[0])


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc).isoformat()
