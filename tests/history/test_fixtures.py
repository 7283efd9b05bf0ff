"""fixtures/history holds what the history and review rules need: checked here, so a change
to the story that breaks one of them fails by name."""
from __future__ import annotations

from tests.support import query_rows


def test_each_incident_is_one_row_under_its_page_whatever_it_was_built_from(history_config):
    rows = query_rows(history_config, "SELECT incident_id, severity, services FROM incidents ORDER BY detected")
    assert [r["incident_id"] for r in rows] == [
        "pagerduty:P1JUNCK", "pagerduty:P2JULPY", "pagerduty:P3AUGPY", "pagerduty:P4AUGCK",
        "pagerduty:P5SEPCK", "pagerduty:P6OCTCK", "pagerduty:P7OCTPY"]
    assert {r["severity"] for r in rows} == {"SEV1", "SEV2", "SEV3"}
    assert {r["services"][0] for r in rows} == {"checkout-api", "payments-api"}
    aliases = query_rows(history_config, "SELECT alias, incident_id, kind FROM incident_aliases "
                                         "WHERE kind = 'seed' ORDER BY alias")
    assert {(a["alias"], a["incident_id"]) for a in aliases} >= {
        ("jira:OPS-1175", "pagerduty:P4AUGCK"), ("slack:#inc-4101-checkout", "pagerduty:P5SEPCK"),
        ("jira:OPS-1245", "pagerduty:P6OCTCK"), ("slack:C07INC3950", "pagerduty:P3AUGPY")}


def test_action_items_are_closed_open_and_overdue(history_config):
    rows = query_rows(history_config, "SELECT incident_id, ref, status, due FROM action_items ORDER BY ref")
    assert [(r["incident_id"], r["ref"], r["status"]) for r in rows] == [
        ("pagerduty:P1JUNCK", "jira:OPS-1102", "done"),
        ("pagerduty:P3AUGPY", "jira:OPS-1150", "to do"),        # due 2026-08-17: overdue
        ("pagerduty:P4AUGCK", "jira:OPS-1180", "done"),
        ("pagerduty:P5SEPCK", "jira:OPS-1210", "in progress"),  # due 2027-01-15
        ("pagerduty:P6OCTCK", "jira:OPS-1250", "to do")]        # due 2026-10-19: overdue


def test_one_draft_was_first_built_more_than_48_hours_after_resolution(history_config):
    late = query_rows(history_config, """
        SELECT incident_id FROM incidents JOIN incident_drafts USING (incident_id)
        WHERE first_built_at > resolved + INTERVAL 48 HOUR""")
    assert late == [{"incident_id": "pagerduty:P5SEPCK"}]


def test_the_portable_sql_over_the_lake_tables_gives_the_catalog_views_rows(history_config):
    """sql/cross_incident/ reads the lake's tables/ (one row set per identity): on incidents
    built from aliases and from two refs each, it counts what the catalog views count."""
    import duckdb

    from incident_timeline.lake import shared_tables
    from incident_timeline.config import load_config
    from incident_timeline.lake.layout import Lake
    from tests.support import REPO

    lake = Lake.for_config(load_config(history_config))
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute((REPO / "sql" / "duckdb_compat.sql").read_text())
        for table in ("incidents", "incident_services", "incident_refs", "action_items"):
            con.read_parquet(shared_tables.table_uris(lake, table)).create_view(table)
        for view, key in (("resolve_time_by_month", "month, service, incidents, resolved"),
                          ("repeat_incidents", "incident_id, earlier_incident_id, reason, shared"),
                          ("action_item_closure", "month, incidents, items, done")):
            sql = (REPO / "sql" / "cross_incident" / f"{view}.sql").read_text()
            portable = con.execute(f"SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (SELECT {key} FROM ({sql}) ORDER BY ALL)"
                                   ).fetchall()
            catalog = [tuple(str(v) for v in r.values())
                       for r in query_rows(history_config, f"SELECT {key} FROM {view} ORDER BY ALL")]
            assert catalog and [tuple(portable_row) for portable_row in portable] == catalog, view
        # seven incidents, once each, though four were built from an alias or from two refs
        assert query_rows(history_config, "SELECT sum(incidents) AS n FROM resolve_time_by_month") == [{"n": 7}]
        assert query_rows(history_config, "SELECT sum(items) AS n FROM action_item_closure") == [{"n": 5}]
    finally:
        con.close()
