"""lake/delta.py against real Delta tables in tmp_path, read back by DuckDB, polars and pyarrow."""
from __future__ import annotations

import os
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from incident_timeline.contract.schemas import EVENT_SCHEMA
from incident_timeline.lake import delta
from incident_timeline.lake.storage import S3Credentials

UTC = timezone.utc
DAY1 = datetime(2026, 3, 8, 9, 30, tzinfo=UTC)
COLUMNS = ["event_id", "source", "date", "ts", "title", "refs", "ingested_at"]


def events(source: str, ids: list[str], at: datetime = DAY1, title: str = "first fetch",
           fetched: datetime = datetime(2026, 3, 10, tzinfo=UTC)) -> pa.Table:
    """Canonical events of `source`, one minute apart from `at`; the rest of the columns null."""
    n = len(ids)
    columns = {name: pa.nulls(n, EVENT_SCHEMA.field(name).type) for name in EVENT_SCHEMA.names}
    columns.update({
        "event_id": pa.array([f"{source}/{i}" for i in ids]), "source": pa.array([source] * n),
        "native_id": pa.array(ids), "kind": pa.array(["chat.message"] * n),
        "ts": pa.array([at + timedelta(minutes=k) for k in range(n)], EVENT_SCHEMA.field("ts").type),
        "title": pa.array([f"{title} {i}" for i in ids]),
        "refs": pa.array([[f"slack:C{i}", "jira:OPS-1"] for i in ids], pa.list_(pa.string())),
        "ingested_at": pa.array([fetched] * n, EVENT_SCHEMA.field("ingested_at").type),
    })
    return pa.table(columns, schema=EVENT_SCHEMA)


@pytest.fixture
def table(tmp_path: Path) -> delta.Location:
    return delta.Location(str(tmp_path / "events"))


def rows_by_duckdb(uris: list[str]) -> list[tuple]:
    if not uris:
        return []
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    sql = f"SELECT {', '.join(COLUMNS)} FROM read_parquet(?, hive_partitioning = true) ORDER BY event_id"
    return _tuples(con.sql(sql, params=[uris]).to_arrow_table())


def rows_by_pyarrow(location: delta.Location) -> list[tuple]:
    return _tuples(location.open().to_pyarrow_table(columns=COLUMNS).sort_by("event_id"))


def rows_by_polars(location: delta.Location) -> list[tuple]:
    return _tuples(pl.scan_delta(location.uri).select(COLUMNS).sort("event_id").collect().to_arrow())


def _tuples(table: pa.Table) -> list[tuple]:
    return [tuple(row[c] for c in COLUMNS) for row in table.select(COLUMNS).to_pylist()]


# ---------------------------------------------------------------- append and the log

def test_an_append_is_one_commit_carrying_its_run_and_raw_files(table):
    batch = pa.concat_tables([events("slack", ["1", "2"]), events("jira", ["7"], at=DAY1 + timedelta(days=1))])
    delta.append(table, batch, day_from="ts", run_id="run-a", raw_files=["slack/r1.parquet", "jira/r1.parquet"])

    dt = table.open()
    assert dt.version() == 0
    assert dt.history()[0][delta.METADATA_KEY] == {
        "run_id": "run-a", "operation": "append", "sources": ["jira", "slack"],
        "raw_files": ["jira/r1.parquet", "slack/r1.parquet"]}
    assert delta.normalized_raw_files(table) == {"slack/r1.parquet", "jira/r1.parquet"}
    assert {p["source"]: p["date"] for p in dt.partitions()} == {"slack": "2026-03-08", "jira": "2026-03-09"}


