"""A dotted path into a raw record (contract.paths): the file connector (which places a row
in the window by its `fields: {ts: ...}`), the normaliser's reject field and the file
mapper all read a record's field the same way."""
from datetime import datetime, timezone

import pytest

from incident_timeline.contract.paths import dotted
from incident_timeline.ingest.base import SourceSettings, Window
from incident_timeline.ingest.file import FileConnector
from incident_timeline.normalize.transforms import MISSING as _MISSING, lookup

ROW = {"id": 7, "user": {"name": "ana", "tags": ["x"]}, "a.b": "literal", "a": {"b": "nested"},
       "when": {"at": "2026-10-14T10:00:00Z"}, "none": None}


@pytest.mark.parametrize("path, expected", [
    ("id", 7), ("user.name", "ana"), ("user.tags", ["x"]), ("none", None),
    ("a.b", "literal"),            # a key written with a dot wins over the nested path
    ("when.at", "2026-10-14T10:00:00Z"),
])
def test_a_path_names_a_key_or_a_nested_value(path, expected):
    assert dotted(ROW, path) == expected


@pytest.mark.parametrize("path", ["nope", "user.email", "user.name.first", "user.tags.0", "id.x", ""])
def test_a_path_that_leads_nowhere_is_missing(path):
    assert dotted(ROW, path) is None
    assert dotted(ROW, path, missing=_MISSING) is _MISSING


@pytest.mark.parametrize("path", ["id", "user.name", "user.tags", "none", "a.b", "when.at", "nope",
                                  "user.email", "user.name.first", "id.x", ""])
def test_the_mappings_read_a_path_as_the_contract_does(path):
    # the mappings' transforms read a field through the contract's path
    assert lookup(ROW, path) == dotted(ROW, path, missing=_MISSING)


def test_the_file_connector_places_a_row_by_its_nested_time_field(tmp_path):
    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"n": {"id": "a1"}, "when": {"at": "2026-10-14T10:00:00Z"}}\n'
                     '{"n": {"id": "a2"}, "when": {"at": "2026-10-15T10:00:00Z"}}\n', encoding="utf-8")
    settings = SourceSettings(name="notes", type="file", base_dir=tmp_path,
                              options={"path": str(notes), "fields": {"id": "n.id", "ts": "when.at"}})
    window = Window(since=datetime(2026, 10, 15, tzinfo=timezone.utc))
    connector = FileConnector(settings)
    records = [r for p in connector.partitions() for r in connector.fetch(p, window)]
    assert [r.native_id for r in records] == ["a2"]
