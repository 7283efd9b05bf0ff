"""One incident as the exporters see it, read from the catalog (the lake correlate wrote)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import duckdb

from .redact import redact

SCHEMA_VERSION = 1
MILESTONES = ("started", "detected", "acknowledged", "first_response", "mitigated", "resolved")
METRICS = ("time_to_detect_s", "time_to_acknowledge_s", "time_to_mitigate_s", "time_to_resolve_s",
           "escalations", "pages", "responders", "messages")


class NotBuilt(Exception):
    pass


def load(con: duckdb.DuckDBPyConnection, incident_id: str) -> dict[str, Any]:
    """Everything the templates need, with every untrusted text already redacted."""
    inc = _rows(con, "SELECT * FROM incidents WHERE incident_id = ?", incident_id)
    if not inc:
        raise NotBuilt(f"incident {incident_id} has not been built: run `incident-timeline build {incident_id}`")
    incident = inc[0]
    timeline = _rows(con, "SELECT * FROM timeline WHERE incident_id = ? ORDER BY seq", incident_id)
    for row in timeline:
        row["title"], row["body"] = redact(row["title"]), redact(row["body"])
    actions = _rows(con, "SELECT * FROM action_items WHERE incident_id = ? ORDER BY due NULLS LAST, title",
                    incident_id)
    for row in actions:
        row["title"] = redact(row["title"])
    counts = dict(con.execute(
        "SELECT source, count(*) FROM timeline, unnest(event_ids) AS t(e) WHERE incident_id = ? "
        "GROUP BY source ORDER BY source", [incident_id]).fetchall())
    return {
        "incident": incident,
        "milestones": {r["name"]: r for r in _rows(
            con, "SELECT * FROM milestones WHERE incident_id = ?", incident_id)},
        "timeline": timeline,
        "responders": _rows(con, "SELECT * FROM responders WHERE incident_id = ? ORDER BY first_seen, name",
                            incident_id),
        "action_items": actions,
        "events_by_source": counts,
    }


def to_contract(report: dict[str, Any]) -> dict[str, Any]:
    """The JSON export, `schema_version: 1` (see docs/export-schema.json)."""
    inc = report["incident"]
    return {
        "schema_version": SCHEMA_VERSION,
        "incident": {"id": inc["incident_id"], "title": redact(inc["title"]), "severity": inc["severity"],
                     "services": list(inc["services"] or []), "sources": list(inc["sources"] or [])},
        "milestones": {m: rfc3339(inc[m]) for m in MILESTONES},
        "metrics": {m: inc[m] for m in METRICS},
        "responders": [{"name": r["name"], "first_seen": rfc3339(r["first_seen"]), "paged": r["paged"],
                        "acknowledged": r["acknowledged"], "spoke": r["spoke"]} for r in report["responders"]],
        "timeline": [{"ts": rfc3339(r["ts"]), "source": r["source"], "kind": r["kind"], "actor": r["actor"],
                      "actor_type": r["actor_type"], "title": r["title"], "body": r["body"],
                      "sources": list(r["sources"] or []), "count": r["count"], "url": r["url"],
                      "event_ids": list(r["event_ids"] or [])} for r in report["timeline"]],
        "action_items": [{"title": a["title"], "owner": a["owner"], "due": _iso_date(a["due"]),
                          "ref": a["ref"], "status": a["status"]} for a in report["action_items"]],
        "data_quality": {"events_by_source": report["events_by_source"], "rejects": inc["rejects"] or 0,
                         "warnings": list(inc["warnings"] or [])},
    }


def rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.astimezone(timezone.utc)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def _iso_date(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _rows(con: duckdb.DuckDBPyConnection, sql: str, *params) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]
