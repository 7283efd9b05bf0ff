"""lake/commits.py and lake/delta.py against real Delta tables in tmp_path: files written
whole, then published by one commit; read back by DuckDB, polars and pyarrow."""
from __future__ import annotations

import multiprocessing
import os
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from incident_timeline.contract.schemas import EVENT_SCHEMA
from incident_timeline.lake import commits, delta
from incident_timeline.lake.layout import Lake
from incident_timeline.lake.published import vacuum
from incident_timeline.lake.storage import S3Credentials
from incident_timeline.lake.written import write_by_day

UTC = timezone.utc
DAY1 = datetime(2026, 3, 8, 9, 30, tzinfo=UTC)
COLUMNS = ["event_id", "source", "date", "ts", "title", "refs"]


def events(source: str, ids: list[str], at: datetime = DAY1, title: str = "first fetch") -> pa.Table:
    """Canonical events of `source`, one minute apart from `at`; the rest of the columns null."""
    n = len(ids)
    columns = {name: pa.nulls(n, EVENT_SCHEMA.field(name).type) for name in EVENT_SCHEMA.names}
    columns.update({
        "event_id": pa.array([f"{source}/{i}" for i in ids]), "source": pa.array([source] * n),
        "native_id": pa.array(ids), "kind": pa.array(["chat.message"] * n),
        "ts": pa.array([at + timedelta(minutes=k) for k in range(n)], EVENT_SCHEMA.field("ts").type),
        "title": pa.array([f"{title} {i}" for i in ids]),
        "refs": pa.array([[f"slack:C{i}", "jira:OPS-1"] for i in ids], pa.list_(pa.string())),
        "ingested_at": pa.array([datetime(2026, 3, 10, tzinfo=UTC)] * n, EVENT_SCHEMA.field("ingested_at").type),
    })
    return pa.table(columns, schema=EVENT_SCHEMA)


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


def publish(lake: Lake, table: pa.Table, run_id: str, remove: list = (), **kw) -> list:
    written = write_by_day(lake, table["source"][0].as_py(), table, run_id)
    commits.commit(lake, "events", written, list(remove), run_id=run_id, operation="normalize", **kw)
    return written


def ids(lake: Lake) -> list[str]:
    return sorted(DeltaTable(str(lake.events)).to_pyarrow_table(columns=["event_id"])["event_id"].to_pylist())


def test_a_commit_publishes_files_written_whole_and_says_which_run(lake):
    publish(lake, events("slack", ["1", "2"]), "r1")
    publish(lake, events("jira", ["1"], at=DAY1 + timedelta(days=1)), "r2")
    table = DeltaTable(str(lake.events))
    assert table.version() == 1 and ids(lake) == ["jira/1", "slack/1", "slack/2"]
    meta = table.history()[0][delta.METADATA_KEY]
    assert meta == {"run_id": "r2", "operation": "normalize", "sources": ["jira"]}
    assert [lake.rel(f) for f in lake.event_files("jira")] == ["events/source=jira/date=2026-03-09/r2.parquet"]
    assert table.partitions() and {p["source"] for p in table.partitions()} == {"slack", "jira"}


def test_files_of_a_write_killed_before_its_commit_are_in_no_snapshot(lake):
    publish(lake, events("slack", ["1", "2"]), "r1")
    write_by_day(lake, "slack", events("slack", ["3"], at=DAY1 + timedelta(days=1)), "killed-run")
    (lake.events / "source=slack" / "date=2026-03-08" / ".r9.parquet.abcd.tmp").write_bytes(b"half")
    assert [f.name for f in lake.event_files()] == ["r1.parquet"]
    assert ids(lake) == ["slack/1", "slack/2"]
    assert pl.scan_delta(str(lake.events)).select("event_id").collect().height == 2


def test_a_commit_retires_what_it_replaces_in_the_same_version(lake):
    first = publish(lake, events("slack", ["1", "2"]), "r1")
    publish(lake, events("slack", ["1", "2", "3"], title="again"), "r2", remove=first)
    assert ids(lake) == ["slack/1", "slack/2", "slack/3"]
    assert first[0].exists()                              # retired, not deleted: vacuum does that
    old = DeltaTable(str(lake.events), version=0).to_pyarrow_table(columns=["event_id"])
    assert old.num_rows == 2                              # an older snapshot still reads


def test_a_file_retired_by_another_commit_first_fails_the_later_commit(lake):
    first = publish(lake, events("slack", ["1"]), "r1")
    publish(lake, events("slack", ["1"], title="b"), "r2", remove=first)
    with pytest.raises(commits.ConcurrentChange, match="retired by another commit"):
        publish(lake, events("slack", ["1"], title="c"), "r3", remove=first)
    assert [f.name for f in lake.event_files()] == ["r2.parquet"]


def _job(args: tuple[str, int]) -> None:
    root, k = args
    lake = Lake(Path(root))
    source = f"src{k}"
    written = publish(lake, events(source, ["a", "b"]), f"{source}-1")
    for n in range(2, 5):      # each round retires the last one: its commits race the others' removes
        written = publish(lake, events(source, ["a", "b", str(n)]), f"{source}-{n}", remove=written)


