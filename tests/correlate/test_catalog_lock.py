"""A reader is not turned away while another process holds the catalog for writing: it waits."""
from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

import incident_timeline.lake.catalog as catalog

WRITER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("INSERT INTO runs (run_id, command, status) VALUES ('r2', 'ingest', 'ok')")
print("locked", flush=True)
sys.stdin.readline()
con.close()
print("released", flush=True)
"""


@pytest.fixture
def catalog_file(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.duckdb"
    con = catalog.connect(path, read_only=False)
    catalog.ensure_tables(con)
    con.execute("INSERT INTO runs (run_id, command, status) VALUES ('r1', 'ingest', 'ok')")
    con.close()
    return path


def test_a_reader_waits_for_a_writer_in_another_process(catalog_file):
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(catalog_file)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "locked"
        with pytest.raises(duckdb.IOException, match="(?i)lock"):
            catalog.connect(catalog_file, read_only=True, wait_s=0)   # the lock is really held
        release = threading.Timer(0.5, lambda: (writer.stdin.write("go\n"), writer.stdin.flush()))
        release.start()
        con = catalog.connect(catalog_file, read_only=True, wait_s=60)
        try:
            runs = [r for (r,) in con.execute("SELECT run_id FROM runs ORDER BY run_id").fetchall()]
        finally:
            con.close()
        release.join()
        assert runs == ["r1", "r2"]    # it read what the writer committed
    finally:
        writer.stdin.close()
        writer.wait(timeout=30)
    assert writer.returncode == 0


def test_a_missing_catalog_is_one_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no catalog at .*run `incident-timeline ingest` first"):
        catalog.connect(tmp_path / "catalog.duckdb", read_only=True)
