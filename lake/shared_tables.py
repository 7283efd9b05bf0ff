"""The catalog's incident tables, copied into the lake as Parquet for other engines.

Spark, Trino or Athena cannot open a DuckDB file, so every `build` also writes the
incident's rows of each incident table to `tables/<table>/<incident>.parquet` (one object
per incident, replaced whole on a rebuild), plus two flat tables that spare other SQL
dialects the list functions: `incident_services` and `incident_refs`. The portable
cross-incident SQL in `sql/cross_incident/` reads exactly these.
"""
from __future__ import annotations

import hashlib
import re

import duckdb
import pyarrow as pa

import incident_timeline.lake.catalog as catalog

from incident_timeline.lake import commits
from incident_timeline.lake.layout import Lake

FLAT_TABLES = {
    "incident_services": "SELECT DISTINCT incident_id, unnest(services) AS service FROM incidents "
                         "WHERE incident_id = ?",
    "incident_refs": "SELECT DISTINCT incident_id, unnest(refs) AS ref FROM incidents WHERE incident_id = ?",
    "incident_aliases": "SELECT alias, incident_id, kind FROM incident_aliases WHERE incident_id = ?",
}
FLAT_SCHEMAS = {
    "incident_services": pa.schema([("incident_id", pa.string()), ("service", pa.string())]),
    "incident_refs": pa.schema([("incident_id", pa.string()), ("ref", pa.string())]),
    "incident_aliases": pa.schema([("alias", pa.string()), ("incident_id", pa.string()), ("kind", pa.string())]),
}
# What a person decided (merges, forgets): not derivable from the lake, so kept in it beside
# the catalog, one object rewritten whole at each decision, read back into a catalog that lacks them.
DECISIONS = "incident_decisions"
DRAFTS = "incident_drafts"
PUBLICATIONS = "incident_publications"
# what a catalog rebuilt from the lake takes back besides the incident tables
IDENTITY_TABLES = ("incident_aliases", DRAFTS, DECISIONS, PUBLICATIONS)


def file_name(incident_id: str) -> str:
    """A readable object name that no two incident ids share."""
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", incident_id)[:80]
    return f"{readable}-{hashlib.sha256(incident_id.encode()).hexdigest()[:10]}.parquet"


def export_incident(con: duckdb.DuckDBPyConnection, lake: Lake, incident_id: str) -> list:
    """Write one incident's rows of every incident table (an empty file where it has none,
    so a rebuild that lost rows replaces the old ones)."""
    written = []
    name = file_name(incident_id)
    for table in catalog.INCIDENT_TABLES:
        rows = con.sql(f'SELECT * FROM "{table}" WHERE incident_id = ?', params=[incident_id]).to_arrow_table()
        written.append(lake.write_parquet(rows, lake.shared_tables / table / name))
    for table, sql in FLAT_TABLES.items():
        rows = con.sql(sql, params=[incident_id]).to_arrow_table().cast(FLAT_SCHEMAS[table])
        written.append(lake.write_parquet(rows, lake.shared_tables / table / name))
    return written


def remove_incident(lake: Lake, incident_id: str) -> None:
    """Delete an incident's objects (it was merged into another, folded in, or forgotten), so
    another engine counts it once."""
    name = file_name(incident_id)
    for table in (*catalog.INCIDENT_TABLES, *FLAT_TABLES, DRAFTS, PUBLICATIONS):
        path = lake.shared_tables / table / name
        if lake.storage.exists(path):
            lake.storage.delete(path)


def export_draft_times(con: duckdb.DuckDBPyConnection, lake: Lake, incident_id: str) -> None:
    rows = con.sql("SELECT * FROM incident_drafts WHERE incident_id = ?", params=[incident_id]).to_arrow_table()
    lake.write_parquet(rows, lake.shared_tables / DRAFTS / file_name(incident_id))


def export_publications(con: duckdb.DuckDBPyConnection, lake: Lake, incident_id: str) -> None:
    """The incident's publications, kept in the lake too: a catalog rebuilt from it still
    knows which page a republish updates (else it would publish a duplicate)."""
    rows = con.sql("SELECT * FROM incident_publications WHERE incident_id = ?", params=[incident_id]).to_arrow_table()
    lake.write_parquet(rows, lake.shared_tables / PUBLICATIONS / file_name(incident_id))


def decisions_path(lake: Lake):
    return lake.shared_tables / DECISIONS / "decisions.parquet"


def write_decisions(lake: Lake, table: pa.Table) -> None:
    lake.write_parquet(table, decisions_path(lake))


def read_decisions(lake: Lake) -> pa.Table | None:
    path = decisions_path(lake)
    return lake.storage.read_parquet(path) if lake.storage.exists(path) else None


def table_uris(lake: Lake, table: str) -> list[str]:
    return [lake.uri(f) for f in lake.storage.glob(lake.shared_tables / table, "*.parquet")]


def published_files(lake: Lake, kind: str = "events") -> list[str]:
    """URIs of the live `events` or `rejects` files: the current snapshot of the Delta table,
    for an engine that reads Parquet files but not Delta (a glob would also find retired and
    unpublished files)."""
    return [lake.uri(f) for f in commits.files(lake, kind)]
