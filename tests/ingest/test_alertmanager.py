"""Alertmanager: captured webhook payloads (JSON lines) and the v2 alerts API snapshot."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from incident_timeline.ingest.base import SourceSettings, Window
from incident_timeline.ingest.registry import CONNECTORS
from tests.ingest.lakeview import by_kind, ingest, lake_table

DATA = Path(__file__).parent / "data" / "alertmanager"
WEBHOOK = DATA / "webhook.jsonl"
UTC = timezone.utc


def _fetch(options: dict, window: Window = Window()):
    conn = CONNECTORS["alertmanager"](SourceSettings("am", "alertmanager", options))
    try:
        return [r for p in conn.partitions() for r in conn.fetch(p, window)]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def webhook_lake(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("webhook")
    result = ingest(tmp_path, [{"name": "am", "type": "alertmanager", "path": str(WEBHOOK)}])
    assert result.exit_code == 0, result.output
    return tmp_path


def test_webhook_lines_become_utc_alert_events_once_each(webhook_lake):
    events = by_kind(lake_table(webhook_lake, "events"))
    assert sorted(events) == ["alert.resolved", "alert.triggered"]
    # nanoseconds kept to the microsecond; +02:00 (Alertmanager in local time) placed in UTC
    assert [e["ts"] for e in events["alert.triggered"]] == [
        datetime(2026, 10, 14, 14, 1, 43, 417362, tzinfo=UTC),
        datetime(2026, 10, 14, 14, 3, 13, 981, tzinfo=UTC)]
    assert [e["ts"] for e in events["alert.resolved"]] == [
        datetime(2026, 10, 14, 14, 38, 58, 123456, tzinfo=UTC),
        datetime(2026, 10, 14, 14, 39, 13, 500000, tzinfo=UTC)]
    first = events["alert.triggered"][0]
    assert first["refs"][0] == "alert:5f2c3a9e1b7d4c60"
    assert "servicenow:INC0010001" in first["refs"]          # found in the description
    assert first["severity"] == "SEV1" and first["service"] == "checkout-api"
    assert first["ts_raw"] == "2026-10-14T14:01:43.417362891Z"


def test_bad_lines_are_rejects_naming_file_line_and_reason(webhook_lake):
    rejects = sorted(lake_table(webhook_lake, "rejects").to_pylist(), key=lambda r: r["native_id"])
    assert [(r["native_id"], r["field"]) for r in rejects] == [("webhook.jsonl:3", "line"),
                                                              ("webhook.jsonl:5", "line")]
    assert "webhook.jsonl line 3: invalid JSON" in rejects[0]["reason"]
    assert "no alerts[] list" in rejects[1]["reason"]
    assert json.loads(rejects[0]["record"])["text"].startswith('{"receiver"')   # the line is kept


def test_repeated_notifications_are_fetched_once():
    records = _fetch({"path": str(WEBHOOK)})
    keys = [(r.stream, r.native_id) for r in records]
    assert len(keys) == len(set(keys))
    assert sum(r.stream == "notifications" for r in records) == 4   # 2 alerts x firing/resolved


def test_window_is_half_open_on_the_alerts_own_time():
    since = datetime(2026, 10, 14, 14, 3, 13, 981, tzinfo=UTC)       # exactly web-2's start
    until = datetime(2026, 10, 14, 14, 38, 58, 123456, tzinfo=UTC)   # exactly web-1's end
    got = {r.native_id for r in _fetch({"path": str(WEBHOOK)}, Window(since, until))
           if r.stream == "notifications"}
    assert got == {"a81be0c2d4f9e713@2026-10-14T16:03:13.000981234+02:00:firing"}


def test_glob_over_rotated_files(tmp_path):
    lines = WEBHOOK.read_text().splitlines()
    (tmp_path / "webhook.jsonl.1").write_text("\n".join(lines[:2]) + "\n")
    (tmp_path / "webhook.jsonl.2").write_text("\n".join(lines[3:]) + "\n")
    records = _fetch({"path": str(tmp_path / "webhook.jsonl.*")})
    assert sum(r.stream == "notifications" for r in records) == 4
    assert [r.native_id for r in records if r.stream == "unreadable"] == ["webhook.jsonl.2:2"]


# ---- the v2 API snapshot, against a local server speaking GET /api/v2/alerts -------------

def _api_alert(fingerprint: str, starts: str) -> dict:
    return {"annotations": {"summary": "disk almost full"}, "receivers": [{"name": "incident-timeline"}],
            "fingerprint": fingerprint, "startsAt": starts, "updatedAt": starts,
            "endsAt": "2026-10-14T15:05:00.000Z",   # the API's endsAt is a resolve timeout, not an end
            "generatorURL": "http://prometheus.acme.example:9090/graph", "labels": {
                "alertname": "DiskFull", "severity": "warning", "instance": "db-1"},
            "status": {"state": "active", "silencedBy": [], "inhibitedBy": []}}


def test_api_snapshot_with_bearer_token_survives_429_and_5xx(httpserver, monkeypatch, sleeps, tmp_path):
    monkeypatch.setenv("AM_TOKEN", "am-proxy-token-123")
    alerts = [_api_alert("0c1d2e3f4a5b6c7d", "2026-10-14T14:00:00.5Z")]
    auth = {"Authorization": "Bearer am-proxy-token-123"}
    httpserver.expect_ordered_request("/api/v2/alerts").respond_with_data(
        "{}", status=429, headers={"Retry-After": "4"})
    httpserver.expect_ordered_request("/api/v2/alerts").respond_with_data("oops", status=502)
    httpserver.expect_ordered_request("/api/v2/alerts", headers=auth,
                                      query_string={"active": "true", "silenced": "true",
                                                    "inhibited": "true"}).respond_with_json(alerts)
    result = ingest(tmp_path, [{"name": "am", "type": "alertmanager", "base_url": httpserver.url_for("/"),
                                "token": "${AM_TOKEN}"}],
                    "--since", "2026-10-14T00:00:00Z", "--until", "2026-10-15T00:00:00Z")
    assert result.exit_code == 0, result.output
    assert sleeps[0] >= 4 and len(sleeps) == 2
    (event,) = lake_table(tmp_path, "events").to_pylist()
    assert event["kind"] == "alert.triggered" and event["severity"] == "SEV3"
    assert event["ts"] == datetime(2026, 10, 14, 14, 0, 0, 500000, tzinfo=UTC)
    assert "am-proxy-token-123" not in result.output


def test_api_and_webhook_name_the_same_alert_with_one_event_id(httpserver, tmp_path):
    starts = "2026-10-14T14:01:43.417362891Z"
    httpserver.expect_request("/api/v2/alerts").respond_with_json([_api_alert("5f2c3a9e1b7d4c60", starts)])
    result = ingest(tmp_path, [{"name": "am", "type": "alertmanager", "path": str(WEBHOOK),
                                "base_url": httpserver.url_for("/")}],
                    "--since", "2026-10-14T00:00:00Z", "--until", "2026-10-15T00:00:00Z")
    assert result.exit_code == 0, result.output
    triggered = [e for e in lake_table(tmp_path, "events").to_pylist() if e["kind"] == "alert.triggered"]
    assert len({e["event_id"] for e in triggered}) == 2      # web-1 (both views) and web-2


def test_api_bad_auth_is_one_line(httpserver, monkeypatch, tmp_path):
    monkeypatch.setenv("AM_TOKEN", "wrong-token-456")
    httpserver.expect_request("/api/v2/alerts").respond_with_json({"message": "unauthorized"}, status=401)
    result = ingest(tmp_path, [{"name": "am", "type": "alertmanager", "base_url": httpserver.url_for("/"),
                                "token": "${AM_TOKEN}"}])
    assert result.exit_code != 0
    failed = [line for line in result.output.splitlines() if "FAILED" in line]
    assert len(failed) == 1 and "am" in failed[0] and "401" in failed[0]
    assert "wrong-token-456" not in result.output and "Traceback" not in result.output


def test_api_answer_that_is_not_json_is_a_clear_error(httpserver, tmp_path):
    httpserver.expect_request("/api/v2/alerts").respond_with_data("not json", content_type="application/json")
    result = ingest(tmp_path, [{"name": "am", "type": "alertmanager", "base_url": httpserver.url_for("/")}])
    assert result.exit_code != 0
    assert "source am" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("body", [{"data": []}, None])
def test_api_answer_of_json_that_is_not_a_list_is_a_reject(httpserver, tmp_path, body):
    httpserver.expect_request("/api/v2/alerts").respond_with_json(body)
    result = ingest(tmp_path, [{"name": "am", "type": "alertmanager", "base_url": httpserver.url_for("/")}])
    assert result.exit_code == 0, result.output
    [reject] = lake_table(tmp_path, "rejects").to_pylist()
    assert (reject["source"], reject["stage"], reject["field"]) == ("am", "ingest", "<body>")
    assert "not a list" in reject["reason"]
