"""catalog.duckdb: views over the lake's Parquet, the correlated tables, pipeline state.

DuckDB lets one process hold a database file read-write, and a read-only opener fails
while it does. So writers open it only for short commits, and every opener retries for
a few seconds on a lock conflict instead of failing at once.
"""
from __future__ import annotations

import hashlib
import time
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from incident_timeline.contract.schemas import EVENT_SCHEMA, REJECT_SCHEMA
from incident_timeline.lake import refindex, tables
from incident_timeline.lake.views import (CROSS_INCIDENT_VIEWS, EVENT_COLUMN_COMMENTS, REJECT_COLUMN_COMMENTS,
                    VIEW_COMMENTS)

DEFAULT_WAIT_S = 30.0

TABLES_DDL = ";\n".join(t.ddl() for t in tables.ALL_TABLES) + ";\n"

INCIDENT_TABLES = tuple(t.name for t in tables.INCIDENT_TABLES)
SCHEMA_TABLE = "catalog_schema"
VIEW_SOURCES = "view_sources"   # the SQL digest each lake view (and file macro) was last created from
FILE_MACROS = {"events": "live_event_files", "rejects": "live_reject_files"}
MACRO_COMMENT = "The live {kind} files (paths or URLs) the {kind} view reads; replaced when a publish changes them."
# A hash of the layout: a catalog written by another version gets its columns, comments
# and views brought up to date once.
SCHEMA_VERSION = hashlib.sha256(repr((tables.ALL_TABLES, CROSS_INCIDENT_VIEWS)).encode()).hexdigest()[:16]


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


def events_relation_sql(lake_root: Path, files: list[Path] | None = None, union: bool = True,
                        ts_between: tuple[datetime, datetime] | None = None) -> str:
    """SQL for the deduplicated events: one row per event_id, the newest ingest wins.

    `files` is the published list of event files (see incident_timeline/catalog_store.py):
    local paths or URLs (s3://...); None globs a local lake, which a one-off reader may do.
    `ts_between` keeps only events in [start, end], filtered before deduplicating: every
    version of an event has the same ts, so the rows are those of filtering after, and the
    filter reaches the Parquet scan (row groups skipped by their ts statistics).
    """
    return _events_over(_parquet_source(lake_root / "events", _listing(lake_root / "events", files), union),
                        ts_between)


def rejects_relation_sql(lake_root: Path, files: list[Path] | None = None) -> str:
    return _rejects_over(_parquet_source(lake_root / "rejects", _listing(lake_root / "rejects", files)))


def _events_over(source: str | None, ts_between: tuple[datetime, datetime] | None = None) -> str:
    if source is None:
        return _empty_select(EVENT_SCHEMA)
    where = ""
    if ts_between is not None:
        start, end = (_sql_str(t.isoformat()) for t in ts_between)
        where = f" WHERE ts >= CAST({start} AS TIMESTAMPTZ) AND ts <= CAST({end} AS TIMESTAMPTZ)"
    return (f"SELECT * EXCLUDE (date) FROM {source}{where} QUALIFY row_number() OVER (PARTITION BY event_id "
            f"ORDER BY ingested_at DESC) = 1")


# One row per rejected record and problem, as compaction keeps them: a record fetched
# again (a backfill's overlap, a re-run ingest, a recorded source read whole every run) and
# refused for the same reason is one reject, the newest rejection winning.
REJECT_KEY = "source, stage, native_id, field, reason, md5(coalesce(record, ''))"


def _rejects_over(source: str | None) -> str:
    if source is None:
        return _empty_select(REJECT_SCHEMA)
    return (f"SELECT * EXCLUDE (date) FROM {source} QUALIFY row_number() OVER (PARTITION BY {REJECT_KEY} "
            f"ORDER BY rejected_at DESC) = 1")


def _listing(folder: Path, files: list[Path] | None) -> str | None:
    """A DuckDB list literal of `files` (None: a glob of the local folder); None when empty."""
    if files is None:
        if not any(folder.glob("source=*/date=*/*.parquet")):
            return None
        return _sql_str(str(folder.resolve() / "source=*" / "date=*" / "*.parquet"))
    if not files:
        return None
    return "[" + ", ".join(_sql_str(_location(f)) for f in files) + "]"


def _parquet_source(folder: Path, listing: str | None, union: bool = True) -> str | None:
    if listing is None:
        return None
    return f"read_parquet({listing}, hive_partitioning = true, union_by_name = {str(union).lower()})"


def _location(file: Path | str) -> str:
    """A local file as an absolute path; a URL (s3://...) as it is."""
    if isinstance(file, str) and ("://" in file or file.startswith("/")):
        return file
    path = Path(file)
    return str(path) if path.is_absolute() else str(path.resolve())


def refresh(con: duckdb.DuckDBPyConnection, lake_root: Path, events_files: list[Path] | None = None,
            rejects_files: list[Path] | None = None) -> None:
    """(Re)create the views and tables, and bring the ref index up to the live event files.

    The views read the live files through a macro holding their list (`live_event_files()`,
    `live_reject_files()`): a publish that adds files replaces the macro, a statement DuckDB
    only parses, and leaves the views alone. Creating a view over ~3,000 files binds them (every
    path's partitions, a footer) and its comments copy it again; at every publish that was the
    largest memory a catalog write needed. A view is re-created only when its SQL or the
    layouts of the files under it change (its columns do)."""
    ensure_tables(con)
    layouts: list[str] | None = None
    if events_files is not None:
        refindex.update(con, [_location(f) for f in events_files])
        layouts = refindex.layouts(con)
    union = layouts is None or len(layouts) != 1
    events = _events_over(_parquet_source(lake_root / "events",
                                          _file_macro(con, "events", lake_root / "events", events_files), union))
    _set_view(con, "events", events, EVENT_COLUMN_COMMENTS, extra=repr(layouts))
    rejects = _rejects_over(_parquet_source(lake_root / "rejects",
                                            _file_macro(con, "rejects", lake_root / "rejects", rejects_files)))
    _set_view(con, "rejects", rejects, REJECT_COLUMN_COMMENTS)


