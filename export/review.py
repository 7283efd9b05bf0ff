"""The periodic review: the figures leadership asks for, computed in DuckDB over the catalog's
incident tables for one period [start, end) and the period before it.

Every value reaches SQL as a parameter; the only text formatted into a query is this
module's own fixed text (the grouping expressions in DIMENSIONS, the period filter). Each incident is one row of `incidents` (its identity,
whatever refs it was built from), so each counts once; an incident on two services counts
once in the totals and once per service. An incident belongs to the period it was detected
in; post-mortem completion is about the incidents resolved in it.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import duckdb

from incident_timeline.contract.incidents import DRAFT_WITHIN_H, REPEAT_WINDOW_DAYS
from incident_timeline.contract.secrets import redact

from .history import DEFAULT_WINDOW
# The drafts' History rules, so the review and every draft say the same: a ticket's status
# today, and what makes a repeat of an addressed issue.
from .history import _is_repeat as is_repeat, _item_today as item_today, _repeat as repeat_line
from .history import _ticket_states as ticket_states
from .review_period import Period

SCHEMA_VERSION = 1
TOP_ALERTS = 10
NO_SERVICE = "(none)"
DIMENSIONS = {   # grouping name -> SQL over `incidents AS i` (fixed text, never user input)
    "severity": "coalesce(i.severity, 'unknown')",
    "service": f"unnest(CASE WHEN len(i.services) > 0 THEN i.services ELSE ['{NO_SERVICE}'] END)",
}
IN_PERIOD = "i.detected >= $start AND i.detected < $end"
# How a change of each headline figure reads: +1 more is better, -1 more is worse, 0 neither.
DIRECTION = {"incidents": -1, "median_tta_s": -1, "p90_tta_s": -1, "median_ttr_s": -1, "p90_ttr_s": -1,
             "repeats": -1, "repeat_rate": -1, "repeats_after_addressed": -1, "drafts_within_rate": 1,
             "action_items": 0, "closed": 1, "closure_rate": 1, "overdue": -1}


def compute(con: duckdb.DuckDBPyConnection, p: Period, as_of: date,
            history_window: timedelta = DEFAULT_WINDOW) -> dict[str, Any]:
    """The review of `p`; `as_of` is the day open action items are judged overdue against
    (their status is the one the lake holds now); `history_window` (config `history.window`)
    how far back a repeat after the fix is looked for, as in the drafts' History section."""
    con.execute("SET TimeZone = 'UTC'")    # months are UTC months
    prev = p.previous()
    current, before = _figures(con, p, as_of, history_window), _figures(con, prev, as_of, history_window)
    return {
        "schema_version": SCHEMA_VERSION, "kind": "review",
        "period": _period_json(p), "previous_period": _period_json(prev), "as_of": as_of,
        "definitions": {"repeat_window_days": REPEAT_WINDOW_DAYS, "draft_within_h": DRAFT_WITHIN_H,
                        "history_window_days": history_window / timedelta(days=1)},
        **current,
        "previous": before["headline"],
        "changes": changes(current["headline"], before["headline"]),
        "service_changes": _service_changes(current["times"]["service"], before["times"]["service"]),
    }


def _period_json(p: Period) -> dict[str, Any]:
    return {"label": p.label, "start": p.start, "end": p.end, "months": p.months()}


def _figures(con, p: Period, as_of: date, history_window: timedelta) -> dict[str, Any]:
    args = {"start": p.start, "end": p.end}
    incidents = _redacted(_rows(con, f"""
        SELECT i.incident_id, i.title, i.severity, coalesce(i.services, []) AS services, i.detected, i.resolved,
               i.time_to_acknowledge_s, i.time_to_resolve_s, coalesce(i.aliases, []) AS aliases
        FROM incidents AS i WHERE {IN_PERIOD}
        ORDER BY i.detected, i.incident_id""", args))
    repeats = _repeats(con, args, history_window, as_of)
    drafts, items = _drafts(con, args), _action_items(con, args, as_of)
    overall = _times(con, args, None)[0]
    headline = {
        "incidents": len(incidents),
        **{k: overall[k] for k in ("median_tta_s", "p90_tta_s", "median_ttr_s", "p90_ttr_s")},
        "repeats": repeats["repeats"], "repeat_rate": _rate(repeats["repeats"], len(incidents)),
        "repeats_after_addressed": repeats["after_addressed"],
        "drafts_within_rate": drafts["within_rate"],
        "action_items": items["opened"], "closed": items["closed"], "closure_rate": items["closure_rate"],
        "overdue": items["overdue"],
    }
    return {
        "headline": headline, "incidents": incidents,
        "by_month": {dim: _by_month(con, args, dim) for dim in DIMENSIONS},
        "times": {"overall": overall, **{dim: _times(con, args, dim) for dim in DIMENSIONS}},
        "trends": {"overall": _trend(con, args, None), **{dim: _trend(con, args, dim) for dim in DIMENSIONS}},
        "repeats": repeats, "drafts": drafts, "action_items": items,
        "top_alerts": _top_alerts(con, args),
    }


