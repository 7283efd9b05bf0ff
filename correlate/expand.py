"""From a seed to the incident's events: seed events, padded window, transitive expansion.

Seed events are those whose refs hold the seed ref (or the channel), or, for a service
window, the events of that service inside the window. The window searched is the seed
events' span, padded by `pad_before` and `pad_after`.

Expansion follows refs that co-occur with the cluster's refs, to a bounded depth, with
two guards that keep other incidents of the same hours out:
- a chat channel is followed only when it is dedicated to this incident: a channel whose
  messages also name another incident (an #alerts feed) is shared, and only its messages
  that name the cluster's own refs come in;
- an incident ref (pagerduty:, opsgenie:, servicenow:, alert:, dedup:, ...) whose events
  are all on services the cluster has never seen is another incident, and is not followed.

A message ref (`slack:C0123:1791986534.000100`, from a pasted permalink) brings in that
message and the replies in its thread, never its channel.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Mapping, Sequence

import duckdb

from incident_timeline.contract.links import INCIDENT_PREFIXES, MESSAGE_SOURCE_TYPES, is_container_ref
from incident_timeline.lake.event_files import EventFiles
from .seed import Seed, parse_seed

# The refs that name a chat message itself (its own, and its thread's parent): a message
# ref in another event's refs brings the message, and its replies, in.
_MESSAGE_REFS = ("CASE WHEN source_type IN (" + ", ".join(f"'{t}'" for t in MESSAGE_SOURCE_TYPES) + ") "
                 "THEN list_filter(['slack:' || native_id, 'slack:' || try(json_extract_string(attrs, '$.channel')) "
                 "|| ':' || try(json_extract_string(attrs, '$.thread_ts'))], lambda r: r IS NOT NULL) "
                 "ELSE []::VARCHAR[] END")
_LINKED = "(len(list_intersect(refs, $cluster)) > 0 OR len(list_intersect(msg_refs, $cluster)) > 0)"


class IncidentNotFound(Exception):
    pass


@dataclass
class Link:
    """Why a ref is in the incident, or why it was kept out (what `build --explain` shows)."""

    ref: str
    status: str                 # seed, joined, shared (a shared channel), foreign (another incident)
    hop: int                    # 0 for the seed's refs, then the expansion step that met it
    via_event_id: str | None = None
    via_source: str | None = None
    via_ref: str | None = None  # the cluster ref that event also carries
    via_title: str | None = None
    reason: str = ""


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
    links: list[Link] = field(default_factory=list)


def expand(con: duckdb.DuckDBPyConnection, seed: str | Seed, *, pad_before: timedelta,
           pad_after: timedelta, depth: int, files: EventFiles | None = None,
           services: Mapping[str, Sequence[str]] | None = None, also: tuple[str, ...] = ()) -> Expansion:
    """Leaves a temp table `members` holding the incident's events; returns how it got there.

    With `files`, only the day partitions the window touches are read (and the seed's span
    comes from the catalog's ref index); without, `con` must have an `events` relation.
    `services` (the config's `services:`) names one service by every name tools give it:
    the events get `svc`, their service's one name, which the guards compare.
    `also`: more seeds of the same incident (its identity, incidents merged into it); one
    the lake no longer holds is skipped."""
    seed = parse_seed(seed) if isinstance(seed, str) else seed
    register_services(con, services or {})
    seed_names = service_names(services or {}, seed.service) if seed.service else []
    cluster, bounds = _seed_refs(con, seed, files, seed_names)
    seed_ref = min(cluster, default=seed.text)
    typed = set(cluster)
    for other in also:
        try:
            more, span = _seed_refs(con, parse_seed(other), files)
        except (IncidentNotFound, ValueError):
            continue
        cluster |= more
        bounds = (min(bounds[0], span[0]), max(bounds[1], span[1]))
    start, end = bounds[0] - pad_before, bounds[1] + pad_after
    # A service by its name, else by the id a tool keeps next to it (PagerDuty's PSVC123);
    # an event that names none, by a tag or team that is a configured name (an Opsgenie alert's).
    con.execute(f"""CREATE OR REPLACE TEMP TABLE w AS
        WITH e AS (SELECT * FROM {_events(files, start, end)} WHERE ts >= $start AND ts <= $end),
        tagged AS (
            SELECT t.event_id, min(a.service) AS service
            FROM (SELECT event_id, lower(unnest(list_concat(
                         try(from_json(json_extract(attrs, '$.tags'), '["VARCHAR"]')),
                         try(from_json(json_extract(attrs, '$.teams'), '["VARCHAR"]'))))) AS tag
                  FROM e WHERE service IS NULL AND (contains(attrs, '"tags":["') OR contains(attrs, '"teams":["'))) AS t
            JOIN _service_alias AS a ON a.alias = t.tag GROUP BY t.event_id)
        SELECT e.*, {_MESSAGE_REFS} AS msg_refs, coalesce(s.service, i.service, e.service, tagged.service) AS svc
        FROM e LEFT JOIN _service_alias AS s ON s.alias = lower(e.service)
        LEFT JOIN _service_alias AS i ON e.service IS NOT NULL
             AND i.alias = lower(try(json_extract_string(e.attrs, '$.service_id')))
        LEFT JOIN tagged ON tagged.event_id = e.event_id""", {"start": start, "end": end})
    links = [Link(r, "seed", 0, reason=_seed_reason(seed) if r in typed else
                  "a seed too: the ref typed, the incident's identity, or an incident merged into it") for r in sorted(cluster)]
    shared: set[str] = set()
    foreign: set[str] = set()
    for hop in range(1, depth + 1):
        found = _found(con, cluster)
        new = set(found) - cluster - shared - foreign
        services_seen = _services(con, cluster)
        for r in sorted(new):
            if r.startswith(INCIDENT_PREFIXES) and (theirs := _foreign_services(con, r, services_seen, cluster)):
                foreign.add(r)
                links.append(Link(r, "foreign", hop, *found[r], reason=(
                    f"another incident: its events are on {', '.join(sorted(theirs))}, none of this incident's "
                    f"services ({', '.join(sorted(services_seen))}); if they are one service, list its names "
                    f"under services: in the configuration")))
        new -= foreign
        for r in sorted(new):
            if is_container_ref(r) and (other := _shared_by(con, r, cluster | new)):
                shared.add(r)
                links.append(Link(r, "shared", hop, *found[r], reason=(
                    f"a shared channel: its messages also name {other}, another incident; only its messages "
                    f"naming this incident come in")))
        new -= shared
        links += [Link(r, "joined", hop, *found[r], reason="carried by an event that names this incident")
                  for r in sorted(new)]
        if not new:
            break
        cluster |= new
    # a window seed's own events belong even when they carry no ref to follow
    con.execute(f"CREATE OR REPLACE TEMP TABLE members AS SELECT * EXCLUDE (msg_refs) FROM w "
                f"WHERE {_LINKED} OR (list_contains($names, lower(service)) AND ts >= $start AND ts < $end)",
                {"cluster": sorted(cluster), "names": seed_names, "start": seed.start, "end": seed.end})
    # an event a source derived (an Opsgenie close from report.closeTime) stands in only
    # while the same alert has no such event of its own (its log's close line)
    con.execute("""DELETE FROM members WHERE json_extract_string(attrs, '$.derived_from') IS NOT NULL
                   AND EXISTS (SELECT 1 FROM members o WHERE o.source = members.source AND o.kind = members.kind
                               AND json_extract_string(o.attrs, '$.derived_from') IS NULL
                               AND json_extract_string(o.attrs, '$.alert_id')
                                   = json_extract_string(members.attrs, '$.alert_id'))""")
    return Expansion(seed.text, sorted(cluster), start, end, sorted(shared), sorted(foreign), seed.kind,
                     seed_ref, links)


def _seed_reason(seed: Seed) -> str:
    if seed.kind == "service_window":
        return f"an incident ref of service {seed.service} in the seed's window"
    if seed.kind == "channel" and not seed.ref:
        return f"the channel named #{seed.channel_name}"
    return "the seed"


def _found(con: duckdb.DuckDBPyConnection, cluster: set[str]) -> dict[str, tuple]:
    """Every ref carried by an event linked to the cluster -> (the earliest such event's id,
    source, the cluster ref it carries, its title)."""
    rows = con.execute(f"""
        SELECT r, arg_min(event_id, (ts, event_id)), arg_min(source, (ts, event_id)),
               arg_min(list_intersect(list_concat(refs, msg_refs), $cluster)[1], (ts, event_id)),
               arg_min(title, (ts, event_id))
        FROM (SELECT unnest(refs) AS r, * FROM w WHERE {_LINKED}) GROUP BY r""",
        {"cluster": sorted(cluster)}).fetchall()
    return {r: tuple(rest) for r, *rest in rows}


def _events(files: EventFiles | None, start: datetime, end: datetime) -> str:
    return "events" if files is None else f"({files.relation(start, end)})"


def _seed_refs(con: duckdb.DuckDBPyConnection, seed: Seed, files: EventFiles | None = None,
               names: Sequence[str] = ()) -> tuple[set[str], tuple[datetime, datetime]]:
    """The cluster's first refs and the seed events' span (`names`: a service window's
    service by every name it has, lower-cased)."""
    if seed.kind == "service_window":
        rows = con.execute(
            "SELECT min(ts), max(ts), count(*), list_distinct(flatten(list(refs))) "
            f"FROM {_events(files, seed.start, seed.end)} WHERE list_contains(?, lower(service)) AND ts >= ? AND ts < ?",
            [list(names), seed.start, seed.end]).fetchone()
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
        "SELECT DISTINCT lower(svc) FROM w WHERE svc IS NOT NULL AND len(list_intersect(refs, ?)) > 0",
        [sorted(cluster)]).fetchall()}


def _foreign_services(con: duckdb.DuckDBPyConnection, ref: str, services: set[str],
                      cluster: set[str]) -> set[str]:
    """The services of an incident ref's own events (not the ones that name it next to the
    cluster's refs: a note saying "not the ledger page" is on this incident's service) when
    none is one of `services`: then it is another incident. Else nothing."""
    if not services:
        return set()
    theirs = {s for (s,) in con.execute(
        "SELECT DISTINCT lower(svc) FROM w WHERE svc IS NOT NULL AND list_contains(refs, ?) "
        "AND len(list_intersect(refs, ?)) = 0", [ref, sorted(cluster)]).fetchall()}
    return theirs if theirs and not theirs & services else set()


def _shared_by(con: duckdb.DuckDBPyConnection, container: str, cluster: set[str]) -> str | None:
    """An incident ref of another incident that the container's messages name, if any."""
    row = con.execute(
        """SELECT min(r) FROM (SELECT unnest(refs) AS r FROM w WHERE list_contains(refs, ?))
           WHERE (""" + " OR ".join("starts_with(r, ?)" for _ in INCIDENT_PREFIXES) + """)
             AND NOT list_contains(?, r)""",
        [container, *INCIDENT_PREFIXES, sorted(cluster)]).fetchone()
    return row[0] if row else None


def register_services(con: duckdb.DuckDBPyConnection, services: Mapping[str, Sequence[str]]) -> None:
    """`_service_alias`: every name of a configured service (lower-cased) -> its one name."""
    rows = sorted({(str(a).lower(), name) for name, aliases in services.items() for a in [name, *aliases]})
    con.execute("CREATE OR REPLACE TEMP TABLE _service_alias (alias VARCHAR PRIMARY KEY, service VARCHAR)")
    if rows:
        con.executemany("INSERT INTO _service_alias VALUES (?, ?)", rows)


def service_names(services: Mapping[str, Sequence[str]], service: str) -> list[str]:
    """Every name (lower-cased) of the service `service` is one name of."""
    for name, aliases in services.items():
        names = [str(a).lower() for a in [name, *aliases]]
        if service.lower() in names:
            return names
    return [service.lower()]
