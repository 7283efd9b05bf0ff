"""A report names each event's record in its own system without reading the lake."""
import shutil
from pathlib import Path

import duckdb
import pytest

from incident_timeline.export.report import load, to_contract
from tests.support import DEMO_INCIDENT


@pytest.fixture
def built_catalog(demo_config: Path, demo_report: dict, tmp_path: Path) -> Path:
    """A copy of the demo's catalog after `run` (the original stays untouched)."""
    found = sorted(demo_config.parent.rglob("catalog.duckdb"))
    assert len(found) == 1, found
    copy = tmp_path / "copy.duckdb"
    shutil.copy(found[0], copy)
    return copy


def _records(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    report = to_contract(load(con, DEMO_INCIDENT))
    return {e: rec for row in report["timeline"] for e, rec in zip(row["event_ids"], row["records"])}


def test_records_come_from_the_incident_not_from_the_lake(built_catalog: Path, demo_report: dict):
    con = duckdb.connect(str(built_catalog))
    # any read of the lake's events fails (the old export scanned them all, per build)
    con.execute("CREATE OR REPLACE VIEW events AS "
                "SELECT error('the lake was read')::VARCHAR AS event_id, 'x' AS source, 'x' AS native_id")
    with pytest.raises(duckdb.Error, match="the lake was read"):
        con.execute("SELECT event_id FROM events").fetchall()
    records = _records(con)
    expected = {e: rec for row in demo_report["timeline"] for e, rec in zip(row["event_ids"], row["records"])}
    assert records == expected
    assert len(records) > 20 and all(rec["native_id"] for rec in records.values())


def test_an_incident_built_before_native_ids_were_kept_reads_them_from_the_events_view(built_catalog: Path):
    con = duckdb.connect(str(built_catalog))
    before = _records(con)
    con.execute("UPDATE incident_events SET native_id = NULL WHERE source = 'slack'")
    assert con.execute("SELECT count(*) FROM incident_events WHERE native_id IS NULL").fetchone()[0] > 0
    assert _records(con) == before
