"""A publish that adds files replaces only the catalog's file-list macros: the `events` and
`rejects` views keep their definition (re-creating a view over thousands of files was the
largest memory an ingest needed) and a read-only session still sees every live file."""
from __future__ import annotations


import pyarrow as pa
import pyarrow.parquet as pq

import incident_timeline.lake.catalog as catalog
from benchmarks import lakegen
from incident_timeline.lake import catalog_store, commits
from incident_timeline.lake.layout import Lake
from tests.correlate.lakes import lake_config


def _published(tmp_path) -> tuple[Lake, list]:
    config = lake_config(tmp_path)
    lakegen.generate(config.lake, 600, days=2, seed=5)
    lake = Lake(config.lake)
    with catalog_store.catalog_writer(lake) as con:
        catalog_store.publish(con, lake)
    return lake, sorted((config.lake / "events").rglob("*.parquet"))


def _catalog_entries(lake: Lake) -> dict:
    con = catalog_store.read_catalog(lake)
    try:
        views = dict(con.execute("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal AND "
                                 "view_name IN ('events', 'rejects')").fetchall())
        macros = dict(con.execute("SELECT function_name, macro_definition FROM duckdb_functions() "
                                  "WHERE function_type = 'macro' AND NOT internal").fetchall())
        return {"views": views, "macros": macros, "events": con.execute("SELECT count(*) FROM events").fetchall()[0][0],
                "columns": [c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() "
                                                      "WHERE table_name = 'events' ORDER BY column_index").fetchall()]}
    finally:
        con.close()


def _rows(files) -> int:
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def test_a_publish_that_adds_a_file_leaves_the_views_alone_and_a_reader_sees_the_file(tmp_path):
    lake, files = _published(tmp_path)
    before = _catalog_entries(lake)
    assert "live_event_files()" in before["views"]["events"]
    assert str(files[0]) not in before["views"]["events"]       # the list lives in the macro only
    assert str(files[0]) in before["macros"]["live_event_files"]

    # another run's events of new ids: the view must count them
    added = pq.read_table(files[0], partitioning=None)
    ids = pa.array(["new-" + i for i in added["event_id"].to_pylist()], pa.string())
    added = added.set_column(added.schema.get_field_index("event_id"), "event_id", ids)
    new_file = files[0].with_name("later-run.parquet")
    pq.write_table(added, new_file)
    commits.commit(lake, "events", [new_file], run_id="later-run", operation="normalize")
    with catalog_store.catalog_writer(lake) as con:
        catalog_store.publish(con, lake)
    after = _catalog_entries(lake)

    assert after["views"] == before["views"]
    assert str(new_file) in after["macros"]["live_event_files"]
    assert after["events"] == before["events"] + added.num_rows == _rows(files) + added.num_rows


def test_a_retired_file_leaves_the_view_and_the_index(tmp_path):
    lake, files = _published(tmp_path)
    commits.commit(lake, "events", [], [files[0]], run_id="r", operation="compact")
    with catalog_store.catalog_writer(lake) as con:
        catalog_store.publish(con, lake)
        indexed = {f for (f,) in con.execute("SELECT file FROM event_ref_index UNION SELECT file FROM event_ref_files "
                                             "UNION SELECT file FROM event_people").fetchall()}
    assert lake.rel(files[0]) not in indexed
    assert lake.rel(files[1]) in indexed
    assert _catalog_entries(lake)["events"] == _rows(files[1:])


def test_when_every_file_changes_layout_the_view_is_made_again_with_its_columns(tmp_path):
    lake, files = _published(tmp_path)
    assert "warnings" in _catalog_entries(lake)["columns"]
    # a re-normalisation by another version: every file replaced by one without `warnings`
    for f in files:
        pq.write_table(pq.read_table(f, partitioning=None).drop_columns(["warnings"]),
                       f.with_name("renormalised.parquet"))
    commits.commit(lake, "events", [f.with_name("renormalised.parquet") for f in files], files, run_id="r",
                   operation="normalize")
    with catalog_store.catalog_writer(lake) as con:
        catalog_store.publish(con, lake)
    entries = _catalog_entries(lake)
    assert "union_by_name = false" in entries["views"]["events"]
    assert "warnings" not in entries["columns"]
    assert entries["events"] == _rows(files)


def test_a_lake_whose_files_are_all_retired_has_empty_views(tmp_path):
    lake, files = _published(tmp_path)
    commits.commit(lake, "events", [], files, run_id="r", operation="normalize")
    with catalog_store.catalog_writer(lake) as con:
        catalog_store.publish(con, lake)
    entries = _catalog_entries(lake)
    assert entries["events"] == 0
    assert "read_parquet" not in entries["views"]["events"]
    assert catalog.FILE_MACROS["events"] + "()" not in entries["views"]["events"]


def test_the_views_read_the_snapshot_not_what_lies_in_the_folders(tmp_path):
    lake, files = _published(tmp_path)
    (files[0].parent / f".{files[0].name}.abcd1234.tmp").write_bytes(b"half a file")   # a write under way
    pq.write_table(pq.read_table(files[0], partitioning=None), files[0].with_name("killed-run.parquet"))
    rejects = lake.root / "rejects" / "source=jira" / "date=2026-10-14"
    rejects.mkdir(parents=True)
    (rejects / "r1.parquet").write_bytes(b"")
    with catalog_store.catalog_writer(lake) as con:
        catalog_store.publish(con, lake)
    assert lake.event_files() == files and lake.reject_files() == []
    assert _catalog_entries(lake)["events"] == _rows(files)     # the killed run's copy is in no snapshot
