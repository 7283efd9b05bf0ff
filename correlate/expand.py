"""From a seed ref to the incident's events: seed, padded window, transitive expansion.

Expansion follows refs that co-occur with the cluster's refs, to a bounded depth. A chat
channel is followed only when it is dedicated to this incident: a channel whose messages
also name another paged incident (an #alerts feed) is a shared feed, and only its
messages that name the cluster's own refs come in.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

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


def expand(con: duckdb.DuckDBPyConnection, seed: str, *, pad_before: timedelta,
           pad_after: timedelta, depth: int) -> Expansion:
    """Leaves a temp table `members` holding the incident's events; returns how it got there."""
    bounds = con.execute("SELECT min(ts), max(ts), count(*) FROM events WHERE list_contains(refs, ?)",
                         [seed]).fetchone()
    if not bounds[2]:
        raise IncidentNotFound(f"no event in the lake references {seed}: ingest its sources first, "
                               f"or check the id (refs look like pagerduty:Q1ABC, jira:OPS-12)")
    start, end = bounds[0] - pad_before, bounds[1] + pad_after
    con.execute("CREATE OR REPLACE TEMP TABLE w AS SELECT * FROM events WHERE ts >= ? AND ts <= ?",
                [start, end])
    cluster = {seed}
    shared: set[str] = set()
    for _ in range(depth):
        found = {r for (r,) in con.execute(
            "SELECT DISTINCT unnest(refs) FROM w WHERE len(list_intersect(refs, ?)) > 0",
            [sorted(cluster)]).fetchall()}
        new = found - cluster - shared
        for ref in sorted(r for r in new if r.startswith(CONTAINER_PREFIXES)):
            if _is_shared(con, ref, cluster):
                shared.add(ref)
                new.discard(ref)
        if not new:
            break
        cluster |= new
    con.execute("CREATE OR REPLACE TEMP TABLE members AS SELECT * FROM w "
                "WHERE len(list_intersect(refs, ?)) > 0", [sorted(cluster)])
    return Expansion(seed, sorted(cluster), start, end, sorted(shared))


def _is_shared(con: duckdb.DuckDBPyConnection, container: str, cluster: set[str]) -> bool:
    foreign = con.execute(
        """SELECT count(*) FROM (SELECT unnest(refs) AS r FROM w WHERE list_contains(refs, ?))
           WHERE (""" + " OR ".join("starts_with(r, ?)" for _ in INCIDENT_PREFIXES) + """)
             AND NOT list_contains(?, r)""",
        [container, *INCIDENT_PREFIXES, sorted(cluster)]).fetchone()[0]
    return foreign > 0