def _file_macro(con: duckdb.DuckDBPyConnection, kind: str, folder: Path, files: list[Path] | None) -> str | None:
    """`files` as the catalog's macro for `kind` (re-created when the list changed); what a view
    reads them through, or None when there are none. No list (None): a glob, no macro."""
    listing = _listing(folder, files)
    if files is None or listing is None:
        return listing
    name = FILE_MACROS[kind]
    if _entry_changed(con, f"macro {name}", listing,
                      "SELECT count(*) FROM duckdb_functions() WHERE function_name = ? AND NOT internal", name):
        _in_one_transaction(con, [f"CREATE OR REPLACE MACRO {name}() AS {listing}",
                                  f"COMMENT ON MACRO {name} IS {_sql_str(MACRO_COMMENT.format(kind=kind))}"])
        _entry_made(con, f"macro {name}", listing)
    return f"{name}()"


def _set_view(con: duckdb.DuckDBPyConnection, view: str, sql: str, comments: dict[str, str],
              extra: str = "") -> None:
    if not _entry_changed(con, view, sql + extra,
                          "SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND NOT temporary", view):
        return
    con.execute(f"CREATE OR REPLACE VIEW {view} AS {sql}")
    _comment_view(con, view, comments)
    _entry_made(con, view, sql + extra)


def _entry_changed(con: duckdb.DuckDBPyConnection, key: str, source: str, exists_sql: str, name: str) -> bool:
    """Whether the catalog entry `key` (a view, a macro) is missing or was made from another source."""
    con.execute(f"CREATE TABLE IF NOT EXISTS {VIEW_SOURCES} (view VARCHAR PRIMARY KEY, digest VARCHAR)")
    current = con.execute(f"SELECT digest FROM {VIEW_SOURCES} WHERE view = ?", [key]).fetchall()
    exists = con.execute(exists_sql, [name]).fetchall()[0][0]
    return not (exists and current and current[0][0] == _digest(source))


def _entry_made(con: duckdb.DuckDBPyConnection, key: str, source: str) -> None:
    con.execute(f"INSERT OR REPLACE INTO {VIEW_SOURCES} VALUES (?, ?)", [key, _digest(source)])


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create missing tables, add the columns a newer version declares, write the comments
    and the cross-incident views; a no-op when the catalog already has this version."""
    con.execute(TABLES_DDL)
    con.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (version VARCHAR, applied_at TIMESTAMPTZ)")
    if con.execute(f"SELECT count(*) FROM {SCHEMA_TABLE} WHERE version = ?", [SCHEMA_VERSION]).fetchall()[0][0]:
        return
    statements = []
    for table in tables.ALL_TABLES:
        have = {c for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND NOT internal",
            [table.name]).fetchall()}
        statements += [f'ALTER TABLE {table.name} ADD COLUMN "{name}" {type_}'
                       for name, type_, _ in table.columns if name not in have]
        statements.append(f"COMMENT ON TABLE {table.name} IS {_sql_str(table.comment)}")
        statements += [f'COMMENT ON COLUMN {table.name}."{name}" IS {_sql_str(comment)}'
                       for name, _, comment in table.columns]
    for name, (comment, sql) in CROSS_INCIDENT_VIEWS.items():
        statements += [f"CREATE OR REPLACE VIEW {name} AS {sql}", f"COMMENT ON VIEW {name} IS {_sql_str(comment)}"]
    statements += [f"DELETE FROM {SCHEMA_TABLE}",
                   f"INSERT INTO {SCHEMA_TABLE} VALUES ({_sql_str(SCHEMA_VERSION)}, now())",
                   f"COMMENT ON TABLE {SCHEMA_TABLE} IS 'The version of the catalog layout (a hash of it).'"]
    _in_one_transaction(con, statements)


def _comment_view(con: duckdb.DuckDBPyConnection, view: str, columns: dict[str, str]) -> None:
    present = {c for (c,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [view]).fetchall()}
    _in_one_transaction(con, [f"COMMENT ON VIEW {view} IS {_sql_str(VIEW_COMMENTS[view])}"] + [
        f'COMMENT ON COLUMN {view}."{name}" IS {_sql_str(comment)}'
        for name, comment in columns.items() if name in present])


def _in_one_transaction(con: duckdb.DuckDBPyConnection, statements: list[str]) -> None:
    con.execute("BEGIN TRANSACTION;\n" + ";\n".join(statements) + ";\nCOMMIT;")


def store_incident(con: duckdb.DuckDBPyConnection, incident_id: str, tables: dict[str, pa.Table]) -> None:
    """Replace one incident's rows in every correlated table, in one transaction."""
    ensure_tables(con)
    con.execute("BEGIN TRANSACTION")
    try:
        replace_rows(con, incident_id, tables)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def replace_rows(con: duckdb.DuckDBPyConnection, incident_id: str, tables: dict[str, pa.Table]) -> None:
    """store_incident's work, inside the caller's transaction."""
    for name in INCIDENT_TABLES:
        con.execute(f"DELETE FROM {name} WHERE incident_id = ?", [incident_id])
        table = tables.get(name)
        if table is not None and table.num_rows:
            con.register("_rows", table)
            cols = ", ".join(f'"{c}"' for c in table.column_names)
            con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM _rows")
            con.unregister("_rows")


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
