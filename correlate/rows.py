"""Timeline rows from the incident's events: alert storms collapsed, happenings deduplicated.

Two steps, over the temp table `members` that expansion leaves:

1. Storms (SQL, gaps and islands): repeats of one alert from one source, of the same kind
   (triggered, resolved, or a bot's post of either), each within `storm_window` of the
   previous repeat, collapse into one group with a count and a span.
2. Dedup (pairs in SQL, components in Python): groups from different sources are one
   happening when
   - they are the same phase (triggered, acknowledged, escalated, resolved) of an alert,
     within `dedup_window` of each other, and share an incident ref (pagerduty:, opsgenie:,
     servicenow:, alert:) or are both alerts on the same service (a PagerDuty trigger and
     the Alertmanager alert that caused it), unless they name different services or
     different alert fingerprints (two alerts of one incident stay two rows) and share no
     dedup: key (one sender's key: the Alertmanager alert and the Opsgenie alert or
     PagerDuty incident its notifier opened are one alert); a bot's chat
     post takes its phase from its first word ("Triggered: #4213 ...", "[FIRING:1] ...",
     "Resolved: ..."); or
   - they are the same record (native id and kind) of one product fetched through two
     sources (the Slack API and a Slack export of the same workspace: slack, slack_export).

Services are compared by their one name (`svc`, from the config's `services:`). An
alert's activity that names only its alert (an Opsgenie close) takes the alert's dedup
keys and service first.

A row's primary event is its non-chat event first, then the earliest: it gives the row its
time, source, kind, actor and text. `count` is the largest storm among the row's sources
(forty firings posted forty times by a bot are forty, not eighty).
"""
from __future__ import annotations

from datetime import timedelta

import duckdb
import pyarrow as pa

from incident_timeline.contract.links import DEDUP
from incident_timeline.contract.links import INCIDENT_PREFIXES as INCIDENT_REF_PREFIXES

PHASES = ("triggered", "acknowledged", "escalated", "resolved")
STORM_PHASES = ("triggered", "resolved")

_INC_REFS = ' OR '.join(f"starts_with(r, '{p}')" for p in INCIDENT_REF_PREFIXES)
# An alert's activity (an Opsgenie acknowledgement, a PagerDuty resolve) names only the
# alert's own ref: it takes the alert's dedup keys and service from the alert's other
# events, so that the resolution is one row with the resolution its sender saw.
_EVENTS_SQL = f"""
CREATE OR REPLACE TEMP TABLE _ev AS
WITH base AS (
    SELECT *, list_filter(refs, lambda r: {_INC_REFS}) AS own_refs,
           CASE WHEN category = 'alert' AND split_part(kind, '.', 2) IN {PHASES}
                    THEN split_part(kind, '.', 2)
                WHEN category = 'chat' AND actor_type = 'bot'
                    THEN replace(nullif(lower(regexp_extract(coalesce(title, ''),
                                '^\\W*(triggered|firing|acknowledged|escalated|resolved)\\b', 1, 'i')), ''),
                                 'firing', 'triggered')
           END AS phase
    FROM members
), alerts AS (
    SELECT own_refs[1] AS own_ref,
           list_distinct(flatten(list(list_filter(own_refs, lambda r: starts_with(r, '{DEDUP}'))))) AS keys,
           min(svc) AS alert_svc
    FROM base WHERE category = 'alert' AND len(own_refs) > 0 GROUP BY 1
)
SELECT base.* EXCLUDE (own_refs, svc),
       CASE WHEN base.category = 'alert' AND len(alerts.keys) > 0
            THEN list_concat(own_refs, list_filter(alerts.keys, lambda k: NOT list_contains(own_refs, k)))
            ELSE own_refs END AS inc_refs,
       CASE WHEN base.category = 'alert' THEN coalesce(base.svc, alerts.alert_svc) ELSE base.svc END AS svc
FROM base LEFT JOIN alerts ON alerts.own_ref = base.own_refs[1]
"""

_GROUPS_SQL = f"""
CREATE OR REPLACE TEMP TABLE _groups AS
WITH keyed AS (
    SELECT *, phase IN {STORM_PHASES} AND (category = 'alert' OR actor_type = 'bot') AS stormy,
           coalesce(list_filter(inc_refs, lambda r: starts_with(r, 'alert:'))[1], inc_refs[1], title) AS alert_key
    FROM _ev
), islands AS (
    SELECT *, CASE WHEN stormy THEN sum(new_island) OVER (PARTITION BY source, kind, phase, alert_key, stormy
                                                          ORDER BY ts, event_id) END AS island
    FROM (SELECT *, CASE WHEN lag(ts) OVER w IS NULL OR ts - lag(ts) OVER w > $storm THEN 1 ELSE 0 END AS new_island
          FROM keyed WINDOW w AS (PARTITION BY source, kind, phase, alert_key, stormy ORDER BY ts, event_id))
)
SELECT CASE WHEN stormy THEN concat_ws('|', source, kind, phase, alert_key, island) ELSE event_id END AS gid,
       arg_min(event_id, (ts, event_id)) AS event_id, min(ts) AS ts, max(ts) AS last_ts, count(*) AS n,
       list(event_id ORDER BY ts, event_id) AS event_ids, list(ts ORDER BY ts, event_id) AS event_ts,
       any_value(source) AS source, arg_min(source_type, (ts, event_id)) AS source_type,
       arg_min(native_id, (ts, event_id)) AS native_id, arg_min(kind, (ts, event_id)) AS kind,
       arg_min(category, (ts, event_id)) AS category, any_value(phase) AS phase,
       arg_min(svc, (ts, event_id)) AS service,
       list_distinct(flatten(list(inc_refs))) AS inc_refs,
       list_filter(list_distinct(flatten(list(inc_refs))), lambda r: starts_with(r, 'alert:')) AS alert_refs,
       list_filter(list_distinct(flatten(list(inc_refs))), lambda r: starts_with(r, '{DEDUP}')) AS dedup_refs
FROM islands
GROUP BY gid
"""

