"""What customers were told: the status page updates of the incident's services from
pad_before before detection until its last event are in the incident and its
status_updates rows; they are no milestone, responder or response; nothing else comes in."""
from __future__ import annotations

import pytest

from tests.correlate.lakes import build, lake_config, load_scenario, scenario_events, utc, write_events

SERVICES = {"payments-api": ["Payments"]}


def _built(tmp_path, seed=None, **correlation):
    spec = load_scenario("status_page")
    config = lake_config(tmp_path, **correlation)
    config.services = SERVICES
    write_events(config.lake, scenario_events(spec))
    return build(config, seed or spec["seed"])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return _built(tmp_path_factory.mktemp("status_page"))


def test_the_services_updates_in_the_window_are_members_and_nothing_else(built):
    members = {r["event_id"] for r in built["incident_events"]}
    assert {m for m in members if m.startswith("sp/")} == {"sp/sp-early", "sp/sp-identified", "sp/sp-resolved"}
    (incident,) = built["incidents"]
    assert incident["services"] == ["payments-api"] and "sp" in incident["sources"]


def test_status_updates_rows_say_when_and_what(built):
    rows = built["status_updates"]
    assert [(r["event_id"], r["status"], r["since_detected_s"]) for r in rows] == [
        ("sp/sp-early", "investigating", -1205.0), ("sp/sp-identified", "identified", 715.0),
        ("sp/sp-resolved", "resolved", 1435.0)]
    first = rows[0]
    assert (first["page_incident"], first["page_incident_id"], first["shortlink"], first["impact"]) == \
        ("Payments failing", "bbbbbbbbbbbb", "https://stspg.io/bbbb", "major")
    assert first["text"] == "We are investigating <failed> payments."
    seqs = {r["event_ids"][0]: r["seq"] for r in built["timeline"]}
    assert [r["seq"] for r in rows] == [seqs[r["event_id"]] for r in rows]


def test_an_update_is_no_milestone_no_responder_and_no_response(built):
    marks = {m["name"]: m["event_id"] for m in built["milestones"]}
    assert marks["detected"] == "og/trigger" and marks["resolved"] == "og/resolve"
    assert not any(e.startswith("sp/") for e in marks.values())
    assert [r["name"] for r in built["responders"]] == ["Dana Ng"]


def test_a_shorter_pad_leaves_the_early_update_out(tmp_path):
    built = _built(tmp_path, pad_before="10m")
    assert [r["event_id"] for r in built["status_updates"]] == ["sp/sp-identified", "sp/sp-resolved"]


def test_the_status_page_incident_is_a_seed_of_its_own(tmp_path):
    built = _built(tmp_path, seed="statuspage:bbbbbbbbbbbb")
    members = {r["event_id"] for r in built["incident_events"]}
    assert {"sp/sp-early", "sp/sp-identified", "sp/sp-resolved", "sp/sp-late"} <= members
    (incident,) = built["incidents"]
    assert incident["detected"] == utc("2026-09-02T09:40:00Z")
