"""Per-source cursor manifests: where a lake on object storage keeps its cursors, with no
shared catalog.

A catalog (a DuckDB file) cannot be shared read-write on object storage, so each machine
keeps its own; the tables say which files are published (Delta commits, lake/commits.py),
and `_manifests/<source>/<generation>-<run>.json`, written only by that source's job, says
where its cursors are and the links its API gave to continue from. Every manifest is one
PUT of a new object; the highest generation wins. Jobs for different sources never write
the same object, so they run side by side on different machines without a shared lock.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import PurePath

import duckdb

from incident_timeline.lake.layout import Lake, new_run_id

FORMAT = 2   # 1 also listed files and normalised raw, which the Delta log holds now
KEEP = 3   # older generations are deleted; a reader that lost the race re-lists


def write_manifest(con: duckdb.DuckDBPyConnection, lake: Lake, source: str) -> PurePath:
    """Publish `source`'s cursors as the catalog `con` holds them now."""
    cursors = con.execute('SELECT "partition", value, updated_at FROM cursors WHERE source = ? '
                          'ORDER BY "partition"', [source]).fetchall()
    links = con.execute('SELECT "partition", link, updated_at FROM cursor_links WHERE source = ? '
                        'ORDER BY "partition"', [source]).fetchall()
    body = {
        "format": FORMAT, "source": source, "written_at": _iso(datetime.now(timezone.utc)),
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
    """Replace every source's cursors (but those in `skip`) with what its newest manifest says.

    A source with no manifest keeps this catalog's rows: that is a lake moved from a local
    folder with its catalog, until the source's next job publishes its first manifest."""
    imported = []
    published = latest_manifests(lake)
    for source, body in sorted(published.items()):
        if source in skip:
            continue
        con.execute("DELETE FROM cursors WHERE source = ?", [source])
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
