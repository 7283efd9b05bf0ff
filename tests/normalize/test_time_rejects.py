"""A time that cannot be placed is rejected naming the source's own field, on either path."""
import json
from datetime import datetime, timezone

import pyarrow as pa
import pytest

from incident_timeline.contract.schemas import RAW_SCHEMA
from incident_timeline.normalize.engine import normalize_raw
from incident_timeline.normalize.mapping import SourceSpec

NOW = datetime(2026, 10, 15, tzinfo=timezone.utc)
GOOD = "2026-10-14T10:00:00Z"

CASES = [
    ("slack", "messages", "C0INC42", {"type": "message", "user": "U1", "text": "hi", "ts": "yesterday"}, "ts"),
    ("pagerduty", "log_entries", "Q1", {"id": "R1", "type": "trigger_log_entry", "created_at": "soon",
                                        "incident": {"id": "Q1"}}, "created_at"),
    ("jira", "comments", "OPS-1", {"id": "1", "created": "2026-13-45T10:00:00.000+0200", "body": "x"}, "created"),
    ("jira", "issues", None, {"key": "OPS-2", "fields": {"created": "not a time", "summary": "s"}},
     "fields.created"),
    ("opsgenie", "alerts", None, {"id": "a1", "message": "m", "createdAt": "then"}, "createdAt"),
    ("grafana", "history", "r1", {"time": "12:00", "line": {"current": "Alerting", "ruleUID": "r1"}}, "time"),
    ("alertmanager", "notifications", "g", {"alert": {"status": "resolved", "fingerprint": "f1", "startsAt": GOOD,
                                                      "endsAt": "2026-10-14T25:00:00Z"}}, "alert.endsAt"),
    ("servicenow", "incident", None, {"number": "INC0010001", "opened_at": "2026-10-14 10:00:00",
                                      "resolved_at": "2026-10-14 99:00:00"}, "resolved_at"),
    ("servicenow", "sys_journal_field", "INC0010001", {"sys_id": "j1", "sys_created_on": "now", "value": "x"},
     "sys_created_on"),
    ("file", "rows", "notes.csv:2", {"when": "noon", "what": "x"}, "when"),
]


@pytest.mark.parametrize("source_type, stream, parent, payload, field", CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
@pytest.mark.parametrize("vectorized", [True, False], ids=["vectorised", "mapper"])
def test_time_reject_names_the_field_the_source_wrote(source_type, stream, parent, payload, field, vectorized):
    raw = pa.Table.from_pylist([{
        "run_id": "r", "source": "src", "source_type": source_type, "stream": stream, "partition": "",
        "native_id": "n1", "parent_id": parent, "payload": json.dumps(payload), "fetched_at": NOW}],
        schema=RAW_SCHEMA)
    options = {"fields": {"ts": "when", "text": "what"}} if source_type == "file" else {}
    out = normalize_raw(raw, SourceSpec("src", source_type, options=options), entities={},
                        jira_projects=["OPS"], ingested_at=NOW, vectorized=vectorized)
    time_rejects = [r for r in out.rejects.to_pylist() if r["field"] == field]
    assert len(time_rejects) == 1, out.rejects.to_pylist()
    reject = time_rejects[0]
    assert reject["source"] == "src" and reject["native_id"] and reject["record"] == json.dumps(payload)
    assert "timestamp" in reject["reason"] or "outside" in reject["reason"] or "Slack ts" in reject["reason"] \
        or "epoch" in reject["reason"], reject["reason"]
