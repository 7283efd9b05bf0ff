"""A few months of incidents written as canonical events, then built: a lake with enough
history for the cross-incident queries (several months, repeats, open and done items)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa

from incident_timeline.contract.schemas import EVENT_SCHEMA
from incident_timeline import pipeline
from incident_timeline.config import Config
from incident_timeline.lake import commits
from incident_timeline.lake.layout import Lake

FIRST = datetime(2026, 7, 2, 9, 0, tzinfo=timezone.utc)
SERVICES = ("checkout-api", "search-indexer", "checkout-api", "payments")
INGESTED = datetime(2026, 11, 1, tzinfo=timezone.utc)


def incident_events(i: int) -> list[dict]:
    """Incident i: paged, (mostly) acknowledged, discussed, a follow-up ticket, resolved."""
    start = FIRST + timedelta(days=13 * i, minutes=7 * i)
    page, chan, ticket = f"pagerduty:PINC{i:03d}", f"slack:CINC{i:03d}", f"jira:OPS-{500 + i}"
    service, alert = SERVICES[i % len(SERVICES)], f"alert:fp-{i // 2}"
    events = [
        _event(i, "pd", "alert.triggered", start, [page, alert], service, "system", f"{service}: errors high"),
        _event(i, "chat", "chat.message", start + timedelta(minutes=6), [chan, page, ticket], None, "human",
               f"Looking at {page.split(':')[1]}; follow-up in {ticket.split(':')[1]}", actor="Dana Ruiz"),
        _event(i, "jira", "ticket.created", start + timedelta(minutes=9), [ticket], None, "human",
               f"Fix the cause of {service} errors", attrs={"status": "Done" if i % 2 else "To Do"}),
        _event(i, "chat", "chat.message", start + timedelta(minutes=11), [chan, page], None, "human",
               "Action item: alert on queue depth owner: Dana Ruiz", actor="Dana Ruiz"),
    ]
    if i % 4 != 3:
        events.append(_event(i, "pd", "alert.acknowledged", start + timedelta(minutes=3 + i), [page, alert],
                             service, "human", "acknowledged", actor="Dana Ruiz"))
    if i != 5:
        events.append(_event(i, "pd", "alert.resolved", start + timedelta(minutes=25 + 9 * i), [page, alert],
                             service, "system", "resolved"))
    return events


def _event(i: int, source: str, kind: str, ts: datetime, refs: list[str], service, actor_type: str, title: str,
           actor: str | None = None, attrs: dict | None = None) -> dict:
    native = f"{i}-{kind}-{int(ts.timestamp())}"
    return {"event_id": f"{source}/{native}", "source": source, "source_type": {"pd": "pagerduty", "chat": "slack",
            "jira": "jira"}[source], "category": kind.split(".")[0], "kind": kind, "ts": ts, "ts_raw": ts.isoformat(),
            "ts_assumed_tz": None, "actor": actor, "actor_type": actor_type, "actor_id": None, "subject": None,
            "title": title, "body": title, "severity": "SEV2" if kind.startswith("alert") else None,
            "service": service, "refs": refs, "url": None, "native_id": native, "attrs": json.dumps(attrs or {}),
            "warnings": [], "ingested_at": INGESTED}


def build_history(folder: Path, incidents: int = 8) -> tuple[Config, list[str]]:
    config = Config(path=folder / "connectors.yaml", lake=folder / "lake", timezone="UTC", sources=[])
    lake = Lake.for_config(config)
    rows = [e for i in range(incidents) for e in incident_events(i)]
    by_file: dict[tuple[str, str], list[dict]] = {}
    for e in rows:
        by_file.setdefault((e["source"], e["ts"].strftime("%Y-%m-%d")), []).append(e)
    written = [lake.write_parquet(pa.Table.from_pylist(part, schema=EVENT_SCHEMA),
                                  lake.events_dir(source, day) / "history.parquet")
               for (source, day), part in sorted(by_file.items())]
    commits.commit(lake, "events", written, run_id="history", operation="test")
    seeds = [f"pagerduty:PINC{i:03d}" for i in range(incidents)]
    for seed in seeds:
        pipeline.correlate_incident(config, seed)
    # the first incident built again from its channel: an alias, still one incident
    pipeline.correlate_incident(config, "slack:CINC000")
    return config, seeds
