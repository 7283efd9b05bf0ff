"""A lake written by the previous version (no Delta tables: the catalog's `lake_files` and
`raw_normalized` said what was published) becomes Delta tables in place, by `lake upgrade`
or by the first command of this version, and nothing is lost, repeated or brought back.

previous_layout.tar.gz is the lake the previous release wrote for the demo sources: `ingest`,
`backfill`, `build pagerduty:Q2W3E4R`, a re-fetch of slack and pagerduty with `--since`, and
a second `backfill` (which compacted them: retired files wait out their grace period in the
folders)."""
from __future__ import annotations

import tarfile
from pathlib import Path

import duckdb
import pytest

from incident_timeline.lake import commits, state, upgrade
from incident_timeline.lake.layout import Lake
from tests.support import cli, demo_sources, query_rows, write_config

PREVIOUS = Path(__file__).with_name("previous_layout.tar.gz")
COLUMNS = "source, kind, event_id, strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS ts, title"
EVENTS = f"SELECT {COLUMNS} FROM events ORDER BY ALL"


@pytest.fixture
def old_lake(tmp_path) -> tuple[Path, Path]:
    with tarfile.open(PREVIOUS) as archive:
        archive.extractall(tmp_path, filter="data")
    return tmp_path / "lake", write_config(tmp_path, demo_sources())


def _old_state(root: Path) -> tuple[list, set[str], set[str]]:
    """What the previous version published: its events (read as its view did), its live
    files, and every events file in the folders."""
    con = duckdb.connect(str(root / "catalog.duckdb"), read_only=True)
    try:
        live = {p for (p,) in con.execute("SELECT path FROM lake_files WHERE superseded_at IS NULL "
                                          "AND kind = 'events'").fetchall()}
    finally:
        con.close()
    reader = duckdb.connect()
    reader.execute("SET TimeZone = 'UTC'")
    rows = reader.execute(
        f"SELECT {COLUMNS} FROM read_parquet(?, union_by_name = true) "
        "QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY ingested_at DESC) = 1 ORDER BY ALL",
        [[str(root / p) for p in sorted(live)]]).fetchall()
    reader.close()
    on_disk = {p.relative_to(root).as_posix() for p in root.glob("events/source=*/date=*/*.parquet")}
    return rows, live, on_disk


def _old_cursors(root: Path) -> list[tuple]:
    con = duckdb.connect(str(root / "catalog.duckdb"), read_only=True)
    try:
        return con.execute('SELECT source, "partition", value FROM cursors ORDER BY ALL').fetchall()
    finally:
        con.close()


def _forget_normalised(root: Path, source: str) -> str:
    """The state a run killed between fetching and normalising leaves: a raw file no run
    normalised (its newest raw file loses its `raw_normalized` row)."""
    con = duckdb.connect(str(root / "catalog.duckdb"))
    try:
        (path,) = con.execute("SELECT max(path) FROM raw_normalized WHERE source = ?", [source]).fetchone()
        con.execute("DELETE FROM raw_normalized WHERE path = ?", [path])
    finally:
        con.close()
    return path


def test_the_previous_layout_is_what_the_fixture_holds(old_lake):
    root, _ = old_lake
    rows, live, on_disk = _old_state(root)
    assert rows and len(on_disk) > len(live)          # retired files lie beside the live ones
    assert not (root / "events" / "_delta_log").exists()
    assert upgrade.needed(Lake(root))


