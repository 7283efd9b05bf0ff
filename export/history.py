"""An incident's history, for the draft's History section: read from the catalog in DuckDB.

- **Earlier incidents**: every incident (by identity, so each once) detected before this one
  and at most `window` before it, on one of its services or with one of its alert
  fingerprints (`alert:` refs), with the tickets it cites.
- **Their action items, today**: each item's ticket as the lake holds it now (the issue's
  newest fetch), not as it was when that incident was built; an item with no ticket in the
  lake keeps the status its build saw. Overdue: open and due before `today`.
- **Against the service's median**: this incident's time to acknowledge and resolve beside
  the median of the earlier incidents on the same service (the ones listed).
- **Repeat of**: an earlier incident with the same alert fingerprint whose action items
  (one at least) were all closed before this one was detected: the issue was addressed and
  the same alert fired again.

Every value comes through query parameters; no text is ever formatted into SQL (the one
`format` below picks one of two constant fragments).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable

import duckdb

from incident_timeline.lake import refindex
from incident_timeline.correlate.actions import action_status

from .extras import has_table

DEFAULT_WINDOW = timedelta(days=90)
TICKET_PREFIXES = ("jira:",)

_THIS = """
    SELECT incident_id, detected, services,
           list_filter(refs, lambda r: starts_with(r, 'alert:')) AS alerts,
           time_to_acknowledge_s, time_to_resolve_s
    FROM incidents WHERE incident_id = $incident_id"""

_EARLIER = f"""
    WITH this AS ({_THIS}),
    candidates AS (
        SELECT i.incident_id, i.title, i.severity, i.detected, i.resolved,
               i.time_to_acknowledge_s, i.time_to_resolve_s, i.services,
               list_sort(list_intersect(i.services, this.services)) AS shared_services,
               list_sort(list_intersect(list_filter(i.refs, lambda r: starts_with(r, 'alert:')),
                                        this.alerts)) AS shared_alerts,
               list_sort(list_filter(i.refs, lambda r: list_contains($ticket_prefixes, split_part(r, ':', 1) || ':')))
                   AS tickets
        FROM incidents AS i, this
        WHERE i.incident_id <> this.incident_id
          AND i.detected < this.detected
          AND i.detected >= this.detected - to_microseconds($window_us)
    )
    SELECT * FROM candidates WHERE len(shared_services) > 0 OR len(shared_alerts) > 0
    ORDER BY detected, incident_id"""

_MEDIANS = f"""
    WITH this AS ({_THIS})
    SELECT s.service, count(*) AS incidents,
           list(i.incident_id ORDER BY i.detected, i.incident_id) AS incident_ids,
           median(i.time_to_acknowledge_s) AS median_time_to_acknowledge_s,
           median(i.time_to_resolve_s) AS median_time_to_resolve_s
    FROM incidents AS i, unnest(i.services) AS s(service), this
    WHERE list_contains($earlier, i.incident_id) AND list_contains(this.services, s.service)
    GROUP BY s.service ORDER BY s.service"""

_ITEMS = """
    SELECT incident_id, title, owner, due, ref, status FROM action_items
    WHERE list_contains($incidents, incident_id) ORDER BY incident_id, due NULLS LAST, title, ref"""

# The ticket now: the newest fetch of the issue (its record carries the current fields) and
# the time of its latest status or resolution change (when it was closed, if it is).
# {events} is the `events` view, or the same deduplication over only the files the ref
# index says hold one of the refs (every version of a ticket's event carries its own ref).
_TICKETS = """
    WITH events AS ({events})
    SELECT refs[1] AS ref,
           arg_max(json_extract_string(attrs, '$.status'), ingested_at) FILTER (WHERE kind = 'ticket.created')
               AS status,
           arg_max(json_extract_string(attrs, '$.status_category'), ingested_at)
               FILTER (WHERE kind = 'ticket.created') AS status_category,
           arg_max(json_extract_string(attrs, '$.to'), ts) FILTER (WHERE kind = 'ticket.status') AS last_status_to,
           max(ts) FILTER (WHERE kind IN ('ticket.status', 'ticket.resolved')) AS last_change,
           arg_max(try_cast(json_extract_string(attrs, '$.resolution_date') AS TIMESTAMPTZ), ingested_at)
               FILTER (WHERE kind = 'ticket.created') AS resolution_date
    FROM events
    WHERE category = 'ticket' AND kind IN ('ticket.created', 'ticket.status', 'ticket.resolved')
      AND list_contains($refs, refs[1])
    GROUP BY refs[1]"""


def load_history(con: duckdb.DuckDBPyConnection, incident_id: str, window: timedelta = DEFAULT_WINDOW,
                 today: date | None = None) -> dict[str, Any]:
    """The History section's facts for one built incident (see the module docstring)."""
    today = today or datetime.now(timezone.utc).date()
    params = {"incident_id": incident_id}
    this = _rows(con, _THIS, params)
    empty = {"window_days": window / timedelta(days=1), "earlier": [], "medians": [], "repeat_of": []}
    if not this or this[0]["detected"] is None:
        return empty
    this = this[0]
    earlier = _rows(con, _EARLIER, {**params, "window_us": int(window / timedelta(microseconds=1)),
                                    "ticket_prefixes": list(TICKET_PREFIXES)})
    ids = [e["incident_id"] for e in earlier]
    items = _rows(con, _ITEMS, {"incidents": ids}) if ids else []
    tickets = _ticket_states(con, sorted({i["ref"] for i in items if i["ref"]}))
    for e in earlier:
        e["action_items"] = [_item_today(i, tickets.get(i["ref"]), today)
                             for i in items if i["incident_id"] == e["incident_id"]]
        e["action_items_closed"] = (all(i["closed"] for i in e["action_items"])
                                    if e["action_items"] else None)
    medians = _rows(con, _MEDIANS, {**params, "earlier": ids}) if ids else []
    for m in medians:
        m["time_to_acknowledge_s"] = this["time_to_acknowledge_s"]
        m["time_to_resolve_s"] = this["time_to_resolve_s"]
    return {"window_days": empty["window_days"], "earlier": earlier, "medians": medians,
            "repeat_of": [_repeat(e, this["detected"]) for e in earlier if _is_repeat(e, this["detected"])]}