def test_jobs_of_different_sources_commit_side_by_side_and_none_is_lost(lake):
    publish(lake, events("first", ["1"]), "r0")
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_job, [(str(lake.root), k) for k in range(4)])
    assert DeltaTable(str(lake.events)).version() == 4 * 4          # versions from 0: 1 + 16 commits
    assert ids(lake) == ["first/1"] + [f"src{k}/{i}" for k in range(4) for i in ("4", "a", "b")]


def test_the_raw_files_pending_are_those_after_the_version_normalised(lake):
    def raw(name: str) -> Path:
        path = lake.raw_dir("pd", "2026-03-08") / f"{name}.parquet"
        lake.write_parquet(pa.table({"source": ["pd"], "payload": ["{}"]}), path)
        commits.commit(lake, "raw", [path], run_id=name, operation="fetch")
        return path

    assert commits.pending_raw(lake, "pd") == ([], -1)
    first = [raw(f"a{k}") for k in range(3)]
    pending, version = commits.pending_raw(lake, "pd")
    assert pending == first
    commits.commit(lake, "events", [], run_id="n1", operation="normalize",
                   transactions=commits.normalized_through("pd", version))
    assert commits.pending_raw(lake, "pd")[0] == []
    later = [raw(f"b{k:03d}") for k in range(110)]        # past a checkpoint (every 100 commits)
    assert (lake.raw / "_delta_log" / "_last_checkpoint").exists()
    assert commits.pending_raw(lake, "pd") == (later, version + 110)
    assert commits.pending_raw(lake, "other")[0] == []


def test_vacuum_deletes_retired_and_orphan_files_older_than_the_retention(lake):
    first = publish(lake, events("slack", ["1"]), "r1")
    live = publish(lake, events("slack", ["1"], title="b"), "r2", remove=first)
    folder = first[0].parent
    old_orphan, new_orphan = folder / "killed-3h-ago.parquet", folder / "killed-now.parquet"
    for orphan in (old_orphan, new_orphan):
        pq.write_table(events("slack", ["x"]), orphan)
    three_hours_ago = time.time() - 3 * 3600
    os.utime(old_orphan, (three_hours_ago, three_hours_ago))

    assert vacuum(lake, retention=timedelta(hours=2)) == 1
    assert {f.name for f in folder.iterdir()} == {"r1.parquet", "r2.parquet", new_orphan.name}
    assert vacuum(lake, retention=timedelta(0)) == 2
    assert sorted(folder.iterdir()) == live and ids(lake) == ["slack/1"]


def test_vacuum_takes_whole_hours():
    with pytest.raises(ValueError, match="whole number of hours"):
        delta.vacuum(delta.Location("unused"), retention=timedelta(minutes=30))


def test_duckdb_polars_and_pyarrow_read_the_same_rows(lake):
    publish(lake, pa.concat_tables([events("slack", ["1", "2"]), events("slack", ["3"], at=DAY1 + timedelta(days=3))]),
            "r1")
    publish(lake, events("jira", ["1"], at=DAY1 + timedelta(days=1)), "r2")

    def rows(table: pa.Table) -> list[tuple]:
        return [tuple(r[c] for c in COLUMNS) for r in table.select(COLUMNS).sort_by("event_id").to_pylist()]

    by_pyarrow = rows(DeltaTable(str(lake.events)).to_pyarrow_table(columns=COLUMNS))
    assert [r[0] for r in by_pyarrow] == ["jira/1", "slack/1", "slack/2", "slack/3"]
    assert by_pyarrow[0][2:4] == (date(2026, 3, 9), DAY1 + timedelta(days=1))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    by_duckdb = con.sql(f"SELECT {', '.join(COLUMNS)} FROM read_parquet(?, hive_partitioning = true)",
                        params=[[lake.uri(f) for f in lake.event_files()]]).to_arrow_table()
    assert rows(by_duckdb) == by_pyarrow
    assert rows(pl.scan_delta(str(lake.events)).select(COLUMNS).collect().to_arrow()) == by_pyarrow


def test_s3_options_come_from_the_lake_credentials_and_stay_out_of_a_repr():
    minio = S3Credentials("http://minio.internal:9000", "eu-west-1", "AKIAEXAMPLE", "s3cr3t-value")
    options = delta.s3_storage_options(minio)
    assert options == {"AWS_ENDPOINT_URL": "http://minio.internal:9000", "AWS_REGION": "eu-west-1",
                       "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t-value",
                       "AWS_ALLOW_HTTP": "true", "conditional_put": "etag"}
    aws = delta.s3_storage_options(S3Credentials(None, "eu-west-1", None, None))
    assert aws == {"AWS_REGION": "eu-west-1"}
    assert "s3cr3t" not in repr(delta.Location("s3://bucket/lake/events", options))


def test_a_table_made_anew_where_one_was_is_read_afresh_by_the_same_process(lake):
    import shutil
    for k in range(3):
        publish(lake, events("slack", [str(k)]), f"r{k}")
    assert ids(lake) == ["slack/0", "slack/1", "slack/2"] and len(lake.event_files()) == 3
    shutil.rmtree(lake.events)
    assert lake.event_files() == []                  # this process had it open: it is gone
    publish(lake, events("jira", ["9"]), "r9")       # a new table at the same path, at version 0
    assert [f.name for f in lake.event_files()] == ["r9.parquet"]