def test_lake_upgrade_publishes_exactly_what_the_previous_version_did(old_lake):
    root, cfg = old_lake
    before, live, on_disk = _old_state(root)
    cursors = _old_cursors(root)
    pending = _forget_normalised(root, "pagerduty")

    result = cli(cfg, "lake", "upgrade")
    assert result.exit_code == 0, result.output
    assert "upgraded:" in result.output
    lake = Lake(root)
    assert {lake.rel(f) for f in lake.event_files()} == live          # retired files stay out
    assert {p.relative_to(root).as_posix() for p in root.glob("events/source=*/date=*/*.parquet")} == on_disk
    assert [tuple(r.values()) for r in query_rows(cfg, EVENTS)] == before
    # the raw files stay where they lie; only the one no run normalised is pending
    assert [lake.rel(f) for f in commits.pending_raw(lake, "pagerduty")[0]] == [pending]
    assert commits.pending_raw(lake, "slack")[0] == []
    con = duckdb.connect(str(root / "catalog.duckdb"), read_only=True)
    try:
        left = con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name IN "
                           "('lake_files', 'raw_normalized')").fetchall()
        incidents = con.execute("SELECT count(*) FROM incidents").fetchone()[0]
    finally:
        con.close()
    assert left == [] and incidents == 1                               # the built incident is kept
    assert cursors and _old_cursors(root) == cursors                   # now a copy of the lake's table
    assert sorted((r["source"], r["partition"], r["value"]) for r in state.all_cursors(lake)) == cursors

    again = cli(cfg, "lake", "upgrade")
    assert again.exit_code == 0 and "nothing to upgrade" in again.output
    assert len(lake.event_files()) == len(live)


def test_the_first_command_upgrades_and_the_next_run_finishes_the_pending_raw(old_lake):
    root, cfg = old_lake
    before, live, _ = _old_state(root)
    _forget_normalised(root, "pagerduty")

    result = cli(cfg, "ingest", "--source", "pagerduty", "--since", "2026-10-14T00:00:00Z",
                 "--until", "2026-10-14T00:00:01Z")      # a window with nothing in it: only the pending raw
    assert result.exit_code == 0, result.output
    lake = Lake(root)
    assert commits.pending_raw(lake, "pagerduty")[0] == []
    # normalised again, its events are the same ones: none new, none lost
    assert [tuple(r.values()) for r in query_rows(cfg, EVENTS)] == before
    summary = next(line for line in result.output.splitlines() if line.startswith("pagerduty")).split()
    assert summary[2] == "0"                              # new events


@pytest.mark.parametrize("killed_after", ["raw", "rejects"])
def test_an_upgrade_killed_half_way_is_finished_by_the_next_one(old_lake, killed_after):
    root, cfg = old_lake
    before, live, _ = _old_state(root)
    lake = Lake(root)
    published, normalized = upgrade._old_published(lake, None)
    raw_files = upgrade._old_raw_files(lake)
    upgrade._upgrade_raw(lake, normalized, "killed-run")
    if killed_after == "rejects":
        upgrade._upgrade_table(lake, "rejects", published["rejects"], "killed-run")
    assert upgrade.needed(lake)

    assert cli(cfg, "lake", "upgrade").exit_code == 0
    assert sorted(lake.raw_files("pagerduty") + lake.raw_files("slack") + lake.raw_files("jira")
                  + lake.raw_files("github") + lake.raw_files("statuspage")) == sorted(raw_files)
    assert {lake.rel(f) for f in lake.event_files()} == live
    assert [tuple(r.values()) for r in query_rows(cfg, EVENTS)] == before
    assert all(commits.pending_raw(lake, s)[0] == [] for s in commits.sources(lake, "raw"))


def test_other_engines_read_the_upgraded_tables_as_delta(old_lake):
    deltalake = pytest.importorskip("deltalake")
    polars = pytest.importorskip("polars")
    root, cfg = old_lake
    before, _, _ = _old_state(root)
    assert cli(cfg, "lake", "upgrade").exit_code == 0
    newest = (f"SELECT {COLUMNS} FROM t QUALIFY row_number() OVER "
              "(PARTITION BY event_id ORDER BY ingested_at DESC) = 1 ORDER BY ALL")
    for table in (deltalake.DeltaTable(str(root / "events")).to_pyarrow_table(),
                  polars.scan_delta(str(root / "events")).collect().to_arrow()):
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.register("t", table)
        assert con.execute(newest).fetchall() == before
        con.close()
