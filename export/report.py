"""One incident as the exporters see it, read from the catalog (the lake correlate wrote)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import duckdb

from incident_timeline.contract.milestones import MILESTONES
from incident_timeline.contract.secrets import redact_value

from .comms import communication, communication_json
from .extras import has_table, optional_table, rejects_by_source, source_records
from .firstpass import first_pass
from .history import DEFAULT_WINDOW, history_json, load_history

SCHEMA_VERSION = 1
METRICS = ("time_to_detect_s", "time_to_acknowledge_s", "time_to_mitigate_s", "time_to_resolve_s",
           "escalations", "pages", "responders", "messages")
# Tables another stage may or may not have written yet: rendered when present.
OPTIONAL_TABLES = ("escalations", "gaps", "decision_points")


class NotBuilt(Exception):
    pass


def load(con: duckdb.DuckDBPyConnection, incident_id: str, history_window: timedelta = DEFAULT_WINDOW,
         today: date | None = None) -> dict[str, Any]:
    """Everything the templates need. Every text value is redacted here, once, so no
    exporter can forget to. `history_window` (config `history.window`) and `today` (when
    an action item is overdue; default: the current UTC date) shape the History section."""
    inc = _rows(con, "SELECT * FROM incidents WHERE incident_id = ?", incident_id)
    if not inc:
        raise NotBuilt(f"incident {incident_id} has not been built: run `incident-timeline build {incident_id}`")
    timeline = _rows(con, "SELECT * FROM timeline WHERE incident_id = ? ORDER BY seq", incident_id)
    records = source_records(con, incident_id, [e for row in timeline for e in (row["event_ids"] or [])])
    events_by_source: dict[str, int] = {}
    for row in timeline:
        row["records"] = [records.get(e) or {"source": row["source"], "native_id": None}
                          for e in (row["event_ids"] or [])]
        for rec in row["records"]:
            events_by_source[rec["source"]] = events_by_source.get(rec["source"], 0) + 1
    report = {
        "incident": inc[0],
        "milestones": {r["name"]: r for r in _rows(
            con, "SELECT * FROM milestones WHERE incident_id = ?", incident_id)},
        "timeline": timeline,
        "responders": _rows(con, "SELECT * FROM responders WHERE incident_id = ? ORDER BY first_seen, name",
                            incident_id),
        "action_items": _rows(con, "SELECT * FROM action_items WHERE incident_id = ? "
                                   "ORDER BY due NULLS LAST, title", incident_id),
        "events_by_source": dict(sorted(events_by_source.items())),
        "rejects_by_source": rejects_by_source(con, list(inc[0]["sources"] or [])),
        **{name: optional_table(con, name, incident_id) for name in OPTIONAL_TABLES},
        "status_updates": optional_table(con, "status_updates", incident_id),
        "links": _links(con, incident_id),
        "history": load_history(con, incident_id, history_window, today),
    }
    return redact_value(report)


def _links(con: duckdb.DuckDBPyConnection, incident_id: str) -> list[dict[str, Any]] | None:
    """Why each ref joined or was kept out (`incident_links`); None when an older build did
    not write the table."""
    if not has_table(con, "incident_links"):
        return None
    return _rows(con, "SELECT * FROM incident_links WHERE incident_id = ? ORDER BY hop, status <> 'seed', "
                      "status <> 'joined', ref", incident_id)


def explain_rows(report: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The JSON export's `explain`: one entry per ref, how it joined or which guard refused it."""
    if report.get("links") is None:
        return None
    return [{"ref": r["ref"], "status": r["status"], "hop": r["hop"],
             "via": ({"event_id": r["via_event_id"], "source": r["via_source"], "ref": r["via_ref"],
                      "title": r["via_title"]} if r["via_event_id"] else None),
             "reason": r["reason"]} for r in report["links"]]


def to_contract(report: dict[str, Any]) -> dict[str, Any]:
    """The JSON export, `schema_version: 1` (see export/postmortem.schema.json)."""
    inc = report["incident"]
    return {
        "schema_version": SCHEMA_VERSION,
        "incident": {"id": inc.get("seed") or inc["incident_id"], "title": inc["title"], "severity": inc["severity"],
                     "services": list(inc["services"] or []), "sources": list(inc["sources"] or []),
                     "identity": inc["incident_id"], "aliases": list(inc.get("aliases") or [])},
        "milestones": {m: rfc3339(inc[m]) for m in MILESTONES},
        "metrics": {**{m: inc[m] for m in METRICS},
                    "time_to_first_response_s": inc.get("time_to_first_response_s")},
        "responders": [{"name": r["name"], "first_seen": rfc3339(r["first_seen"]), "paged": r["paged"],
                        "acknowledged": r["acknowledged"], "spoke": r["spoke"],
                        "answered": r.get("answered"), "response_delay_s": r.get("response_delay_s")}
                       for r in report["responders"]],
        "timeline": [{"ts": rfc3339(r["ts"]), "source": r["source"], "kind": r["kind"], "actor": r["actor"],
                      "actor_type": r["actor_type"], "title": r["title"], "body": r["body"],
                      "sources": list(r["sources"] or []), "count": r["count"], "url": r["url"],
                      "event_ids": list(r["event_ids"] or []),
                      "last_ts": rfc3339(r.get("last_ts")), "category": r.get("category"),
                      "records": list(r.get("records") or [])} for r in report["timeline"]],
        "action_items": [{"title": a["title"], "owner": a["owner"], "due": _iso_date(a["due"]),
                          "ref": a["ref"], "status": a["status"]} for a in report["action_items"]],
        "data_quality": {"events_by_source": report["events_by_source"], "rejects": inc["rejects"] or 0,
                         "warnings": list(inc["warnings"] or []),
                         "rejects_by_source": report["rejects_by_source"],
                         **_assisted(report, "dropped")},
        **{name: _json_rows(report[name]) for name in OPTIONAL_TABLES},
        "explain": explain_rows(report),
        **first_pass(report),
        "history": history_json(report["history"], rfc3339) if "history" in report else None,
        **_assisted(report, "sentences"),
        **communication_json(communication(report.get("status_updates"), inc.get("detected")), rfc3339),
    }


def _assisted(report: dict[str, Any], what: str) -> dict[str, Any]:
    """Only in a draft built with --assist: `assisted` (the model's part) and
    `data_quality.assisted_dropped` (how many sentences verification dropped, and why)."""
    part = report.get("assisted")
    if part is None:
        return {}
    if what == "dropped":
        from .assist import dropped_counts
        return {"assisted_dropped": dropped_counts(part)}
    return {"assisted": part}


def rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.astimezone(timezone.utc)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return rfc3339(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


def _json_rows(table: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """An optional table's rows, or null when the catalog does not have the table."""
    if table is None:
        return None
    return [{c: jsonable(row[c]) for c in table["columns"]} for row in table["rows"]]


def _iso_date(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _rows(con: duckdb.DuckDBPyConnection, sql: str, *params) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]
