"""Catalog reads the draft can live without: each returns an empty/None answer instead of
failing when a table is missing (another stage has not written it yet) or when the lake
behind the views is not readable from here."""
from __future__ import annotations

from typing import Any

import duckdb


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                        [name]).fetchone()
    return bool(found and found[0])


def optional_table(con: duckdb.DuckDBPyConnection, name: str, incident_id: str) -> dict[str, Any] | None:
    """{"columns", "rows"} of one incident's rows in `name`, or None when there is no such
    table (or it is not keyed by incident_id). Column names come from the catalog's own
    schema; the incident id is a parameter."""
    if not has_table(con, name):
        return None
    columns = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [name]).fetchall()]
    if "incident_id" not in columns:
        return None
    order = "seq" if "seq" in columns else "ALL"
    cur = con.execute(f'SELECT * EXCLUDE (incident_id) FROM "{name}" WHERE incident_id = ? ORDER BY {order}',
                      [incident_id])
    names = [d[0] for d in cur.description]
    return {"columns": [c for c in names if c != "seq"],
            "rows": [dict(zip(names, row)) for row in cur.fetchall()]}


def source_records(con: duckdb.DuckDBPyConnection, incident_id: str,
                   event_ids: list[str]) -> dict[str, dict[str, str]]:
    """event_id -> {"source", "native_id"}: where to find each event in its own system.

    Read from the incident's membership table; only an incident built before it kept
    native ids is looked up in the events view (which reads the whole lake)."""
    wanted = sorted(set(event_ids))
    if not wanted:
        return {}
    rows = con.execute("SELECT event_id, source, native_id FROM incident_events "
                       "WHERE incident_id = ? AND native_id IS NOT NULL", [incident_id]).fetchall()
    found = {e: {"source": s, "native_id": n} for e, s, n in rows}
    missing = [e for e in wanted if e not in found]
    if not missing or not has_table(con, "events"):
        return found
    try:
        rows = con.execute("SELECT event_id, source, native_id FROM events WHERE list_contains(?, event_id)",
                           [missing]).fetchall()
    except duckdb.Error:   # the view's Parquet moved or is unreadable: links fall back to urls
        return found
    return {**found, **{e: {"source": s, "native_id": n} for e, s, n in rows}}


def rejects_by_source(con: duckdb.DuckDBPyConnection, sources: list[str]) -> dict[str, int]:
    if not sources or not has_table(con, "rejects"):
        return {}
    try:
        rows = con.execute("SELECT source, count(*) FROM rejects WHERE list_contains(?, source) "
                           "GROUP BY source ORDER BY source", [sources]).fetchall()
    except duckdb.Error:
        return {}
    counts = dict(rows)
    return {s: counts.get(s, 0) for s in sorted(sources)}
