"""Run `incident-timeline ingest` over one source and check that every input record is
accounted for: its marker is in raw, and each raw row gave events or rejects that the
lake holds."""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import CliRunner

from incident_timeline.contract.schemas import RAW_SCHEMA
from incident_timeline import pipeline
from incident_timeline.cli import main
from incident_timeline.config import load_config
from incident_timeline.lake.layout import Lake
from incident_timeline.normalizing import normalize_files, source_spec
from incident_timeline.ingest.errors import SourceError
from incident_timeline.normalize.engine import build_entities, event_id
from incident_timeline.normalize.oracle import MAPPERS
from incident_timeline.normalize.mapping import Context
from incident_timeline.normalize.refs import RefFinder
from tests.ingest.lakeview import lake_table
from tests.robustness.sources import ENVIRONMENT
from tests.support import write_config

# whatever time a record holds that Python can place is inside the run's window
UNTIL = "9999-12-31T00:00:00Z"
SINCE = datetime(1, 1, 8, tzinfo=timezone.utc)   # a week after the first: Slack looks back 7 days


def _environment():
    old = {k: os.environ.get(k) for k in ENVIRONMENT}
    os.environ.update(ENVIRONMENT)
    return old


def _restore(old: dict) -> None:
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def run_ingest(tmp: Path, entry: dict):
    """`incident-timeline ingest` of one source over every time: (CLI result, config)."""
    config_path = write_config(tmp, [entry])
    old = _environment()
    try:
        result = CliRunner().invoke(main, ["--config", str(config_path), "ingest", "--until", UNTIL])
        config = load_config(config_path)
    finally:
        _restore(old)
    return result, config


def run_stages(tmp: Path, entry: dict):
    """What `ingest` runs for one source, without the catalog's bookkeeping (cursors, runs,
    views: ~1 s a run), for the many runs of a property test: the connector through the
    pipeline's raw writer, then the normaliser over those raw files into the lake.
    Returns (the source's result: `error` is what would fail the run, config)."""
    old = _environment()
    try:
        config = load_config(write_config(tmp, [entry]))
        lake = Lake.for_config(config)
        settings = config.sources[0]
        res = pipeline.SourceResult(settings.name)
        try:
            pipeline._fetch_source(lake, settings, "robust", SINCE, datetime(9999, 12, 31, tzinfo=timezone.utc),
                                   False, pipeline._quiet, res)
        except SourceError as exc:
            res.error = str(exc)
        normalize_files(config, lake, settings, lake.raw_files(settings.name), "robust")
    finally:
        _restore(old)
    return res, config


def raw_table(tmp: Path) -> pa.Table:
    files = sorted((tmp / "lake" / "raw").rglob("*.parquet"))
    if not files:
        return RAW_SCHEMA.empty_table()
    return pa.concat_tables([pq.read_table(f, schema=RAW_SCHEMA) for f in files])


def assert_accounted(tmp: Path, config, markers: list[str], entity_streams: tuple[str, ...] = (),
                     no_events=lambda stream, payload: False) -> pa.Table:
    """Every marker reached raw; every raw row (but context-only ones) gave at least one
    event or reject, and the lake holds them. Returns the raw table."""
    raw = raw_table(tmp)
    payloads = raw["payload"].to_pylist()
    missing = [m for m in markers if not any(m in p for p in payloads)]
    assert not missing, f"records lost before raw: {missing}\n{payloads}"
    events, rejects = lake_table(tmp, "events"), lake_table(tmp, "rejects")
    event_ids = set(events["event_id"].to_pylist())
    reject_records = set(rejects["record"].to_pylist())
    settings = config.sources[0]
    mapper = MAPPERS[settings.type]
    ctx = Context(spec=source_spec(settings), refs=RefFinder(()), entities=build_entities(raw, mapper.entity_streams))
    for i in range(raw.num_rows):
        row = raw.slice(i, 1)
        stream = row["stream"][0].as_py()
        if stream in entity_streams or stream in mapper.entity_streams:
            continue
        payload = row["payload"][0].as_py()
        if payload in reject_records:
            continue
        # not rejected: which events it gives, by the mapping's per-record oracle (the
        # compiled query gives the same), must be in the lake, by their ids
        drafts = list(mapper.map(stream, json.loads(payload), row["parent_id"][0].as_py(), ctx))
        assert drafts or no_events(stream, json.loads(payload)), f"{stream} gave neither events nor rejects: {payload}"
        ids = {event_id(settings.name, str(d["native_id"]), d["kind"]) for d in drafts}
        assert ids <= event_ids, f"events of {payload} not in the lake"
    return raw
