"""The `file` connector: CSV or JSON lines notes with a declared field map and zone."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from incident_timeline.ingest.base import SourceSettings, Window
from incident_timeline.ingest.file import FileConnector
from tests.ingest.lakeview import ingest, lake_table

DATA = Path(__file__).parent / "data" / "file"
UTC = timezone.utc
NOTES = {"name": "notes", "type": "file", "path": str(DATA / "notes.jsonl"), "timezone": "Europe/Berlin",
         "fields": {"ts": "time", "text": "note", "actor": "author", "id": "note_id"}}
HANDOVER = {"name": "handover", "type": "file", "path": str(DATA / "handover.csv"),
            "timezone": "Europe/Berlin", "kind": "note.handover",
            "fields": {"ts": "when", "actor": "who", "text": "what", "refs": "ref"}}


def _ingested(tmp_path, source):
    result = ingest(tmp_path, [source])
    assert result.exit_code == 0, result.output
    events = {e["native_id"]: e for e in lake_table(tmp_path, "events").to_pylist()}
    rejects = {r["native_id"]: r for r in lake_table(tmp_path, "rejects").to_pylist()}
    return events, rejects


@pytest.fixture(scope="module")
def notes_lake(tmp_path_factory):
    return _ingested(tmp_path_factory.mktemp("notes"), NOTES)


def test_jsonl_notes_in_a_declared_zone(notes_lake):
    events, _ = notes_lake
    assert sorted(events) == ["n-1", "n-2", "n-5"]
    n1 = events["n-1"]
    assert n1["ts"] == datetime(2026, 10, 14, 14, 5, tzinfo=UTC)          # CEST, +02:00
    assert n1["ts_assumed_tz"] == "Europe/Berlin" and n1["ts_raw"] == "2026-10-14 16:05:00"
    assert (n1["kind"], n1["category"], n1["actor"], n1["actor_type"]) == ("note.added", "note", "Ana Ops", "human")
    assert "servicenow:INC0010001" in n1["refs"]
    assert events["n-2"]["ts"] == datetime(2026, 10, 14, 14, 20, 30, tzinfo=UTC)   # its own offset wins
    assert events["n-2"]["ts_assumed_tz"] is None
    assert events["n-2"]["title"] == "error rate back under 1%"
    # 02:30 does not exist in Berlin on 2026-03-29: moved forward by the gap, and flagged
    assert events["n-5"]["ts"] == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert any("DST gap" in w for w in events["n-5"]["warnings"])


def test_bad_rows_are_rejects_with_their_reason(notes_lake):
    _, rejects = notes_lake
    reasons = {k: (r["field"], r["reason"]) for k, r in rejects.items()}
    assert reasons["n-3"] == ("time", "mapped field ts (time) is missing")
    assert reasons["notes.jsonl:4"][0] == "line"
    assert reasons["notes.jsonl:4"][1].startswith("notes.jsonl line 4: invalid JSON")
    assert reasons["n-6"][0] == "time" and "yesterday-ish" in reasons["n-6"][1]   # the mapped column
    assert reasons["notes.jsonl:7"] == ("note_id", "mapped field id (note_id) is missing")
    assert len(rejects) == 4


def test_csv_with_quotes_short_and_long_rows(tmp_path):
    events, rejects = _ingested(tmp_path, HANDOVER)
    (note,) = events.values()
    assert note["body"] == 'Swapped the failed NIC on web-2, "link up" again'
    assert note["kind"] == "note.handover" and note["refs"] == ["servicenow:INC0010001"]
    assert note["ts"] == datetime(2026, 10, 14, 14, 10, tzinfo=UTC)
    assert {r["field"] for r in rejects.values()} == {"line", "what"}
    long_row = rejects["handover.csv:3"]
    assert "1 more value(s) than the 4 columns" in long_row["reason"]
    assert "Rack 4 checked" in json.loads(long_row["record"])["text"]


def _fetch(options: dict, window: Window) -> list[str]:
    conn = FileConnector(SourceSettings("notes", "file", options))
    return [r.native_id for r in conn.fetch("", window)]


def test_window_is_half_open_and_unplaceable_rows_land_once():
    options = {k: v for k, v in NOTES.items() if k not in ("name", "type")}
    since = datetime(2026, 10, 14, 14, 5, tzinfo=UTC)          # exactly n-1
    until = datetime(2026, 10, 14, 14, 20, 30, tzinfo=UTC)     # exactly n-2
    assert _fetch(options, Window(since, until)) == ["n-1"]
    # the unreadable line 4 and the rows without a time ride with their next placed line
    early, late = Window(None, until), Window(until, None)
    both = _fetch(options, early) + _fetch(options, late)
    assert sorted(both) == sorted(_fetch(options, Window()))
    assert len(both) == len(set(both)) == 7


def test_epoch_times_and_a_glob(tmp_path):
    for n in (1, 2):
        (tmp_path / f"deploys-{n}.jsonl").write_text(json.dumps(
            {"at": 1791986400000 + n * 1500, "msg": f"deploy {n}", "sha": f"abc{n}"}) + "\n")
    source = {"name": "deploys", "type": "file", "path": str(tmp_path / "deploys-*.jsonl"),
              "time_format": "epoch_ms", "kind": "change.deploy",
              "fields": {"ts": "at", "text": "msg", "id": "sha"}}
    events, rejects = _ingested(tmp_path, source)
    assert not rejects
    assert {k: (e["ts"], e["kind"]) for k, e in events.items()} == {
        "abc1": (datetime(2026, 10, 14, 14, 0, 1, 500000, tzinfo=UTC), "change.deploy"),
        "abc2": (datetime(2026, 10, 14, 14, 0, 3, tzinfo=UTC), "change.deploy")}


def test_a_bad_field_map_is_reported_when_the_config_loads(tmp_path):
    source = {**NOTES, "fields": {"text": "note", "when": "time"}, "time_format": "unix"}
    result = ingest(tmp_path, [source])
    assert result.exit_code == 2
    assert "source notes: fields: needs at least `ts: <column>`" in result.output
    assert "source notes: time_format must be one of" in result.output
    assert "Traceback" not in result.output
