"""The demo: bundled fixtures -> lake -> one incident -> draft post-mortem."""
from __future__ import annotations

import json

import duckdb
from click.testing import CliRunner

from incident_timeline.cli import main

from tests.support import DEMO_INCIDENT


def _rows(report, **match):
    return [r for r in report["timeline"] if all(r[k] == v for k, v in match.items())]


def test_key_events_from_every_source_have_exact_utc_times(demo_report):
    # PagerDuty wrote 10:02:11-04:00 (account zone America/New_York)
    (trigger,) = _rows(demo_report, source="pagerduty", kind="alert.triggered")
    assert trigger["ts"] == "2026-10-14T14:02:11Z"
    assert trigger["actor_type"] == "system"
    # Jira wrote 16:09:58.000+0200 (instance in Europe/Berlin)
    (created,) = [r for r in _rows(demo_report, source="jira", kind="ticket.created")
                  if "OPS-1234" in r["title"]]
    assert created["ts"] == "2026-10-14T14:09:58Z"
    # Slack wrote an epoch-seconds ts
    (mitigation,) = [r for r in _rows(demo_report, source="slack") if "Rollback complete" in r["body"]]
    assert mitigation["ts"].startswith("2026-10-14T14:26:45")
    assert mitigation["actor"] == "Bob Martin"
    (reply,) = _rows(demo_report, source="slack", kind="chat.reply")
    assert reply["body"] == "ack, watching the dashboards & the 5xx graph"   # &amp; unescaped


def test_milestones_and_metrics(demo_report):
    m = demo_report["milestones"]
    assert m["detected"] == "2026-10-14T14:02:11Z"
    assert m["acknowledged"] == "2026-10-14T14:06:40Z"
    assert m["resolved"] == "2026-10-14T14:31:10Z"
    assert m["mitigated"].startswith("2026-10-14T14:26:45")
    metrics = demo_report["metrics"]
    assert metrics["time_to_acknowledge_s"] == 269
    assert metrics["time_to_resolve_s"] == 1739
    assert metrics["escalations"] == 1
    assert metrics["pages"] == 2


def test_noise_is_excluded(demo_report):
    text = " ".join(f"{r['title']} {r['body']}" for r in demo_report["timeline"])
    assert "Q9Z8Y7X" not in text and "search-indexer" not in text      # the other incident
    assert "lunch" not in text and "coffee" not in text                 # #random chatter
    assert "OPS-1229" not in text and "TLS" not in text                 # the unrelated ticket
    assert demo_report["incident"]["services"] == ["checkout-api"]


def test_timeline_holds_all_the_sources_in_utc_order(demo_report):
    rows = demo_report["timeline"]
    assert {r["source"] for r in rows} == {"pagerduty", "slack", "jira", "github", "statuspage"}
    keys = [(r["ts"], r["source"], r["event_ids"][0]) for r in rows]
    assert keys == sorted(keys)
    assert all(r["ts"].endswith("Z") for r in rows)
    # what changed comes first: the v2.31.0 deploy at 13:55, seven minutes before the alert
    assert [r["kind"] for r in rows[:3]] == ["change.deploy_started", "change.deploy_finished", "alert.triggered"]


def test_follow_up_ticket_is_an_action_item(demo_report):
    items = {a["ref"]: a for a in demo_report["action_items"]}
    assert items["jira:OPS-1240"]["owner"] == "Bob Martin"
    assert items["jira:OPS-1240"]["due"] == "2026-10-28"
    assert "jira:OPS-1234" not in items   # the incident's own ticket is not a follow-up


def test_markdown_draft_has_every_section(demo_config, demo_report, tmp_path):
    text = (tmp_path / "out" / "postmortem.md").read_text(encoding="utf-8")
    for heading in ("## Summary", "## Key metrics", "## Timeline", "## Impact assessment",
                    "## Response effectiveness", "## Root cause", "### Five Whys",
                    "## Corrective actions", "## Data sources and data quality"):
        assert heading in text
    assert "DRAFT" in text and "TO COMPLETE" in text
    # the trigger and the bot's post of it in #alerts are one row that names both sources
    assert "| 14:02:11 UTC | pagerduty, slack |" in text


def test_catalog_can_be_queried_read_only(demo_config, demo_report, tmp_path):
    con = duckdb.connect(str(tmp_path / "lake" / "catalog.duckdb"), read_only=True)
    try:
        n = con.execute("SELECT count(*) FROM events WHERE list_contains(refs, ?)", [DEMO_INCIDENT]).fetchone()[0]
        sources = {r[0] for r in con.execute("SELECT DISTINCT source FROM events").fetchall()}
        incident = con.execute("SELECT time_to_resolve_s FROM incidents WHERE incident_id = ?",
                               [DEMO_INCIDENT]).fetchone()
    finally:
        con.close()
    assert n >= 10
    assert sources == {"pagerduty", "slack", "jira", "github", "statuspage"}
    assert incident == (1739.0,)


def test_rerun_does_not_duplicate_events(demo_config, tmp_path):
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(main, ["--config", str(demo_config), "ingest"])
        assert result.exit_code == 0, result.output
    con = duckdb.connect(str(tmp_path / "lake" / "catalog.duckdb"), read_only=True)
    try:
        total, distinct = con.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone()
    finally:
        con.close()
    # PagerDuty 7 + 4 log entries; Slack 4 #alerts + 8 incident channel + 4 #random;
    # Jira OPS-1234 6 (created, 4 changelog items, 1 comment), OPS-1229 3, OPS-1240 1;
    # GitHub 4 deployments (one of search-indexer), 8 statuses, 1 release, 1 merged pull request;
    # Statuspage 4 updates of the checkout incident, 2 of an older search one.
    assert total == distinct == 11 + 16 + 10 + 14 + 6


def test_an_explicit_window_does_not_move_cursors(demo_config, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["--config", str(demo_config), "ingest", "--since", "2026-10-14T14:00:00Z",
                                  "--until", "2026-10-14T15:00:00Z"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["--config", str(demo_config), "query", "--format", "json",
                                  "SELECT count(*) AS n FROM cursors"])
    assert json.loads(result.output) == [{"n": 0}]
    result = runner.invoke(main, ["--config", str(demo_config), "ingest"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["--config", str(demo_config), "query", "--format", "json",
                                  "SELECT count(DISTINCT source) AS n FROM cursors"])
    assert json.loads(result.output) == [{"n": 5}]
