"""A realistic events lake, generated fast and deterministically (numpy + pyarrow).

N canonical events over D days across every source type: background chatter in a few
dozen channels, alerts that repeat in storms, ticket traffic, technician notes; and
embedded incidents (a PagerDuty incident, its Alertmanager storm, its Slack channel, its
Jira ticket), one of which, `BENCH_INCIDENT`, is identical in every lake whatever N is,
so that building it measures how build cost grows with history and nothing else.

Files land where normalize writes them (`events/source=<s>/date=<day>/...parquet`), one
file per source and day, sorted by ts: the layout a nightly backfill leaves after
compaction.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from incident_timeline.contract.schemas import EVENT_SCHEMA
from incident_timeline.lake import commits
from incident_timeline.lake.layout import Lake

START = datetime(2025, 11, 1, tzinfo=timezone.utc)
INGESTED = datetime(2026, 11, 1, tzinfo=timezone.utc)
BENCH_INCIDENT = "pagerduty:PBENCH01"
US_PER_DAY = 86_400_000_000

# name, type, category, share of the background, kinds
SOURCES = [
    ("slack", "slack", "chat", 0.40, ["chat.message", "chat.reply", "chat.join"]),
    ("alertmanager", "alertmanager", "alert", 0.15, ["alert.triggered", "alert.resolved"]),
    ("pagerduty", "pagerduty", "alert", 0.10, ["alert.triggered", "alert.notified", "alert.acknowledged",
                                               "alert.resolved"]),
    ("opsgenie", "opsgenie", "alert", 0.05, ["alert.triggered", "alert.acknowledged", "alert.resolved"]),
    ("grafana", "grafana", "alert", 0.05, ["alert.triggered", "alert.resolved"]),
    ("jira", "jira", "ticket", 0.12, ["ticket.created", "ticket.status", "ticket.comment", "ticket.assigned"]),
    ("servicenow", "servicenow", "ticket", 0.08, ["ticket.created", "ticket.status", "ticket.comment"]),
    ("notes", "file", "note", 0.05, ["note.added"]),
]
SERVICES = [f"svc-{name}" for name in (
    "checkout", "payments", "search", "auth", "cart", "catalog", "shipping", "inventory", "pricing", "email",
    "notifications", "gateway", "billing", "ledger", "reports", "recommendations", "media", "cdn", "dns", "kafka")]
PEOPLE = [f"Person {i:03d}" for i in range(300)]
CHANNELS = 40
PHRASES = ["looking into it", "deploy finished", "anyone seen the latency graph?", "lunch?",
           "rolled back the canary", "ticket updated", "p99 is up again", "dashboards look fine",
           "can someone review my PR", "restarting the pods", "error rate back to normal", "on it"]


@dataclass
class GeneratedLake:
    root: Path
    events: int
    days: int
    files: int
    incident: str = BENCH_INCIDENT


def generate(root: Path, events: int, days: int = 365, seed: int = 7) -> GeneratedLake:
    """Write a lake of about `events` events over `days` days under `root`."""
    rng = np.random.default_rng(seed)
    incidents = _incidents(days, max(1, min(days, events // 2_000)))
    background = max(0, events - sum(t.num_rows for t in incidents.values()))
    files = 0
    for name, type_, category, share, kinds in SOURCES:
        n = int(background * share)
        table = _background(rng, name, type_, category, kinds, n, days)
        if name in incidents:
            table = pa.concat_tables([table, incidents[name]])
        files += _write_by_day(root, name, table)
    written = sorted((root / "events").glob("source=*/date=*/*.parquet"))
    commits.commit(Lake(root), "events", written, run_id="generated", operation="generate")   # published at once
    total = sum(pq.ParquetFile(f).metadata.num_rows for f in written)
    return GeneratedLake(root, total, days, files)


# ---------------------------------------------------------------- background traffic

def _background(rng: np.random.Generator, source: str, type_: str, category: str, kinds: list[str],
                n: int, days: int) -> pa.Table:
    ts = rng.integers(0, days * US_PER_DAY, n, dtype=np.int64)
    people = rng.integers(0, len(PEOPLE), n)
    service = rng.integers(0, len(SERVICES), n)
    if category == "alert":
        # storms: every alert fires a burst of repeats 30 s apart from its first firing
        fp = rng.integers(0, max(1, n // 20), n)
        first = rng.integers(0, days * US_PER_DAY, fp.max() + 1, dtype=np.int64)
        order = np.argsort(fp, kind="stable")
        starts = np.r_[0, np.flatnonzero(np.diff(fp[order])) + 1]
        rank = np.empty(n, np.int64)
        rank[order] = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
        ts = np.minimum(first[fp] + rank * 30_000_000, days * US_PER_DAY - 1)
        refs = _refs([("alert:fp", fp)] + ([("pagerduty:PB", fp // 7)] if source == "pagerduty" else []))
        titles = pc.binary_join_element_wise(pa.array(np.take(SERVICES, fp % len(SERVICES))),
                                             pa.array(["alert firing"] * n), ": ")
        service = fp % len(SERVICES)
        actor_type = "system"
    elif category == "chat":
        channel = rng.integers(0, CHANNELS, n)
        ticket = np.where(rng.random(n) < 0.05, rng.integers(0, 50_000, n), -1)
        refs = _refs([("slack:C", channel), ("jira:OPS-", ticket)])
        titles = pa.array(np.take(PHRASES, rng.integers(0, len(PHRASES), n)))
        actor_type = "human"
    elif category == "ticket":
        prefix = "jira:OPS-" if source == "jira" else "servicenow:INC"
        refs = _refs([(prefix, rng.integers(0, max(1, n // 6), n))])
        titles = pa.array(np.take(["status changed", "comment added", "ticket created", "assigned"],
                                  rng.integers(0, 4, n)))
        actor_type = "human"
    else:
        refs = _refs([("note:", rng.integers(0, max(1, n // 3), n))])
        titles = pa.array(np.take(PHRASES, rng.integers(0, len(PHRASES), n)))
        actor_type = "human"
    kind = pa.array(np.take(kinds, rng.integers(0, len(kinds), n)))
    return _table(source, type_, category, ts, kind, titles, refs,
                  pa.array(np.take(PEOPLE, people)), actor_type, pa.array(np.take(SERVICES, service)))


def _refs(columns: list[tuple[str, np.ndarray]]) -> pa.ListArray:
    """One list of prefixed refs per row; a negative id means the row has no such ref."""
    n = len(columns[0][1])
    present = np.stack([ids >= 0 for _, ids in columns], axis=1)
    values = np.stack([np.char.add(prefix, ids.astype(str)) for prefix, ids in columns], axis=1)
    offsets = np.r_[0, np.cumsum(present.sum(axis=1))].astype(np.int32)
    flat = pa.array(values[present], pa.string())
    if isinstance(flat, pa.ChunkedArray):   # pyarrow splits a large numpy conversion
        flat = flat.combine_chunks()
    return pa.ListArray.from_arrays(pa.array(offsets), flat)


def _table(source: str, type_: str, category: str, ts: np.ndarray, kind: pa.Array, titles: pa.Array,
           refs: pa.Array, actors: pa.Array, actor_type: str, services: pa.Array) -> pa.Table:
    n = len(ts)
    start_us = int(START.timestamp() * 1_000_000)
    ts_arr = pa.array(ts + start_us, pa.timestamp("us", tz="UTC"))
    native = pc.cast(pa.array(np.arange(n, dtype=np.int64)), pa.string())
    native = pc.binary_join_element_wise(pa.array([f"bg{hash(source) & 0xffff:x}"] * n), native, "-")
    return _assemble(source, type_, category, ts_arr, kind, titles, refs, actors, actor_type, services, native)


def _assemble(source, type_, category, ts, kind, titles, refs, actors, actor_type, services, native) -> pa.Table:
    n = len(ts)
    const = lambda v: pa.array([v] * n, pa.string())  # noqa: E731
    event_id = pc.binary_join_element_wise(const(source), native, kind, "/")
    return pa.table({
        "event_id": event_id, "source": const(source), "source_type": const(type_), "category": const(category),
        "kind": kind, "ts": ts, "ts_raw": pc.strftime(ts, format="%Y-%m-%dT%H:%M:%S"),
        "ts_assumed_tz": pa.nulls(n, pa.string()), "actor": actors,
        "actor_type": const(actor_type), "actor_id": pa.nulls(n, pa.string()), "subject": pa.nulls(n, pa.string()),
        "title": titles, "body": titles, "severity": pa.nulls(n, pa.string()), "service": services,
        "refs": refs, "url": pa.nulls(n, pa.string()), "native_id": native, "attrs": const("{}"),
        "warnings": pa.array([[]] * n, pa.list_(pa.string())),
        "ingested_at": pa.array([INGESTED] * n, pa.timestamp("us", tz="UTC")),
    }, schema=EVENT_SCHEMA)


# ---------------------------------------------------------------- embedded incidents

def _incidents(days: int, count: int) -> dict[str, pa.Table]:
    """`count` incidents spread over the days; the middle one is BENCH_INCIDENT."""
    rows: dict[str, list[dict]] = {}
    for k in range(count):
        day = int((k + 0.5) * days / count)
        ident = "PBENCH01" if k == count // 2 else f"PINC{k:05d}"
        at = START + timedelta(days=day, hours=14)
        for source, row in _incident_rows(ident, k, at):
            rows.setdefault(source, []).append(row)
    return {s: pa.Table.from_pylist(r, schema=EVENT_SCHEMA) for s, r in rows.items()}


def _incident_rows(ident: str, k: int, at: datetime):
    """About 80 events: the page, a 40-firing storm, a channel of chat, a ticket."""
    pd, fp, chan, ticket = f"pagerduty:{ident}", f"alert:inc{k}", f"slack:CINC{k:05d}", f"jira:INC-{k}"
    service = SERVICES[k % len(SERVICES)]
    lead, second = PEOPLE[k % 300], PEOPLE[(k + 1) % 300]

    def row(source, type_, kind, minutes, title, refs, actor=None, actor_type="system", n=0, attrs=None):
        ts = at + timedelta(minutes=minutes)
        native = f"{ident}-{kind}-{n}"
        return source, {
            "event_id": f"{source}/{native}", "source": source, "source_type": type_, "category": kind.split(".")[0],
            "kind": kind, "ts": ts, "ts_raw": ts.isoformat(), "ts_assumed_tz": None, "actor": actor,
            "actor_type": actor_type, "actor_id": None, "subject": None, "title": title, "body": title,
            "severity": "SEV2" if kind.startswith("alert") else None, "service": service, "refs": refs,
            "url": None, "native_id": native, "attrs": json.dumps(attrs or {}), "warnings": [],
            "ingested_at": INGESTED}

    yield row("pagerduty", "pagerduty", "alert.triggered", 0, f"{service}: error rate above 5%", [pd, fp],
              attrs={"incident_title": f"{service}: error rate above 5%"})
    yield row("pagerduty", "pagerduty", "alert.notified", 0.1, f"{lead} notified", [pd])
    yield row("pagerduty", "pagerduty", "alert.acknowledged", 4, f"acknowledged by {lead}", [pd], lead, "human")
    yield row("pagerduty", "pagerduty", "alert.escalated", 10, f"escalated to {second}", [pd], lead, "human")
    yield row("pagerduty", "pagerduty", "alert.resolved", 45, f"resolved by {lead}", [pd], lead, "human")
    for i in range(40):
        yield row("alertmanager", "alertmanager", "alert.triggered", -1 + i * 0.5, f"[FIRING:1] {service} 5xx",
                  [fp], n=i)
    yield row("alertmanager", "alertmanager", "alert.resolved", 44, f"[RESOLVED] {service} 5xx", [fp])
    yield row("slack", "slack", "chat.join", 5, f"{lead} joined", [chan], lead, "human")
    for i in range(25):
        who = lead if i % 2 else second
        text = f"investigating {ident}: step {i}" if i % 5 else f"update on {ident}, see {ticket.split(':')[1]}"
        yield row("slack", "slack", "chat.message", 6 + i * 1.5, text, [chan, pd] + ([ticket] if i % 5 == 0 else []),
                  who, "human", n=i)
    yield row("slack", "slack", "chat.message", 46, f"Resolved. Follow-up: canary analysis, owner {second}",
              [chan, pd], lead, "human", n=99)
    yield row("jira", "jira", "ticket.created", 8, f"{service} 5xx spike ({ident})", [ticket, pd], lead, "human",
              attrs={"summary": f"{service} 5xx spike"})
    yield row("jira", "jira", "ticket.status", 15, "To Do -> In Progress", [ticket], second, "human")
    yield row("jira", "jira", "ticket.resolved", 60, "In Progress -> Done", [ticket], lead, "human")


# ---------------------------------------------------------------- layout

def _write_by_day(root: Path, source: str, table: pa.Table) -> int:
    """One file per day, rows sorted by ts then event_id (as compaction leaves them)."""
    if table.num_rows == 0:
        return 0
    table = table.sort_by([("ts", "ascending"), ("event_id", "ascending")])
    micros = table["ts"].cast(pa.int64()).to_numpy()
    day = (micros - int(START.timestamp() * 1_000_000)) // US_PER_DAY
    bounds = np.r_[0, np.flatnonzero(np.diff(day)) + 1, len(day)]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        part = table.slice(lo, hi - lo)
        name = (START + timedelta(days=int(day[lo]))).strftime("%Y-%m-%d")
        folder = root / "events" / f"source={source}" / f"date={name}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(part, folder / "generated.parquet", compression="zstd")
    return len(bounds) - 1
