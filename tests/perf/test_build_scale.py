"""The fast build path gives exactly the answers of a full scan.

A build reads only the day partitions its window touches, after finding the seed's span in
the catalog's ref index. These tests build incidents of a generated lake that way, then
the old way (the `events` view over every file) and from the same events in one file, and
compare every incident table."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

import incident_timeline.lake.catalog as catalog
from benchmarks import lakegen
from incident_timeline.lake import refindex
from incident_timeline.correlate.build import correlate
from incident_timeline.correlate.expand import IncidentNotFound
from incident_timeline import pipeline
from incident_timeline.lake import catalog_store, commits
from incident_timeline.lake.layout import Lake
from tests.correlate.lakes import lake_config

SEEDS = [lakegen.BENCH_INCIDENT, "pagerduty:PINC00000", "jira:INC-2", "slack:CINC00001",
         "service:svc-checkout@2025-11-05T13:00Z/2025-11-05T16:00Z"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("generated")
    config = lake_config(tmp)
    lakegen.generate(config.lake, 12_000, days=12, seed=3)
    lake = Lake(config.lake)
    with catalog_store.catalog_writer(lake) as con:
        catalog_store.publish(con, lake)
    return config


def _full_scan(lake_root: Path, seed: str, also: tuple[str, ...] = ()) -> dict:
    """correlate() over a view of every event file: no index, no pruning. `also`: the seeds a
    build adds (a seed that is an alias is built from the incident's identity and itself)."""
    mem = duckdb.connect()
    try:
        mem.execute("SET TimeZone = 'UTC'")
        mem.execute(f"CREATE VIEW events AS {catalog.events_relation_sql(lake_root)}")
        return _comparable(correlate(mem, seed, pipeline.correlation_settings(lake_config(lake_root.parent)),
                                     also=also))
    finally:
        mem.close()


def _stored(config, seed: str, with_identity: bool = False):
    identity = pipeline.correlate_incident(config, seed)
    con = catalog_store.read_catalog(Lake(config.lake))
    try:
        tables = {name: con.sql(f"SELECT * FROM {name} WHERE incident_id = ?", params=[identity]).to_arrow_table()
                  for name in catalog.INCIDENT_TABLES}
        return (identity, tables) if with_identity else tables
    finally:
        con.close()


def _comparable(tables: dict) -> dict:
    out = {}
    for name, table in tables.items():
        # what was typed and the aliases it accumulated are the catalog's, not the correlation's
        rows = [{k: v for k, v in r.items() if k not in ("built_at", "seed", "seed_kind", "aliases")}
                for r in table.to_pylist()]
        out[name] = sorted(rows, key=repr)
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_indexed_build_equals_a_full_scan(generated, seed):
    identity, stored = _stored(generated, seed, with_identity=True)
    fast = _comparable(stored)
    assert fast["incidents"][0]["event_count"] > 0
    assert fast == _full_scan(generated.lake, identity, (seed,) if seed != identity else ())


def test_build_on_one_file_gives_the_same_incident(generated, tmp_path):
    """The same events written as one unpartitioned-by-day file per source."""
    other = lake_config(tmp_path)
    for folder in sorted((generated.lake / "events").glob("source=*")):
        files = sorted(folder.glob("date=*/*.parquet"))
        table = pq.ParquetDataset(files, partitioning=None).read()
        first_day = files[0].parent.name
        out = other.lake / "events" / folder.name / first_day
        out.mkdir(parents=True)
        pq.write_table(table, out / "all.parquet")
    # one file per source, filed under its first day: only a full scan can find the rest
    assert _comparable(_stored(generated, lakegen.BENCH_INCIDENT)) == \
        _full_scan(other.lake, lakegen.BENCH_INCIDENT)


def test_the_index_reads_only_new_files_and_forgets_retired_ones(generated):
    lake = Lake(generated.lake)
    live = [lake.uri(f) for f in lake.event_files()]
    con = catalog_store.read_catalog(lake)
    try:
        indexed = {f for (f,) in con.execute("SELECT file FROM event_ref_files").fetchall()}
    finally:
        con.close()
    assert indexed == {refindex.file_key(f) for f in live}
    assert all(f.startswith("events/source=") for f in indexed)     # lake-relative: the lake may move
    mem = duckdb.connect()
    try:
        mem.execute("SET TimeZone = 'UTC'")
        assert refindex.update(mem, live) == len(live)
        assert refindex.update(mem, live) == 0
        assert refindex.update(mem, live[1:]) == 0
        assert mem.execute("SELECT count(*) FROM event_ref_index WHERE file = ?",
                           [refindex.file_key(live[0])]).fetchall() == [(0,)]
        assert refindex.span(mem, lakegen.BENCH_INCIDENT, live) is None      # live[0] is no longer covered
        first, last, n = refindex.span(mem, lakegen.BENCH_INCIDENT, live[1:])
        assert n > 0 and first <= last
    finally:
        mem.close()


def test_a_file_the_index_has_not_seen_is_scanned(generated, tmp_path):
    """A live file missing from the index (an older catalog) makes the build scan: same answer."""
    lake = Lake(generated.lake)
    before = _comparable(_stored(generated, lakegen.BENCH_INCIDENT))
    with catalog_store.catalog_writer(lake) as con:
        con.execute("DELETE FROM event_ref_files WHERE file IN (SELECT file FROM event_ref_files LIMIT 1)")
    assert _comparable(_stored(generated, lakegen.BENCH_INCIDENT)) == before


def test_an_unknown_ref_is_not_found_without_a_scan(generated):
    with pytest.raises(IncidentNotFound, match="pagerduty:NOPE"):
        pipeline.correlate_incident(generated, "pagerduty:NOPE")


def _events_view_sql(lake: Lake) -> str:
    con = catalog_store.read_catalog(lake)
    try:
        return con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'events'").fetchall()[0][0]
    finally:
        con.close()


def test_the_events_view_unions_by_name_only_when_file_layouts_differ(tmp_path):
    config = lake_config(tmp_path)
    lakegen.generate(config.lake, 600, days=2, seed=5)
    lake = Lake(config.lake)
    with catalog_store.catalog_writer(lake) as con:
        catalog_store.publish(con, lake)
    assert "union_by_name = false" in _events_view_sql(lake)

    # a file from an older version, without the `warnings` column
    some = sorted((config.lake / "events").rglob("*.parquet"))[0]
    older = pq.read_table(some, partitioning=None).drop_columns(["warnings"])
    pq.write_table(older, some.with_name("older.parquet"))
    commits.commit(lake, "events", [some.with_name("older.parquet")], run_id="older", operation="normalize")
    with catalog_store.catalog_writer(lake) as con:
        catalog_store.publish(con, lake)
        total = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    assert "union_by_name = true" in _events_view_sql(lake)
    assert total == sum(pq.ParquetFile(f).metadata.num_rows
                        for f in (config.lake / "events").rglob("*.parquet")) - older.num_rows
