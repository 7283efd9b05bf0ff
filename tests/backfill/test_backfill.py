"""Backfill behaviour, in-process through the CLI: late edits, failures, compaction, logs."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import duckdb
import pytest
from click.testing import CliRunner
from incident_timeline.lake.published import vacuum
from incident_timeline.cli import main
from incident_timeline.lake.layout import Lake
from tests.support import demo_sources


@pytest.fixture
def recent_api(pagerduty_api, monkeypatch):
    """The fake PagerDuty with incidents in the last hours, inside a 6 h overlap."""
    pagerduty_api.incidents.clear()
    pagerduty_api.entries.clear()
    pagerduty_api.alerts.clear()
    pagerduty_api.populate(datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=3), 5,
                           timedelta(minutes=10))
    for key, value in pagerduty_api.environment().items():
        monkeypatch.setenv(key, value)
    return pagerduty_api


def _backfill(job, *extra):
    return CliRunner().invoke(main, ["--config", str(job.config), *extra, "backfill"])


def _summary(output: str) -> dict[str, list[str]]:
    rows = [line.split() for line in output.splitlines() if line and not line.startswith(("source ", "error"))]
    return {r[0]: r[1:] for r in rows if len(r) >= 5}


def _query(job, sql, params=()):
    con = duckdb.connect(str(job.catalog), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_a_late_edit_wins_and_nothing_is_counted_twice(job_factory, recent_api):
    job = job_factory(overlap="6h")
    first = _backfill(job)
    assert first.exit_code == 0, first.output
    new_first = int(_summary(first.output)["pd"][1])
    assert new_first > 0
    note = next(e for e in recent_api.entries if e["type"] == "annotate_log_entry")
    note["note"] = "checking the disk: it was the WAL volume"      # edited after the first run
    second = _backfill(job)
    assert second.exit_code == 0, second.output
    fetched, new_events = _summary(second.output)["pd"][:2]
    assert int(fetched) > 0            # the overlap re-read the recent records ...
    assert new_events == "0"           # ... and none of them is a new event
    rows = _query(job, "SELECT body FROM events WHERE native_id = ?", [note["id"]])
    assert rows == [("checking the disk: it was the WAL volume",)]
    total, distinct = _query(job, "SELECT count(*), count(DISTINCT event_id) FROM events")[0]
    assert total == distinct == new_first


def test_one_failing_source_does_not_stop_the_others(job_factory, recent_api, tmp_path):
    job = job_factory()
    recent_api.break_auth()
    data = __import__("yaml").safe_load(job.config.read_text())
    data["sources"] += [s for s in demo_sources() if s["name"] == "slack"]
    job.config.write_text(__import__("yaml").safe_dump(data))
    result = _backfill(job)
    assert result.exit_code == 3
    rows = _summary(result.output)
    assert rows["slack"][-1] == "ok" and int(rows["slack"][1]) == 16
    assert "FAILED:" in " ".join(rows["pd"]) and "source pd" in result.output
    assert recent_api.secrets()[0] not in result.output
    assert _query(job, "SELECT count(*) FROM events WHERE source = 'slack'")[0][0] == 16


def test_compaction_merges_small_files_and_readers_never_see_an_event_twice(job_factory, recent_api):
    job = job_factory(overlap="6h")
    lake = Lake(job.dir / "lake")
    for _ in range(3):
        assert _backfill(job).exit_code == 0
    events_once = _query(job, "SELECT count(*), count(DISTINCT event_id) FROM events")[0]
    assert events_once[0] == events_once[1]
    live = lake.event_files("pd")            # the events table's snapshot
    per_partition = {}
    for f in live:
        per_partition.setdefault(f.parent, []).append(f)
    assert all(len(files) == 1 for files in per_partition.values())
    assert all(f.name.startswith("compacted-") for f in live)
    def on_disk():
        return sorted((lake.events / "source=pd").glob("date=*/*.parquet"))
    before = on_disk()
    assert len(before) > len(live)                   # retired files wait out vacuum's retention
    assert vacuum(lake) == 0                         # which they are all well inside
    assert on_disk() == before
    purged = vacuum(lake, retention=timedelta(0))
    assert purged >= len(before) - len(live)         # (with other tables' retired files, if any)
    assert on_disk() == sorted(live)
    assert _query(job, "SELECT count(*) FROM events")[0] == (events_once[0],)


def test_json_logs_carry_no_secret(job_factory, recent_api):
    job = job_factory()
    result = _backfill(job, "--log-format", "json", "--log-level", "info")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    messages = [entry["message"] for entry in lines]
    assert any(m.startswith("backfill ") and m.endswith("started: pd") for m in messages)
    assert any(m.startswith("pd: fetched ") for m in messages)
    assert all({"ts", "level", "message"} <= set(entry) for entry in lines)
    assert recent_api.secrets()[0] not in result.output


def test_no_progress_bars_without_a_terminal(job_factory, recent_api):
    done = job_factory().run("backfill")
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and "records/s" not in done.stderr


def test_a_failing_partition_keeps_the_cursors_of_the_partitions_before_it(tmp_path, monkeypatch):
    import errno
    import shutil

    import incident_timeline.ingest.slack_export
    from incident_timeline import ingest
    from tests.support import FIXTURES, write_config
    export = tmp_path / "export"
    shutil.copytree(FIXTURES / "slack-export", export)
    read = ingest.slack_export.ExportReader._read

    def disk_error(reader, key):   # the disk fails under one channel's day file
        if key == "inc-4213-checkout/2026-10-14.json":
            raise OSError(errno.EIO, "Input/output error")
        return read(reader, key)

    monkeypatch.setattr(ingest.slack_export.ExportReader, "_read", disk_error)
    config = write_config(tmp_path, [{"name": "slack", "type": "slack_export", "path": str(export)}])
    result = CliRunner().invoke(main, ["--config", str(config), "backfill"])
    assert result.exit_code == 1
    assert "source slack" in result.output and "could not read inc-4213-checkout/2026-10-14.json" in result.output
    con = duckdb.connect(str(tmp_path / "lake" / "catalog.duckdb"), read_only=True)
    try:
        moved = {p for (p,) in con.execute("SELECT \"partition\" FROM cursors WHERE source = 'slack'").fetchall()}
        alerts = con.execute("SELECT count(*) FROM events WHERE list_contains(refs, 'slack:C05ALRT7Q2')").fetchone()
    finally:
        con.close()
    channels = json.loads((export / "channels.json").read_text())
    order = [""] + [c["id"] for c in channels]
    failed = order.index("C05INC4213")
    assert moved == set(order[:failed])      # everything before the bad channel, nothing after
    assert alerts == (4,)


def test_the_pipeline_state_tables_document_themselves(demo_config, tmp_path):
    assert CliRunner().invoke(main, ["--config", str(demo_config), "ingest"]).exit_code == 0
    con = duckdb.connect(str(tmp_path / "lake" / "catalog.duckdb"), read_only=True)
    try:
        tables = dict(con.execute("SELECT table_name, comment FROM duckdb_tables() "
                                  "WHERE table_name IN ('cursors', 'runs', 'lake_files', 'raw_normalized')"
                                  ).fetchall())
        bare = con.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE table_name IN "
                           "('cursors', 'runs') AND comment IS NULL").fetchall()
        live = len(con.execute("SELECT live_event_files()").fetchone()[0])
    finally:
        con.close()
    # which files are live is the Delta tables' log now, not a catalog table
    assert set(tables) == {"cursors", "runs"} and all(tables.values())
    assert bare == []
    assert live == len(Lake(tmp_path / "lake").event_files()) > 0
