"""Orchestration: the only place that knows all four stages and the lake between them."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import correlate.catalog as catalog
from correlate.build import Settings as CorrelationSettings
from correlate.build import correlate
from ingest.base import RawRecord, SourceSettings, Window
from ingest.errors import SourceError
from ingest.registry import CONNECTORS
from normalize.engine import build_entities, normalize_raw
from normalize.mappers import MAPPERS
from normalize.mapping import SourceSpec
from normalize.schema import RAW_SCHEMA

from . import state
from .config import Config, clock_offset_seconds
from .lake import Lake, new_run_id, write_parquet_atomic

BATCH_ROWS = 5_000
Progress = Callable[[str], None]


@dataclass
class SourceResult:
    source: str
    fetched: int = 0
    events: int = 0
    rejects: int = 0
    seconds: float = 0.0
    error: str | None = None


@dataclass
class RunResult:
    run_id: str
    sources: list[SourceResult] = field(default_factory=list)

    @property
    def failed(self) -> list[SourceResult]:
        return [s for s in self.sources if s.error]


def _quiet(_msg: str) -> None:
    pass


# ---------------------------------------------------------------- ingest

def ingest(config: Config, names=None, since: datetime | None = None, until: datetime | None = None,
           progress: Progress = _quiet, normalize_after: bool = True) -> RunResult:
    """Fetch [since, until) from each source (default: from its cursors to now), write raw
    Parquet, move cursors, then normalise what was fetched. One failing source does not stop
    the others."""
    lake = Lake(config.lake)
    run_id = new_run_id()
    started = datetime.now(timezone.utc)
    result = RunResult(run_id)
    until = until or started
    for settings in config.select(names):
        t0 = time.monotonic()
        res = SourceResult(settings.name)
        result.sources.append(res)
        try:
            files = _ingest_source(lake, settings, run_id, since, until, progress, res)
            if normalize_after and files:
                _normalize_files(config, lake, settings, files, run_id, res)
        except SourceError as exc:
            res.error = str(exc)
        res.seconds = time.monotonic() - t0
    _refresh_catalog(lake)
    state.record_run(lake.catalog, run_id, "ingest", started, "failed" if result.failed else "ok",
                     {s.source: s.__dict__ for s in result.sources})
    return result


def _ingest_source(lake: Lake, settings: SourceSettings, run_id: str, since, until,
                   progress: Progress, res: SourceResult) -> list[Path]:
    connector = CONNECTORS[settings.type](settings)
    cursors = state.read_cursors(lake.catalog, settings.name) if since is None else {}
    written: list[Path] = []
    try:
        for partition in connector.partitions():
            window = Window(since if since is not None else cursors.get(partition), until)
            batch: list[RawRecord] = []
            part_files: list[Path] = []
            for record in connector.fetch(partition, window):
                batch.append(record)
                res.fetched += 1
                if len(batch) >= BATCH_ROWS:
                    part_files.append(_write_raw(lake, settings, run_id, batch, len(written) + len(part_files)))
                    batch = []
                    progress(f"{settings.name}: {res.fetched} records")
            if batch:
                part_files.append(_write_raw(lake, settings, run_id, batch, len(written) + len(part_files)))
            written += part_files
            # The data is durable (fsynced and renamed): only now may the cursor move. An
            # explicit --since window is not contiguous with the cursor, so it moves nothing.
            if since is None:
                state.advance_cursor(lake.catalog, settings.name, partition, until)
            progress(f"{settings.name}: {res.fetched} records")
    finally:
        connector.close()
    return written


def _write_raw(lake: Lake, settings: SourceSettings, run_id: str, batch: list[RawRecord], seq: int) -> Path:
    now = datetime.now(timezone.utc)
    table = pa.Table.from_pylist([{
        "run_id": run_id, "source": settings.name, "source_type": settings.type, "stream": r.stream,
        "partition": r.partition, "native_id": str(r.native_id), "parent_id": r.parent_id,
        "payload": r.payload_json(), "fetched_at": now} for r in batch], schema=RAW_SCHEMA)
    path = lake.raw_dir(settings.name, now.strftime("%Y-%m-%d")) / f"{run_id}-{seq:05d}.parquet"
    return write_parquet_atomic(table, path)


# ---------------------------------------------------------------- normalize

def normalize(config: Config, names=None, progress: Progress = _quiet) -> RunResult:
    """Re-run normalisation over each source's whole raw history, replacing its events."""
    lake = Lake(config.lake)
    run_id = new_run_id()
    started = datetime.now(timezone.utc)
    result = RunResult(run_id)
    for settings in config.select(names):
        t0 = time.monotonic()
        res = SourceResult(settings.name)
        result.sources.append(res)
        old = lake.event_files(settings.name) + lake.reject_files(settings.name)
        files = lake.raw_files(settings.name)
        res.fetched = _normalize_files(config, lake, settings, files, run_id, res)
        # New files are in place; the old generation goes. A crash in between leaves
        # both, which the events view absorbs by event_id.
        for path in old:
            path.unlink(missing_ok=True)
        res.seconds = time.monotonic() - t0
        progress(f"{settings.name}: {res.events} events, {res.rejects} rejects")
    _refresh_catalog(lake)
    state.record_run(lake.catalog, run_id, "normalize", started, "ok",
                     {s.source: s.__dict__ for s in result.sources})
    return result


