"""Ingest normalises in passes of a bounded number of records and counts, once per day
folder, the events that are new to the lake."""
from __future__ import annotations

from datetime import datetime, timezone

from benchmarks import ingestgen
from incident_timeline import pipeline
from incident_timeline.lake import catalog_store
from incident_timeline.lake.layout import Lake
from tests.support import record_passes, slack_export_config


def _events_in_catalog(config) -> int:
    con = catalog_store.read_catalog(Lake.for_config(config))
    try:
        return con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    finally:
        con.close()


def test_passes_hold_at_most_the_record_budget_and_new_events_are_counted_once(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "BATCH_ROWS", 150)
    monkeypatch.setattr(pipeline, "NORMALIZE_RECORDS_AT_ONCE", 400)
    seen = record_passes(monkeypatch)
    config = slack_export_config(tmp_path, 2_000)

    first = pipeline.ingest(config).sources[0]
    assert first.error is None and first.fetched == 2_000 + len(ingestgen.USERS) + len(ingestgen.CHANNELS)
    assert len(seen) >= 5 and max(seen) <= 400 and sum(seen) == first.fetched
    assert first.events == _events_in_catalog(config) > 0

    # the same pages fetched again: every event is already in the lake
    again = pipeline.ingest(config, since=datetime(2020, 1, 1, tzinfo=timezone.utc)).sources[0]
    assert again.error is None and again.fetched == first.fetched
    assert again.events == 0
    assert _events_in_catalog(config) == first.events


def test_a_raw_file_larger_than_the_budget_is_normalised_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "NORMALIZE_RECORDS_AT_ONCE", 10)
    config = slack_export_config(tmp_path, 300)
    result = pipeline.ingest(config).sources[0]
    assert result.error is None
    assert result.events == _events_in_catalog(config) > 0
