"""What changed: the deploys, rollbacks and config changes of the incident's services from
`change_window` before detection until its last event, pulled into the incident.

A change names no incident (a deploy happens before anyone knows), so expansion by refs
never finds it: it belongs to the incident by its service and its time. Services are
compared by their one name (`svc`, the config's `services:`), as expansion compares them.
"""
from __future__ import annotations

from datetime import timedelta

import duckdb

from incident_timeline.contract.changes import IN_TIMELINE
from incident_timeline.lake.event_files import EventFiles

_KINDS = "[" + ", ".join(f"'{k}'" for k in IN_TIMELINE) + "]"


def pull_in_changes(con: duckdb.DuckDBPyConnection, window: timedelta, files: EventFiles | None = None) -> int:
    """Adds the incident's changes to the temp table `members`; returns how many were added."""
    row = con.execute("""SELECT coalesce(min(ts) FILTER (kind = 'alert.triggered'), min(ts)), max(ts),
                                list_distinct(list(lower(svc)) FILTER (svc IS NOT NULL))
                         FROM members WHERE category <> 'change'""").fetchall()[0]
    detected, last, services = row
    if detected is None or not services or window <= timedelta(0):
        return 0
    start = detected - window
    relation = "events" if files is None else f"({files.relation(start, last)})"
    before = con.execute("SELECT count(*) FROM members").fetchall()[0][0]
    con.execute(f"""INSERT INTO members BY NAME
        SELECT e.*, coalesce(s.service, i.service, e.service) AS svc
        FROM {relation} AS e
        LEFT JOIN _service_alias AS s ON s.alias = lower(e.service)
        LEFT JOIN _service_alias AS i ON e.service IS NOT NULL
             AND i.alias = lower(try(json_extract_string(e.attrs, '$.service_id')))
        WHERE e.category = 'change' AND list_contains({_KINDS}, e.kind) AND e.ts >= $start AND e.ts <= $last
          AND list_contains($services, lower(coalesce(s.service, i.service, e.service)))
          AND e.event_id NOT IN (SELECT event_id FROM members)""",
                {"start": start, "last": last, "services": services}).fetchall()
    return con.execute("SELECT count(*) FROM members").fetchall()[0][0] - before
