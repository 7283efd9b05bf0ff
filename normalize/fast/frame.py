"""What every vectorised path does around its own SQL: number the raw rows for DuckDB, and
hand back (drafts with their verbatim record and fetch time, the raw rows it declined)."""
from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from ..schema import DRAFT_SCHEMA

BATCH_ROWS = 32_768


def register_raw(con: duckdb.DuckDBPyConnection, raw: pa.Table) -> None:
    """`raw` as a view of (stream, parent_id, payload, rid), rid being the row number; a
    table that already has a `rid` column (rows picked from raw, fields read) as it is."""
    if "rid" not in raw.column_names:
        raw = raw.select(["stream", "parent_id", "payload"]).append_column(
            "rid", pa.array(np.arange(raw.num_rows, dtype=np.int64)))
    # In batches, so that DuckDB scans them on every core.
    con.register("raw", pa.Table.from_batches(raw.to_batches(max_chunksize=BATCH_ROWS), raw.schema))


def split(raw: pa.Table, drafts: pa.Table, rest_ids: pa.Table | None = None) -> tuple[pa.Table, pa.Table]:
    """Drafts keyed by rid -> DRAFT_SCHEMA rows (src: the rid); rest_ids (default: every raw
    row no draft came from) -> the declined raw rows, with their row in raw as `src`."""
    rids = drafts["rid"]
    if rest_ids is None:
        declined = np.ones(raw.num_rows, dtype=bool)
        declined[rids.to_numpy()] = False
        rest_ids = pa.table({"rid": pa.array(np.flatnonzero(declined).astype(np.int64))})
    drafts = drafts.drop_columns([c for c in ("rid", "record", "fetched_at") if c in drafts.column_names])
    drafts = drafts.append_column("src", rids.cast(pa.int64()))
    rest = raw.take(rest_ids["rid"])
    if "src" not in rest.column_names:
        rest = rest.append_column("src", rest_ids["rid"].cast(pa.int64()))
    return drafts.select(DRAFT_SCHEMA.names).cast(DRAFT_SCHEMA), rest
