"""`normalize` re-reads a source's whole raw history in bounded passes, and gives the
events ingest gave."""
from __future__ import annotations

from benchmarks import ingestgen
from incident_timeline import pipeline
from incident_timeline.lake import catalog_store
from incident_timeline.lake.layout import Lake
from tests.support import record_passes, slack_export_config


def _events(config) -> list[tuple]:
    con = catalog_store.read_catalog(Lake.for_config(config))
    try:
        return con.execute("SELECT event_id, ts, kind, actor, actor_id, title, refs FROM events "
                           "ORDER BY event_id").fetchall()
    finally:
        con.close()


def test_renormalising_in_passes_gives_the_same_events(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "BATCH_ROWS", 150)
    config = slack_export_config(tmp_path, 1_500)
    assert pipeline.ingest(config).sources[0].error is None
    before = _events(config)

    monkeypatch.setattr(pipeline, "NORMALIZE_RECORDS_AT_ONCE", 400)
    passes = record_passes(monkeypatch)
    result = pipeline.normalize(config).sources[0]
    assert len(passes) >= 4 and max(passes) <= 400
    assert sum(passes) == 1_500 + len(ingestgen.USERS) + len(ingestgen.CHANNELS)
    assert result.events == len(before) > 1_000
    assert _events(config) == before
