"""lake/delta.py on s3:// (moto): the same calls with storage options, and jobs of several
sources committing to one table at once, each from its own process."""
from __future__ import annotations

import multiprocessing
from datetime import datetime, timezone

import pyarrow as pa

from incident_timeline.lake import delta
from incident_timeline.lake.storage import S3Credentials

from .conftest import KEYS, REGION

WRITERS = 4


def _location(endpoint: str, bucket: str) -> delta.Location:
    credentials = S3Credentials(endpoint, REGION, KEYS["aws_access_key_id"], KEYS["aws_secret_access_key"])
    return delta.Location(f"s3://{bucket}/lake/events", delta.s3_storage_options(credentials))


def _batch(source: str, n: int) -> pa.Table:
    ts = pa.array([datetime(2026, 3, 8, 12, k, tzinfo=timezone.utc) for k in range(n)], pa.timestamp("us", "UTC"))
    return pa.table({"event_id": [f"{source}/{k}" for k in range(n)], "source": [source] * n, "ts": ts})


def _job(args: tuple[str, str, int]) -> str:
    endpoint, bucket, k = args
    delta.append(_location(endpoint, bucket), _batch(f"src{k}", 3), day_from="ts", run_id=f"run-{k}",
                 raw_files=[f"src{k}/raw.parquet"], source=f"src{k}")
    return f"src{k}"


def test_a_table_on_s3_takes_the_same_operations(moto_endpoint, s3_bucket):
    table = _location(moto_endpoint, s3_bucket)
    delta.append(table, _batch("slack", 2), day_from="ts", run_id="r1", raw_files=["slack/a"])
    delta.append(table, _batch("slack", 1), day_from="ts", run_id="r2", raw_files=["slack/b"])
    delta.replace_source(table, _batch("slack", 3), source="slack", day_from="ts", run_id="r3")
    delta.compact(table, "slack", run_id="c")

    (only,) = delta.file_uris(table)
    assert only.startswith(f"s3://{s3_bucket}/lake/events/source=slack/date=2026-03-08/")
    assert table.open().to_pyarrow_table().num_rows == 3
    assert delta.normalized_raw_files(table, "slack") == {"slack/a", "slack/b"}


def test_jobs_of_different_sources_commit_side_by_side_and_none_is_lost(moto_endpoint, s3_bucket):
    table = _location(moto_endpoint, s3_bucket)
    delta.append(table, _batch("first", 1), day_from="ts", run_id="run-0")   # the table exists before the race
    with multiprocessing.get_context("spawn").Pool(WRITERS) as pool:
        done = pool.map(_job, [(moto_endpoint, s3_bucket, k) for k in range(WRITERS)])

    dt = table.open()
    assert dt.version() == WRITERS
    assert dt.to_pyarrow_table().num_rows == 1 + 3 * WRITERS
    assert sorted(p["source"] for p in dt.partitions()) == sorted(done + ["first"])
    assert delta.normalized_raw_files(table) == {f"src{k}/raw.parquet" for k in range(WRITERS)}