def test_the_raw_files_normalised_are_read_back_per_source_across_commits(table):
    delta.append(table, events("slack", ["1"]), day_from="ts", run_id="r1", raw_files=["slack/a"])
    delta.append(table, events("jira", ["1"]), day_from="ts", run_id="r2", raw_files=["jira/a"])
    # raw files that gave no events at all (every record rejected) are recorded too
    delta.append(table, EVENT_SCHEMA.empty_table(), day_from="ts", run_id="r3", raw_files=["slack/b"],
                 source="slack")

    assert table.open().version() == 2
    assert delta.normalized_raw_files(table, "slack") == {"slack/a", "slack/b"}
    assert delta.normalized_raw_files(table, "jira") == {"jira/a"}
    assert delta.normalized_raw_files(table, "pagerduty") == set()


def test_a_table_not_written_yet_has_no_files_and_nothing_normalised(table):
    assert delta.file_uris(table) == []
    assert delta.normalized_raw_files(table) == set()
    assert delta.normalized_raw_version(table, "slack") is None


def test_the_raw_version_normalised_outlives_the_log_that_carried_the_file_list(table):
    delta.append(table, events("slack", ["1"]), day_from="ts", run_id="r1", raw_files=["slack/a"],
                 source="slack", raw_version=4)
    delta.append(table, events("jira", ["1"]), day_from="ts", run_id="r2", raw_files=["jira/a"],
                 source="jira", raw_version=2)
    delta.append(table, events("slack", ["2"]), day_from="ts", run_id="r3", raw_files=["slack/b"],
                 source="slack", raw_version=7)
    dt = table.open()
    dt.alter.set_table_properties({"delta.logRetentionDuration": "interval 1 hours"})
    dt = table.open()
    dt.create_checkpoint()
    two_hours_ago = time.time() - 2 * 3600   # the commits as if written then
    for entry in (Path(table.uri) / "_delta_log").glob("*.json"):
        os.utime(entry, (two_hours_ago, two_hours_ago))
    dt.cleanup_metadata()

    assert delta.normalized_raw_files(table) == set()     # the commits that listed them are gone
    assert (delta.normalized_raw_version(table, "slack"), delta.normalized_raw_version(table, "jira")) == (7, 2)
    assert delta.normalized_raw_version(table, "pagerduty") is None


def test_files_of_a_write_killed_before_its_commit_are_in_no_snapshot(table):
    delta.append(table, events("slack", ["1", "2"]), day_from="ts", run_id="r1", raw_files=["slack/a"])
    committed = delta.file_uris(table)
    # what a killed writer leaves: whole Parquet files in the partition folders, no log entry
    orphan_dir = Path(table.uri) / "source=slack" / "date=2026-03-08"
    pq.write_table(events("slack", ["3", "4"]).drop_columns(["source"]), orphan_dir / "part-killed-run.parquet")
    (Path(table.uri) / "source=slack" / "date=2026-03-09").mkdir()
    pq.write_table(events("slack", ["5"]).drop_columns(["source"]),
                   Path(table.uri) / "source=slack" / "date=2026-03-09" / "part-killed-run.parquet")

    assert delta.file_uris(table) == committed
    assert [r[0] for r in rows_by_duckdb(delta.file_uris(table))] == ["slack/1", "slack/2"]
    assert [r[0] for r in rows_by_pyarrow(table)] == ["slack/1", "slack/2"]
    assert [r[0] for r in rows_by_polars(table)] == ["slack/1", "slack/2"]
    assert delta.normalized_raw_files(table) == {"slack/a"}


def test_file_uris_narrow_to_a_source_and_its_days(table):
    delta.append(table, pa.concat_tables([
        events("slack", ["1"]), events("slack", ["2"], at=DAY1 + timedelta(days=2)), events("jira", ["1"])]),
        day_from="ts", run_id="r1")

    assert len(delta.file_uris(table)) == 3
    (only,) = delta.file_uris(table, "slack", [date(2026, 3, 10)])
    assert "source=slack" in only and "date=2026-03-10" in only
    assert delta.file_uris(table, "slack", ["2026-03-08", "2026-03-09"]) == \
        [u for u in delta.file_uris(table) if "source=slack" in u and "date=2026-03-08" in u]
    assert delta.file_uris(table, "pagerduty") == []


