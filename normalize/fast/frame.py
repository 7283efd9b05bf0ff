"""What every vectorised path does around its own SQL: number the raw rows for DuckDB, and
hand back (drafts with their verbatim record and fetch time, the raw rows it declined)."""
from __future__ import annotations

import duckdb
import pyarrow as pa

from ..schema import DRAFT_SCHEMA

BATCH_ROWS = 32_768


def register_raw(con: duckdb.DuckDBPyConnection, raw: pa.Table) -> None:
    """`raw` as a view of (stream, parent_id, payload, rid), rid being the row number."""
    numbered = raw.select(["stream", "parent_id", "payload"]).append_column(
        "rid", pa.array(range(raw.num_rows), pa.int64()))
    # In batches, so that DuckDB scans them on every core.
    con.register("raw", pa.Table.from_batches(numbered.to_batches(max_chunksize=BATCH_ROWS), numbered.schema))


def split(raw: pa.Table, drafts: pa.Table, rest_ids: pa.Table) -> tuple[pa.Table, pa.Table]:
    """Drafts keyed by rid -> DRAFT_SCHEMA rows; rest_ids -> the declined raw rows.

    The payload kept for rejects, and the fetch time, come from raw, not through SQL."""
    rids = drafts["rid"]
    drafts = drafts.drop_columns([c for c in ("rid", "record") if c in drafts.column_names])
    drafts = drafts.append_column("record", raw["payload"].take(rids)) \
        .append_column("fetched_at", raw["fetched_at"].take(rids))
    return drafts.cast(DRAFT_SCHEMA), raw.take(rest_ids["rid"])
