"""The pipeline's own state: cursors per (source, partition) with the link an API gave to
continue from, and runs.

The cursors are a Delta table of the lake (`cursors/source=<s>/`), so every machine and a
rebuilt catalog find them where the data is: a source's job replaces its one file in one
commit, only after the data fetched up to them is durable (lake/raw.py committed it). The
catalog's `cursors` and `cursor_links` tables are copies, refreshed at each publish, for
analysts. Runs are the catalog's alone.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pyarrow as pa

from incident_timeline.lake import commits
from incident_timeline.lake.catalog_store import catalog_writer
from incident_timeline.lake.layout import Lake

MOVE_ATTEMPTS = 5


def _rows(lake: Lake, source: str | None = None) -> list[dict]:
    files = commits.files(lake, "cursors", source)
    if not files:
        return []
    return pa.concat_tables([lake.storage.read_parquet(f, schema=commits.CURSOR_SCHEMA) for f in files]).to_pylist()


def all_cursors(lake: Lake) -> list[dict]:
    """Every source's rows: source, partition, value, link, updated_at."""
    return sorted(_rows(lake), key=lambda r: (r["source"], r["partition"]))


def read_cursors(lake: Lake, source: str) -> dict[str, datetime]:
    return {r["partition"]: r["value"] for r in _rows(lake, source) if r["value"] is not None}


def read_cursor_links(lake: Lake, source: str) -> dict[str, str]:
    return {r["partition"]: r["link"] for r in _rows(lake, source) if r["link"]}


def advance_cursor(lake: Lake, source: str, partition: str, value: datetime) -> None:
    """Move a cursor forward (never back). Called only after the data is durable."""
    move(lake, source, {partition: value})


def move(lake: Lake, source: str, values: dict[str, datetime], links: dict[str, str] | None = None,
         run_id: str = "cursors") -> None:
    """Move several partitions' cursors forward (never back) and replace their links, in one
    commit. Called only after the data fetched up to them is durable."""
    links = links or {}
    if not values and not links:
        return
    for attempt in range(MOVE_ATTEMPTS):
        current = commits.files(lake, "cursors", source)
        rows = {r["partition"]: r for r in _rows(lake, source)}
        now = datetime.now(timezone.utc)
        for partition in sorted(set(values) | set(links)):
            row = rows.setdefault(partition, {"source": source, "partition": partition, "value": None, "link": None})
            if partition in values:
                new = values[partition].astimezone(timezone.utc)
                row["value"] = new if row["value"] is None else max(row["value"], new)
            if partition in links:
                row["link"] = links[partition]
            row["updated_at"] = now
        table = pa.Table.from_pylist([rows[p] for p in sorted(rows)], schema=commits.CURSOR_SCHEMA)
        path = lake.cursors / f"source={source}" / f"{now:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}.parquet"
        lake.write_parquet(table, path)
        try:
            commits.commit(lake, "cursors", [path], current, run_id=run_id, operation="cursors", sources=[source])
            return
        except commits.ConcurrentChange:   # the same source's job on another machine moved them first
            lake.storage.delete(path)
            if attempt == MOVE_ATTEMPTS - 1:
                raise


def advance_cursors(lake: Lake, source: str, values: dict[str, datetime]) -> None:
    move(lake, source, values)


def store_cursor_links(lake: Lake, source: str, links: dict[str, str]) -> None:
    move(lake, source, {}, links)


def record_run(lake: Lake, run_id: str, command: str, started_at: datetime, status: str,
               summary: dict) -> None:
    with catalog_writer(lake) as con:
        con.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?)",
                    [run_id, command, started_at, datetime.now(timezone.utc), status,
                     json.dumps(summary, default=str, sort_keys=True)])