_EVENTS_VIEW = "SELECT * FROM main.events"
_EVENTS_IN_FILES = """
    SELECT * EXCLUDE (date) FROM read_parquet($files, hive_partitioning = true, union_by_name = true)
    QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY ingested_at DESC) = 1"""


def _ticket_states(con: duckdb.DuckDBPyConnection, refs: list[str]) -> dict[str, dict[str, Any]]:
    if not refs or not has_table(con, "events"):
        return {}
    files = _files_holding(con, refs)
    if files == []:
        return {}
    events, params = (_EVENTS_VIEW, {}) if files is None else (_EVENTS_IN_FILES, {"files": files})
    return {r["ref"]: r for r in _rows(con, _TICKETS.format(events=events), {"refs": refs, **params})}


def _files_holding(con: duckdb.DuckDBPyConnection, refs: list[str]) -> list[str] | None:
    """The live event files that hold any of `refs`, from the catalog's ref index, so a
    year of history is not scanned for a few tickets; None when the index does not cover
    every live file (then the whole `events` view is read)."""
    if not refindex.has_index(con) or not con.execute(
            "SELECT count(*) FROM duckdb_functions() WHERE function_name = 'live_event_files'").fetchall()[0][0]:
        return None
    live = con.execute("SELECT live_event_files()").fetchall()[0][0] or []
    by_key = {refindex.file_key(f): f for f in live}
    covered = con.execute("SELECT count(DISTINCT file) FROM event_ref_files WHERE list_contains($keys, file)",
                          {"keys": list(by_key)}).fetchall()[0][0]
    if covered < len(by_key):
        return None
    holding = con.execute("SELECT DISTINCT file FROM event_ref_index WHERE list_contains($refs, ref)",
                          {"refs": refs}).fetchall()
    return sorted(by_key[f] for (f,) in holding if f in by_key)


def _item_today(item: dict[str, Any], ticket: dict[str, Any] | None, today: date) -> dict[str, Any]:
    if ticket is not None and (ticket["status"] or ticket["last_status_to"]):
        status = action_status(ticket["status"] or ticket["last_status_to"], ticket["status_category"])
        name = ticket["status"] or ticket["last_status_to"]
        from_lake = True
    else:
        status, name, from_lake = item["status"], item["status"], False
    closed = status == "done"
    closed_at = None
    if closed and ticket is not None:
        closed_at = ticket["last_change"] or ticket["resolution_date"]
    return {"title": item["title"], "owner": item["owner"], "due": item["due"], "ref": item["ref"],
            "status": name, "closed": closed, "closed_at": closed_at,
            "overdue": (not closed) and item["due"] is not None and item["due"] < today,
            "status_from": "lake" if from_lake else "build"}


def _is_repeat(earlier: dict[str, Any], detected: datetime) -> bool:
    items = earlier["action_items"]
    return bool(earlier["shared_alerts"]) and bool(items) and all(
        i["closed"] and i["closed_at"] is not None and i["closed_at"] < detected for i in items)


def _repeat(earlier: dict[str, Any], detected: datetime) -> dict[str, Any]:
    return {"incident_id": earlier["incident_id"], "alerts": earlier["shared_alerts"],
            "action_items": [i["ref"] or i["title"] for i in earlier["action_items"]],
            "closed_at": max(i["closed_at"] for i in earlier["action_items"]),
            "days_after": (detected - earlier["detected"]) / timedelta(days=1)}


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def history_json(history: dict[str, Any], when: Callable[[datetime | None], str | None]) -> dict[str, Any]:
    """The JSON export's `history` (export/postmortem.schema.json, `$defs/history`); `when`
    writes a time (the export's RFC 3339)."""
    return {
        "window_days": history["window_days"],
        "earlier": [{
            "incident": e["incident_id"], "title": e["title"], "severity": e["severity"],
            "detected": when(e["detected"]), "resolved": when(e["resolved"]),
            "time_to_acknowledge_s": e["time_to_acknowledge_s"], "time_to_resolve_s": e["time_to_resolve_s"],
            "shared_services": list(e["shared_services"]), "shared_alerts": list(e["shared_alerts"]),
            "tickets": list(e["tickets"]), "action_items_closed": e["action_items_closed"],
            "action_items": [{"ref": i["ref"], "title": i["title"], "owner": i["owner"],
                              "due": i["due"].isoformat() if i["due"] else None, "status": i["status"],
                              "closed": i["closed"], "closed_at": when(i["closed_at"]),
                              "overdue": i["overdue"], "status_from": i["status_from"]}
                             for i in e["action_items"]],
        } for e in history["earlier"]],
        "medians": [{"service": m["service"], "incidents": list(m["incident_ids"]),
                     "time_to_acknowledge_s": m["time_to_acknowledge_s"],
                     "median_time_to_acknowledge_s": m["median_time_to_acknowledge_s"],
                     "time_to_resolve_s": m["time_to_resolve_s"],
                     "median_time_to_resolve_s": m["median_time_to_resolve_s"]} for m in history["medians"]],
        "repeat_of": [{"incident": r["incident_id"], "alerts": list(r["alerts"]),
                       "action_items": list(r["action_items"]), "closed_at": when(r["closed_at"]),
                       "days_after": round(r["days_after"], 1)} for r in history["repeat_of"]],
    }
