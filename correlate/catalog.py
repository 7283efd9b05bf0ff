"""catalog.duckdb: views over the lake's Parquet, the correlated tables, pipeline state.

DuckDB lets one process hold a database file read-write, and a read-only opener fails
while it does. So writers open it only for short commits, and every opener retries for
a few seconds on a lock conflict instead of failing at once.
"""
from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pyarrow as pa

from normalize.schema import EVENT_SCHEMA, REJECT_SCHEMA

DEFAULT_WAIT_S = 30.0

TABLES_DDL = """
CREATE TABLE IF NOT EXISTS incidents (
    incident_id VARCHAR PRIMARY KEY, seed VARCHAR, title VARCHAR, severity VARCHAR,
    services VARCHAR[], sources VARCHAR[],
    started TIMESTAMPTZ, detected TIMESTAMPTZ, acknowledged TIMESTAMPTZ,
    first_response TIMESTAMPTZ, mitigated TIMESTAMPTZ, resolved TIMESTAMPTZ,
    time_to_detect_s DOUBLE, time_to_acknowledge_s DOUBLE, time_to_mitigate_s DOUBLE,
    time_to_resolve_s DOUBLE, escalations INTEGER, pages INTEGER, responders INTEGER,
    messages INTEGER, window_start TIMESTAMPTZ, window_end TIMESTAMPTZ,
    event_count INTEGER, rejects INTEGER, warnings VARCHAR[], built_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS timeline (
    incident_id VARCHAR, seq INTEGER, ts TIMESTAMPTZ, last_ts TIMESTAMPTZ, source VARCHAR,
    kind VARCHAR, category VARCHAR, actor VARCHAR, actor_type VARCHAR, title VARCHAR,
    body VARCHAR, sources VARCHAR[], count INTEGER, url VARCHAR, event_ids VARCHAR[]
);
CREATE TABLE IF NOT EXISTS milestones (
    incident_id VARCHAR, name VARCHAR, ts TIMESTAMPTZ, event_id VARCHAR, source VARCHAR,
    evidence VARCHAR, rule VARCHAR
);
CREATE TABLE IF NOT EXISTS responders (
    incident_id VARCHAR, name VARCHAR, first_seen TIMESTAMPTZ, paged BOOLEAN,
    acknowledged BOOLEAN, spoke BOOLEAN
);
CREATE TABLE IF NOT EXISTS action_items (
    incident_id VARCHAR, title VARCHAR, owner VARCHAR, due DATE, ref VARCHAR, status VARCHAR,
    origin VARCHAR
);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, command VARCHAR, started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ, status VARCHAR, summary VARCHAR
);
CREATE TABLE IF NOT EXISTS cursors (
    source VARCHAR, "partition" VARCHAR, value TIMESTAMPTZ, updated_at TIMESTAMPTZ,
    PRIMARY KEY (source, "partition")
);
"""

INCIDENT_TABLES = ("incidents", "timeline", "milestones", "responders", "action_items")


def connect(path: Path, *, read_only: bool, wait_s: float = DEFAULT_WAIT_S) -> duckdb.DuckDBPyConnection:
    """Open the catalog, retrying while another process holds the write lock."""
    if read_only and not path.exists():
        raise FileNotFoundError(f"no catalog at {path}: run `incident-timeline ingest` first")
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    delay = 0.05
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            con.execute("SET TimeZone = 'UTC'")
            return con
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def events_relation_sql(lake_root: Path, files: list[Path] | None = None) -> str:
    """SQL for the deduplicated events: one row per event_id, the newest ingest wins.

    `files` is the published list of event files (see incident_timeline/catalog_store.py);
    None globs the lake, which a one-off reader may do.
    """
    source = _parquet_source(lake_root / "events", files)
    if source is None:
        return _empty_select(EVENT_SCHEMA)
    return (f"SELECT * EXCLUDE (date) FROM {source} QUALIFY row_number() OVER (PARTITION BY event_id "
            f"ORDER BY ingested_at DESC) = 1")


def rejects_relation_sql(lake_root: Path, files: list[Path] | None = None) -> str:
    source = _parquet_source(lake_root / "rejects", files)
    if source is None:
        return _empty_select(REJECT_SCHEMA)
    return f"SELECT * EXCLUDE (date) FROM {source}"


def _parquet_source(folder: Path, files: list[Path] | None) -> str | None:
    if files is None:
        files = sorted(folder.glob("source=*/date=*/*.parquet"))
        if not files:
            return None
        listing = _sql_str(str(folder.resolve() / "source=*" / "date=*" / "*.parquet"))
    elif not files:
        return None
    else:
        listing = "[" + ", ".join(_sql_str(str(Path(f).resolve())) for f in files) + "]"
    return f"read_parquet({listing}, hive_partitioning = true, union_by_name = true)"


def refresh(con: duckdb.DuckDBPyConnection, lake_root: Path, events_files: list[Path] | None = None,
            rejects_files: list[Path] | None = None) -> None:
    """(Re)create the views and tables. Views hold the lake's absolute paths."""
    con.execute(TABLES_DDL)
    con.execute(f"CREATE OR REPLACE VIEW events AS {events_relation_sql(lake_root, events_files)}")
    con.execute(f"CREATE OR REPLACE VIEW rejects AS {rejects_relation_sql(lake_root, rejects_files)}")


def store_incident(con: duckdb.DuckDBPyConnection, incident_id: str, tables: dict[str, pa.Table]) -> None:
    """Replace one incident's rows in every correlated table, in one transaction."""
    con.execute(TABLES_DDL)
    con.execute("BEGIN TRANSACTION")
    try:
        for name in INCIDENT_TABLES:
            con.execute(f"DELETE FROM {name} WHERE incident_id = ?", [incident_id])
            table = tables.get(name)
            if table is not None and table.num_rows:
                con.register("_rows", table)
                cols = ", ".join(f'"{c}"' for c in table.column_names)
                con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM _rows")
                con.unregister("_rows")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _empty_select(schema: pa.Schema) -> str:
    cols = ", ".join(f"CAST(NULL AS {_duck_type(f.type)}) AS \"{f.name}\"" for f in schema)
    return f"SELECT {cols} WHERE false"


def _duck_type(t: pa.DataType) -> str:
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ"
    if pa.types.is_list(t):
        return _duck_type(t.value_type) + "[]"
    if pa.types.is_integer(t):
        return "BIGINT"
    return "VARCHAR"


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