def test_the_date_partition_is_the_utc_day(table):
    late = datetime(2026, 3, 8, 23, 59, 59, 999999, tzinfo=UTC)
    west = datetime(2026, 3, 8, 20, 0, tzinfo=timezone(timedelta(hours=-5)))   # 01:00 UTC on the 9th
    batch = pa.concat_tables([events("slack", ["late"], at=late), events("slack", ["west"], at=west)])
    assert delta.with_date(batch, "ts")["date"].to_pylist() == [date(2026, 3, 8), date(2026, 3, 9)]


# ---------------------------------------------------------------- replace, compact, vacuum

def test_replacing_a_source_keeps_the_other_sources(table):
    delta.append(table, events("slack", ["1", "2", "3"]), day_from="ts", run_id="r1")
    delta.append(table, events("jira", ["1", "2"]), day_from="ts", run_id="r2")
    jira_files = delta.file_uris(table, "jira")

    delta.replace_source(table, events("slack", ["9"], title="renormalised"), source="slack", day_from="ts",
                         run_id="r3", raw_files=["slack/a", "slack/b"])

    rows = rows_by_pyarrow(table)
    assert [(r[0], r[4]) for r in rows] == [("jira/1", "first fetch 1"), ("jira/2", "first fetch 2"),
                                            ("slack/9", "renormalised 9")]
    assert delta.file_uris(table, "jira") == jira_files
    assert table.open().history(1)[0][delta.METADATA_KEY]["operation"] == "replace_source"
    assert delta.normalized_raw_files(table, "slack") == {"slack/a", "slack/b"}


def test_replacing_a_source_refuses_rows_of_another_and_names_that_are_not_sources(table):
    delta.append(table, events("slack", ["1"]), day_from="ts", run_id="r1")
    with pytest.raises(ValueError, match="other sources"):
        delta.replace_source(table, events("jira", ["1"]), source="slack", day_from="ts", run_id="r2")
    with pytest.raises(ValueError, match="not a source name"):
        delta.replace_source(table, events("slack", ["1"]), source="slack' OR '1' = '1", day_from="ts",
                             run_id="r2")
    assert table.open().version() == 0
    assert [r[0] for r in rows_by_pyarrow(table)] == ["slack/1"]


def test_compacting_a_source_keeps_its_rows_and_leaves_the_others_alone(table):
    for k in range(4):
        delta.append(table, events("slack", [f"{k}a", f"{k}b"], at=DAY1 + timedelta(hours=k)),
                     day_from="ts", run_id=f"r{k}")
        delta.append(table, events("jira", [f"{k}"], at=DAY1 + timedelta(hours=k)), day_from="ts", run_id=f"j{k}")
    before = rows_by_pyarrow(table)
    jira_files = delta.file_uris(table, "jira")

    metrics = delta.compact(table, "slack", run_id="compaction")

    assert metrics["numFilesRemoved"] == 4 and metrics["numFilesAdded"] == 1
    assert len(delta.file_uris(table, "slack")) == 1
    assert delta.file_uris(table, "jira") == jira_files
    assert rows_by_pyarrow(table) == before
    assert rows_by_duckdb(delta.file_uris(table)) == before


