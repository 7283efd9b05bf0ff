"""The pipeline's own state in the catalog: cursors per (source, partition), the links an API
gave to continue from (cursor_links), and runs."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from incident_timeline.lake.catalog_store import catalog_writer, read_catalog
from incident_timeline.lake.layout import Lake


def read_cursors(lake: Lake, source: str) -> dict[str, datetime]:
    con = read_catalog(lake)
    if con is None:
        return {}
    try:
        exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'cursors'"
                             ).fetchone()[0]
        if not exists:
            return {}
        rows = con.execute('SELECT "partition", value FROM cursors WHERE source = ?', [source]).fetchall()
    finally:
        con.close()
    return {p: v for p, v in rows}


def advance_cursor(lake: Lake, source: str, partition: str, value: datetime) -> None:
    """Move a cursor forward (never back). Called only after the data is durable."""
    advance_cursors(lake, source, {partition: value})


def advance_cursors(lake: Lake, source: str, values: dict[str, datetime]) -> None:
    """Move several partitions' cursors in one catalog write (never back)."""
    if not values:
        return
    now = datetime.now(timezone.utc)
    with catalog_writer(lake, owned=[source]) as con:
        con.executemany(
            """INSERT INTO cursors VALUES (?, ?, ?, ?)
               ON CONFLICT (source, "partition") DO UPDATE
               SET value = greatest(cursors.value, excluded.value), updated_at = excluded.updated_at""",
            [[source, partition, value, now] for partition, value in values.items()])


def read_cursor_links(lake: Lake, source: str) -> dict[str, str]:
    con = read_catalog(lake)
    if con is None:
        return {}
    try:
        exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'cursor_links'"
                             ).fetchone()[0]
        if not exists:
            return {}
        rows = con.execute('SELECT "partition", link FROM cursor_links WHERE source = ?', [source]).fetchall()
    finally:
        con.close()
    return {p: link for p, link in rows}


def store_cursor_links(lake: Lake, source: str, links: dict[str, str]) -> None:
    """The links partitions continue from, replacing the last ones. Called only after the
    data fetched up to them is durable, like advance_cursors."""
    if not links:
        return
    now = datetime.now(timezone.utc)
    with catalog_writer(lake, owned=[source]) as con:
        con.executemany('INSERT OR REPLACE INTO cursor_links VALUES (?, ?, ?, ?)',
                        [[source, partition, link, now] for partition, link in links.items()])


def record_run(lake: Lake, run_id: str, command: str, started_at: datetime, status: str,
               summary: dict) -> None:
    with catalog_writer(lake) as con:
        con.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?)",
                    [run_id, command, started_at, datetime.now(timezone.utc), status,
                     json.dumps(summary, default=str, sort_keys=True)])
