"""Opsgenie alerts read as the API writes them, through to the draft: the incident is
titled with the alert's message, viewing an alert is not a response, and a closed alert
whose log has no close line still resolves at createdAt + report.closeTime (derived, and
saying so)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from incident_timeline.cli import main
from tests.ingest.fakes.opsgenie import OpsgenieFake, millis
from tests.ingest.lakeview import lake_table, serve
from tests.support import write_config

START = datetime(2026, 10, 14, 14, 0, tzinfo=timezone.utc)
CREATED = START + timedelta(hours=4)          # the second alert's createdAt


@pytest.fixture
def genie(httpserver, monkeypatch, sleeps) -> OpsgenieFake:
    return serve(OpsgenieFake, httpserver, monkeypatch, START, 3, timedelta(hours=4))


def _draft(genie: OpsgenieFake, tmp_path) -> dict:
    config = write_config(tmp_path, [genie.source_entry()])
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["--config", str(config), "run", f"opsgenie:{genie.alerts[1]['id']}",
                                       "--format", "json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads((out / "postmortem.json").read_text())


def _log(genie: OpsgenieFake, text: str, kind: str, owner: str, after: timedelta) -> None:
    logs = genie.children[(genie.alerts[1]["id"], "logs")]
    at = CREATED + after
    logs.append({"log": text, "type": kind, "owner": owner, "createdAt": at, "offset": f"{millis(at)}_777"})
    logs.sort(key=lambda x: x["createdAt"])


def test_the_incident_is_titled_with_the_alerts_message(genie, tmp_path):
    report = _draft(genie, tmp_path)
    assert report["incident"]["title"] == genie.alerts[1]["message"] == "checkout-api 5xx above 5% (1)"


def test_viewing_an_alert_is_not_the_first_response(genie, tmp_path):
    _log(genie, "Viewed on [web]", "alertRecipient", "bob@acme.example", timedelta(minutes=2))
    report = _draft(genie, tmp_path)
    assert [r["kind"] for r in report["timeline"] if r["title"] == "Viewed on [web]"] == ["alert.viewed"]
    assert report["milestones"]["first_response"] == "2026-10-14T18:10:00.456Z"     # the note, not the view


def test_a_closed_alert_without_a_close_line_resolves_at_its_close_time(genie, tmp_path):
    logs = genie.children[(genie.alerts[1]["id"], "logs")]
    logs[:] = [x for x in logs if "closed" not in x["log"]]
    report = _draft(genie, tmp_path)
    assert report["milestones"]["resolved"] == "2026-10-14T19:30:00Z"                # createdAt + 5,400,000 ms
    resolved = [r for r in report["timeline"] if r["kind"] == "alert.resolved"]
    assert len(resolved) == 1 and "report.closeTime" in resolved[0]["title"]
    assert resolved[0]["actor"] == "ana@acme.example" and resolved[0]["actor_type"] == "human"   # report.closedBy
    events = [e for e in lake_table(tmp_path, "events").to_pylist()
              if e["kind"] == "alert.resolved" and genie.alerts[1]["id"] in e["native_id"]]
    assert [json.loads(e["attrs"])["derived_from"] for e in events] == ["createdAt + report.closeTime"]


def test_with_its_close_line_the_derived_close_stays_out_of_the_draft(genie, tmp_path):
    report = _draft(genie, tmp_path)
    resolved = [r for r in report["timeline"] if r["kind"] == "alert.resolved"]
    assert [r["title"] for r in resolved] == ["Alert closed via web"]
    assert report["milestones"]["resolved"] == "2026-10-14T19:30:00Z"
    # the lake keeps both, the derived one saying so
    events = [e for e in lake_table(tmp_path, "events").to_pylist()
              if e["kind"] == "alert.resolved" and genie.alerts[1]["id"] in e["native_id"]]
    assert sorted("derived_from" in json.loads(e["attrs"]) for e in events) == [False, True]
