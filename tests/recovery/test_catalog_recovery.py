"""A truncated or garbage catalog.duckdb is set aside and rebuilt from the lake: every
command after it works, says so in one warning line, and sees the same events."""
from __future__ import annotations

import json

import duckdb
import pytest

from tests.support import cli, query_rows, DEMO_INCIDENT, demo_sources, write_config


_cli, _rows = cli, query_rows


@pytest.fixture(scope="module")
def lake_before(tmp_path_factory):
    """The demo built once, then ingested from cursors: the state every test corrupts a copy of."""
    tmp = tmp_path_factory.mktemp("before")
    cfg = write_config(tmp, demo_sources())
    assert _cli(cfg, "run", DEMO_INCIDENT, "--format", "json", "--out", str(tmp / "out")).exit_code == 0
    assert _cli(cfg, "ingest").exit_code == 0        # moves the cursors (run's explicit window does not)
    return tmp


def _copy(lake_before, tmp_path):
    import shutil
    shutil.copytree(lake_before / "lake", tmp_path / "lake")
    return write_config(tmp_path, demo_sources())


def _state(cfg):
    return {
        "events": _rows(cfg, "SELECT source, kind, count(*) AS n FROM events GROUP BY ALL ORDER BY ALL"),
        "rejects": _rows(cfg, "SELECT count(*) AS n FROM rejects"),
        "cursors": _rows(cfg, 'SELECT source, "partition", value FROM cursors ORDER BY ALL'),
        "timeline": _rows(cfg, "SELECT incident_id, count(*) AS n FROM timeline GROUP BY ALL"),
    }


def _garbage(path):
    path.write_bytes(b"this is not a DuckDB database\n" * 500)


def _truncate(path):
    # cut inside the first data block (a block is 256 KiB, after 12 KiB of headers): whether a
    # fraction of a larger file still reads depends on where DuckDB put its metadata
    data = path.read_bytes()
    path.write_bytes(data[: 64 * 1024])


@pytest.mark.parametrize("damage, command", [
    (_garbage, ["ingest"]), (_truncate, ["backfill"]), (_garbage, ["build", DEMO_INCIDENT, "--format", "json"]),
    (_truncate, ["query", "SELECT count(*) FROM events"]), (_garbage, ["lake-files"])])
def test_every_command_rebuilds_an_unreadable_catalog(lake_before, tmp_path, damage, command, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = _copy(lake_before, tmp_path)
    before = _state(cfg)
    assert before["cursors"] and before["timeline"]
    catalog = tmp_path / "lake" / "catalog.duckdb"
    damage(catalog)
    damaged = catalog.read_bytes()
    with pytest.raises(duckdb.Error):      # what every run met before: a raw DuckDB error
        duckdb.connect(str(catalog), read_only=True).execute("SELECT * FROM cursors").fetchall()

    result = _cli(cfg, *command)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "catalog" in line and "WARNING" in line]
    assert len(warnings) == 1, result.stderr
    aside = list((tmp_path / "lake").glob("catalog.duckdb.corrupt-*"))
    assert len(aside) == 1 and aside[0].name in warnings[0]
    assert aside[0].read_bytes() == damaged                 # set aside, not deleted

    after = _state(cfg)
    assert after["events"] == before["events"]
    assert after["rejects"] == before["rejects"]
    assert after["timeline"] == before["timeline"]     # built incidents come back from tables/
    if command[0] not in ("ingest", "backfill"):        # those move the cursors on again
        assert after["cursors"] == before["cursors"]
    else:
        assert [(c["source"], c["partition"]) for c in after["cursors"]] == \
            [(c["source"], c["partition"]) for c in before["cursors"]]
    again = _cli(cfg, "query", "SELECT count(*) FROM events")
    assert again.exit_code == 0 and "WARNING" not in again.stderr     # once rebuilt, it stays
    runs = _rows(cfg, "SELECT command, summary FROM runs WHERE command = 'rebuild-catalog'")
    assert len(runs) == 1 and json.loads(runs[0]["summary"])["set_aside"] == aside[0].name


def test_cursors_come_back_only_from_fetches_that_moved_them(lake_before, tmp_path, monkeypatch):
    """A `--since` window after the cursor-moving ingest leaves the cursors where they were."""
    monkeypatch.chdir(tmp_path)
    cfg = _copy(lake_before, tmp_path)
    assert _cli(cfg, "ingest", "--since", "2026-10-14T00:00:00Z", "--until", "2026-10-15T00:00:00Z").exit_code == 0
    before = _rows(cfg, 'SELECT source, "partition", value FROM cursors ORDER BY ALL')
    _garbage(tmp_path / "lake" / "catalog.duckdb")
    assert _rows(cfg, 'SELECT source, "partition", value FROM cursors ORDER BY ALL') == before
