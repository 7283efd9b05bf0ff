"""Which events and rejects files are live, and the work that changes that list: counting
what is new to it, compacting a source, setting aside unreadable files, and following what
other machines published to a lake on object storage."""
from __future__ import annotations

import logging
from collections import defaultdict

import duckdb
import pyarrow as pa

from incident_timeline.lake import catalog_store, quarantine
from incident_timeline.lake.compaction import compact_partitions
from incident_timeline.lake.layout import Lake
from incident_timeline.lake.written import count_new_events

log = logging.getLogger("incident_timeline")


def live_files(lake: Lake, source: str, kind: str) -> list:
    """The source's published `kind` ("events" or "rejects") files that are on disk."""
    listed = lake.event_files if kind == "events" else lake.reject_files
    con = catalog_store.read_catalog(lake)
    if con is None:
        return listed(source)
    try:
        known = catalog_store.live_files(con, lake, kind, source) if has_lake_files(con) else None
    finally:
        con.close()
    if known is None:
        return listed(source)
    present = set(listed(source))   # one listing, not a request per file
    return [f for f in known if f in present]


def has_lake_files(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'lake_files'"
                            ).fetchone()[0])


def published(lake: Lake) -> tuple[list[str] | None, list[str] | None]:
    """URIs of every live events file and rejects file (None, None before the first publication)."""
    con = catalog_store.read_catalog(lake)
    if con is None:
        return None, None
    try:
        if not has_lake_files(con):
            return None, None
        return ([lake.uri(f) for f in catalog_store.live_files(con, lake, "events")],
                [lake.uri(f) for f in catalog_store.live_files(con, lake, "rejects")])
    finally:
        con.close()


def count_new_in_files(lake: Lake, existing: list, written: list) -> int:
    """Events of `written` whose event_id no file of `existing` holds, one day folder at a
    time: every version of an event has the same ts, so only that day's files can hold it
    (checking each pass against the source's whole history read it again for every pass)."""
    by_day: dict = defaultdict(list)
    for f in existing:
        by_day[f.parent].append(f)
    written_by_day: dict = defaultdict(list)
    for f in written:
        written_by_day[f.parent].append(f)
    new = 0
    for folder, files in written_by_day.items():
        ids = pa.concat_tables([lake.storage.read_parquet(f, columns=["event_id"]) for f in files])
        new += count_new_events(lake, by_day[folder], ids)
    return new


def compact_source(lake: Lake, source: str, run_id: str) -> None:
    with catalog_store.catalog_writer(lake, [source]) as con:
        catalog_store.register_files(con, lake, [source])
        for kind in ("events", "rejects"):
            live = catalog_store.live_files(con, lake, kind, source)
            written, replaced = compact_partitions(lake, live, kind, run_id)
            catalog_store.register_files(con, lake, [source])
            catalog_store.supersede(con, lake, replaced)
            if replaced:
                log.info("%s: compacted %d %s files into %d", source, len(replaced), kind, len(written))
        catalog_store.publish(con, lake, [source])


def sift_source(lake: Lake, source: str, raw: bool = False) -> tuple[list[str], bool]:
    """Set aside the source's events and rejects files (and with `raw`, its raw files) that
    are not readable Parquet: (what was set aside, whether an events or rejects file was one:
    its events must then be made again from raw). A footer read per file: about a second for
    a year's local lake. On object storage each object was written by one whole PUT, and a
    read there costs a request: only the raw files a run reads are checked (lake.raw.raw_chunks)."""
    if lake.remote:
        return [], False
    _, bad = quarantine.sift(lake, lake.event_files(source) + lake.reject_files(source))
    set_aside = list(bad)
    if raw:
        set_aside += quarantine.sift(lake, lake.raw_files(source))[1]
    return set_aside, bool(bad)


def sync_from_lake(lake: Lake) -> None:
    """On object storage, start from the state the lake's manifests publish (this machine's
    catalog may be new, or behind a job that ran elsewhere)."""
    if lake.remote:
        with catalog_store.catalog_writer(lake) as con:
            catalog_store.sync_from_lake(con, lake)


def refresh_from_lake(lake: Lake) -> None:
    """On object storage, point this machine's catalog at what every source's job has
    published (their manifests), not at this catalog's last copy. Local lake: nothing to do."""
    if lake.remote:
        with catalog_store.catalog_writer(lake) as con:
            catalog_store.publish(con, lake)