def _normalize_files(config: Config, lake: Lake, settings: SourceSettings, files: list[Path],
                     run_id: str, res: SourceResult) -> int:
    if not files:
        return 0
    raw = pa.concat_tables([pq.read_table(f, schema=RAW_SCHEMA) for f in files])
    mapper = MAPPERS.get(settings.type)
    streams = mapper.entity_streams if mapper else ()
    history = _read_entities(lake, settings.name, streams)
    entities = build_entities(pa.concat_tables([history, raw]) if history.num_rows else raw, streams)
    now = datetime.now(timezone.utc)
    out = normalize_raw(raw, source_spec(settings), entities=entities,
                        jira_projects=jira_projects(config), ingested_at=now, run_id=run_id)
    _write_by_day(lake.events_dir, settings.name, out.events, "ts", run_id)
    if out.rejects.num_rows:
        day = now.strftime("%Y-%m-%d")
        write_parquet_atomic(out.rejects, lake.rejects_dir(settings.name, day) / f"{run_id}.parquet")
    res.events += out.events.num_rows
    res.rejects += out.rejects.num_rows
    return raw.num_rows


def _read_entities(lake: Lake, source: str, streams) -> pa.Table:
    files = lake.raw_files(source)
    if not streams or not files:
        return RAW_SCHEMA.empty_table()
    flt = pc.field("stream").isin(list(streams))
    return pa.concat_tables([pq.read_table(f, schema=RAW_SCHEMA, filters=flt) for f in files])


def _write_by_day(dir_for: Callable[[str, str], Path], source: str, table: pa.Table, ts_col: str,
                  run_id: str) -> None:
    if table.num_rows == 0:
        return
    table = table.sort_by([(ts_col, "ascending"), ("event_id", "ascending")])
    days = pc.strftime(table[ts_col], format="%Y-%m-%d")
    for day in pc.unique(days).to_pylist():
        part = table.filter(pc.equal(days, day))
        write_parquet_atomic(part, dir_for(source, day) / f"{run_id}.parquet")


def source_spec(settings: SourceSettings) -> SourceSpec:
    return SourceSpec(name=settings.name, type=settings.type,
                      timezone=str(settings.options.get("timezone") or "UTC"),
                      clock_offset_s=clock_offset_seconds(settings),
                      options={k: v for k, v in settings.options.items() if not hasattr(v, "reveal")})


_JQL_PROJECT = re.compile(r"project\s*(?:=|in)\s*\(?\s*([A-Za-z0-9_,\s\"']+)\)?", re.IGNORECASE)


def jira_projects(config: Config) -> list[str]:
    """Project keys whose issue keys are recognised in free text."""
    keys: set[str] = set()
    for s in config.sources:
        if s.type != "jira":
            continue
        keys.update(str(k) for k in s.get("projects") or [])
        m = _JQL_PROJECT.search(str(s.get("jql") or ""))
        if m:
            keys.update(k.strip(" \"'") for k in m.group(1).split(",") if k.strip(" \"'"))
    return sorted(keys)


# ---------------------------------------------------------------- build

def correlation_settings(config: Config) -> CorrelationSettings:
    return CorrelationSettings(pad_before=config.duration("pad_before"),
                               pad_after=config.duration("pad_after"),
                               depth=int(config.correlation["depth"]))


def correlate_incident(config: Config, incident: str) -> None:
    """Compute in memory over the Parquet, then store in one short catalog transaction."""
    lake = Lake(config.lake)
    mem = duckdb.connect()
    try:
        mem.execute("SET TimeZone = 'UTC'")
        mem.execute(f"CREATE VIEW events AS {catalog.events_relation_sql(lake.root)}")
        mem.execute(f"CREATE VIEW rejects AS {catalog.rejects_relation_sql(lake.root)}")
        rejects = dict(mem.execute("SELECT source, count(*) FROM rejects GROUP BY source").fetchall())
        tables = correlate(mem, incident, correlation_settings(config), rejects)
    finally:
        mem.close()
    con = catalog.connect(lake.catalog, read_only=False)
    try:
        catalog.refresh(con, lake.root)
        catalog.store_incident(con, incident, tables)
    finally:
        con.close()


def _refresh_catalog(lake: Lake) -> None:
    con = catalog.connect(lake.catalog, read_only=False)
    try:
        catalog.refresh(con, lake.root)
    finally:
        con.close()


def incident_window(config: Config, incident: str) -> Window | None:
    """The seed's own window, asked of the source that owns it (pagerduty:Q1 -> pagerduty)."""
    prefix, _, native = incident.partition(":")
    for settings in config.sources:
        if settings.type == prefix or settings.name == prefix:
            connector = CONNECTORS[settings.type](settings)
            try:
                found = connector.incident_window(native)
            finally:
                connector.close()
            if found is not None:
                return found
    return None


def padded(window: Window, pad: timedelta) -> Window:
    return Window(window.since - pad if window.since else None,
                  window.until + pad if window.until else None)
