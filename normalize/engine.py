"""Raw records -> canonical events + rejects. Pure: tables in, tables out, no I/O."""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from .mappers import MAPPERS
from .mapping import Context, RecordError, SourceSpec
from .refs import RefFinder, unique
from .schema import EVENT_SCHEMA, REJECT_SCHEMA
from .timeparse import parse_times

_TEXT_COLUMNS = ("actor", "actor_type", "actor_id", "subject", "title", "body", "severity",
                 "service", "url", "native_id", "ts_raw")


@dataclass
class Normalized:
    events: pa.Table
    rejects: pa.Table


def event_id(source: str, native_id: str, kind: str) -> str:
    digest = hashlib.sha256(f"{source}\x1f{native_id}\x1f{kind}".encode()).hexdigest()
    return digest[:32]


def build_entities(raw: pa.Table, streams: Iterable[str]) -> dict[str, dict[str, Any]]:
    """stream -> native_id -> payload, the newest fetch of each id winning."""
    wanted = set(streams)
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    if not wanted or raw.num_rows == 0:
        return out
    mask = pc.is_in(raw["stream"], pa.array(sorted(wanted)))
    rows = raw.filter(mask).sort_by([("fetched_at", "ascending")]).select(["stream", "native_id", "payload"])
    for stream, native_id, payload in zip(*(rows[c].to_pylist() for c in rows.column_names)):
        out[stream][native_id] = json.loads(payload)
    return out


def normalize_raw(raw: pa.Table, spec: SourceSpec, *, entities: Mapping[str, Mapping[str, Any]],
                  jira_projects: Iterable[str] = (), ingested_at: datetime, run_id: str = "") -> Normalized:
    mapper = MAPPERS.get(spec.type)
    ctx = Context(spec=spec, refs=RefFinder(jira_projects), entities=entities)
    drafts: list[dict] = []
    rejects: list[dict] = []

    def reject(native_id: str | None, field: str, reason: str, record: str) -> None:
        rejects.append({"source": spec.name, "source_type": spec.type, "stage": "normalize",
                        "native_id": native_id, "field": field, "reason": reason, "record": record,
                        "run_id": run_id, "rejected_at": ingested_at})

    columns = [raw[c].to_pylist() for c in ("stream", "native_id", "parent_id", "payload", "fetched_at")]
    for stream, native_id, parent_id, payload_text, fetched_at in zip(*columns):
        if mapper is None:
            reject(native_id, "source_type", f"no mapper for source type {spec.type!r}", payload_text)
            continue
        if stream in mapper.entity_streams:
            continue
        try:
            payload = json.loads(payload_text)
            if not isinstance(payload, dict):
                raise RecordError("payload", "not a JSON object")
            for draft in mapper.map(stream, payload, parent_id, ctx):
                draft["_record"] = payload_text
                # ingested_at is when the record was fetched, so re-normalising old raw
                # gives the same rows and the newest fetch of an event still wins.
                draft["_fetched_at"] = fetched_at
                drafts.append(draft)
        except json.JSONDecodeError as exc:
            reject(native_id, "payload", f"invalid JSON: {exc.msg}", payload_text)
        except RecordError as exc:
            reject(native_id, exc.field, exc.reason, payload_text)

    events = _finish(drafts, mapper.time_format if mapper else "iso8601", spec, ingested_at, reject)
    return Normalized(events=events, rejects=pa.Table.from_pylist(rejects, schema=REJECT_SCHEMA))


def _finish(drafts: list[dict], default_format: str, spec: SourceSpec, ingested_at: datetime,
            reject) -> pa.Table:
    # Convert time per declared format, one vectorised call per format.
    by_format: dict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(drafts):
        by_format[d.get("ts_format") or default_format].append(i)
    ts: list[Any] = [None] * len(drafts)
    assumed: list[str | None] = [None] * len(drafts)
    warnings: list[list[str]] = [[] for _ in drafts]
    for fmt, idx in by_format.items():
        parsed = parse_times([_as_text(drafts[i].get("ts_raw")) for i in idx], fmt, spec.timezone,
                             spec.clock_offset_s)
        values = parsed.ts.to_pylist()
        for j, i in enumerate(idx):
            ts[i] = values[j]
            warnings[i] = parsed.warnings[j]
            assumed[i] = parsed.assumed_tz[j]
            if parsed.errors[j]:
                reject(drafts[i].get("native_id"), "ts", parsed.errors[j], drafts[i]["_record"])

    rows: dict[str, dict] = {}
    for i, d in enumerate(drafts):
        if ts[i] is None:
            continue
        kind = d["kind"]
        row = {c: (_as_text(d.get(c)) if d.get(c) is not None else None) for c in _TEXT_COLUMNS}
        eid = event_id(spec.name, row["native_id"], kind)
        row.update({
            "event_id": eid, "source": spec.name, "source_type": spec.type,
            "category": kind.split(".", 1)[0], "kind": kind, "ts": ts[i], "ts_assumed_tz": assumed[i],
            "refs": unique(d.get("refs") or []),
            "attrs": json.dumps(d.get("attrs") or {}, ensure_ascii=False, sort_keys=True, default=str),
            "warnings": warnings[i] or [], "ingested_at": d.get("_fetched_at") or ingested_at,
        })
        rows[eid] = row  # the same record twice in one batch is one event: the last wins
    return pa.Table.from_pylist(list(rows.values()), schema=EVENT_SCHEMA)


def _as_text(value: Any) -> str | None:
    return None if value is None else str(value)

