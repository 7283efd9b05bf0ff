"""Skewed clocks and naive local times around a DST change, through the real normaliser."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from incident_timeline.contract.schemas import RAW_SCHEMA
from incident_timeline.normalize.engine import normalize_raw
from incident_timeline.normalize.mapping import SourceSpec
from tests.correlate.lakes import build, lake_config, load_scenario, utc
from tests.support import publish_files

SPEC = load_scenario("skew_dst")
FETCHED = datetime(2026, 11, 2, tzinfo=timezone.utc)


def _normalise_into(lake, source: dict) -> None:
    raw = pa.Table.from_pylist([{
        "run_id": "scenario", "source": source["name"], "source_type": source["type"], "stream": r["stream"],
        "partition": r.get("parent_id") or "", "native_id": str(i), "parent_id": r.get("parent_id"),
        "payload": json.dumps(r["payload"]), "fetched_at": FETCHED} for i, r in enumerate(source["records"])],
        schema=RAW_SCHEMA)
    spec = SourceSpec(name=source["name"], type=source["type"], timezone=source.get("timezone", "UTC"),
                      clock_offset_s=source.get("clock_offset_s", 0.0), options=source.get("options", {}))
    out = normalize_raw(raw, spec, entities={}, ingested_at=FETCHED)
    assert out.rejects.num_rows == 0, out.rejects.to_pylist()
    folder = lake / "events" / f"source={source['name']}" / "date=2026-11-01"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(out.events, folder / "scenario.parquet")
    publish_files(lake, [folder / "scenario.parquet"])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    config = lake_config(tmp_path_factory.mktemp("skew_dst"))
    for source in SPEC["sources"]:
        _normalise_into(config.lake, source)
    return build(config, SPEC["seed"])


def test_every_event_lands_at_its_true_utc_time(built):
    times = [(r["source"], r["ts"]) for r in built["timeline"]]
    assert times == [
        ("pagerduty", utc("2026-11-01T04:40:00Z")), ("pagerduty", utc("2026-11-01T04:52:00Z")),
        ("slack", utc("2026-11-01T04:55:00Z")),    # its clock ran 90 s fast
        ("slack", utc("2026-11-01T05:30:00Z")),
        ("notes", utc("2026-11-01T05:45:00Z")),    # 01:45 in the repeated hour: the earlier (EDT) instant
        ("notes", utc("2026-11-01T07:10:00Z")),    # 02:10 EST
        ("pagerduty", utc("2026-11-01T07:20:00Z"))]


def test_milestones_and_metrics_to_the_second(built):
    marks = {m["name"]: (m["ts"], m["source"]) for m in built["milestones"]}
    assert marks == {
        "detected": (utc("2026-11-01T04:40:00Z"), "pagerduty"),
        "acknowledged": (utc("2026-11-01T04:52:00Z"), "pagerduty"),
        "first_response": (utc("2026-11-01T04:55:00Z"), "slack"),
        "mitigated": (utc("2026-11-01T07:10:00Z"), "notes"),
        "resolved": (utc("2026-11-01T07:20:00Z"), "pagerduty"),
    }
    (i,) = built["incidents"]
    assert (i["time_to_acknowledge_s"], i["time_to_first_response_s"], i["time_to_mitigate_s"],
            i["time_to_resolve_s"]) == (720, 900, 9000, 9600)
    assert i["sources"] == ["notes", "pagerduty", "slack"] and i["services"] == ["billing-api"]


def test_silences_are_measured_in_utc_not_on_the_wall_clock(built):
    assert [(g["start_ts"], g["duration_s"]) for g in built["gaps"]] == [
        (utc("2026-11-01T04:55:00Z"), 2100),
        (utc("2026-11-01T05:45:00Z"), 5100)]   # 01:45 EDT -> 02:10 EST: 85 minutes, not 25


def test_the_assumptions_are_warned_about(built):
    (i,) = built["incidents"]
    warnings = " | ".join(i["warnings"])
    assert "notes: naive timestamps read as America/New_York" in warnings
    assert "ambiguous local time 2026-11-01T01:45:00 in America/New_York: took the earlier instant" in warnings
    assert "90" in warnings and "clock" in warnings.lower()
