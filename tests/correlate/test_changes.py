"""What changed: the deploys, rollbacks and config changes of the incident's services within
correlation.change_window before detection (until its last event) are in the incident, in
the decision points' context and the draft's root-cause evidence; nothing else is."""
from __future__ import annotations

from datetime import timedelta

import pytest

from incident_timeline.correlate.changes import pull_in_changes
from incident_timeline.export.changes import _span
from tests.correlate.lakes import build, lake_config, load_scenario, scenario_events, utc, write_events

SERVICES = {"payments-api": ["Payments", "PSVC9"]}


def _built(tmp_path, **correlation):
    spec = load_scenario("changes")
    config = lake_config(tmp_path, **correlation)
    config.services = SERVICES
    write_events(config.lake, scenario_events(spec))
    return build(config, spec["seed"])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return _built(tmp_path_factory.mktemp("changes"))


def test_the_services_changes_in_the_window_are_members_and_nothing_else(built):
    members = {r["event_id"] for r in built["incident_events"]}
    assert {m for m in members if m.startswith(("gh/", "pdc/"))} == {"gh/deploy", "gh/deployed", "pdc/flag", "gh/rollback"}
    (incident,) = built["incidents"]
    assert incident["services"] == ["payments-api"]       # a change's service id is one of its names


def test_a_change_before_detection_is_neither_the_detection_nor_a_responder(built):
    marks = {m["name"]: m["event_id"] for m in built["milestones"]}
    assert marks["detected"] == "og/trigger"
    people = {r["name"]: r["first_seen"] for r in built["responders"]}
    assert "Ana Ops" not in people and "Cy Lee" not in people
    assert people["Dana Ng"] == utc("2026-09-02T10:03:00Z")
    (incident,) = built["incidents"]
    assert incident["responders"] == 1


def test_decision_points_show_what_had_just_changed(built):
    points = {p["event_id"]: p for p in built["decision_points"]}
    ack = [c["event_id"] for c in points["og/ack"]["recent_changes"]]
    assert ack == ["gh/deploy", "gh/deployed", "pdc/flag"]
    resolve = [c["event_id"] for c in points["og/resolve"]["recent_changes"]]
    assert resolve == ["gh/deployed", "pdc/flag", "gh/rollback"]            # the last three


def test_a_shorter_window_leaves_the_earlier_deploy_out(tmp_path):
    built = _built(tmp_path, change_window="15m")
    members = {r["event_id"] for r in built["incident_events"]}
    assert "pdc/flag" in members and "gh/deploy" not in members and "gh/deployed" not in members
    (ack,) = [p for p in built["decision_points"] if p["event_id"] == "og/ack"]
    assert [c["event_id"] for c in ack["recent_changes"]] == ["pdc/flag"]


def test_a_zero_window_pulls_in_nothing():
    import duckdb
    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE members AS SELECT 'alert' AS category, 'alert.triggered' AS kind, "
                "TIMESTAMPTZ '2026-09-02 10:00:00+00' AS ts, 'x' AS svc")
    assert pull_in_changes(con, timedelta(0)) == 0


def test_spans_read_as_a_person_says_them():
    assert [_span(timedelta(seconds=s)) for s in (30, 60, 431, 3600, 3960, 7320)] == \
        ["under a minute", "1 minute", "7 minutes", "1 hour", "1 hour 6 minutes", "2 hours 2 minutes"]


def test_the_config_key_is_validated(tmp_path):
    from incident_timeline.config import ConfigInvalid, load_config
    from tests.support import write_config

    path = write_config(tmp_path, [{"name": "n", "type": "file", "path": str(tmp_path), "fields": {"ts": "t"}}],
                        correlation={"change_window": "two hours"})
    with pytest.raises(ConfigInvalid, match="correlation.change_window"):
        load_config(path)