def test_a_merge_keeps_the_newest_fetch_of_each_event(table):
    t0 = datetime(2026, 3, 10, tzinfo=UTC)
    delta.append(table, events("slack", ["1", "2"], fetched=t0), day_from="ts", run_id="r1")
    batch = pa.concat_tables([
        events("slack", ["1"], title="edited", fetched=t0 + timedelta(hours=1)),
        events("slack", ["1"], title="edited again", fetched=t0 + timedelta(hours=2)),   # the batch's own repeat
        events("slack", ["2"], title="stale copy", fetched=t0 - timedelta(hours=1)),
        events("slack", ["3"], at=DAY1 + timedelta(days=1), title="new", fetched=t0 + timedelta(hours=1))])

    metrics = delta.merge_newest(table, batch, source="slack", run_id="r2", raw_files=["slack/b"])

    assert (metrics["num_target_rows_updated"], metrics["num_target_rows_inserted"]) == (1, 1)
    assert [(r[0], r[4]) for r in rows_by_pyarrow(table)] == [
        ("slack/1", "edited again 1"), ("slack/2", "first fetch 2"), ("slack/3", "new 3")]
    assert table.open().version() == 1
    assert delta.normalized_raw_files(table, "slack") == {"slack/b"}


def test_a_merge_is_no_conflict_for_another_source_but_is_for_its_own(table):
    delta.append(table, events("slack", ["1"]), day_from="ts", run_id="r1")
    before = table.open()
    delta.append(table, events("jira", ["1"]), day_from="ts", run_id="jira-job")   # committed meanwhile
    delta.merge_newest(table, events("slack", ["2"]), source="slack", run_id="r2", snapshot=before)
    assert [r[0] for r in rows_by_pyarrow(table)] == ["jira/1", "slack/1", "slack/2"]

    before = table.open()
    delta.append(table, events("slack", ["3"]), day_from="ts", run_id="other-slack-job")
    with pytest.raises(Exception, match="concurrent"):
        delta.merge_newest(table, events("slack", ["4"]), source="slack", run_id="r3", snapshot=before)
    assert [r[0] for r in rows_by_pyarrow(table)] == ["jira/1", "slack/1", "slack/2", "slack/3"]


def test_compacting_the_newest_folds_refetches_of_the_days_named(table):
    t0 = datetime(2026, 3, 10, tzinfo=UTC)
    day2 = DAY1 + timedelta(days=1)
    delta.append(table, events("slack", ["1", "2"], fetched=t0), day_from="ts", run_id="r1")
    delta.append(table, events("slack", ["1"], title="edited", fetched=t0 + timedelta(hours=1)), day_from="ts",
                 run_id="r2")
    for run in ("r3", "r4"):
        delta.append(table, events("slack", ["9"], at=day2, fetched=t0), day_from="ts", run_id=run)
        delta.append(table, events("jira", ["1"], fetched=t0), day_from="ts", run_id=run)
    untouched = delta.file_uris(table, "jira") + delta.file_uris(table, "slack", [day2.date()])

    dropped = delta.compact_newest(table, "slack", [DAY1.date()], run_id="c")

    assert dropped == 1
    assert len(delta.file_uris(table, "slack", [DAY1.date()])) == 1
    assert delta.file_uris(table, "jira") + delta.file_uris(table, "slack", [day2.date()]) == untouched
    assert [(r[0], r[4]) for r in rows_by_pyarrow(table)] == [
        ("jira/1", "first fetch 1"), ("jira/1", "first fetch 1"), ("slack/1", "edited 1"),
        ("slack/2", "first fetch 2"), ("slack/9", "first fetch 9"), ("slack/9", "first fetch 9")]


def test_compacting_the_newest_fails_when_the_source_committed_after_its_read(table):
    delta.append(table, events("slack", ["1"]), day_from="ts", run_id="r1")
    delta.append(table, events("slack", ["1"], title="edited", fetched=datetime(2026, 3, 11, tzinfo=UTC)),
                 day_from="ts", run_id="r2")
    before = table.open()
    delta.append(table, events("jira", ["1"]), day_from="ts", run_id="jira-job")
    assert delta.compact_newest(table, "slack", [DAY1.date()], run_id="c1", snapshot=before) == 1

    before = table.open()
    delta.append(table, events("slack", ["2"]), day_from="ts", run_id="late-slack-job")
    with pytest.raises(Exception, match="concurrent"):
        delta.compact_newest(table, "slack", [DAY1.date()], run_id="c2", snapshot=before)
    assert [(r[0], r[4]) for r in rows_by_pyarrow(table)] == [
        ("jira/1", "first fetch 1"), ("slack/1", "edited 1"), ("slack/2", "first fetch 2")]


