"""Raw records into the lake: verbatim payloads, one Parquet file per batch, and read back
in passes of bounded size."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Iterator

import pyarrow as pa

from contract.schemas import RAW_SCHEMA
from contract.secrets import redact_json
from contract.text import without_surrogates
from ingest.base import RECORD_ERRORS, RawRecord, SourceSettings, unreadable_record
from lake import quarantine
from lake.layout import Lake


def write_raw(lake: Lake, settings: SourceSettings, run_id: str, partition: str, seq: int,
              batch: list[RawRecord], meta: dict[bytes, bytes] | None = None):
    """Write `batch` as one raw file (durable once this returns); `meta` goes into its footer."""
    now = datetime.now(timezone.utc)
    redact_raw = "raw" in (settings.options.get("redact") or ())   # raw is verbatim unless asked
    table = raw_table(settings, run_id, [_storable(r) for r in batch], now, redact_raw)
    if meta:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
    part = "".join(c if c.isalnum() or c in "-_" else "_" for c in partition)[:60] or "all"
    path = lake.raw_dir(settings.name, now.strftime("%Y-%m-%d")) / f"{run_id}-{part}-{seq:05d}.parquet"
    return lake.write_parquet(table, path)


def raw_table(settings: SourceSettings, run_id: str, batch: list[RawRecord], now: datetime,
              redact_raw: bool) -> pa.Table:
    """The raw rows of `batch`, built column by column (a dict per row cost more than the write)."""
    payloads = [r.payload_json() for r in batch]
    columns = {"stream": [r.stream for r in batch], "partition": [r.partition for r in batch],
               "native_id": [str(r.native_id) for r in batch], "parent_id": [r.parent_id for r in batch],
               "payload": [redact_json(p) for p in payloads] if redact_raw else payloads}
    arrays = {}
    for name, values in columns.items():
        try:
            arrays[name] = pa.array(values, pa.string())
        except UnicodeEncodeError:   # a lone surrogate in an id: stored as U+FFFD, as in payloads
            arrays[name] = pa.array(without_surrogates(values), pa.string())
    n = len(batch)
    constant = {"run_id": run_id, "source": settings.name, "source_type": settings.type, "fetched_at": now}
    return pa.table([arrays[f.name] if f.name in arrays else pa.repeat(pa.scalar(constant[f.name], f.type), n)
                     for f in RAW_SCHEMA], schema=RAW_SCHEMA)


def _storable(r: RawRecord) -> RawRecord:
    """`r`, or when its payload cannot be stored (nested too deep for JSON) an unreadable
    record in its place: the raw writer never fails on a record."""
    try:
        r.payload_json()
    except RECORD_ERRORS as exc:
        r = unreadable_record(r.stream, r.payload, "<item>", f"{r.stream} item cannot be stored: "
                              f"{type(exc).__name__}", r.partition, r.parent_id)
    return r


def raw_chunks(lake: Lake, files: list, records_at_once: int,
               set_aside: Callable[[str], None]) -> Iterator[list]:
    """`files` in consecutive runs of up to `records_at_once` records (one file at least); a
    file that is not readable Parquet is set aside (quarantine.py), told to `set_aside`, and skipped."""
    chunk: list = []
    records = 0
    for f in files:
        try:
            n = lake.storage.read_parquet(f, columns=["run_id"]).num_rows
        except (OSError, pa.ArrowException) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            set_aside(quarantine.set_aside(lake, f, reason))
            continue
        if chunk and records + n > records_at_once:
            yield chunk
            chunk, records = [], 0
        chunk.append(f)
        records += n
    if chunk:
        yield chunk
