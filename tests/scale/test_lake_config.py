"""`lake: s3://...`, `catalog:` and `storage:` in connectors.yaml; the cursors table; DuckDB's reader."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

import duckdb
import pyarrow as pa
import pytest

from incident_timeline.lake import commits, state
from incident_timeline.config import ConfigInvalid, parse_config
from incident_timeline.lake.layout import Lake
import incident_timeline.lake.catalog as catalog

from .conftest import SECRET_KEY, Bucket

SOURCES = [{"name": "alerts", "type": "alertmanager", "path": "*.jsonl"}]


def _config(tmp_path: Path, **top):
    return parse_config({"sources": SOURCES, **top}, tmp_path / "connectors.yaml")


def test_a_local_lake_keeps_its_catalog_inside(tmp_path):
    config = _config(tmp_path, lake="./lake")
    lake = Lake.for_config(config)
    assert config.lake_url is None and not lake.remote
    assert lake.catalog == tmp_path / "lake" / "catalog.duckdb" and lake.state_dir == tmp_path / "lake"


def test_an_s3_lake_has_a_local_catalog(tmp_path, bucket: Bucket):
    config = _config(tmp_path, lake=bucket.url("team/prod/"))
    assert config.lake_url == bucket.url("team/prod")
    assert config.catalog == tmp_path / ".incident-timeline" / "catalog.duckdb"
    lake = Lake.for_config(config)
    assert lake.remote and lake.root == PurePosixPath(f"{bucket.name}/team/prod")
    assert lake.uri(lake.events / "x.parquet") == f"s3://{bucket.name}/team/prod/events/x.parquet"
    placed = _config(tmp_path, lake=bucket.url(), catalog="state/cat.duckdb")
    assert Lake.for_config(placed).catalog == tmp_path / "state" / "cat.duckdb"


def test_storage_keys_take_env_references_and_report_every_problem(tmp_path, monkeypatch):
    monkeypatch.setenv("LAKE_SECRET", SECRET_KEY)
    monkeypatch.setenv("LAKE_KEY", "AKIAFROMCONFIG")
    config = _config(tmp_path, lake="s3://b/p", storage={
        "endpoint_url": "http://127.0.0.1:9", "region": "eu-central-1",
        "access_key_id": "${LAKE_KEY}", "secret_access_key": "${LAKE_SECRET}"})
    creds = config.s3_credentials()
    assert (creds.endpoint_url, creds.region, creds.access_key_id, creds.secret_access_key) == (
        "http://127.0.0.1:9", "eu-central-1", "AKIAFROMCONFIG", SECRET_KEY)
    assert SECRET_KEY not in repr(creds) and SECRET_KEY not in repr(config.storage)
    with pytest.raises(ConfigInvalid) as err:
        _config(tmp_path, lake="gs://b/p", storage={"secret_access_key": "plain-key-8c1e", "colour": "x",
                                                    "access_key_id": "${NOT_SET_ANYWHERE}"})
    problems = err.value.problems
    assert any("lake: 'gs://b/p' is neither a folder nor s3://bucket/prefix" in p for p in problems)
    assert any("secret_access_key must be an ${ENV} reference" in p for p in problems)
    assert any("unknown key 'colour'" in p for p in problems)
    assert any("NOT_SET_ANYWHERE, which is not set" in p for p in problems)
    assert all("plain-key-8c1e" not in p for p in problems)


def test_credentials_fall_back_to_the_aws_environment(tmp_path, bucket: Bucket):
    creds = _config(tmp_path, lake=bucket.url()).s3_credentials()
    assert (creds.endpoint_url, creds.region, creds.secret_access_key) == (
        bucket.env["AWS_ENDPOINT_URL"], bucket.env["AWS_REGION"], SECRET_KEY)
    assert "ENDPOINT" in creds.duckdb_secret_sql() and "USE_SSL false" in creds.duckdb_secret_sql()


def test_duckdb_reads_the_lake_through_httpfs_or_fsspec(tmp_path, bucket: Bucket, monkeypatch):
    lake = Lake.for_config(_config(tmp_path, lake=bucket.url()))
    lake.write_parquet(pa.table({"n": [1, 2, 3]}), lake.root / "t" / "a.parquet")
    for forced in (None, "fsspec"):
        if forced:
            monkeypatch.setenv("INCIDENT_TIMELINE_DUCKDB_S3", forced)
        con = duckdb.connect()
        how = lake.attach(con)
        assert how == (forced or how) and how in ("httpfs", "fsspec")
        total = con.execute("SELECT sum(n) FROM read_parquet(?)", [lake.uri(lake.root / "t" / "a.parquet")])
        assert total.fetchone() == (6,)
        con.close()


def _state(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "cat.duckdb"))
    con.execute("SET TimeZone = 'UTC'")
    con.execute(catalog.TABLES_DDL)
    return con


def test_cursors_are_a_table_of_the_lake_that_moves_forward_only(tmp_path):
    lake = Lake(tmp_path / "lake")
    for day in (12, 14, 13):
        state.move(lake, "pd", {"all": datetime(2026, 10, day, tzinfo=timezone.utc)}, {"all": f"link-{day}"})
    state.move(lake, "other", {"svc-a": datetime(2026, 9, 1, tzinfo=timezone.utc)})
    assert state.read_cursors(lake, "pd") == {"all": datetime(2026, 10, 14, tzinfo=timezone.utc)}   # never back
    assert state.read_cursor_links(lake, "pd") == {"all": "link-13"}                              # the last one
    assert len(lake.storage.glob(lake.cursors, "source=pd/*.parquet")) == 3     # one file per move...
    assert len(commits.files(lake, "cursors", "pd")) == 1                       # ...one in the snapshot
    assert state.read_cursors(lake, "other") == {"svc-a": datetime(2026, 9, 1, tzinfo=timezone.utc)}