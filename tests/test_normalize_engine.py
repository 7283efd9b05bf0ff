import json
from datetime import datetime, timezone

import pyarrow as pa

from incident_timeline.contract.schemas import EVENT_SCHEMA, RAW_SCHEMA
from incident_timeline.normalize.engine import event_id, normalize_raw
from incident_timeline.normalize.mapping import SourceSpec

NOW = datetime(2026, 10, 15, tzinfo=timezone.utc)


def _raw(stream: str, items: list[tuple[str, dict | str, str | None]]) -> pa.Table:
    return pa.Table.from_pylist([{
        "run_id": "r1", "source": "pd", "source_type": "pagerduty", "stream": stream, "partition": "",
        "native_id": nid, "parent_id": parent,
        "payload": payload if isinstance(payload, str) else json.dumps(payload), "fetched_at": NOW,
    } for nid, payload, parent in items], schema=RAW_SCHEMA)


def _entry(entry_id: str, created_at, **extra) -> dict:
    return {"id": entry_id, "type": "acknowledge_log_entry", "created_at": created_at,
            "summary": "Acknowledged by Alice Chen.",
            "agent": {"id": "PALICE1", "type": "user_reference", "summary": "Alice Chen"},
            "incident": {"id": "Q2W3E4R", "html_url": "https://acme.pagerduty.com/incidents/Q2W3E4R"},
            **extra}


def test_good_and_bad_records_events_and_rejects():
    raw = _raw("log_entries", [
        ("R1", _entry("R1", "2026-10-14T10:06:40-04:00"), "Q2W3E4R"),
        ("R2", _entry("R2", "last tuesday"), "Q2W3E4R"),
        ("R3", {"id": "R3", "type": "trigger_log_entry"}, "Q2W3E4R"),
        ("R4", "{not json", "Q2W3E4R"),
    ])
    out = normalize_raw(raw, SourceSpec("pd", "pagerduty"), entities={}, ingested_at=NOW, run_id="r1")
    assert out.events.schema == EVENT_SCHEMA
    (event,) = out.events.to_pylist()
    assert event["ts"] == datetime(2026, 10, 14, 14, 6, 40, tzinfo=timezone.utc)
    assert event["ts_raw"] == "2026-10-14T10:06:40-04:00"
    assert event["kind"] == "alert.acknowledged" and event["actor_type"] == "human"
    assert event["refs"] == ["pagerduty:Q2W3E4R"]
    assert event["event_id"] == event_id("pd", "R1", "alert.acknowledged")
    rejects = {r["native_id"]: r for r in out.rejects.to_pylist()}
    assert set(rejects) == {"R2", "R3", "R4"}
    assert rejects["R2"]["field"] == "created_at" and "last tuesday" in rejects["R2"]["reason"]
    assert rejects["R3"]["field"] == "created_at" and rejects["R3"]["reason"] == "missing"
    assert rejects["R4"]["field"] == "payload"
    assert all(r["stage"] == "normalize" and r["record"] for r in rejects.values())


def test_same_record_twice_is_one_event_with_a_stable_id():
    entry = _entry("R1", "2026-10-14T10:06:40-04:00")
    raw = _raw("log_entries", [("R1", entry, "Q2W3E4R"), ("R1", entry, "Q2W3E4R")])
    first = normalize_raw(raw, SourceSpec("pd", "pagerduty"), entities={}, ingested_at=NOW)
    again = normalize_raw(raw, SourceSpec("pd", "pagerduty"), entities={}, ingested_at=NOW)
    assert first.events.num_rows == 1
    assert first.events["event_id"].to_pylist() == again.events["event_id"].to_pylist()


def test_ingested_at_is_when_the_record_was_fetched():
    older, newer = datetime(2026, 10, 14, 15, tzinfo=timezone.utc), datetime(2026, 10, 15, 3, tzinfo=timezone.utc)
    raw = pa.concat_tables([
        _raw("log_entries", [("R1", _entry("R1", "2026-10-14T10:06:40-04:00"), "Q2W3E4R")]),
        _raw("log_entries", [("R2", _entry("R2", "2026-10-14T10:07:40-04:00"), "Q2W3E4R")]),
    ])
    fetched = pa.array([older, newer], pa.timestamp("us", tz="UTC"))
    raw = raw.set_column(raw.schema.get_field_index("fetched_at"), "fetched_at", fetched)
    out = normalize_raw(raw, SourceSpec("pd", "pagerduty"), entities={}, ingested_at=NOW)
    assert {e["native_id"]: e["ingested_at"] for e in out.events.to_pylist()} == {"R1": older, "R2": newer}


