"""Correlate one incident: expansion, timeline rows, milestones, responders, action items.

Runs against any DuckDB connection that has an `events` relation (an in-memory one over
the lake's Parquet, so the catalog's write lock is not held while it computes) and returns
Arrow tables shaped like the catalog's incident tables.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import duckdb
import pyarrow as pa

from .actions import action_items
from .expand import expand
from .milestones import MILESTONES, find_milestones, metrics
from .responders import responders


@dataclass
class Settings:
    pad_before: timedelta = timedelta(hours=1)
    pad_after: timedelta = timedelta(hours=12)
    depth: int = 3


def correlate(con: duckdb.DuckDBPyConnection, seed: str, settings: Settings,
              rejects_by_source: dict[str, int] | None = None) -> dict[str, pa.Table]:
    found = expand(con, seed, pad_before=settings.pad_before, pad_after=settings.pad_after,
                   depth=settings.depth)
    events = con.sql("SELECT * FROM members ORDER BY ts, source, event_id").to_arrow_table().to_pylist()
    marks = find_milestones(events)
    detected = marks["detected"].ts if "detected" in marks else None
    rows = timeline_rows(events)
    people = responders(events)
    items = action_items(events, seed, detected)
    sources = sorted({e["source"] for e in events})
    rejects = {s: (rejects_by_source or {}).get(s, 0) for s in sources}
    warnings = _warnings(events, found.shared_containers)
    incident = {
        "incident_id": seed, "seed": seed, "title": _title(events, seed),
        "severity": _severity(events), "services": sorted({e["service"] for e in events if e["service"]}),
        "sources": sources,
        **{name: (marks[name].ts if name in marks else None) for name in MILESTONES},
        **metrics(marks, events),
        "window_start": found.window_start, "window_end": found.window_end,
        "event_count": len(events), "rejects": sum(rejects.values()), "warnings": warnings,
        "built_at": datetime.now(timezone.utc),
    }
    iid = {"incident_id": seed}
    return {
        "incidents": pa.Table.from_pylist([incident]),
        "timeline": pa.Table.from_pylist([{**iid, "seq": i, **r} for i, r in enumerate(rows)],
                                         schema=_TIMELINE_SCHEMA),
        "milestones": pa.Table.from_pylist([
            {**iid, "name": m.name, "ts": m.ts, "event_id": m.event["event_id"], "source": m.event["source"],
             "evidence": m.event["title"], "rule": m.rule} for m in marks.values()], schema=_MILESTONE_SCHEMA),
        "responders": pa.Table.from_pylist([{**iid, **p} for p in people], schema=_RESPONDER_SCHEMA),
        "action_items": pa.Table.from_pylist([{**iid, **a} for a in items], schema=_ACTION_SCHEMA),
    }


def timeline_rows(events: list[dict]) -> list[dict]:
    """One row per event for now, in the (ts, source, event_id) order they arrive in."""
    return [{"ts": e["ts"], "last_ts": e["ts"], "source": e["source"], "kind": e["kind"],
             "category": e["category"], "actor": e["actor"], "actor_type": e["actor_type"],
             "title": e["title"], "body": e["body"], "sources": [e["source"]], "count": 1,
             "url": e["url"], "event_ids": [e["event_id"]]} for e in events]


def _title(events: list[dict], seed: str) -> str:
    for e in events:
        attrs = json.loads(e.get("attrs") or "{}")
        if seed in (e.get("refs") or []) and attrs.get("incident_title"):
            return attrs["incident_title"]
    for e in events:
        if seed in (e.get("refs") or []) and e["kind"] == "ticket.created":
            return json.loads(e["attrs"]).get("summary") or e["title"]
    return seed


def _severity(events: list[dict]) -> str | None:
    sevs = sorted(e["severity"] for e in events if e.get("severity") and e["category"] == "alert")
    sevs = sevs or sorted(e["severity"] for e in events if e.get("severity"))
    return sevs[0] if sevs else None


def _warnings(events: list[dict], shared: list[str]) -> list[str]:
    out = []
    assumed = sorted({(e["source"], e["ts_assumed_tz"]) for e in events if e.get("ts_assumed_tz")})
    for source, zone in assumed:
        out.append(f"{source}: naive timestamps read as {zone} (from configuration)")
    flagged = sorted({w for e in events for w in (e.get("warnings") or [])})
    out += flagged[:20]
    for ref in shared:
        out.append(f"{ref} is a shared channel: only its messages naming this incident were included")
    return out


_TS = pa.timestamp("us", tz="UTC")
_TIMELINE_SCHEMA = pa.schema([
    ("incident_id", pa.string()), ("seq", pa.int32()), ("ts", _TS), ("last_ts", _TS),
    ("source", pa.string()), ("kind", pa.string()), ("category", pa.string()), ("actor", pa.string()),
    ("actor_type", pa.string()), ("title", pa.string()), ("body", pa.string()),
    ("sources", pa.list_(pa.string())), ("count", pa.int32()), ("url", pa.string()),
    ("event_ids", pa.list_(pa.string()))])
_MILESTONE_SCHEMA = pa.schema([
    ("incident_id", pa.string()), ("name", pa.string()), ("ts", _TS), ("event_id", pa.string()),
    ("source", pa.string()), ("evidence", pa.string()), ("rule", pa.string())])
_RESPONDER_SCHEMA = pa.schema([
    ("incident_id", pa.string()), ("name", pa.string()), ("first_seen", _TS), ("paged", pa.bool_()),
    ("acknowledged", pa.bool_()), ("spoke", pa.bool_())])
_ACTION_SCHEMA = pa.schema([
    ("incident_id", pa.string()), ("title", pa.string()), ("owner", pa.string()), ("due", pa.date32()),
    ("ref", pa.string()), ("status", pa.string()), ("origin", pa.string())])
