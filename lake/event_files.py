"""The lake's live event files as a build reads them: only the day partitions it needs.

Event files live under `events/source=<s>/date=<UTC day of ts>/`, so the files that can
hold events of a time window are known from their paths alone, without opening any.
The catalog's ref index (refindex.py) gives a seed ref's span without a scan. Both rest
on one property of the lake: every version of an event (same event_id) has the same ts,
so deduplicating inside the window's days gives the same rows as deduplicating the whole
lake first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePath

import duckdb

from incident_timeline.lake import catalog, refindex

_DAY = re.compile(r"/date=(\d{4}-\d{2}-\d{2})/")


@dataclass
class EventFiles:
    lake_root: PurePath
    files: list[str] | None       # live event files (paths or URLs); None: glob a local lake
    catalog_path: Path | None = None

    def relation(self, start: datetime, end: datetime) -> str:
        """SQL for the deduplicated events with ts in [start, end], read from the files of the
        days that window touches."""
        return catalog.events_relation_sql(self.lake_root, self.between(start, end), ts_between=(start, end))

    def between(self, start: datetime, end: datetime) -> list[str] | None:
        if self.files is None:
            return None
        days = {(start + timedelta(days=i)).strftime("%Y-%m-%d") for i in range((end.date() - start.date()).days + 1)}
        out = []
        for f in self.files:
            m = _DAY.search(str(f).replace("\\", "/"))
            if m is None or m.group(1) in days:
                out.append(f)
        return out

    def span(self, ref: str) -> tuple[datetime, datetime, int] | None:
        """The ref's (first ts, last ts, count) from the catalog's index; None when there is
        no index covering every live file."""
        if self.files is None or self.catalog_path is None or not Path(self.catalog_path).exists():
            return None
        con = catalog.connect(Path(self.catalog_path), read_only=True)
        try:
            return refindex.span(con, ref, self.files)
        finally:
            con.close()

    def ensure_view(self, con: duckdb.DuckDBPyConnection) -> None:
        """The whole lake as the `events` view, for the seeds the index cannot answer."""
        if not con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'events'").fetchall()[0][0]:
            con.execute(f"CREATE TEMP VIEW events AS {catalog.events_relation_sql(self.lake_root, self.files)}")
