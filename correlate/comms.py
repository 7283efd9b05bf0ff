"""What the customers were told: the status page updates of the incident's services, pulled
into the incident, and the `status_updates` rows the draft's communication lines read.

A status page names no alert or ticket (it is written for customers), so expansion by refs
meets it only when someone pasted its link: an update belongs to the incident by its
service and its time, from `pad_before` before detection until the incident's last event,
as a deploy does by the change window (correlate/changes.py). Services are compared by their
one name (`svc`, the config's `services:`).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import duckdb

from incident_timeline.contract.schemas import STATUS_UPDATE
from incident_timeline.lake.event_files import EventFiles


def pull_in_status_updates(con: duckdb.DuckDBPyConnection, pad_before: timedelta,
                           files: EventFiles | None = None) -> int:
    """Adds the status updates of the incident's services to the temp table `members`;
    returns how many were added."""
    row = con.execute("""SELECT coalesce(min(ts) FILTER (kind = 'alert.triggered'), min(ts)), max(ts),
                                list_distinct(list(lower(svc)) FILTER (svc IS NOT NULL))
                         FROM members WHERE category NOT IN ('change', 'comms')""").fetchall()[0]
    detected, last, services = row
    if detected is None or not services:
        return 0
    start = detected - pad_before
    relation = "events" if files is None else f"({files.relation(start, last)})"
    before = con.execute("SELECT count(*) FROM members").fetchall()[0][0]
    con.execute(f"""INSERT INTO members BY NAME
        SELECT e.*, coalesce(s.service, e.service) AS svc
        FROM {relation} AS e LEFT JOIN _service_alias AS s ON s.alias = lower(e.service)
        WHERE e.kind = $kind AND e.ts >= $start AND e.ts <= $last
          AND list_contains($services, lower(coalesce(s.service, e.service)))
          AND e.event_id NOT IN (SELECT event_id FROM members)""",
                {"kind": STATUS_UPDATE, "start": start, "last": last, "services": services}).fetchall()
    return con.execute("SELECT count(*) FROM members").fetchall()[0][0] - before


def status_updates(events: list[dict[str, Any]], seq_of: dict[str, int],
                   detected: datetime | None) -> list[dict[str, Any]]:
    """One row per status update in the incident, oldest first (`events` are sorted)."""
    out = []
    for e in events:
        if e["kind"] != STATUS_UPDATE:
            continue
        attrs = json.loads(e.get("attrs") or "{}")
        out.append({"ts": e["ts"], "event_id": e["event_id"], "seq": seq_of.get(e["event_id"]),
                    "source": e["source"], "status": _text(attrs.get("status")), "impact": _text(attrs.get("impact")),
                    "page_incident": _text(attrs.get("incident")), "page_incident_id": _text(attrs.get("incident_id")),
                    "shortlink": _text(attrs.get("shortlink")), "text": e.get("body") or "",
                    "since_detected_s": (e["ts"] - detected).total_seconds() if detected else None})
    return out


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
