"""Fetched records as the lake's raw rows: verbatim payloads, built column by column."""
from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from incident_timeline.contract.schemas import RAW_SCHEMA
from incident_timeline.contract.secrets import redact_json
from incident_timeline.contract.text import without_surrogates
from incident_timeline.ingest.base import RECORD_ERRORS, RawRecord, SourceSettings, unreadable_record


def raw_rows(settings: SourceSettings, run_id: str, batch: list[RawRecord], fetched_at: datetime) -> pa.Table:
    """The raw rows of `batch` (a dict per row cost more than the write). Payloads are
    verbatim unless the source asks `redact: [raw]`."""
    redact_raw = "raw" in (settings.options.get("redact") or ())
    batch = [_storable(r) for r in batch]
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
    constant = {"run_id": run_id, "source": settings.name, "source_type": settings.type, "fetched_at": fetched_at}
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
