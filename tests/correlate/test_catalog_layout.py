"""A catalog written by an older version is brought up to the current layout, once."""
from __future__ import annotations

import duckdb

import incident_timeline.lake.catalog as catalog


def test_an_older_catalog_gains_the_new_columns_with_their_comments(tmp_path):
    con = duckdb.connect(str(tmp_path / "catalog.duckdb"))
    con.execute("CREATE TABLE timeline (incident_id VARCHAR, seq INTEGER, ts TIMESTAMPTZ, count INTEGER)")
    con.execute("INSERT INTO timeline VALUES ('pagerduty:OLD', 0, '2026-01-01 00:00:00+00', 1)")
    catalog.ensure_tables(con)
    cols = dict(con.execute("SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'timeline'")
                .fetchall())
    assert cols["span_s"] == "seconds from ts to last_ts" and "event_ids" in cols
    assert con.execute("SELECT incident_id, span_s FROM timeline").fetchall() == [("pagerduty:OLD", None)]
    assert con.execute("SELECT version FROM catalog_schema").fetchall() == [(catalog.SCHEMA_VERSION,)]
    con.close()


def test_the_layout_is_applied_once(tmp_path):
    con = duckdb.connect(str(tmp_path / "catalog.duckdb"))
    catalog.ensure_tables(con)
    con.execute("COMMENT ON TABLE timeline IS 'changed by hand'")
    catalog.ensure_tables(con)    # same version: nothing rewritten
    assert con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'timeline'").fetchone() == (
        "changed by hand",)
    con.close()
