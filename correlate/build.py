"""Correlate one incident: expansion, timeline rows, milestones, responders, action items.

Runs against any DuckDB connection that has an `events` relation (an in-memory one over
the lake's Parquet, so the catalog's write lock is not held while it computes) and returns
Arrow tables shaped like the catalog's incident tables. Their text is redacted as the
exports are (contract.secrets): analysts read these tables, and the catalog and the lake's
`tables/` are shared more widely than the raw lake.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

import duckdb
import pyarrow as pa

from incident_timeline.contract.milestones import MILESTONES
from incident_timeline.contract.secrets import redact_value

from incident_timeline.correlate import identity
from incident_timeline.lake import tables
from .actions import action_items
from .changes import pull_in_changes
from .comms import pull_in_status_updates, status_updates
from .decisions import decision_points
from incident_timeline.lake.event_files import EventFiles
from .expand import expand
from .gaps import gaps
from .milestones import changed_before, find_milestones, metrics
from .responders import escalations, responders
from .rows import timeline_rows
from .seed import parse_seed


# Identifiers kept exactly as they are: the catalog joins on them.
VERBATIM = frozenset({"incident_id", "seed", "event_id", "event_ids", "before_event_id", "after_event_id",
                      "refs", "origin", "seed_ref", "alerting_incident"})


@dataclass
class Settings:
    pad_before: timedelta = timedelta(hours=1)
    pad_after: timedelta = timedelta(hours=12)
    depth: int = 3
    storm_window: timedelta = timedelta(minutes=10)
    dedup_window: timedelta = timedelta(minutes=2)
    gap: timedelta = timedelta(minutes=15)
    # deploys and config changes of the incident's services this long before detection are in it
    change_window: timedelta = timedelta(hours=2)
    # the config's `services:`: one service -> every name tools give it
    services: dict[str, list[str]] = field(default_factory=dict)


def correlate(con: duckdb.DuckDBPyConnection, seed: str, settings: Settings,
              rejects_by_source: dict[str, int] | None = None, files: EventFiles | None = None,
              also: tuple[str, ...] = ()) -> dict[str, pa.Table]:
    """Every incident table's rows for `seed` (a str as typed on the command line), keyed by
    the seed (identity.store keys them by the incident's identity). With `files`, reads only
    what the incident's window needs (see event_files.py); `also`: more seeds of the same
    incident (its identity, incidents merged into it)."""
    found = expand(con, parse_seed(seed), pad_before=settings.pad_before, pad_after=settings.pad_after,
                   depth=settings.depth, files=files, services=settings.services, also=also)
    pull_in_changes(con, settings.change_window, files)
    pull_in_status_updates(con, settings.pad_before, files)
    events = con.sql("SELECT * FROM members ORDER BY ts, source, event_id").to_arrow_table().to_pylist()
    rows = timeline_rows(con, settings.storm_window, settings.dedup_window)
    marks = find_milestones(events)
    detected = marks["detected"].ts if "detected" in marks else None
    mitigation = marks["mitigated"].event["event_id"] if "mitigated" in marks else None
    silences = gaps(rows, _mark(marks, "detected"), _mark(marks, "resolved"), settings.gap)
    sources = sorted({e["source"] for e in events})
    rejects = {s: (rejects_by_source or {}).get(s, 0) for s in sources}
    incident = {
        "incident_id": seed, "seed": seed, "seed_kind": found.seed_kind, "seed_ref": found.seed_ref,
        "title": _title(events, found.seed_ref),
        "severity": _severity(events), "services": sorted({e["svc"] for e in events if e["svc"]}),
        "sources": sources, "refs": found.refs,
        **{name: (marks[name].ts if name in marks else None) for name in MILESTONES},
        **metrics(marks, rows), "gaps": len(silences),
        "window_start": found.window_start, "window_end": found.window_end,
        "event_count": len(events), "row_count": len(rows), "rejects": sum(rejects.values()),
        "warnings": _warnings(events, found.shared_containers, found.foreign_incidents),
        "built_at": datetime.now(timezone.utc),
        "alerting_incident": identity.alerting_incident(events, found.refs),
    }
    seq_of = {eid: r["seq"] for r in rows for eid in r["event_ids"]}

    def table(spec: tables.Table, items: list[dict]) -> pa.Table:
        return pa.Table.from_pylist([{"incident_id": seed, **_redacted(item)} for item in items],
                                    schema=spec.arrow_schema())

    return {
        "incidents": table(tables.INCIDENTS, [incident]),
        "timeline": table(tables.TIMELINE, rows),
        "incident_events": table(tables.INCIDENT_EVENTS, [
            {"event_id": e["event_id"], "source": e["source"], "kind": e["kind"], "ts": e["ts"],
             "seq": seq_of[e["event_id"]], "native_id": e["native_id"]} for e in events]),
        "milestones": table(tables.MILESTONES, [
            {"name": m.name, "ts": m.ts, "event_id": m.event["event_id"], "source": m.event["source"],
             "evidence": m.event["title"], "rule": m.rule} for m in marks.values()]),
        "responders": table(tables.RESPONDERS, responders([e for e in events if not changed_before(e, detected)])),
        "escalations": table(tables.ESCALATIONS, escalations(events, detected)),
        "gaps": table(tables.GAPS, silences),
        "decision_points": table(tables.DECISION_POINTS, decision_points(rows, mitigation, settings.change_window)),
        "action_items": table(tables.ACTION_ITEMS, action_items(events, found.seed_ref, detected)),
        "incident_links": table(tables.INCIDENT_LINKS, [asdict(link) for link in found.links]),
        "status_updates": table(tables.STATUS_UPDATES, status_updates(events, seq_of, detected)),
    }


def _redacted(row: dict) -> dict:
    """A row with the secrets in its text replaced (contract.secrets), its ids untouched."""
    return {k: v if k in VERBATIM else redact_value(v) for k, v in row.items()}


def _mark(marks: dict, name: str) -> tuple[datetime, str] | None:
    return (marks[name].ts, marks[name].event["event_id"]) if name in marks else None


def _title(events: list[dict], seed: str) -> str:
    """The alerting source's incident title, else the first ticket's summary, else the seed;
    events naming the seed first."""
    events = sorted(events, key=lambda e: seed not in (e.get("refs") or []))
    for e in events:
        attrs = json.loads(e.get("attrs") or "{}")
        if attrs.get("incident_title"):
            return attrs["incident_title"]
    for e in events:
        if e["kind"] == "ticket.created":
            return json.loads(e.get("attrs") or "{}").get("summary") or e["title"]
    return seed


def _severity(events: list[dict]) -> str | None:
    sevs = sorted(e["severity"] for e in events if e.get("severity") and e["category"] == "alert")
    sevs = sevs or sorted(e["severity"] for e in events if e.get("severity"))
    return sevs[0] if sevs else None


def _warnings(events: list[dict], shared: list[str], foreign: list[str]) -> list[str]:
    out = []
    assumed = sorted({(e["source"], e["ts_assumed_tz"]) for e in events if e.get("ts_assumed_tz")})
    for source, zone in assumed:
        out.append(f"{source}: naive timestamps read as {zone} (from configuration)")
    flagged = sorted({w for e in events for w in (e.get("warnings") or [])})
    out += flagged[:20]
    for ref in shared:
        out.append(f"{ref} is a shared channel: only its messages naming this incident were included")
    for ref in foreign:
        out.append(f"{ref} is another incident on other services in the same hours: left out")
    return out
