"""What a mapper hands the engine (DRAFT_SCHEMA); the lake's schemas live in contract.schemas,
re-exported here for the mappers and fast paths that import them from this module."""
import pyarrow as pa

from incident_timeline.contract.schemas import (ACTOR_TYPES, CATEGORIES, EVENT_SCHEMA, RAW_SCHEMA, REJECT_SCHEMA,  # noqa: F401
                              SEVERITIES, TS)

# What a mapper (or the vectorised path) hands the engine: the canonical columns before
# time conversion and hashing. `ts_format` overrides the source type's declared format; `src` is
# the raw row the draft came from: its payload for the rejects table, its fetch time for
# ingested_at (taken from raw when needed, never copied per draft).
DRAFT_SCHEMA = pa.schema([
    ("kind", pa.string()), ("ts_raw", pa.string()), ("ts_format", pa.string()),
    ("actor", pa.string()), ("actor_type", pa.string()), ("actor_id", pa.string()),
    ("subject", pa.string()), ("title", pa.string()), ("body", pa.string()),
    ("severity", pa.string()), ("service", pa.string()), ("url", pa.string()),
    ("native_id", pa.string()), ("refs", pa.list_(pa.string())), ("attrs", pa.string()),
    ("src", pa.int64()),
])
