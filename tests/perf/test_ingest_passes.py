"""Ingest normalises in passes of a bounded number of records and counts, once per day
folder, the events that are new to the lake."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pyarrow.parquet as pq

from benchmarks import ingestgen
from incident_timeline import catalog_store, pipeline
from incident_timeline.config import load_config
from incident_timeline.lake import Lake


def _config(tmp_path, messages: int):
    pages = ingestgen.generate(tmp_path / "pages", messages, days=3)
    path = tmp_path / "connectors.yaml"
    path.write_text(json.dumps({"lake": str(tmp_path / "lake"), "timezone": "UTC", "sources": [
        {"name": "slack-archive", "type": "slack_export", "path": str(pages)}]}))
    return load_config(path)


def _events_in_catalog(config) -> int:
    con = catalog_store.read_catalog(Lake.for_config(config))
    try:
        return con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    finally:
        con.close()


def test_passes_hold_at_most_the_record_budget_and_new_events_are_counted_once(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "BATCH_ROWS", 150)
    monkeypatch.setattr(pipeline, "NORMALIZE_RECORDS_AT_ONCE", 400)
    seen = []
    real = pipeline.normalize_files

    def recording(config, lake, settings, files, run_id, part=""):
        seen.append(sum(pq.ParquetFile(f).metadata.num_rows for f in files))
        return real(config, lake, settings, files, run_id, part)

    monkeypatch.setattr(pipeline, "normalize_files", recording)
    config = _config(tmp_path, 2_000)

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
    config = _config(tmp_path, 300)
    result = pipeline.ingest(config).sources[0]
    assert result.error is None
    assert result.events == _events_in_catalog(config) > 0
