"""The periodic review: the figures leadership asks for, computed in DuckDB over the catalog's
incident tables for one period [start, end) and the period of the same length before it.

Every value reaches SQL as a parameter; the only text formatted into a query is a grouping
column chosen from DIMENSIONS. Each incident is one row of `incidents` (its identity), so each
counts once; an incident naming two services counts once in the totals and once per service.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import duckdb

from correlate.views import REPEAT_WINDOW_DAYS

DRAFT_WITHIN_H = 48
TOP_ALERTS = 10
DIMENSIONS = {   # grouping column -> SQL over `incidents AS i` (fixed text, never user input)
    "severity": "coalesce(i.severity, 'unknown')",
    "service": "unnest(CASE WHEN len(i.services) > 0 THEN i.services ELSE ['(none)'] END)",
}


class PeriodInvalid(ValueError):
    """A period the review cannot read; one line naming the option."""


@dataclass(frozen=True)
class Period:
    start: datetime          # inclusive, UTC
    end: datetime            # exclusive, UTC
    label: str

    def previous(self) -> "Period":
        length = self.end - self.start
        return Period(self.start - length, self.start, f"before {self.label}")

    def months(self) -> list[str]:
        out, d = [], date(self.start.year, self.start.month, 1)
        while datetime(d.year, d.month, 1, tzinfo=timezone.utc) < self.end:
            out.append(f"{d:%Y-%m}")
            d = date(d.year + d.month // 12, d.month % 12 + 1, 1)
        return out


_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.I)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def period(since: datetime | None = None, until: datetime | None = None, name: str | None = None) -> Period:
    """`name` is 2026-Q3 or 2026-07; else [since, until), both given."""
    if name is not None:
        if since is not None or until is not None:
            raise PeriodInvalid("--period cannot be combined with --since/--until")
        if m := _QUARTER.match(name.strip()):
            year, q = int(m[1]), int(m[2])
            start = datetime(year, 3 * q - 2, 1, tzinfo=timezone.utc)
            end = datetime(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1, tzinfo=timezone.utc)
            return Period(start, end, f"{year}-Q{q}")
        if (m := _MONTH.match(name.strip())) and 1 <= int(m[2]) <= 12:
            year, month = int(m[1]), int(m[2])
            start = datetime(year, month, 1, tzinfo=timezone.utc)
            end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=timezone.utc)
            return Period(start, end, f"{year}-{month:02d}")
        raise PeriodInvalid(f"--period {name!r} is neither a quarter (2026-Q3) nor a month (2026-07)")
    if since is None or until is None:
        raise PeriodInvalid("give --period (2026-Q3, 2026-07) or both --since and --until")
    if until <= since:
        raise PeriodInvalid(f"--until {until:%Y-%m-%d %H:%M} is not after --since {since:%Y-%m-%d %H:%M}")
    label = f"{since:%Y-%m-%d}_{until:%Y-%m-%d}"
    return Period(since, until, label)


def compute(con: duckdb.DuckDBPyConnection, p: Period, as_of: date) -> dict[str, Any]:
    """The review of `p`; `as_of` is the day action items are judged overdue against (their
    status in the catalog is today's)."""
    prev = p.previous()
    current = _figures(con, p, as_of)
    before = _figures(con, prev, as_of)
    return {"period": _period_json(p), "previous_period": _period_json(prev), "as_of": as_of,
            "repeat_window_days": REPEAT_WINDOW_DAYS, "draft_within_h": DRAFT_WITHIN_H,
            **current, "previous": before["headline"],
            "changes": _changes(current["headline"], before["headline"])}


def _period_json(p: Period) -> dict[str, Any]:
    return {"label": p.label, "start": p.start, "end": p.end, "months": p.months()}


def _figures(con, p: Period, as_of: date) -> dict[str, Any]:
    args = {"start": p.start, "end": p.end}
    incidents = _rows(con, """
        SELECT i.incident_id, i.title, i.severity, i.services, i.detected, i.resolved,
               i.time_to_acknowledge_s, i.time_to_resolve_s
        FROM incidents AS i WHERE i.detected >= $start AND i.detected < $end
        ORDER BY i.detected, i.incident_id""", args)
    repeats = _repeats(con, args)
    drafts = _drafts(con, args)
    items = _action_items(con, args, as_of)
    times = _times(con, args, None)
    headline = {
        "incidents": len(incidents),
        "median_tta_s": times["median_tta_s"], "p90_tta_s": times["p90_tta_s"],
        "median_ttr_s": times["median_ttr_s"], "p90_ttr_s": times["p90_ttr_s"],
        "repeat_rate": _rate(repeats["repeats"], len(incidents)),
        "repeat_after_addressed": repeats["after_addressed"],
        "drafts_within_rate": _rate(drafts["within"], drafts["resolved"]),
        "action_items": items["opened"], "closure_rate": items["closure_rate"], "overdue": items["overdue"],
    }
    return {
        "headline": headline, "incidents": incidents,
        "by_month": {dim: _by_month(con, args, dim) for dim in DIMENSIONS},
        "times": {dim: _times(con, args, dim) for dim in DIMENSIONS},
        "times_by_month": _times_by_month(con, args),
        "repeats": repeats, "drafts": drafts, "action_items": items,
        "top_alerts": _top_alerts(con, args),
    }


def _rows(con, sql: str, args: dict[str, Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, args)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _by_month(con, args, dim: str) -> list[dict[str, Any]]:
    return _rows(con, f"""
        SELECT month, key, count(*) AS incidents FROM (
            SELECT strftime(date_trunc('month', i.detected), '%Y-%m') AS month, {DIMENSIONS[dim]} AS key
            FROM incidents AS i WHERE i.detected >= $start AND i.detected < $end)
        GROUP BY ALL ORDER BY month, key""", args)


_TIMES = """count(*) AS incidents,
       quantile_cont(time_to_acknowledge_s, 0.5) AS median_tta_s,
       quantile_cont(time_to_acknowledge_s, 0.9) AS p90_tta_s,
       quantile_cont(time_to_resolve_s, 0.5) AS median_ttr_s,
       quantile_cont(time_to_resolve_s, 0.9) AS p90_ttr_s"""


def _times(con, args, dim: str | None):
    """MTTA and MTTR (median, p90) per value of `dim`, or over the whole period."""
    if dim is None:
        return _rows(con, f"SELECT {_TIMES} FROM incidents AS i WHERE i.detected >= $start AND i.detected < $end",
                     args)[0]
    return _rows(con, f"""
        SELECT key, {_TIMES} FROM (
            SELECT {DIMENSIONS[dim]} AS key, i.time_to_acknowledge_s, i.time_to_resolve_s
            FROM incidents AS i WHERE i.detected >= $start AND i.detected < $end)
        GROUP BY key ORDER BY incidents DESC, key""", args)


def _times_by_month(con, args) -> list[dict[str, Any]]:
    return _rows(con, f"""
        SELECT month, {_TIMES} FROM (
            SELECT strftime(date_trunc('month', i.detected), '%Y-%m') AS month,
                   i.time_to_acknowledge_s, i.time_to_resolve_s
            FROM incidents AS i WHERE i.detected >= $start AND i.detected < $end)
        GROUP BY month ORDER BY month""", args)


def _repeats(con, args) -> dict[str, Any]:
    """From the catalog's repeat_incidents view: an incident of the period is a repeat when an
    earlier one (of any period) shares its service or alert fingerprint within the view's
    window; a repeat after the issue was addressed when that earlier incident shared the alert
    and had action items, every one done today."""
    pairs = _rows(con, """
        WITH addressed AS (
            SELECT incident_id FROM action_items GROUP BY incident_id HAVING bool_and(status = 'done')
        )
        SELECT r.incident_id, r.earlier_incident_id, r.reason, r.shared, r.days_apart,
               r.reason = 'alert' AND a.incident_id IS NOT NULL AS after_addressed,
               i.title, e.title AS earlier_title
        FROM repeat_incidents AS r
        JOIN incidents AS i ON i.incident_id = r.incident_id
        JOIN incidents AS e ON e.incident_id = r.earlier_incident_id
        LEFT JOIN addressed AS a ON a.incident_id = r.earlier_incident_id
        WHERE r.detected >= $start AND r.detected < $end
        ORDER BY r.detected, r.incident_id, r.reason, r.earlier_detected""", args)
    later = lambda rows: len({r["incident_id"] for r in rows})  # noqa: E731
    return {"repeats": later(pairs),
            "by_alert": later([r for r in pairs if r["reason"] == "alert"]),
            "by_service": later([r for r in pairs if r["reason"] == "service"]),
            "after_addressed": later([r for r in pairs if r["after_addressed"]]),
            "pairs": pairs}


def _drafts(con, args) -> dict[str, Any]:
    """Incidents resolved in the period, and whether their first draft came within 48 h."""
    rows = _rows(con, f"""
        SELECT i.incident_id, i.title, i.resolved, d.first_built_at,
               date_diff('second', i.resolved, d.first_built_at) AS draft_after_s,
               CASE WHEN d.first_built_at IS NULL THEN 'missing'
                    WHEN d.first_built_at <= i.resolved + INTERVAL {DRAFT_WITHIN_H} HOUR THEN 'within'
                    ELSE 'late' END AS draft
        FROM incidents AS i LEFT JOIN incident_drafts AS d USING (incident_id)
        WHERE i.resolved >= $start AND i.resolved < $end
        ORDER BY i.resolved, i.incident_id""", args)
    count = {k: sum(1 for r in rows if r["draft"] == k) for k in ("within", "late", "missing")}
    return {"resolved": len(rows), **count, "within_rate": _rate(count["within"], len(rows)), "incidents": rows}


def _action_items(con, args, as_of: date) -> dict[str, Any]:
    """Action items of the period's incidents, with today's status."""
    rows = _rows(con, """
        SELECT a.incident_id, a.title, a.owner, a.due, a.ref, a.status, i.detected,
               a.status = 'done' AS closed,
               a.status <> 'done' AND a.due IS NOT NULL AND a.due < $as_of AS overdue,
               CASE WHEN a.status <> 'done' THEN date_diff('day', i.detected::DATE, $as_of) END AS open_days
        FROM action_items AS a JOIN incidents AS i USING (incident_id)
        WHERE i.detected >= $start AND i.detected < $end
        ORDER BY i.detected, a.incident_id, a.ref NULLS LAST, a.title""", {**args, "as_of": as_of})
    closed = sum(1 for r in rows if r["closed"])
    overdue = sum(1 for r in rows if r["overdue"])
    still_open = [r for r in rows if not r["closed"]]
    return {"opened": len(rows), "closed": closed, "open": len(still_open), "overdue": overdue,
            "closure_rate": _rate(closed, len(rows)),
            "oldest_open": still_open[0] if still_open else None, "items": rows}


def _top_alerts(con, args) -> list[dict[str, Any]]:
    """Alert fingerprints that fired in more than one of the period's incidents."""
    return _rows(con, f"""
        SELECT alert, count(*) AS incidents, list(incident_id ORDER BY detected) AS incident_ids,
               arg_max(title, detected) AS latest_title, max(detected) AS last_detected,
               list_sort(list_distinct(flatten(list(services)))) AS services
        FROM (SELECT unnest(list_filter(i.refs, lambda r: starts_with(r, 'alert:'))) AS alert,
                     i.incident_id, i.title, i.detected, i.services
              FROM incidents AS i WHERE i.detected >= $start AND i.detected < $end)
        GROUP BY alert HAVING count(*) > 1
        ORDER BY incidents DESC, last_detected DESC, alert LIMIT {TOP_ALERTS}""", args)


HIGHER_IS_BETTER = {"drafts_within_rate", "closure_rate"}


def _changes(now: dict[str, Any], before: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name, value in now.items():
        old = before[name]
        delta = None if value is None or old is None else round(value - old, 3)
        if delta is None or delta == 0:
            verdict = "same" if delta == 0 else "n/a"
        else:
            verdict = "better" if (delta > 0) == (name in HIGHER_IS_BETTER) else "worse"
        out.append({"metric": name, "now": value, "before": old, "delta": delta, "verdict": verdict})
    return out
