"""Small lakes for the review: incidents described by their figures (service, severity, when
detected, seconds to acknowledge and resolve, alert fingerprint, follow-up tickets, when the
first draft was written), written as canonical events, built through the pipeline, so a
test can compute every figure from the description on its own."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from incident_timeline import pipeline
from incident_timeline.lake import catalog_store
from incident_timeline.lake.layout import Lake
from tests.correlate.lakes import INGESTED, lake_config, write_events


@dataclass(frozen=True)
class Item:
    key: str                   # jira:KEY
    status: str                # the ticket's status: Done, In Progress, ...
    due: date | None = None
    owner: str | None = None
    title: str = "follow-up"
    closed_at: datetime | None = None   # when it was resolved (the ticket's resolution date)


@dataclass(frozen=True)
class Spec:
    id: str                    # the Opsgenie alert id: the incident's identity is opsgenie:<id>
    service: str
    severity: str
    detected: datetime
    ack_s: int | None
    resolve_s: int | None
    alert: str | None = None   # fingerprint
    items: tuple[Item, ...] = ()
    draft_after_h: float | None = None    # first draft this long after resolution; None: no draft
    title: str = ""
    seeds: tuple[str, ...] = ()           # refs to build it from (default: its identity)
    extra_services: tuple[str, ...] = field(default=())
    prefix: str = "opsgenie"              # what the identity is (a description of fixtures/history: pagerduty)

    @property
    def identity(self) -> str:
        return f"{self.prefix}:{self.id}"

    @property
    def channel(self) -> str:
        return f"slack:C{self.id.upper().replace('-', '')}"

    @property
    def resolved(self) -> datetime | None:
        return None if self.resolve_s is None else self.detected + timedelta(seconds=self.resolve_s)


def events(spec: Spec) -> list[dict]:
    alert_refs = [spec.identity] + ([f"alert:{spec.alert}"] if spec.alert else [])
    out = [_event(spec, "trigger", "og", "opsgenie", "alert.triggered", spec.detected, "Alertmanager", "system",
                  spec.title or f"{spec.service} is failing", alert_refs, service=spec.service,
                  severity=spec.severity, attrs={"incident_title": spec.title or f"{spec.service} is failing"}),
           _event(spec, "hello", "slack", "slack", "chat.message", spec.detected + timedelta(seconds=20),
                  "Dana Ng", "human", f"looking at {spec.id}", [spec.channel, spec.identity])]
    for n, other in enumerate(spec.extra_services):
        out.append(_event(spec, f"trigger-{n}", "og", "opsgenie", "alert.triggered", spec.detected + timedelta(seconds=5),
                          "Alertmanager", "system", f"{other} too", [spec.identity], service=other,
                          severity=spec.severity))
    if spec.ack_s is not None:
        out.append(_event(spec, "ack", "og", "opsgenie", "alert.acknowledged", spec.detected + timedelta(seconds=spec.ack_s),
                          "Dana Ng", "human", "Acknowledged by Dana Ng", [spec.identity], service=spec.service))
    for n, item in enumerate(spec.items):
        attrs = {"summary": item.title, "status": item.status, "assignee": item.owner,
                 "due": item.due.isoformat() if item.due else None,
                 "resolution_date": item.closed_at.isoformat() if item.closed_at else None}
        out.append(_event(spec, f"ticket-{n}", "jira", "jira", "ticket.created", spec.detected + timedelta(seconds=30 + n),
                          "Dana Ng", "human", f"{item.key} created", [f"jira:{item.key}", spec.channel], attrs=attrs))
    if spec.resolve_s is not None:
        out.append(_event(spec, "resolve", "og", "opsgenie", "alert.resolved", spec.resolved, "Dana Ng", "human",
                          "Closed by Dana Ng", [spec.identity], service=spec.service))
    return out


def _event(spec: Spec, name: str, source: str, source_type: str, kind: str, ts: datetime, actor: str,
           actor_type: str, title: str, refs: list[str], service: str | None = None, severity: str | None = None,
           attrs: dict | None = None) -> dict:
    import json
    native = f"{spec.id}-{name}"
    return {"event_id": f"{source}/{native}", "source": source, "source_type": source_type,
            "category": kind.split(".")[0], "kind": kind, "ts": ts, "ts_raw": ts.isoformat(), "ts_assumed_tz": None,
            "actor": actor, "actor_type": actor_type, "actor_id": None, "subject": None, "title": title,
            "body": title, "severity": severity, "service": service, "refs": refs, "url": None, "native_id": native,
            "attrs": json.dumps(attrs or {}), "warnings": [], "ingested_at": INGESTED}


def build_lake(tmp_path: Path, specs: list[Spec]):
    """The specs' events in a fresh lake, each incident built from its seeds, its first draft
    time recorded as the spec says. Returns the pipeline's config."""
    config = lake_config(tmp_path)
    write_events(config.lake, [e for s in specs for e in events(s)])
    for spec in specs:
        for seed in spec.seeds or (spec.identity,):
            assert pipeline.correlate_incident(config, seed) == spec.identity
    lake = Lake.for_config(config)
    with catalog_store.catalog_writer(lake) as con:
        for spec in specs:
            if spec.draft_after_h is not None and spec.resolved is not None:
                at = spec.resolved + timedelta(hours=spec.draft_after_h)
                con.execute("INSERT OR REPLACE INTO incident_drafts VALUES (?, ?, ?)", [spec.identity, at, at])
    return config


def catalog_path(config) -> Path:
    return config.lake / "catalog.duckdb"


def write_config_file(config, tmp_path: Path) -> Path:
    """A connectors.yaml for the CLI that points at the same lake."""
    import yaml
    path = tmp_path / "review.yaml"
    (tmp_path / "notes.jsonl").touch()
    notes = {"name": "notes", "type": "file", "path": str(tmp_path / "notes.jsonl"), "fields": {"ts": "time"}}
    path.write_text(yaml.safe_dump({"lake": str(config.lake), "timezone": "UTC", "sources": [notes],
                                    "drafts": {"out": str(tmp_path / "reports")}}), encoding="utf-8")
    return path
