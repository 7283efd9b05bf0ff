"""Opsgenie beyond the shared suite: `run opsgenie:<id>`, its rate-limit headers, and
what each activity-log line means."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from incident_timeline import pipeline
from incident_timeline.cli import main
from incident_timeline.config import load_config
from incident_timeline.ingest.base import Window
from incident_timeline.normalize.mappings.opsgenie import log_kind
from tests.ingest.fakes.opsgenie import OpsgenieFake
from tests.ingest.lakeview import fetch, serve
from tests.support import write_config

START = datetime(2026, 10, 14, 14, 0, tzinfo=timezone.utc)


@pytest.fixture
def genie(httpserver, monkeypatch, sleeps) -> OpsgenieFake:
    return serve(OpsgenieFake, httpserver, monkeypatch, START, 3, timedelta(hours=4))


def test_run_takes_the_window_from_the_alert_and_builds(genie, tmp_path):
    config = write_config(tmp_path, [genie.source_entry()])
    alert_id = genie.alerts[1]["id"]
    window = pipeline.incident_window(load_config(config), f"opsgenie:{alert_id}")
    created = START + timedelta(hours=4)
    assert window == Window(created, created + timedelta(minutes=90))   # report.closeTime
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["--config", str(config), "run", f"opsgenie:{alert_id}",
                                       "--format", "json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "postmortem.json").read_text())
    assert report["milestones"]["detected"] == "2026-10-14T18:00:00Z"
    assert report["milestones"]["acknowledged"] == "2026-10-14T18:05:00.123Z"
    assert report["milestones"]["resolved"] == "2026-10-14T19:30:00Z"
    notified = [row for row in report["timeline"] if row["kind"] == "alert.notified"]
    assert notified and all(row["actor_type"] == "system" for row in notified)
    kinds = [row["kind"] for row in report["timeline"]]
    assert {"alert.triggered", "alert.notified", "alert.acknowledged", "alert.annotated",
            "alert.resolved"} <= set(kinds)
    # only this alert's window was fetched: the other alerts' logs never were
    other = genie.alerts[0]["id"]
    assert not any(other in r.path for r in genie.served)


def test_throttled_answer_waits_the_period_it_names(genie, tmp_path, sleeps):
    genie.fail_next(429, {"X-RateLimit-State": "THROTTLED", "X-RateLimit-Period-In-Sec": "12"},
                    {"message": "You are making too many requests!", "took": 0.0, "requestId": "r1"})
    records = fetch(tmp_path, genie.source_entry(), Window(START, START + timedelta(days=1)))
    assert len([r for r in records if r.stream == "alerts"]) == 3
    assert 12 <= sleeps[0] < 13


def test_past_the_offset_limit_the_list_restarts_from_the_last_created(genie, tmp_path, monkeypatch):
    monkeypatch.setattr("incident_timeline.ingest.opsgenie.MAX_OFFSET", 6)
    genie.max_offset = 6
    genie.populate(START + timedelta(days=1), 9, timedelta(minutes=10))     # 12 alerts in all
    window = Window(START - timedelta(days=1), START + timedelta(days=3))
    alerts = [r.native_id for r in fetch(tmp_path, genie.source_entry(), window) if r.stream == "alerts"]
    assert alerts == [a["id"] for a in genie.alerts]                      # each once, in order
    restarts = [r.args["query"] for r in genie.served if r.path == "/v2/alerts" and "createdAt >=" in
                r.args.get("query", "")]
    assert restarts, "the list never restarted from a createdAt"


@pytest.mark.parametrize("text, log_type, kind", [
    ("Alert acknowledged via web", "system", "alert.acknowledged"),
    ("Alert unacknowledged via mobile", "system", "alert.unacknowledged"),
    ("Alert closed via API[Prometheus]", "system", "alert.resolved"),
    ("Escalated to [Checkout escalation] on level 2", "system", "alert.escalated"),
    ("Sent [SMS] to ana@acme.example", "alertRecipient", "alert.notified"),
    ("Viewed on [web]", "alertRecipient", "alert.viewed"),
    ("Alert created via API[Prometheus]", "system", None),      # the alert record stands for it
    ("Added note: rolling back", "system", None),               # the notes endpoint holds it
    ("Tags [checkout] added", "system", "alert.updated"),
])
def test_activity_log_lines_map_to_kinds(text, log_type, kind):
    assert log_kind(text, log_type) == kind
