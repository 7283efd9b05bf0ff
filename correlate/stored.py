"""A built incident stored under its identity, and a person's merges and forgets: one
catalog write each, with the lake's shared tables (tables/) following the catalog."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import duckdb
import pyarrow as pa

import incident_timeline.lake.catalog as catalog
from incident_timeline.lake import catalog_store, shared_tables
from incident_timeline.lake.event_files import EventFiles
from incident_timeline.lake.layout import Lake
from . import identity
from .build import Settings, correlate

FIRST_DRAFTS_LOOKBACK = timedelta(days=2)


def correlate_incident(lake: Lake, incident: str, settings: Settings, events_files, rejects_files) -> str:
    """Compute in memory over the published files, then store in one catalog write under
    the incident's identity (see identity.py), which is returned. An incident is built from
    its identity whichever of its refs was typed (the typed one and any merged into it are
    seeds too), so every alias gives the same rows."""
    existing, also = _known_as(lake, incident)
    primary = existing or incident
    channel = None
    for _ in range(3):
        others = tuple(dict.fromkeys(s for s in (*also, incident) if s != primary))
        tables = _correlate(lake, primary, settings, events_files, rejects_files, others)
        with catalog_store.catalog_writer(lake) as con:
            catalog_store.publish(con, lake)
            _import_decisions(con, lake)
            inc = tables["incidents"].to_pylist()[0]
            if primary == incident and inc["seed_kind"] == "channel":
                channel = inc["seed_ref"]     # a channel typed by name stands for its id
            target = identity.choose(con, incident, inc["alerting_incident"], existing, channel)
            wanted = (target, *identity.merged_from(con, target))
            if target == primary and set(wanted) <= {primary, *others}:
                return _store(con, lake, incident, tables, target, existing)
        # it is another incident's, or has seeds this build did not start from: build it from those
        primary, also = target, (*also, *wanted)
    raise RuntimeError(f"{incident}: its identity did not settle")   # not reached: the second pass has every seed


def _store(con: duckdb.DuckDBPyConnection, lake: Lake, incident: str, tables: dict[str, pa.Table], target: str,
           existing: str | None) -> str:
    before = {i for (i,) in con.execute("SELECT incident_id FROM incidents").fetchall()}
    stored = identity.store(con, incident, tables, target, existing)
    after = {i for (i,) in con.execute("SELECT incident_id FROM incidents").fetchall()}
    shared_tables.export_incident(con, lake, stored)
    for gone in sorted(before - after):      # folded into this one
        shared_tables.remove_incident(lake, gone)
    if before - after:
        shared_tables.export_publications(con, lake, stored)   # its pages are now this one's
    if con.execute("SELECT count(*) FROM incident_decisions").fetchall()[0][0] \
            or shared_tables.read_decisions(lake) is not None:
        shared_tables.write_decisions(lake, identity.decisions(con))   # a forget this build undid
    return stored


def _correlate(lake: Lake, incident: str, settings: Settings, events_files, rejects_files,
               also: tuple[str, ...]) -> dict[str, pa.Table]:
    mem = duckdb.connect()
    try:
        mem.execute("SET TimeZone = 'UTC'")
        lake.attach(mem)
        mem.execute(f"CREATE VIEW rejects AS {catalog.rejects_relation_sql(lake.root, rejects_files)}")
        rejects = dict(mem.execute("SELECT source, count(*) FROM rejects GROUP BY source").fetchall())
        # only the days the incident touches are read, found from the catalog's ref index
        files = EventFiles(lake.root, events_files, lake.catalog)
        return correlate(mem, incident, settings, rejects, files=files, also=also)
    finally:
        mem.close()


def _known_as(lake: Lake, incident: str) -> tuple[str | None, tuple[str, ...]]:
    """The incident the seed already names in the catalog, and its other seeds."""
    con = catalog_store.read_catalog(lake)
    try:
        return identity.lookup(con, incident)
    finally:
        if con is not None:
            con.close()


def _import_decisions(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """A person's merges and forgets the lake keeps and this catalog lacks (it was rebuilt)."""
    kept = shared_tables.read_decisions(lake)
    if kept is not None and kept.num_rows:
        identity.import_decisions(con, kept)


def merge_incidents(lake: Lake, keep: str, other: str) -> str:
    """`other` is the same incident as `keep`: fold it in and keep the decision (in the
    catalog and the lake); returns the identity the one incident is to be rebuilt under."""
    with catalog_store.catalog_writer(lake) as con:
        _import_decisions(con, lake)
        kept, merged = identity.merge(con, keep, other)
        shared_tables.write_decisions(lake, identity.decisions(con))
        shared_tables.remove_incident(lake, merged)
        shared_tables.export_draft_times(con, lake, kept)
        shared_tables.export_publications(con, lake, kept)
    return kept


def forget_incident(lake: Lake, incident: str) -> str:
    """Remove an incident (named by any of its refs) from the catalog and the lake's tables/."""
    with catalog_store.catalog_writer(lake) as con:
        _import_decisions(con, lake)
        gone = identity.forget(con, incident)
        shared_tables.write_decisions(lake, identity.decisions(con))
        shared_tables.remove_incident(lake, gone)
        # the pages stay published: a later build and publish updates them, not duplicates them
        shared_tables.export_publications(con, lake, gone)
    return gone


def resolved_without_draft(lake: Lake, run_id: str) -> list[str]:
    """Incidents resolved since the backfill before `run_id` (the first one: in the last two
    days) that have no draft written since: what `backfill --build-resolved` drafts."""
    con = catalog_store.read_only_catalog(lake) if lake.catalog.exists() else None
    if con is None:
        return []
    try:
        row = con.execute("SELECT max(started_at) FROM runs WHERE command = 'backfill' AND run_id <> ?",
                          [run_id]).fetchall()
        since = row[0][0] if row and row[0][0] is not None else datetime.now(timezone.utc) - FIRST_DRAFTS_LOOKBACK
        return identity.resolved_without_draft(con, since)
    finally:
        con.close()


def record_draft(lake: Lake, incident_id: str) -> None:
    """The catalog notes when an incident's draft was written (first and latest)."""
    with catalog_store.catalog_writer(lake) as con:
        identity.record_draft(con, incident_id)
        shared_tables.export_draft_times(con, lake, incident_id)
