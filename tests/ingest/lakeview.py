"""For the per-connector tests: start a fake API, fetch from it, run `ingest` through the
CLI and read what landed in the lake."""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import CliRunner

from incident_timeline.contract.schemas import EVENT_SCHEMA, REJECT_SCHEMA
from incident_timeline.cli import main
from incident_timeline.config import load_config
from incident_timeline.ingest.base import RawRecord, Window
from incident_timeline.ingest.registry import CONNECTORS
from tests.support import write_config


def ingest(tmp_path: Path, sources: list[dict], *args: str):
    """`incident-timeline ingest [args]` over a config holding `sources`."""
    config = write_config(tmp_path, sources)
    return CliRunner().invoke(main, ["--config", str(config), "ingest", *args])


def lake_table(tmp_path: Path, kind: str) -> pa.Table:
    """Every events/ or rejects/ row written under tmp_path's lake."""
    schema = EVENT_SCHEMA if kind == "events" else REJECT_SCHEMA
    files = sorted((tmp_path / "lake" / kind).rglob("*.parquet"))
    if not files:
        return schema.empty_table()
    return pa.concat_tables([pq.read_table(f, schema=schema) for f in files])


def by_kind(events: pa.Table) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in events.to_pylist():
        out.setdefault(row["kind"], []).append(row)
    for rows in out.values():
        rows.sort(key=lambda r: r["ts"])
    return out


def serve(fake_cls, server, monkeypatch, start, count: int, spacing, **attrs):
    """A fake API on `server` with `count` records from `start`, its secrets in the env."""
    fake = fake_cls(server)
    for name, value in attrs.items():
        setattr(fake, name, value)
    for var, value in fake.environment().items():
        monkeypatch.setenv(var, value)
    fake.populate(start, count, spacing)
    return fake


def fetch(tmp_path: Path, entry: dict, window: Window) -> list[RawRecord]:
    """Every record the configured connector yields over `window`, all partitions."""
    settings = load_config(write_config(tmp_path, [entry])).sources[0]
    connector = CONNECTORS[settings.type](settings)
    try:
        return [r for p in connector.partitions() for r in connector.fetch(p, window)]
    finally:
        connector.close()
