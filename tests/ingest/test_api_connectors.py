"""What is particular to the Slack, PagerDuty and Jira connectors, against their fakes."""
from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

import incident_timeline.ingest.pagerduty
from incident_timeline import ingest
from incident_timeline import pipeline
from incident_timeline.cli import main
from incident_timeline.config import ConfigInvalid, load_config
from incident_timeline.ingest.base import Window
from incident_timeline.ingest.errors import ConfigError, RetriesExhausted, SourceError
from tests.ingest.fakes.jira import JiraCloudFake
from tests.ingest.fakes.pagerduty import PagerDutyFake
from tests.ingest.fakes.slack import CHANNEL, TOKEN, SlackFake
from tests.ingest.test_conformance import (COUNT, SPACING, START, WHOLE, cli_ingest, connector_for,
                                          expected_keys, fetch_all, fetch_entry, keys)
from tests.support import write_config


def _ready(fake_cls, httpserver, monkeypatch):
    fake = fake_cls(httpserver)
    for var, value in fake.environment().items():
        monkeypatch.setenv(var, value)
    fake.populate(START, COUNT, SPACING)
    return fake


@pytest.fixture
def slack(httpserver, monkeypatch, sleeps):
    return _ready(SlackFake, httpserver, monkeypatch)


@pytest.fixture
def pagerduty(httpserver, monkeypatch, sleeps):
    return _ready(PagerDutyFake, httpserver, monkeypatch)


@pytest.fixture
def jira(httpserver, monkeypatch, sleeps):
    return _ready(JiraCloudFake, httpserver, monkeypatch)


# ---------------------------------------------------------------- Slack

def test_slack_missing_scope_names_the_needed_scope(slack, tmp_path):
    slack.scope_missing = "channels:history"
    result = cli_ingest(write_config(tmp_path, [slack.source_entry()]), WHOLE)
    assert result.exit_code != 0
    failed = [line for line in result.output.splitlines() if "FAILED" in line]
    assert len(failed) == 1 and "channels:history" in failed[0] and "chat" in failed[0]
    assert "Traceback" not in result.output


def test_slack_late_reply_to_an_older_thread_is_fetched(slack, tmp_path):
    # the thread started at START; its second reply comes 75 minutes later
    window = Window(START + SPACING, START + 2 * SPACING)
    records = fetch_all(slack, tmp_path, window)
    late = [r for r in records if r.stream == "replies"]
    assert [r.payload["thread_ts"] for r in late] == [slack.messages[0]["ts"]]


def test_slack_thread_lookback_zero_misses_late_replies(slack, tmp_path):
    connector = connector_for({**slack.source_entry(), "thread_lookback": "0s"}, tmp_path)
    window = Window(START + SPACING, START + 2 * SPACING)
    streams = [r.stream for r in connector.fetch(CHANNEL, window)]
    assert "replies" not in streams and "messages" in streams


def test_slack_a_broadcast_reply_is_fetched_once(slack, tmp_path):
    records = fetch_all(slack, tmp_path, WHOLE)
    broadcast = [r for r in records if r.payload.get("subtype") == "thread_broadcast"]
    assert len(broadcast) == 1 and broadcast[0].stream == "messages"


def test_slack_channel_names_are_resolved(slack, tmp_path):
    connector = connector_for({**slack.source_entry(), "channels": ["#inc-checkout"]}, tmp_path)
    assert connector.partitions() == ["", CHANNEL]


def test_slack_unknown_error_is_one_line(slack, tmp_path):
    connector = connector_for({**slack.source_entry(), "channels": ["C0NOTHERE1"]}, tmp_path)
    with pytest.raises(SourceError, match="channel_not_found"):
        list(connector.fetch("", WHOLE))


def test_slack_rate_limit_that_never_ends_gives_up(slack, tmp_path, sleeps):
    slack.fail_next(429, {"Retry-After": "30"}, body={"ok": False, "error": "ratelimited"}, times=50)
    with pytest.raises(RetriesExhausted, match="rate limited"):
        fetch_all(slack, tmp_path, WHOLE)
    assert len(sleeps) == 5 and min(sleeps) >= 30


