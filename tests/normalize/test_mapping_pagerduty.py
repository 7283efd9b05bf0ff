"""PagerDuty's mapping: alerts field by field, and the compiled query and the per-record
oracle agree whatever a log entry or an alert holds (any JSON type in any field it reads)."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_timeline.normalize.mapping import SourceSpec
from tests.normalize.test_fast_paths import _both, _entry, _pd_raw

PD = SourceSpec("pd", "pagerduty")
INCIDENT = {"id": "Q1", "type": "incident", "title": "db down", "urgency": "low", "incident_number": 7,
            "incident_key": "grp-1", "service": {"id": "PSVC", "summary": "db"}}
ALERT = {"id": "PA1", "type": "alert", "created_at": "2026-10-14T09:10:00Z", "alert_key": "k-1", "status": "resolved",
         "suppressed": False, "severity": "critical", "incident": {"id": "Q1"}, "integration": {"summary": "Prom"},
         "body": {"details": {"summary": "CPU high OPS-4"}}, "html_url": "https://acme.pagerduty.com/alerts/PA1"}


def _same(rows):
    fast, slow, fo, so = _both(_pd_raw(rows), PD)
    assert fast == slow
    assert fo.rejects.to_pylist() == so.rejects.to_pylist()
    return fast, fo


def test_an_alert_is_its_trigger():
    fast, fo = _same([("incidents", None, INCIDENT), ("alerts", "Q1", ALERT), ("alerts", "", {"id": "PA2"}),
                      ("alerts", "", {**ALERT, "id": "PA3", "summary": None, "body": None, "alert_key": None,
                                      "severity": None, "incident": {"id": "QX"}})])
    by_id = {e["native_id"]: e for e in fast}
    alert = by_id["alert/PA1"]
    assert (alert["kind"], alert["actor"], alert["actor_type"], alert["title"], alert["severity"], alert["service"]) \
        == ("alert.triggered", "Prom", "system", "CPU high OPS-4", "SEV1", "db")
    assert alert["refs"] == ["pagerduty:Q1", "alert:k-1", "jira:OPS-4", "pagerduty:PA1", "dedup:k-1"]
    assert json.loads(alert["attrs"]) == {"alert_key": "k-1", "status": "resolved", "suppressed": False,
                                          "service_id": "PSVC"}
    assert by_id["alert/PA3"]["title"] == "Alert PA3" and by_id["alert/PA3"]["severity"] is None
    assert [(r["field"], r["reason"]) for r in fo.rejects.to_pylist()] == [("created_at", "missing")]


_ODD = [0, 1, 1.5, 1e16, 10**20, True, False, None, "", " ", "x", "annotate", "user_reference", "Q1", "OPS-1 é",
        [], {}, [0], ["x"], [{}], {"a": None}, {"id": "Q1"}, {"summary": 5}, {"type": "incident", "title": 3},
        [{"summary": "Bob"}, "x"], "[" * 300 + "]" * 300]
_FIELDS = ["type", "id", "created_at", "summary", "note", "event_details", "incident", "agent", "channel", "service",
           "user", "assignees", "alert_key", "status", "suppressed", "severity", "integration", "body", "html_url"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["log_entries", "alerts"]), st.sampled_from(_FIELDS), st.sampled_from(_ODD),
                          st.sampled_from(["", "Q1", None])), min_size=1, max_size=12))
def test_any_json_in_any_field_reads_as_the_oracle_reads_it(changes):
    rows = [("incidents", None, INCIDENT)]
    for i, (stream, field, value, parent) in enumerate(changes):
        base = _entry(i) if stream == "log_entries" else {**ALERT, "id": f"PA{i}"}
        rows.append((stream, parent, {**base, field: value}))
    _same(rows)


def test_text_that_is_not_a_string_is_a_reject_as_the_mapper_searched_it_for_refs():
    # the per-record mapper searched a log entry's body and title and an alert's title for
    # refs: a number, boolean, list or object there failed, and the record was a reject
    rows = [("log_entries", "", _entry(1, summary=5)), ("log_entries", "", _entry(2, note=[1])),
            ("log_entries", "", _entry(3, type="annotate_log_entry", summary=5, note="a note")),   # title: the note
            ("log_entries", "", _entry(4, event_details={"description": 2.5})),
            ("log_entries", "", _entry(5, summary=0)),                                          # falsy: not searched
            ("alerts", "Q1", {**ALERT, "id": "PA6", "summary": True})]
    fast, fo = _same([("incidents", None, INCIDENT)] + rows)
    assert sorted(e["native_id"] for e in fast) == ["R3", "R5"]
    reasons = {json.loads(r["record"])["id"]: r["reason"] for r in fo.rejects.to_pylist()}
    got = "expected string or bytes-like object, got"
    assert reasons == {"R1": f"unexpected shape in log_entries: TypeError: {got} 'int'",
                       "R2": f"unexpected shape in log_entries: TypeError: {got} 'list'",
                       "R4": f"unexpected shape in log_entries: TypeError: {got} 'float'",
                       "PA6": f"unexpected shape in alerts: TypeError: {got} 'bool'"}
