"""The newest copy of each context record of a source (Slack users and channels, PagerDuty
incidents), kept in one file, so that normalising a batch never reads the raw history.

Connectors fetch context again on every run (the users list, the incidents of a window),
so the raw lake holds one copy per run: reading all of it for every batch made ingest's
time and memory grow with the lake's age. The snapshot holds one row per (stream, id),
the newest fetch, and the names of the raw files it has taken in (Parquet metadata). A
batch reads the snapshot plus any raw file it has not taken in yet, then writes it back
with those files folded in, whole or not at all. It is derived data: lost, stale or
unreadable, it is rebuilt from the raw files, and the answer is the same.
"""
from __future__ import annotations

import json
import logging
from pathlib import PurePath
from typing import Iterable

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from incident_timeline.contract.schemas import RAW_SCHEMA
from incident_timeline.lake.layout import Lake

log = logging.getLogger(__name__)
_COVERED = b"incident_timeline.covered_raw_files"
_STREAMS = b"incident_timeline.entity_streams"


def path_of(lake: Lake, source: str) -> PurePath:
    return lake.root / "_entities" / f"{source}.parquet"


def read_entity_rows(lake: Lake, source: str, streams: Iterable[str], exclude: set) -> pa.Table:
    """Every context record of `source` as its newest fetch (raw rows), the raw files in
    `exclude` (the batch being normalised, read by the caller) left out."""
    streams = sorted(set(streams))
    if not streams:
        return RAW_SCHEMA.empty_table()
    snapshot, covered = _load(lake, source, streams)
    pending = [f for f in lake.raw_files(source) if f not in exclude and lake.rel(f) not in covered]
    if not pending:
        return snapshot
    stream_filter = pc.field("stream").isin(streams)
    fresh = [lake.storage.read_parquet(f, schema=RAW_SCHEMA, filters=stream_filter) for f in pending]
    merged = newest_per_id(pa.concat_tables([snapshot, *fresh]))
    _save(lake, source, merged, covered | {lake.rel(f) for f in pending}, streams)
    return merged


def newest_per_id(rows: pa.Table) -> pa.Table:
    """One row per (stream, native_id): the newest fetch; of equal fetches, the later row."""
    if rows.num_rows == 0:
        return rows
    con = duckdb.connect()
    try:
        con.register("rows", rows.append_column("_pos", pa.array(range(rows.num_rows), pa.int64())))
        kept = con.sql("SELECT * EXCLUDE (_pos) FROM rows QUALIFY row_number() OVER "
                       "(PARTITION BY stream, native_id ORDER BY fetched_at DESC NULLS LAST, _pos DESC) = 1 "
                       "ORDER BY fetched_at NULLS FIRST, _pos").to_arrow_table()
    finally:
        con.close()
    return kept.cast(RAW_SCHEMA)


def _load(lake: Lake, source: str, streams: list[str]) -> tuple[pa.Table, set[str]]:
    path = path_of(lake, source)
    if not lake.storage.exists(path):
        return RAW_SCHEMA.empty_table(), set()
    try:
        table = lake.storage.read_parquet(path)
        metadata = table.schema.metadata or {}
        if json.loads(metadata.get(_STREAMS, b"[]")) != streams:   # kept for other streams: start over
            return RAW_SCHEMA.empty_table(), set()
        covered = set(json.loads(metadata.get(_COVERED, b"[]")))
        return table.replace_schema_metadata(None).select(RAW_SCHEMA.names).cast(RAW_SCHEMA), covered
    except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
        log.warning("entity snapshot of %s is unreadable (%s): rebuilding it from the raw files", source, exc)
        return RAW_SCHEMA.empty_table(), set()


def _save(lake: Lake, source: str, rows: pa.Table, covered: set[str], streams: list[str]) -> None:
    metadata = {_COVERED: json.dumps(sorted(covered)).encode(), _STREAMS: json.dumps(streams).encode()}
    lake.write_parquet(rows.replace_schema_metadata(metadata), path_of(lake, source))