def test_vacuum_deletes_only_files_older_than_the_retention(table):
    for k in range(3):
        delta.append(table, events("slack", [str(k)]), day_from="ts", run_id=f"r{k}")
    folder = Path(table.uri) / "source=slack" / "date=2026-03-08"
    retired = {f.name for f in folder.iterdir()}
    delta.compact(table, "slack", run_id="compaction")   # retires those three files just now
    live = {Path(u).name for u in delta.file_uris(table)}
    old_orphan, new_orphan = folder / "part-killed-3h-ago.parquet", folder / "part-killed-now.parquet"
    for orphan in (old_orphan, new_orphan):
        pq.write_table(events("slack", ["x"]).drop_columns(["source"]), orphan)
    three_hours_ago = time.time() - 3 * 3600
    os.utime(old_orphan, (three_hours_ago, three_hours_ago))

    deleted = delta.vacuum(table, retention=timedelta(hours=2))

    assert [Path(p).name for p in deleted] == [old_orphan.name]
    assert {f.name for f in folder.iterdir()} == retired | live | {new_orphan.name}

    deleted = delta.vacuum(table, retention=timedelta(0))

    assert {Path(p).name for p in deleted} == retired | {new_orphan.name}
    assert {f.name for f in folder.iterdir()} == live
    assert [r[0] for r in rows_by_pyarrow(table)] == ["slack/0", "slack/1", "slack/2"]


def test_vacuum_takes_whole_hours():
    with pytest.raises(ValueError, match="whole number of hours"):
        delta.vacuum(delta.Location("unused"), retention=timedelta(minutes=30))


# ---------------------------------------------------------------- every engine, the same rows

def test_duckdb_polars_and_pyarrow_read_the_same_rows(table):
    delta.append(table, pa.concat_tables([events("slack", ["1", "2"]),
                                          events("jira", ["1"], at=DAY1 + timedelta(days=1))]),
                 day_from="ts", run_id="r1")
    delta.append(table, events("slack", ["3"], at=DAY1 + timedelta(days=3)), day_from="ts", run_id="r2")
    delta.replace_source(table, events("jira", ["1", "2"], at=DAY1 + timedelta(days=1), title="again"),
                         source="jira", day_from="ts", run_id="r3")
    delta.compact(table, "slack", run_id="c")

    by_pyarrow = rows_by_pyarrow(table)
    assert [r[0] for r in by_pyarrow] == ["jira/1", "jira/2", "slack/1", "slack/2", "slack/3"]
    assert by_pyarrow[0][2:4] == (date(2026, 3, 9), DAY1 + timedelta(days=1))
    assert by_pyarrow[0][5] == ["slack:C1", "jira:OPS-1"]
    assert rows_by_duckdb(delta.file_uris(table)) == by_pyarrow
    assert rows_by_polars(table) == by_pyarrow


# ---------------------------------------------------------------- object storage options

def test_s3_options_come_from_the_lake_credentials_and_stay_out_of_a_repr():
    minio = S3Credentials("http://minio.internal:9000", "eu-west-1", "AKIAEXAMPLE", "s3cr3t-value")
    options = delta.s3_storage_options(minio)
    assert options == {"AWS_ENDPOINT_URL": "http://minio.internal:9000", "AWS_REGION": "eu-west-1",
                       "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t-value",
                       "AWS_ALLOW_HTTP": "true", "conditional_put": "etag"}
    aws = delta.s3_storage_options(S3Credentials(None, "eu-west-1", None, None))
    assert aws == {"AWS_REGION": "eu-west-1"}
    assert "s3cr3t" not in repr(delta.Location("s3://bucket/lake/events", options))
