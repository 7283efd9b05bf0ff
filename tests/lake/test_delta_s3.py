"""The lake's Delta tables on s3:// (moto, its own process): the same commits, and jobs of
several sources committing to one table at once, each from its own process."""
from __future__ import annotations

import multiprocessing
from datetime import timedelta
from pathlib import PurePosixPath

from deltalake import DeltaTable

from incident_timeline.lake import commits, delta
from incident_timeline.lake.layout import Lake
from incident_timeline.lake.published import vacuum
from incident_timeline.lake.storage import S3Credentials, object_storage

from .conftest import KEYS, REGION
from .test_commits import DAY1, events, publish

WRITERS = 4


def _lake(endpoint: str, bucket: str) -> Lake:
    credentials = S3Credentials(endpoint, REGION, KEYS["aws_access_key_id"], KEYS["aws_secret_access_key"])
    return Lake(PurePosixPath(f"{bucket}/prod"), object_storage(credentials))


def _ids(lake: Lake) -> list[str]:
    loc = commits.location(lake, "events")
    table = DeltaTable(loc.uri, storage_options=loc.storage_options)
    return sorted(table.to_pyarrow_table(columns=["event_id"])["event_id"].to_pylist())


def _job(args: tuple[str, str, int]) -> None:
    endpoint, bucket, k = args
    lake = _lake(endpoint, bucket)
    written = publish(lake, events(f"src{k}", ["a"]), f"src{k}-1")
    publish(lake, events(f"src{k}", ["a", "b"]), f"src{k}-2", remove=written)


def test_a_table_on_s3_takes_the_same_commits(moto_endpoint, s3_bucket):
    lake = _lake(moto_endpoint, s3_bucket)
    first = publish(lake, events("slack", ["1", "2"]), "r1")
    publish(lake, events("slack", ["1", "2", "3"], at=DAY1 + timedelta(days=1)), "r2", remove=first)
    (only,) = lake.event_files()
    assert lake.uri(only) == f"s3://{s3_bucket}/prod/events/source=slack/date=2026-03-09/r2.parquet"
    assert _ids(lake) == ["slack/1", "slack/2", "slack/3"]
    assert lake.storage.exists(first[0])                       # retired, kept for older snapshots
    assert vacuum(lake, retention=timedelta(0)) == 1
    assert not lake.storage.exists(first[0])


def test_jobs_of_different_sources_commit_side_by_side_and_none_is_lost(moto_endpoint, s3_bucket):
    writers = WRITERS
    lake = _lake(moto_endpoint, s3_bucket)
    publish(lake, events("first", ["1"]), "r0")                # the table exists before the race
    with multiprocessing.get_context("spawn").Pool(writers) as pool:
        pool.map(_job, [(moto_endpoint, s3_bucket, k) for k in range(writers)])
    loc = commits.location(lake, "events")
    assert DeltaTable(loc.uri, storage_options=loc.storage_options).version() == 2 * writers
    assert _ids(lake) == ["first/1"] + [f"src{k}/{i}" for k in range(writers) for i in ("a", "b")]
    assert delta.s3_storage_options(lake.storage.credentials)["conditional_put"] == "etag"