def test_an_unexpected_shape_is_a_reject_not_a_crash():
    raw = _raw("log_entries", [("R9", _entry("R9", "2026-10-14T10:06:40-04:00", agent="not-an-object"),
                                "Q2W3E4R")])
    out = normalize_raw(raw, SourceSpec("pd", "pagerduty"), entities={}, ingested_at=NOW)
    assert out.events.num_rows == 0
    (reject,) = out.rejects.to_pylist()
    assert reject["native_id"] == "R9" and reject["reason"].startswith("unexpected shape in log_entries: ")


def test_the_newest_fetch_of_a_record_wins_within_one_batch():
    old, new = datetime(2026, 10, 14, 15, tzinfo=timezone.utc), datetime(2026, 10, 15, 3, tzinfo=timezone.utc)
    newer_text = _entry("R1", "2026-10-14T10:06:40-04:00", summary="Acknowledged by Alice Chen (edited).")
    raw = _raw("log_entries", [("R1", newer_text, "Q2W3E4R"),
                               ("R1", _entry("R1", "2026-10-14T10:06:40-04:00"), "Q2W3E4R")])
    # the first row is the newer fetch, though it comes first in the batch
    raw = raw.set_column(raw.schema.get_field_index("fetched_at"), "fetched_at",
                         pa.array([new, old], pa.timestamp("us", tz="UTC")))
    for vectorized in (True, False):
        out = normalize_raw(raw, SourceSpec("pd", "pagerduty"), entities={}, ingested_at=NOW,
                            vectorized=vectorized)
        (event,) = out.events.to_pylist()
        assert event["title"] == "Acknowledged by Alice Chen (edited)." and event["ingested_at"] == new


def test_an_escaped_lone_surrogate_does_not_stop_the_run():
    """json.loads keeps "\\ud800", UTF-8 cannot: the text keeps U+FFFD in its place, a time
    holding one is a reject, and the rest of the batch is normalised."""
    raw = _raw("log_entries", [
        ("R1", '{"id": "R1", "type": "annotate_log_entry", "created_at": "2026-10-14T10:06:40Z", '
               '"note": "broken \\ud800 emoji", "incident": {"id": "Q2W3E4R"}}', "Q2W3E4R"),
        ("R2", '{"id": "R2", "type": "trigger_log_entry", "created_at": "2026-10-14T10:0\\udfff", '
               '"incident": {"id": "Q2W3E4R"}}', "Q2W3E4R"),
        ("R3", _entry("R3", "2026-10-14T10:07:00Z"), "Q2W3E4R"),
    ])
    for vectorized in (True, False):
        out = normalize_raw(raw, SourceSpec("pd", "pagerduty"), entities={}, ingested_at=NOW, vectorized=vectorized)
        events = {e["native_id"]: e for e in out.events.to_pylist()}
        assert set(events) == {"R1", "R3"}
        assert events["R1"]["body"] == "broken \ufffd emoji" and events["R1"]["title"] == "Note: broken \ufffd emoji"
        (reject,) = out.rejects.to_pylist()
        assert reject["native_id"] == "R2" and reject["field"] == "created_at" and "\ufffd" in reject["reason"]


def test_of_two_copies_fetched_together_the_later_raw_row_wins_on_either_path():
    """Two copies of one entry in one batch (the earlier with an empty service object): the
    later copy wins, in the compiled query as in the oracle."""
    older = _entry("R1", "2026-10-14T10:06:40Z", summary="first wording", service={})
    newer = _entry("R1", "2026-10-14T10:06:40Z", summary="second wording")
    raw = _raw("log_entries", [("R1", older, "Q2W3E4R"), ("R1", newer, "Q2W3E4R")])
    for vectorized in (True, False):
        out = normalize_raw(raw, SourceSpec("pd", "pagerduty"), entities={}, ingested_at=NOW, vectorized=vectorized)
        (event,) = out.events.to_pylist()
        assert event["title"] == "second wording", vectorized