def test_slack_an_answer_cut_short_fails_only_that_source(slack, tmp_path):
    slack.cut_short = "conversations.history"
    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"time": "%s", "note": "paged the DBA", "id": "n1"}\n' % (START + SPACING).isoformat(),
                     encoding="utf-8")
    note_entry = {"name": "notes", "type": "file", "path": str(notes),
                  "fields": {"ts": "time", "text": "note", "id": "id"}}
    result = cli_ingest(write_config(tmp_path, [slack.source_entry(), note_entry]), WHOLE)
    assert result.exit_code == 3, result.output      # some sources failed, the others landed
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.startswith(("chat ", "notes "))}
    assert "FAILED" not in lines["notes"] and lines["notes"].split()[1] == "1"
    failed = lines["chat"]
    assert "FAILED: source chat, conversations.history (channel C0INC12345)" in failed
    assert "not complete JSON (Unterminated string" in failed and ", character " in failed and "cut short" in failed
    assert "Traceback" not in result.output and TOKEN not in result.output


# ---------------------------------------------------------------- PagerDuty

@pytest.mark.parametrize("reports_total", [True, False])
def test_pagerduty_splits_a_range_past_the_offset_limit(pagerduty, tmp_path, monkeypatch, reports_total):
    monkeypatch.setattr(ingest.pagerduty, "MAX_OFFSET", 9)
    pagerduty.max_offset = 9
    pagerduty.reports_total = reports_total
    records = fetch_all(pagerduty, tmp_path, WHOLE)
    assert keys(records) == expected_keys(pagerduty, WHOLE)
    offsets = [int(r.args.get("offset", 0)) + int(r.args.get("limit", 0)) for r in pagerduty.served]
    assert max(offsets) <= 9


def test_pagerduty_times_in_the_account_zone_are_read_right(pagerduty, tmp_path):
    pagerduty.honour_time_zone = False   # as if time_zone=UTC were ignored
    records = fetch_all(pagerduty, tmp_path, WHOLE)
    assert keys(records) == expected_keys(pagerduty, WHOLE)
    assert all(r.payload["created_at"].endswith("-04:00") for r in records)
    assert all(r.args.get("time_zone") == "UTC" for r in pagerduty.served
               if not r.path.endswith("/alerts"))


def test_pagerduty_entries_of_an_incident_created_before_the_window(pagerduty, tmp_path):
    window = Window(START + SPACING + timedelta(minutes=30), START + 2 * SPACING)
    records = fetch_all(pagerduty, tmp_path, window)
    resolves = [r for r in records if r.stream == "log_entries"]
    assert [r.payload["type"] for r in resolves] == ["resolve_log_entry"]
    assert resolves[0].parent_id == "PINC0000"
    assert resolves[0].payload["incident"]["title"] == "Disk full on db-0"


def test_pagerduty_incident_window_over_http(pagerduty, tmp_path):
    config = load_config(write_config(tmp_path, [pagerduty.source_entry()]))
    found = pipeline.incident_window(config, "pagerduty:PINC0003")
    assert found == Window(START + 3 * SPACING, START + 3 * SPACING + timedelta(minutes=90))


def test_pagerduty_server_errors_that_never_end_give_up(pagerduty, tmp_path, sleeps):
    pagerduty.fail_next(502, times=50)
    with pytest.raises(RetriesExhausted, match="HTTP 502"):
        fetch_all(pagerduty, tmp_path, WHOLE)
    assert sleeps == sorted(sleeps)   # backoff never shrinks


# ---------------------------------------------------------------- Jira

def test_jira_asks_for_fields_and_a_widened_jql(jira, tmp_path):
    since = START + 2 * SPACING
    fetch_all(jira, tmp_path, Window(since, WHOLE.until))
    search = [r for r in jira.served if r.path.endswith("/search/jql")]
    assert search and all("summary" in r.args["fields"] for r in search)
    assert f'updated >= "{since - timedelta(days=1):%Y-%m-%d %H:%M}"' in search[0].args["jql"]


def test_jira_jql_timezone_writes_the_exact_local_literal(jira, tmp_path):
    entry = {**jira.source_entry(), "jql_timezone": "Europe/Berlin"}
    window = Window(START + 2 * SPACING, WHOLE.until)
    records = fetch_entry(entry, tmp_path, window)
    assert keys(records) == expected_keys(jira, window)
    jql = [r.args["jql"] for r in jira.served if r.path.endswith("/search/jql")][0]
    assert 'updated >= "2026-03-10 01:00"' in jql   # 00:00 UTC is 01:00 in Berlin


def test_jira_cloud_needs_an_email_and_data_center_does_not(jira, tmp_path):
    entry = {k: v for k, v in jira.source_entry().items() if k != "email"}
    with pytest.raises(ConfigInvalid, match="email is required"):
        load_config(write_config(tmp_path, [entry]))
    load_config(write_config(tmp_path, [{**entry, "deployment": "datacenter"}]))


