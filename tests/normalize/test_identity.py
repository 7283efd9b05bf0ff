import json
from datetime import datetime, timezone

import pyarrow as pa

from incident_timeline.contract.schemas import RAW_SCHEMA
from incident_timeline.normalize.engine import normalize_raw
from incident_timeline.normalize.identity import People, as_email, name_key
from incident_timeline.normalize.mapping import SourceSpec

NOW = datetime(2026, 10, 15, tzinfo=timezone.utc)


def test_names_compare_blind_to_case_accents_and_handles():
    assert name_key("Alice Chen") == name_key("alice.chen") == name_key("ALICÉ  chen")
    assert as_email(" Alice.Chen@ACME.example ") == "alice.chen@acme.example"
    assert as_email("PALICE1") is None


def test_email_first_then_name_and_only_when_the_name_is_unambiguous():
    people = People([("Alice Chen", "alice.chen@acme.example", 3), ("alice", "alice.chen@acme.example", 1),
                     ("Sam Lee", "sam.lee@acme.example", 1), ("Sam Lee", "sam.lee2@acme.example", 1)])
    assert people.resolve("alice", "ALICE.CHEN@acme.example") == ("Alice Chen", "alice.chen@acme.example")
    assert people.resolve("alice chen", "PALICE1") == ("Alice Chen", "alice.chen@acme.example")
    assert people.resolve("Sam Lee", "PSAM") == ("Sam Lee", "PSAM")      # two e-mails: no guess
    assert people.resolve("Zoe", "U9") == ("Zoe", "U9")
    assert people.resolve_names("alice.chen, Zoe") == "Alice Chen, Zoe"
    assert people.resolve_names("team-a,team-b") == "team-a,team-b"     # not people: untouched


def _raw(source_type, stream, rows):
    return pa.Table.from_pylist([{
        "run_id": "r", "source": source_type, "source_type": source_type, "stream": stream, "partition": "",
        "native_id": nid, "parent_id": parent, "payload": json.dumps(p), "fetched_at": NOW}
        for nid, parent, p in rows], schema=RAW_SCHEMA)


def test_one_person_across_pagerduty_slack_and_jira():
    jira = normalize_raw(_raw("jira", "comments", [("1", "OPS-1", {
        "id": "1", "created": "2026-10-14T16:40:00.000+0200", "body": "root cause",
        "author": {"displayName": "Alice Chen", "emailAddress": "alice.chen@acme.example"}})]),
        SourceSpec("jira", "jira"), entities={}, ingested_at=NOW)
    people = People.from_events(jira.events)
    slack_users = {"users": {"U1": {"id": "U1", "name": "alice", "profile": {
        "display_name": "alice", "email": "Alice.Chen@acme.example"}}}}
    slack = normalize_raw(_raw("slack_export", "messages", [("C1:1", "C1", {
        "type": "message", "user": "U1", "text": "rolling back", "ts": "1791986850.000700"})]),
        SourceSpec("slack", "slack_export"), entities=slack_users, ingested_at=NOW, people=people)
    pd = normalize_raw(_raw("pagerduty", "log_entries", [("R1", "Q1", {
        "id": "R1", "type": "notify_log_entry", "created_at": "2026-10-14T10:02:13-04:00",
        "user": {"id": "PALICE1", "summary": "alice chen"}, "incident": {"id": "Q1"}}), ("R2", "Q1", {
        "id": "R2", "type": "acknowledge_log_entry", "created_at": "2026-10-14T10:06:40-04:00",
        "agent": {"id": "PALICE1", "type": "user_reference", "summary": "Alice  Chen"},
        "incident": {"id": "Q1"}})]), SourceSpec("pagerduty", "pagerduty"), entities={}, ingested_at=NOW,
        people=people)
    (said,) = slack.events.to_pylist()
    notified, acked = sorted(pd.events.to_pylist(), key=lambda e: e["ts"])
    assert (said["actor"], said["actor_id"]) == ("Alice Chen", "alice.chen@acme.example")
    assert (acked["actor"], acked["actor_id"]) == ("Alice Chen", "alice.chen@acme.example")
    assert notified["subject"] == "Alice Chen" and notified["actor_type"] == "system"
    names = {e["actor"] for t in (jira, slack, pd) for e in t.events.to_pylist() if e["actor_type"] == "human"}
    assert names == {"Alice Chen"}
