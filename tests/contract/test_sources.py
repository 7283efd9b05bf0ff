"""The source-type declarations (contract.sources) are one fact for both stages: every type
a connector can be configured as is declared, the normaliser knows it, and both read its
time format from the declaration."""
import json
from datetime import datetime, timezone

import pyarrow as pa

from incident_timeline.contract.schemas import RAW_SCHEMA
from incident_timeline.contract.sources import SOURCE_TYPES
from incident_timeline.ingest.base import SourceSettings
from incident_timeline.ingest.registry import CONNECTORS
from incident_timeline.normalize.engine import normalize_raw
from incident_timeline.normalize.oracle import MAPPERS
from incident_timeline.normalize.mapping import SourceSpec

AT = datetime(2026, 10, 14, 14, 2, 11, tzinfo=timezone.utc)


def test_every_connector_type_is_declared_and_normalised():
    assert set(CONNECTORS) == set(SOURCE_TYPES) == set(MAPPERS)
    assert all(name == t.name for name, t in SOURCE_TYPES.items())


def test_a_connector_reads_its_time_format_and_id_field_from_the_declaration(tmp_path):
    for name, cls in CONNECTORS.items():
        connector = cls(SourceSettings(name="s", type=name, options={}, base_dir=tmp_path))
        assert (connector.time_format, connector.native_id) == (SOURCE_TYPES[name].time_format,
                                                                SOURCE_TYPES[name].native_id)


def test_a_record_ingest_cannot_take_is_named_by_the_declared_id_field(tmp_path):
    # a Jira issue whose fields are not an object: its reject is named by its key, not its id
    connector = CONNECTORS["jira"](SourceSettings(name="j", type="jira", options={}, base_dir=tmp_path))
    item = {"id": "10001", "key": "PAY-1", "fields": "oops"}
    [record] = connector.take("issues", [item], lambda issue: issue["fields"]["updated"])
    assert SOURCE_TYPES["jira"].native_id == "key"
    assert (record.stream, record.native_id, record.payload["field"]) == ("unreadable", "issues:PAY-1", "fields")


def test_no_mapping_declares_a_time_format_of_its_own_that_differs():
    # the engine reads the declaration, so the mappings must agree with it
    for name, mapper in MAPPERS.items():
        assert getattr(mapper, "time_format", SOURCE_TYPES[name].time_format) == SOURCE_TYPES[name].time_format


def test_the_normaliser_converts_a_record_time_in_the_declared_format():
    # a Slack message's ts, "seconds.micros" as declared (read as ISO 8601 it is a bare number)
    assert SOURCE_TYPES["slack"].time_format == "slack_ts"
    ts = f"{int(AT.timestamp())}.000123"
    raw = pa.Table.from_pylist([{"run_id": "r", "source": "chat", "source_type": "slack", "stream": "messages",
                                 "partition": "C0PAY", "native_id": ts, "parent_id": "C0PAY",
                                 "payload": json.dumps({"type": "message", "ts": ts, "user": "U1", "text": "hi"}),
                                 "fetched_at": AT}], schema=RAW_SCHEMA)
    for vectorized in (True, False):
        out = normalize_raw(raw, SourceSpec(name="chat", type="slack"), entities={}, ingested_at=AT,
                            vectorized=vectorized)
        assert out.rejects.num_rows == 0
        assert out.events["ts"].to_pylist() == [AT.replace(microsecond=123)]