def test_jira_unknown_deployment_is_a_config_error(jira, tmp_path):
    entry = {**jira.source_entry(), "deployment": "server-2012"}
    with pytest.raises(ConfigError, match="deployment must be one of"):
        fetch_entry(entry, tmp_path, WHOLE)


def test_jira_comment_bodies_become_text(jira, tmp_path):
    result = cli_ingest(write_config(tmp_path, [jira.source_entry()]), WHOLE)
    assert result.exit_code == 0, result.output
    out = CliRunner().invoke(main, ["--config", str(tmp_path / "connectors.yaml"), "query",
                                    "SELECT body FROM events WHERE kind = 'ticket.comment' "
                                    "ORDER BY ts LIMIT 1", "--format", "csv"])
    assert "looking at OPS-100 (0)" in out.output


def test_slack_recorded_pages_need_no_token(tmp_path):
    import json

    root = tmp_path / "slack-pages"
    parent = {"type": "message", "user": "U0ANA", "text": "disk full", "ts": "1773093600.000100",
              "thread_ts": "1773093600.000100", "reply_count": 1, "latest_reply": "1773094200.000200"}
    reply = {"type": "message", "user": "U0BEN", "text": "on it", "ts": "1773094200.000200",
             "thread_ts": "1773093600.000100"}
    pages = {"users.list.json": {"ok": True, "members": [{"id": "U0ANA", "name": "ana"}]},
             f"{CHANNEL}/conversations.info.json": {"ok": True, "channel": {"id": CHANNEL, "name": "inc"}},
             f"{CHANNEL}/conversations.history.json": {"ok": True, "messages": [parent]},
             f"{CHANNEL}/conversations.replies/{parent['ts']}.json": {"ok": True, "messages": [parent, reply]}}
    for name, body in pages.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(json.dumps(body), encoding="utf-8")
    records = fetch_entry({"name": "chat", "type": "slack", "path": str(root)}, tmp_path, Window())
    assert [(r.stream, r.native_id) for r in records] == [
        ("users", "U0ANA"), ("channels", CHANNEL), ("messages", f"{CHANNEL}:{parent['ts']}"),
        ("replies", f"{CHANNEL}:{reply['ts']}")]


def test_jira_incident_window_over_http(jira, tmp_path):
    config = load_config(write_config(tmp_path, [jira.source_entry()]))
    found = pipeline.incident_window(config, "jira:OPS-102")
    # the fake's issues are never resolved: the window runs to the last update
    assert found == Window(START + 2 * SPACING, START + 2 * SPACING + timedelta(minutes=80))


def test_a_server_that_is_not_there_is_retried_then_one_line(tmp_path, monkeypatch, sleeps):
    import socket

    with socket.socket() as s:   # a port nobody listens on
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("FAKE_PD_TOKEN", "u+never-shown")
    entry = {"name": "pd", "type": "pagerduty", "base_url": f"http://localhost:{port}",
             "token": "${FAKE_PD_TOKEN}"}
    with pytest.raises(RetriesExhausted, match="connection error") as err:
        fetch_entry(entry, tmp_path, WHOLE)
    assert len(sleeps) == 5 and "u+never-shown" not in str(err.value)
    slack = {"name": "chat", "type": "slack", "base_url": f"http://localhost:{port}/api/",
             "token": "${FAKE_PD_TOKEN}", "channels": [CHANNEL]}
    with pytest.raises(RetriesExhausted, match="connection error") as err:
        fetch_entry(slack, tmp_path, WHOLE)
    assert len(sleeps) == 5 + 3 and "u+never-shown" not in str(err.value)


def test_pagerduty_services_are_partitions(pagerduty, tmp_path):
    mine = fetch_entry({**pagerduty.source_entry(), "services": ["PSVC001"]}, tmp_path, WHOLE)
    assert keys(mine) == expected_keys(pagerduty, WHOLE) and {r.partition for r in mine} == {"PSVC001"}
    assert fetch_entry({**pagerduty.source_entry(), "services": ["PNOTOURS"]}, tmp_path, WHOLE) == []


def test_jira_projects_are_partitions(jira, tmp_path):
    entry = {k: v for k, v in jira.source_entry().items() if k != "jql"}
    records = fetch_entry({**entry, "projects": ["OPS"]}, tmp_path, WHOLE)
    assert keys(records) == expected_keys(jira, WHOLE) and {r.partition for r in records} == {"OPS"}
    jql = [r.args["jql"] for r in jira.served if r.path.endswith("/search/jql")][0]
    assert jql.startswith('project = "OPS" AND updated >= ')
