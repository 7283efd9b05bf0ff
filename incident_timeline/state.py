"""The pipeline's own state in the catalog: cursors per (source, partition) and runs."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from correlate.catalog import TABLES_DDL, connect


def read_cursors(catalog: Path, source: str) -> dict[str, datetime]:
    if not catalog.exists():
        return {}
    con = connect(catalog, read_only=False)
    try:
        con.execute(TABLES_DDL)
        rows = con.execute('SELECT "partition", value FROM cursors WHERE source = ?', [source]).fetchall()
    finally:
        con.close()
    return {p: v for p, v in rows}


def advance_cursor(catalog: Path, source: str, partition: str, value: datetime) -> None:
    """Move a cursor forward (never back). Called only after the data is durable."""
    con = connect(catalog, read_only=False)
    try:
        con.execute(TABLES_DDL)
        con.execute(
            """INSERT INTO cursors VALUES (?, ?, ?, ?)
               ON CONFLICT (source, "partition") DO UPDATE
               SET value = greatest(cursors.value, excluded.value), updated_at = excluded.updated_at""",
            [source, partition, value, datetime.now(timezone.utc)])
    finally:
        con.close()


def record_run(catalog: Path, run_id: str, command: str, started_at: datetime, status: str,
               summary: dict) -> None:
    con = connect(catalog, read_only=False)
    try:
        con.execute(TABLES_DDL)
        con.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?)",
                    [run_id, command, started_at, datetime.now(timezone.utc), status,
                     json.dumps(summary, default=str, sort_keys=True)])
    finally:
        con.close()
