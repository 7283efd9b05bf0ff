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
