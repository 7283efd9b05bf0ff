"""A lake on s3://: a damaged local catalog is set aside and rebuilt from the lake's Delta
tables (cursors too) and tables/, with one warning line."""
from __future__ import annotations

import json

import yaml
from click.testing import CliRunner

from incident_timeline.cli import main
from tests.support import DEMO_INCIDENT, demo_sources

from .conftest import Bucket


def _cli(cfg, *args):
    result = CliRunner().invoke(main, ["--config", str(cfg), *args])
    assert result.exit_code == 0, result.output
    return result


def _rows(cfg, sql):
    return json.loads(_cli(cfg, "query", "--format", "json", sql).stdout)


def test_a_damaged_local_catalog_of_an_s3_lake_comes_back_from_the_lake(tmp_path, bucket: Bucket):
    cfg = tmp_path / "connectors.yaml"
    catalog = tmp_path / "state" / "catalog.duckdb"
    cfg.write_text(yaml.safe_dump({"lake": bucket.url(), "catalog": str(catalog), "sources": demo_sources()}),
                   encoding="utf-8")
    _cli(cfg, "ingest")
    _cli(cfg, "build", DEMO_INCIDENT, "--format", "json", "--out", str(tmp_path / "out"))
    sql = {"events": "SELECT source, kind, count(*) AS n FROM events GROUP BY ALL ORDER BY ALL",
           "cursors": 'SELECT source, "partition", value FROM cursors ORDER BY ALL',
           "timeline": "SELECT incident_id, count(*) AS n FROM timeline GROUP BY ALL"}
    before = {k: _rows(cfg, q) for k, q in sql.items()}
    assert before["cursors"] and before["timeline"]

    catalog.write_bytes(b"\x00garbage" * 1000)
    result = _cli(cfg, "query", "SELECT count(*) FROM events")
    assert len([line for line in result.stderr.splitlines() if "WARNING" in line and "catalog" in line]) == 1
    assert len(list(catalog.parent.glob("catalog.duckdb.corrupt-*"))) == 1
    assert {k: _rows(cfg, q) for k, q in sql.items()} == before
