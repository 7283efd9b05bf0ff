"""Raw records -> canonical events + rejects. Pure: tables in, tables out, no I/O.

A source type's mapping (`normalize.mappings`), compiled to one DuckDB query per rule
(`normalize.compiler`), turns every record of its streams into drafts (the canonical
columns before time conversion) or rejects; rows of other streams (unreadable records, an
unknown stream) give their rejects one by one. From the drafts one columnar finish
converts times per declared format, hashes event ids, sends unplaceable times to rejects
and unifies people across sources. A source configured with `redact: events` then has
the secrets in its events' text replaced (contract.secrets).
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Mapping

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from incident_timeline.contract.schemas import EVENT_SCHEMA, REJECT_SCHEMA, TS
from incident_timeline.contract.secrets import redact, redact_json
from incident_timeline.contract.sources import SOURCE_TYPES
from incident_timeline.contract.text import without_surrogates
from incident_timeline.contract.unreadable import UNREADABLE

from .compiler import run_mapping
from .identity import People, canonicalise
from .mappings import MAPPINGS
from .mapping import Context, RecordError, SourceSpec
from .oracle import MAPPERS
from .refs import RefFinder, unique
from .schema import DRAFT_SCHEMA
from .timeparse import parse_times

# What `redact: events` redacts: the text people wrote, links (a token in a query), and
# attrs (JSON: string by string, as a pattern run over the text could eat its quotes).
_REDACTORS = {"title": redact, "body": redact, "url": redact, "attrs": redact_json}
_TEXT_COLUMNS = ("kind", "ts_raw", "ts_format", "actor", "actor_type", "actor_id", "subject", "title",
                 "body", "severity", "service", "url", "native_id")


@dataclass
class Normalized:
    events: pa.Table
    rejects: pa.Table


def event_id(source: str, native_id: str, kind: str) -> str:
    digest = hashlib.sha256(f"{source}\x1f{native_id}\x1f{kind}".encode()).hexdigest()
    return digest[:32]


# One encoder for every record: json.dumps with options builds a new one per call.
_ATTRS_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def attrs_json(attrs: Mapping[str, Any] | None) -> str:
    """The `attrs` column: compact, sorted keys (the compiled query writes the same)."""
    return _ATTRS_ENCODER.encode(attrs or {})


def build_entities(raw: pa.Table, streams: Iterable[str]) -> dict[str, dict[str, Any]]:
    """stream -> native_id -> payload, the newest fetch of each id winning."""
    wanted = set(streams)
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    if not wanted or raw.num_rows == 0:
        return out
    mask = pc.is_in(raw["stream"], pa.array(sorted(wanted)))
    rows = raw.filter(mask).sort_by([("fetched_at", "ascending")]).select(["stream", "native_id", "payload"])
    for stream, native_id, payload in zip(*(rows[c].to_pylist() for c in rows.column_names)):
        try:
            out[stream][native_id] = json.loads(payload)
        except (ValueError, RecursionError):
            continue   # context only: an entity that cannot be read names no one
    return out


class _Rejects:
    def __init__(self, spec: SourceSpec, run_id: str, at: datetime):
        self.rows: list[dict] = []
        self.srcs: list[int] = []     # the raw row of each, while they come out of raw order
        self._base = {"source": spec.name, "source_type": spec.type, "stage": "normalize",
                      "run_id": run_id, "rejected_at": at}

    def add(self, native_id: str | None, field: str, reason: str, record: str | None,
            stage: str = "normalize", src: int = -1) -> None:
        self.rows.append({**self._base, "native_id": native_id, "field": field, "reason": reason,
                          "record": record, "stage": stage})
        self.srcs.append(src)

    def in_raw_order(self) -> None:
        order = sorted(range(len(self.rows)), key=self.srcs.__getitem__)
        self.rows, self.srcs = [self.rows[i] for i in order], [self.srcs[i] for i in order]

    def table(self) -> pa.Table:
        try:
            return pa.Table.from_pylist(self.rows, schema=REJECT_SCHEMA)
        except UnicodeEncodeError:   # a reason quoting a lone surrogate the record held
            return pa.Table.from_pylist([without_surrogates(r) for r in self.rows], schema=REJECT_SCHEMA)


def normalize_raw(raw: pa.Table, spec: SourceSpec, *, entities: Mapping[str, Mapping[str, Any]],
                  jira_projects: Iterable[str] = (), ingested_at: datetime, run_id: str = "",
                  people: People | None = None, vectorized: bool = True) -> Normalized:
    """`people`: who is who as the other sources know it (see identity.py); `vectorized`
    False reads every record with the mapping's per-record oracle instead of the compiled
    query (the tests' reference)."""
    mapper = MAPPERS.get(spec.type)
    ctx = Context(spec=spec, refs=RefFinder(jira_projects), entities=entities)
    rejects = _Rejects(spec, run_id, ingested_at)
    parts: list[pa.Table] = []
    rest = raw
    mapping = MAPPINGS[spec.type](spec) if vectorized and spec.type in MAPPINGS else None
    if mapping is not None:
        # the compiled query takes every record of the mapped stream; the other rows
        # (unreadable ones, unknown streams) give only rejects, one by one as before
        parts.append(_map_compiled(raw, mapping, ctx, rejects))
        others = pc.indices_nonzero(pc.invert(pc.fill_null(pc.is_in(raw["stream"], pa.array(mapping.streams)), False)))
        rest = raw.take(others).append_column("src", others.cast(pa.int64()))
    parts.append(_map_each(rest, mapper, spec, ctx, rejects))
    if mapping is not None:
        rejects.in_raw_order()
    drafts = pa.concat_tables(parts)
    events = _finish(drafts, raw, mapper, ctx, ingested_at, rejects)
    events = canonicalise(events, People.from_events(events).merged(people))
    if "events" in (spec.options.get("redact") or ()):
        events = redact_events(events)
    return Normalized(events=events, rejects=rejects.table())


def redact_events(events: pa.Table) -> pa.Table:
    """Secrets in the events' title, body, url and attrs replaced with [REDACTED <kind>];
    ids, times and everything else as they were."""
    for name, redactor in _REDACTORS.items():
        values = events[name].to_pylist()
        redacted = [v if v is None else redactor(v) for v in values]
        if redacted != values:
            events = events.set_column(events.schema.get_field_index(name), name, pa.array(redacted, pa.string()))
    return events


def _map_each(raw: pa.Table, mapper, spec: SourceSpec, ctx: Context, rejects: _Rejects) -> pa.Table:
    """Drafts of every record of `raw` (rows of the batch, `src` their row in it when they
    were picked from it) by the per-record mapper."""
    drafts: list[dict] = []
    columns = [raw[c].to_pylist() for c in ("stream", "native_id", "parent_id", "payload")]
    sources = raw["src"].to_pylist() if "src" in raw.column_names else range(raw.num_rows)
    for stream, native_id, parent_id, payload_text, src in zip(*columns, sources):
        if stream == UNREADABLE:
            _reject_unreadable(rejects, native_id, payload_text, src)
            continue
        if mapper is None:
            rejects.add(native_id, "source_type", f"no mapper for source type {spec.type!r}", payload_text, src=src)
            continue
        if stream in mapper.entity_streams:
            continue
        try:
            payload = json.loads(payload_text)
            if not isinstance(payload, dict):
                raise RecordError("payload", "not a JSON object")
            for draft in mapper.map(stream, payload, parent_id, ctx):
                drafts.append(_draft_row(draft, src))
        except json.JSONDecodeError as exc:
            rejects.add(native_id, "payload", f"invalid JSON: {exc.msg}", payload_text, src=src)
        except RecordError as exc:
            rejects.add(native_id, exc.field, exc.reason, payload_text, src=src)
        except RecursionError:
            rejects.add(native_id, "payload", f"{stream} record is nested too deep to read", payload_text, src=src)
        except (AttributeError, KeyError, TypeError, ValueError, IndexError, OverflowError) as exc:
            # A shape the mapper did not expect (a string where an object belongs, ...):
            # the record is kept with the reason, and the run goes on.
            rejects.add(native_id, "payload", f"unexpected shape in {stream}: {type(exc).__name__}: {exc}",
                        payload_text, src=src)
    try:
        return pa.Table.from_pylist(drafts, schema=DRAFT_SCHEMA)
    except UnicodeEncodeError:
        # json.loads keeps an escaped lone surrogate ("\\ud800"), which UTF-8 cannot hold:
        # the event is kept with U+FFFD in its place (the raw record keeps the original).
        return pa.Table.from_pylist([without_surrogates(d) for d in drafts], schema=DRAFT_SCHEMA)


def _reject_unreadable(rejects: _Rejects, native_id: str | None, payload_text: str, src: int = -1) -> None:
    """A record a connector could not take (any source type): rejected here, stage
    `ingest`, with the field and reason the connector wrote and the item it kept."""
    try:
        payload = json.loads(payload_text)
    except (ValueError, RecursionError):
        payload = None
    if not isinstance(payload, dict):
        rejects.add(native_id, "payload", "unreadable record", payload_text, stage="ingest", src=src)
        return
    field = payload.get("field")
    if "line" in payload and "file" in payload:     # a file line (file, Alertmanager webhook)
        reason = f"{payload.get('file')} line {payload.get('line')}: {payload.get('error') or 'unreadable'}"
        rejects.add(native_id, str(field or "line"), reason, payload_text, stage="ingest", src=src)
        return
    reason = str(payload.get("error") or "unreadable")
    if payload.get("where"):       # a member of an export: named first, as a file line is
        reason = f"{payload['where']}: {reason}"
    rejects.add(native_id, str(field or "<item>"), reason, payload_text, stage="ingest", src=src)


def _map_compiled(raw: pa.Table, mapping, ctx: Context, rejects: _Rejects) -> pa.Table:
    drafts, failed = run_mapping(raw, mapping, ctx)
    native_ids, payloads = raw["native_id"], raw["payload"]
    for src, field, reason in failed:
        rejects.add(native_ids[src].as_py(), field, reason, payloads[src].as_py(), src=src)
    return drafts


def _draft_row(draft: Mapping[str, Any], src: int) -> dict:
    get = draft.get
    row = {c: v if (v := get(c)) is None or v.__class__ is str else str(v) for c in _TEXT_COLUMNS}
    row["refs"] = unique(draft.get("refs") or [])
    row["attrs"] = attrs_json(draft.get("attrs"))
    row["src"] = src
    return row


def _finish(drafts: pa.Table, raw: pa.Table, mapper, ctx: Context, ingested_at: datetime,
            rejects: _Rejects) -> pa.Table:
    spec = ctx.spec
    declared = SOURCE_TYPES.get(spec.type)
    default_format = declared.time_format if declared else "iso8601"
    drafts = drafts.append_column("pos", pa.array(range(drafts.num_rows), pa.int64()))
    formats = pc.fill_null(drafts["ts_format"], default_format)
    parsed_parts = []
    declared = pc.unique(formats).to_pylist()
    for fmt in declared:  # one vectorised conversion per declared format
        # one format (the usual case): no copy of the whole table, records included
        part = drafts if len(declared) == 1 else drafts.filter(pc.equal(formats, fmt))
        parsed = parse_times(part["ts_raw"], fmt, spec.timezone, spec.clock_offset_s)
        for i in (i for i, err in enumerate(parsed.errors) if err):
            src = part["src"][i].as_py()
            record = raw["payload"][src].as_py()
            field = _time_field(mapper, ctx, raw["stream"][src].as_py(), part["kind"][i].as_py(), record)
            rejects.add(part["native_id"][i].as_py(), field, parsed.errors[i], record)
        parsed_parts.append(part.append_column("ts", parsed.ts)
                            .append_column("ts_assumed_tz", pa.array(parsed.assumed_tz, pa.string()))
                            .append_column("warnings", parsed.warnings_array()))
    if not parsed_parts:
        return EVENT_SCHEMA.empty_table()
    timed = pa.concat_tables(parsed_parts)
    timed = timed.drop_columns(["ts_format"])
    if timed["ts"].null_count:
        timed = timed.filter(pc.is_valid(timed["ts"]))
    timed = timed.append_column("fetched_at", raw["fetched_at"].take(timed["src"]))
    timed = timed.append_column("event_id", _event_ids(timed, spec.name))
    timed = _last_of_each_id(timed)
    n = timed.num_rows
    # ingested_at is when the record was fetched, so re-normalising old raw after a crash
    # gives the same rows and the newest fetch of an event still wins in the events view.
    fetched = pc.fill_null(timed["fetched_at"], pa.scalar(ingested_at, TS))
    columns = {
        "source": _constant(spec.name, n), "source_type": _constant(spec.type, n),
        "category": pc.list_element(pc.split_pattern(timed["kind"], ".", max_splits=1), 0),
        "ingested_at": fetched,
    }
    return pa.table([columns[c] if c in columns else timed[c] for c in EVENT_SCHEMA.names], schema=EVENT_SCHEMA)


def _time_field(mapper, ctx: Context, stream: str, kind: str, record: str) -> str:
    """The source's name for the time field a reject names (the canonical `ts` if unknown)."""
    if mapper is None:
        return "ts"
    try:
        return mapper.time_field(stream, kind, json.loads(record), ctx)
    except (ValueError, TypeError, AttributeError, RecursionError):
        return "ts"


_HASHING = duckdb.connect()   # one for every run: opening one costs more than hashing a small batch
_HASHING_LOCK = threading.Lock()


def _event_ids(drafts: pa.Table, source: str) -> pa.Array:
    """event_id() for every row, hashed in DuckDB (same bytes, same digest)."""
    with _HASHING_LOCK:
        _HASHING.register("d", drafts.select(["native_id", "kind"]))
        try:
            ids = _HASHING.sql("SELECT substr(sha256(concat($source, chr(31), coalesce(native_id, 'None'), chr(31), "
                               "kind)), 1, 32) AS id FROM d", params={"source": source}).to_arrow_table()
        finally:
            _HASHING.unregister("d")
    return ids["id"].combine_chunks() if ids.num_rows else pa.array([], pa.string())


def _last_of_each_id(table: pa.Table) -> pa.Table:
    """The same record twice in one batch is one event: the newest fetch wins, and within
    one fetch the later raw row (then the later draft of it): raw order, not draft order."""
    ids = table["event_id"]
    if len(pc.unique(ids)) == table.num_rows:
        return table
    fetched = pc.fill_null(table["fetched_at"].cast(pa.int64()), 0).to_pylist()
    last: dict[str, tuple[tuple[int, int, int], int]] = {}   # event_id -> ((fetched, raw row, draft), row)
    for row, (eid, src, pos) in enumerate(zip(ids.to_pylist(), table["src"].to_pylist(), table["pos"].to_pylist())):
        key = (fetched[row], src, pos)
        if eid not in last or key > last[eid][0]:
            last[eid] = (key, row)
    return table.take(pa.array(sorted(row for _key, row in last.values()), pa.int64()))


def _constant(value: str, n: int) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype="int32")), pa.array([value])).cast(pa.string())
