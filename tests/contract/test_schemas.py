"""The lake's schemas (contract.schemas) are one fact: the stages read the same objects, and
what a mapper hands the engine is the event's own columns (typed alike) plus the two the
engine consumes."""
from datetime import datetime, timezone

import pyarrow as pa

import incident_timeline.normalize.schema
from incident_timeline import normalize
from incident_timeline.contract import schemas
from incident_timeline.normalize.engine import normalize_raw
from incident_timeline.normalize.mapping import SourceSpec
from incident_timeline.normalize.schema import DRAFT_SCHEMA


def test_the_normaliser_module_only_re_exports_the_contract_schemas():
    for name in ("TS", "EVENT_SCHEMA", "REJECT_SCHEMA", "RAW_SCHEMA", "CATEGORIES"):
        assert getattr(normalize.schema, name) is getattr(schemas, name)


def test_a_draft_column_is_an_event_column_of_the_same_type_but_what_the_engine_consumes():
    events = {f.name: f.type for f in schemas.EVENT_SCHEMA}
    rest = [f.name for f in DRAFT_SCHEMA if events.get(f.name) != f.type]
    assert rest == ["ts_format", "src"]


def test_the_normaliser_writes_exactly_the_contract_event_and_reject_schemas():
    raw = schemas.RAW_SCHEMA.empty_table()
    out = normalize_raw(raw, SourceSpec(name="chat", type="slack"), entities={},
                        ingested_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert out.events.schema.equals(schemas.EVENT_SCHEMA)
    assert out.rejects.schema.equals(schemas.REJECT_SCHEMA)
    assert all(schemas.EVENT_SCHEMA.field(c).type == schemas.TS for c in ("ts", "ingested_at"))
    assert isinstance(schemas.TS, pa.TimestampType) and schemas.TS.tz == "UTC"