# Two equi-joins (an OR in one join condition would compare every pair of groups).
_PAIRS_SQL = """
SELECT a.gid, b.gid FROM _groups AS a JOIN _groups AS b
  ON a.phase = b.phase AND a.gid < b.gid AND a.source <> b.source
 AND abs(epoch(a.ts) - epoch(b.ts)) <= $dedup
 AND (len(list_intersect(a.inc_refs, b.inc_refs)) > 0
      OR (a.category = 'alert' AND b.category = 'alert' AND lower(a.service) = lower(b.service)))
 -- two different alerts (other services, other fingerprints) of one incident stay apart
 AND NOT coalesce(lower(a.service) <> lower(b.service), false)
 AND NOT (len(a.alert_refs) > 0 AND len(b.alert_refs) > 0 AND len(list_intersect(a.alert_refs, b.alert_refs)) = 0
          -- unless one sender's key names both (Alertmanager's group key hash, as Opsgenie's alias)
          AND len(list_intersect(a.dedup_refs, b.dedup_refs)) = 0)
UNION
SELECT a.gid, b.gid FROM _groups AS a JOIN _groups AS b
  ON split_part(a.source_type, '_', 1) = split_part(b.source_type, '_', 1) AND a.native_id = b.native_id
 AND a.kind = b.kind AND a.gid < b.gid AND a.source <> b.source
"""

_ROWS_SQL = """
SELECT g.row_id, g.n, g.last_ts, g.event_ids, g.event_ts, g.source AS group_source,
       e.ts, e.source, e.kind, e.category, e.actor, e.actor_type, e.title, e.body, e.url,
       list_sort(e.inc_refs) AS inc_refs, g.category = 'chat' AS is_chat
FROM _groups AS g JOIN _ev AS e USING (event_id)
ORDER BY g.row_id, is_chat, e.ts, e.source, e.event_id
"""


def timeline_rows(con: duckdb.DuckDBPyConnection, storm_window: timedelta,
                  dedup_window: timedelta) -> list[dict]:
    """Rows sorted by (ts, source, first event id), each with `seq` and every event id."""
    con.execute(_EVENTS_SQL)
    con.execute(_GROUPS_SQL, {"storm": storm_window})
    pairs = con.execute(_PAIRS_SQL, {"dedup": dedup_window.total_seconds()}).fetchall()
    gids = [g for (g,) in con.execute("SELECT gid FROM _groups").fetchall()]
    row_of = _components(gids, pairs)
    con.execute("ALTER TABLE _groups ADD COLUMN row_id VARCHAR")
    con.register("_row_of", _row_table(row_of))
    con.execute("UPDATE _groups SET row_id = _row_of.row_id FROM _row_of WHERE _groups.gid = _row_of.gid")
    con.unregister("_row_of")
    rows: dict[str, dict] = {}
    for rec in con.execute(_ROWS_SQL).fetchall():
        (row_id, n, last_ts, event_ids, event_ts, group_source, ts, source, kind, category, actor, actor_type,
         title, body, url, inc_refs, _) = rec
        row = rows.get(row_id)
        if row is None:   # the first group in a row is its primary: not chat, then earliest
            row = rows[row_id] = {
                "ts": ts, "last_ts": last_ts, "source": source, "kind": kind, "category": category,
                "actor": actor, "actor_type": actor_type, "title": title, "body": body,
                "sources": {source}, "count": n, "url": url, "event_ids": list(event_ids),
                "inc_refs": list(inc_refs), "_others": []}
            continue
        row["last_ts"] = max(row["last_ts"], last_ts)
        row["sources"].add(group_source)
        row["count"] = max(row["count"], n)
        row["_others"] += zip(event_ts, event_ids)
    out = []
    for row in rows.values():
        row["event_ids"] += [eid for _, eid in sorted(row.pop("_others"))]
        row["sources"] = sorted(row["sources"])
        row["span_s"] = (row["last_ts"] - row["ts"]).total_seconds()
        out.append(row)
    out.sort(key=lambda r: (r["ts"], r["source"], r["event_ids"][0]))
    for seq, row in enumerate(out):
        row["seq"] = seq
    return out


def _row_table(row_of: dict[str, str]) -> pa.Table:
    return pa.table({"gid": list(row_of), "row_id": list(row_of.values())})


def _components(nodes: list[str], pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Union-find: each node -> the smallest node id of its connected component."""
    parent = {n: n for n in nodes}

    def root(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {n: root(n) for n in nodes}
