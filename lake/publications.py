"""Where each incident was published (page, file or message), so the next `publish`
updates it in place: a catalog table, copied to the lake for other machines."""
from __future__ import annotations

from datetime import datetime, timezone

import incident_timeline.lake.catalog as catalog
from incident_timeline.lake import catalog_store, shared_tables
from incident_timeline.lake.layout import Lake


def record_publication(lake: Lake, row: dict) -> None:
    with catalog_store.catalog_writer(lake) as con:
        catalog.ensure_tables(con)
        now = datetime.now(timezone.utc)
        con.execute("""INSERT INTO incident_publications VALUES ($incident_id, $target, $destination, $remote_id,
                           $url, $version, $now, $now)
                       ON CONFLICT (incident_id, target, destination) DO UPDATE SET
                           remote_id = excluded.remote_id, url = excluded.url, version = excluded.version,
                           last_published_at = excluded.last_published_at,
                           first_published_at = CASE WHEN incident_publications.remote_id = excluded.remote_id
                               THEN incident_publications.first_published_at ELSE excluded.first_published_at END""",
                    {**row, "now": now})
        shared_tables.export_publications(con, lake, row["incident_id"])


def publications(lake: Lake, incident_id: str) -> list[dict]:
    """Where the incident was published before, one row per target and destination."""
    con = catalog_store.read_catalog(lake)
    if con is None:
        return []
    try:
        if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'incident_publications'"
                           ).fetchall()[0][0]:
            return []
        cur = con.execute("SELECT * FROM incident_publications WHERE incident_id = ? ORDER BY target, destination",
                          [incident_id])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()
