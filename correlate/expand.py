"""From a seed to the incident's events: seed events, padded window, transitive expansion.

Seed events are those whose refs hold the seed ref (or the channel), or, for a service
window, the events of that service inside the window. The window searched is the seed
events' span, padded by `pad_before` and `pad_after`.

Expansion follows refs that co-occur with the cluster's refs, to a bounded depth, with
two guards that keep other incidents of the same hours out:
- a chat channel is followed only when it is dedicated to this incident: a channel whose
  messages also name another incident (an #alerts feed) is shared, and only its messages
  that name the cluster's own refs come in;
- an incident ref (pagerduty:, opsgenie:, servicenow:, alert:) whose events are all on
  services the cluster has never seen is another incident, and is not followed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb

from .event_files import EventFiles
from .seed import Seed, parse_seed

INCIDENT_PREFIXES = ("pagerduty:", "opsgenie:", "servicenow:", "alert:")
CONTAINER_PREFIXES = ("slack:",)


class IncidentNotFound(Exception):
    pass


@dataclass
class Expansion:
    seed: str
    refs: list[str]
    window_start: datetime
    window_end: datetime
    shared_containers: list[str]
    foreign_incidents: list[str] = field(default_factory=list)
    seed_kind: str = "ref"
    seed_ref: str = ""          # the ref the seed stands for (a channel's id, a window's first incident)


def expand(con: duckdb.DuckDBPyConnection, seed: str | Seed, *, pad_before: timedelta,
           pad_after: timedelta, depth: int, files: EventFiles | None = None,
           also: tuple[str, ...] = ()) -> Expansion:
    """Leaves a temp table `members` holding the incident's events; returns how it got there.

    With `files`, only the day partitions the window touches are read (and the seed's span
    comes from the catalog's ref index); without, `con` must have an `events` relation.
    `also`: more seeds of the same incident (its identity, incidents merged into it); one
    the lake no longer holds is skipped."""
    seed = parse_seed(seed) if isinstance(seed, str) else seed
    cluster, bounds = _seed_refs(con, seed, files)
    seed_ref = min(cluster, default=seed.text)
    for other in also:
        try:
            more, span = _seed_refs(con, parse_seed(other), files)
        except (IncidentNotFound, ValueError):
            continue
        cluster |= more
        bounds = (min(bounds[0], span[0]), max(bounds[1], span[1]))
    start, end = bounds[0] - pad_before, bounds[1] + pad_after
    con.execute(f"CREATE OR REPLACE TEMP TABLE w AS SELECT * FROM {_events(files, start, end)} "
                "WHERE ts >= ? AND ts <= ?", [start, end])
    shared: set[str] = set()
    foreign: set[str] = set()
    for _ in range(depth):
        found = {r for (r,) in con.execute(
            "SELECT DISTINCT unnest(refs) FROM w WHERE len(list_intersect(refs, ?)) > 0",
            [sorted(cluster)]).fetchall()}
        new = found - cluster - shared - foreign
        services = _services(con, cluster)
        foreign |= {r for r in new if r.startswith(INCIDENT_PREFIXES) and _is_foreign(con, r, services)}
        new -= foreign
        shared |= {r for r in new if r.startswith(CONTAINER_PREFIXES) and _is_shared(con, r, cluster | new)}
        new -= shared
        if not new:
            break
        cluster |= new
    # a window seed's own events belong even when they carry no ref to follow
    con.execute("CREATE OR REPLACE TEMP TABLE members AS SELECT * FROM w "
                "WHERE len(list_intersect(refs, ?)) > 0 OR (lower(service) = lower(?) AND ts >= ? AND ts < ?)",
                [sorted(cluster), seed.service, seed.start, seed.end])
    # an event a source derived (an Opsgenie close from report.closeTime) stands in only
    # while the same alert has no such event of its own (its log's close line)
    con.execute("""DELETE FROM members WHERE json_extract_string(attrs, '$.derived_from') IS NOT NULL
                   AND EXISTS (SELECT 1 FROM members o WHERE o.source = members.source AND o.kind = members.kind
                               AND json_extract_string(o.attrs, '$.derived_from') IS NULL
                               AND json_extract_string(o.attrs, '$.alert_id')
                                   = json_extract_string(members.attrs, '$.alert_id'))""")
    return Expansion(seed.text, sorted(cluster), start, end, sorted(shared), sorted(foreign), seed.kind,
                     seed_ref)


def _events(files: EventFiles | None, start: datetime, end: datetime) -> str:
    return "events" if files is None else f"({files.relation(start, end)})"


def _seed_refs(con: duckdb.DuckDBPyConnection, seed: Seed,
               files: EventFiles | None = None) -> tuple[set[str], tuple[datetime, datetime]]:
    """The cluster's first refs and the seed events' span."""
    if seed.kind == "service_window":
        rows = con.execute(
            "SELECT min(ts), max(ts), count(*), list_distinct(flatten(list(refs))) "
            f"FROM {_events(files, seed.start, seed.end)} WHERE lower(service) = lower(?) AND ts >= ? AND ts < ?",
            [seed.service, seed.start, seed.end]).fetchone()
        if not rows[2]:
            raise IncidentNotFound(f"no event of service {seed.service!r} between {seed.start:%Y-%m-%dT%H:%MZ} "
                                   f"and {seed.end:%Y-%m-%dT%H:%MZ}: ingest that window first")
        refs = {r for r in rows[3] if r.startswith(INCIDENT_PREFIXES)} or set(rows[3])
        return refs, (rows[0], rows[1])
    if files is not None and not seed.ref:
        files.ensure_view(con)
    ref = seed.ref or _channel_ref(con, seed)
    bounds = files.span(ref) if files is not None else None
    if bounds is None:
        if files is not None:
            files.ensure_view(con)
        bounds = con.execute("SELECT min(ts), max(ts), count(*) FROM events WHERE list_contains(refs, ?)",
                             [ref]).fetchone()
    if not bounds[2]:
        raise IncidentNotFound(f"no event in the lake references {ref}: ingest its sources first, "
                               f"or check the id (refs look like pagerduty:Q1ABC, jira:OPS-12)")
    return {ref}, (bounds[0], bounds[1])


def _channel_ref(con: duckdb.DuckDBPyConnection, seed: Seed) -> str:
    row = con.execute(
        "SELECT any_value(r) FROM (SELECT unnest(refs) AS r, attrs FROM events WHERE category = 'chat') "
        "WHERE starts_with(r, 'slack:') AND json_extract_string(attrs, '$.channel') = substr(r, 7) "
        "AND json_extract_string(attrs, '$.channel_name') = ?", [seed.channel_name]).fetchone()
    if not row or not row[0]:
        raise IncidentNotFound(f"no chat channel named #{seed.channel_name} in the lake: ingest it first, "
                               f"or give its id (slack:C0123ABC)")
    return row[0]


def _services(con: duckdb.DuckDBPyConnection, cluster: set[str]) -> set[str]:
    return {s for (s,) in con.execute(
        "SELECT DISTINCT lower(service) FROM w WHERE service IS NOT NULL AND len(list_intersect(refs, ?)) > 0",
        [sorted(cluster)]).fetchall()}


def _is_foreign(con: duckdb.DuckDBPyConnection, ref: str, services: set[str]) -> bool:
    if not services:
        return False
    theirs = {s for (s,) in con.execute(
        "SELECT DISTINCT lower(service) FROM w WHERE service IS NOT NULL AND list_contains(refs, ?)",
        [ref]).fetchall()}
    return bool(theirs) and not theirs & services


def _is_shared(con: duckdb.DuckDBPyConnection, container: str, cluster: set[str]) -> bool:
    foreign = con.execute(
        """SELECT count(*) FROM (SELECT unnest(refs) AS r FROM w WHERE list_contains(refs, ?))
           WHERE (""" + " OR ".join("starts_with(r, ?)" for _ in INCIDENT_PREFIXES) + """)
             AND NOT list_contains(?, r)""",
        [container, *INCIDENT_PREFIXES, sorted(cluster)]).fetchone()[0]
    return foreign > 0