def _rows(con, sql: str, args: dict[str, Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, args)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


TEXT_FIELDS = ("title", "earlier_title", "latest_title", "owner")


def _redacted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Text people wrote, redacted again on the way out (the incident tables already are:
    this keeps a catalog an older version wrote from leaking); ids stay as they are."""
    done: dict[str, str] = {}     # a title repeats across many rows: redact it once

    def clean(v: str) -> str:
        if v not in done:
            done[v] = redact(v)
        return done[v]
    return [{k: clean(v) if k in TEXT_FIELDS and isinstance(v, str) else v for k, v in r.items()} for r in rows]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _by_month(con, args, dim: str) -> list[dict[str, Any]]:
    return _rows(con, f"""
        SELECT month, key, count(*) AS incidents FROM (
            SELECT strftime(i.detected, '%Y-%m') AS month, {DIMENSIONS[dim]} AS key
            FROM incidents AS i WHERE {IN_PERIOD})
        GROUP BY ALL ORDER BY month, key""", args)


# quantile_cont: the linear interpolation a spreadsheet's PERCENTILE gives; nulls (not yet
# acknowledged or resolved) left out, and counted apart.
_TIMES = """count(*) AS incidents,
       count(time_to_acknowledge_s) AS acknowledged,
       quantile_cont(time_to_acknowledge_s, 0.5) AS median_tta_s,
       quantile_cont(time_to_acknowledge_s, 0.9) AS p90_tta_s,
       count(time_to_resolve_s) AS resolved,
       quantile_cont(time_to_resolve_s, 0.5) AS median_ttr_s,
       quantile_cont(time_to_resolve_s, 0.9) AS p90_ttr_s"""


_ORDER = {None: "key", "severity": "key", "service": "incidents DESC, key"}   # SEV1 first; busiest service first


def _times(con, args, dim: str | None) -> list[dict[str, Any]]:
    """MTTA and MTTR (median, p90) per value of `dim`, or one row over the whole period."""
    key = DIMENSIONS[dim] if dim else "NULL"
    return _rows(con, f"""
        SELECT key, {_TIMES} FROM (
            SELECT {key} AS key, i.time_to_acknowledge_s, i.time_to_resolve_s
            FROM incidents AS i WHERE {IN_PERIOD})
        GROUP BY key ORDER BY {_ORDER[dim]}""", args) or [{"key": None, **NO_TIMES}]


NO_TIMES = {"incidents": 0, "acknowledged": 0, "median_tta_s": None, "p90_tta_s": None,
             "resolved": 0, "median_ttr_s": None, "p90_ttr_s": None}


def _trend(con, args, dim: str | None) -> list[dict[str, Any]]:
    """The same figures per month of detection (and per value of `dim`)."""
    key = DIMENSIONS[dim] if dim else "NULL"
    return _rows(con, f"""
        SELECT month, key, {_TIMES} FROM (
            SELECT strftime(i.detected, '%Y-%m') AS month, {key} AS key,
                   i.time_to_acknowledge_s, i.time_to_resolve_s
            FROM incidents AS i WHERE {IN_PERIOD})
        GROUP BY ALL ORDER BY month, key""", args)


def _repeats(con, args, window: timedelta, as_of: date) -> dict[str, Any]:
    """Repeats, from the catalog's repeat_incidents view: an incident of the period repeats an
    earlier one (of any period) on the same service or alert fingerprint within the view's
    window. After the fix: the draft's "repeat of" line (export/history.py, the same rule and
    the same `history.window`): an earlier incident with the same alert whose action items
    were all closed before this one was detected."""
    pairs = _redacted(_rows(con, """
        SELECT r.incident_id, i.title, r.earlier_incident_id, e.title AS earlier_title, r.reason, r.shared,
               round(r.days_apart, 1) AS days_apart
        FROM repeat_incidents AS r
        JOIN incidents AS i ON i.incident_id = r.incident_id
        JOIN incidents AS e ON e.incident_id = r.earlier_incident_id
        WHERE r.detected >= $start AND r.detected < $end
        ORDER BY r.detected, r.incident_id, r.reason, r.earlier_detected, r.shared""", args))
    after_fix = _after_fix(con, args, window, as_of)
    def later(rows):
        return len({r["incident_id"] for r in rows})
    return {"repeats": later(pairs),
            "by_alert": later([r for r in pairs if r["reason"] == "alert"]),
            "by_service": later([r for r in pairs if r["reason"] == "service"]),
            "after_addressed": later(after_fix),
            "pairs": pairs, "after_fix": after_fix}


# Earlier incidents (within the window) that share an alert with one of the period's and have
# action items: the only ones the History rule can call addressed. Alerts unnested and
# joined by equality, so a year of incidents is not compared pair by pair.
_SHARED_ALERT = """
    WITH alerts AS (
        SELECT incident_id, detected, unnest(list_filter(refs, lambda r: starts_with(r, 'alert:'))) AS alert
        FROM incidents)
    SELECT i.incident_id, i.detected, li.title, e.incident_id AS earlier_incident_id, e.detected AS earlier_detected,
           le.title AS earlier_title, list_sort(list(DISTINCT i.alert)) AS shared_alerts
    FROM alerts AS i
    JOIN alerts AS e ON e.alert = i.alert AND e.incident_id <> i.incident_id AND e.detected < i.detected
                    AND e.detected >= i.detected - to_microseconds($window_us)
    JOIN incidents AS li ON li.incident_id = i.incident_id
    JOIN incidents AS le ON le.incident_id = e.incident_id
    WHERE i.detected >= $start AND i.detected < $end
      AND e.incident_id IN (SELECT incident_id FROM action_items)
    GROUP BY ALL
    ORDER BY i.detected, i.incident_id, e.detected, e.incident_id"""


def _after_fix(con, args, window: timedelta, as_of: date) -> list[dict[str, Any]]:
    """The period's repeats of an addressed issue, by the drafts' own rule (export/history.py:
    the earlier incident's action items, as the lake holds their tickets now, all closed
    before this one was detected), gathered for the whole period at once."""
    pairs = _redacted(_rows(con, _SHARED_ALERT, {**args, "window_us": int(window / timedelta(microseconds=1))}))
    if not pairs:
        return []
    earlier_ids = sorted({p["earlier_incident_id"] for p in pairs})
    items = _rows(con, "SELECT incident_id, title, owner, due, ref, status FROM action_items "
                       "WHERE list_contains($ids, incident_id) ORDER BY incident_id, due NULLS LAST, title, ref",
                  {"ids": earlier_ids})
    tickets = ticket_states(con, sorted({i["ref"] for i in items if i["ref"]}))
    by_incident: dict[str, list[dict[str, Any]]] = {}
    for i in items:
        by_incident.setdefault(i["incident_id"], []).append(item_today(i, tickets.get(i["ref"]), as_of))
    out = []
    for p in pairs:
        earlier = {"incident_id": p["earlier_incident_id"], "detected": p["earlier_detected"],
                   "shared_alerts": p["shared_alerts"], "action_items": by_incident.get(p["earlier_incident_id"], [])}
        if is_repeat(earlier, p["detected"]):
            r = repeat_line(earlier, p["detected"])
            out.append({"incident_id": p["incident_id"], "title": p["title"],
                        "earlier_incident_id": p["earlier_incident_id"], "earlier_title": p["earlier_title"],
                        "alerts": list(r["alerts"]), "action_items": list(r["action_items"]),
                        "closed_at": r["closed_at"], "days_apart": round(r["days_after"], 1)})
    return out


def _drafts(con, args) -> dict[str, Any]:
    """Incidents resolved in the period, and whether their first draft came within 48 h
    (`incident_drafts.first_built_at`; none yet is `missing`)."""
    rows = _redacted(_rows(con, """
        SELECT i.incident_id, i.title, i.resolved, d.first_built_at,
               date_diff('second', i.resolved, d.first_built_at) AS draft_after_s,
               CASE WHEN d.first_built_at IS NULL THEN 'missing'
                    WHEN d.first_built_at <= i.resolved + to_hours(CAST($within_h AS BIGINT)) THEN 'within'
                    ELSE 'late' END AS draft
        FROM incidents AS i LEFT JOIN incident_drafts AS d USING (incident_id)
        WHERE i.resolved >= $start AND i.resolved < $end
        ORDER BY i.resolved, i.incident_id""", {**args, "within_h": DRAFT_WITHIN_H}))
    count = {k: sum(1 for r in rows if r["draft"] == k) for k in ("within", "late", "missing")}
    return {"resolved": len(rows), **count, "within_rate": _rate(count["within"], len(rows)), "incidents": rows}


def _action_items(con, args, as_of: date) -> dict[str, Any]:
    """Action items of the period's incidents, each with its ticket's status as the lake holds
    it now (export/history.py: the ticket's newest fetch), else the status its build saw.
    Overdue: open and due before `as_of`. An item's age is counted from its incident's
    detection (the catalog keeps no creation time of its own)."""
    rows = _redacted(_rows(con, f"""
        SELECT a.incident_id, a.title, a.owner, a.due, a.ref, a.status, i.detected
        FROM action_items AS a JOIN incidents AS i USING (incident_id)
        WHERE {IN_PERIOD}
        ORDER BY i.detected, a.incident_id, a.ref NULLS LAST, a.title""", args))
    tickets = ticket_states(con, sorted({r["ref"] for r in rows if r["ref"]}))
    items = []
    for r in rows:
        today = item_today(r, tickets.get(r["ref"]), as_of)
        items.append({**r, "status": today["status"], "closed": today["closed"], "closed_at": today["closed_at"],
                      "overdue": today["overdue"], "status_from": today["status_from"],
                      "open_days": None if today["closed"] else (as_of - r["detected"].date()).days})
    closed = sum(1 for r in items if r["closed"])
    overdue = sum(1 for r in items if r["overdue"])
    still_open = [r for r in items if not r["closed"]]
    return {"opened": len(items), "closed": closed, "open": len(still_open), "overdue": overdue,
            "closure_rate": _rate(closed, len(items)),
            "oldest_open": still_open[0] if still_open else None, "items": items}


def _top_alerts(con, args) -> list[dict[str, Any]]:
    """Alert fingerprints that fired in more than one of the period's incidents."""
    return _redacted(_rows(con, f"""
        SELECT alert, count(*) AS incidents, list(incident_id ORDER BY detected, incident_id) AS incident_ids,
               arg_max(title, detected) AS latest_title, max(detected) AS last_detected,
               list_sort(list_distinct(flatten(list(services)))) AS services
        FROM (SELECT DISTINCT unnest(list_filter(i.refs, lambda r: starts_with(r, 'alert:'))) AS alert,
                     i.incident_id, i.title, i.detected, coalesce(i.services, []) AS services
              FROM incidents AS i WHERE {IN_PERIOD})
        GROUP BY alert HAVING count(*) > 1
        ORDER BY incidents DESC, last_detected DESC, alert LIMIT $top""", {**args, "top": TOP_ALERTS}))


def changes(now: dict[str, Any], before: dict[str, Any]) -> list[dict[str, Any]]:
    """Each headline figure against the previous period: the difference and how it reads."""
    out = []
    for name, value in now.items():
        old = before.get(name)
        delta = None if value is None or old is None else round(value - old, 3)
        direction = DIRECTION.get(name, 0)
        if delta is None:
            verdict = "n/a"
        elif delta == 0:
            verdict = "same"
        elif direction == 0:
            verdict = "more" if delta > 0 else "fewer"
        else:
            verdict = "better" if (delta > 0) == (direction > 0) else "worse"
        out.append({"metric": name, "now": value, "before": old, "delta": delta, "verdict": verdict})
    return out


def _service_changes(now: list[dict[str, Any]], before: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per service: incidents and median time to resolve, this period against the one before."""
    old = {r["key"]: r for r in before if r["key"] is not None}
    new = {r["key"]: r for r in now if r["key"] is not None}
    out = []
    for service in sorted(set(old) | set(new)):
        n, o = new.get(service, NO_TIMES), old.get(service, NO_TIMES)
        out.append({"service": service, "incidents": n["incidents"], "incidents_before": o["incidents"],
                    "delta": n["incidents"] - o["incidents"],
                    "median_ttr_s": n["median_ttr_s"], "median_ttr_before_s": o["median_ttr_s"]})
    return sorted(out, key=lambda r: (-r["incidents"], -r["incidents_before"], r["service"]))
