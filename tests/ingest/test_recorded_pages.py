"""Recorded mode (`path:` a folder of saved API pages) for Opsgenie, ServiceNow and Grafana:
the same JSON the APIs return, laid out by the API's paths, read with no network."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from incident_timeline import pipeline
from incident_timeline.config import load_config
from incident_timeline.ingest.base import Window
from tests.ingest.lakeview import fetch, ingest, lake_table
from tests.support import write_config

UTC = timezone.utc
ALERT = "8418d193-2dab-4490-b331-8c02cdd196b7"


def _save(root: Path, endpoint: str, body) -> None:
    path = root / f"{endpoint}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body), encoding="utf-8")


def _opsgenie_pages(root: Path) -> None:
    _save(root, "v2/alerts", {"data": [{"id": ALERT, "tinyId": "1791", "message": "checkout 5xx",
                                        "status": "closed", "priority": "P1",
                                        "createdAt": "2026-10-14T14:02:11.844Z",
                                        "updatedAt": "2026-10-14T14:40:00.000Z",
                                        "report": {"closeTime": 2268156}}],
                              "paging": {"first": "https://api.opsgenie.com/v2/alerts?offset=0"},
                              "took": 0.01, "requestId": "a"})
    _save(root, f"v2/alerts/{ALERT}/logs", {"data": [
        {"log": "Alert acknowledged via web", "type": "system", "owner": "ana@acme.example",
         "createdAt": "2026-10-14T14:06:30.5Z", "offset": "1791986790500_1"}], "took": 0.0, "requestId": "b"})
    _save(root, f"v2/alerts/{ALERT}/notes", {"data": [], "took": 0.0, "requestId": "c"})


def test_opsgenie_from_recorded_pages(tmp_path):
    _opsgenie_pages(tmp_path / "og")
    entry = {"name": "og", "type": "opsgenie", "path": str(tmp_path / "og")}
    assert [r.stream for r in fetch(tmp_path, entry, Window())] == ["alerts", "logs"]
    config = load_config(write_config(tmp_path, [entry]))
    assert pipeline.incident_window(config, f"opsgenie:{ALERT}") == Window(
        datetime(2026, 10, 14, 14, 2, 11, 844000, tzinfo=UTC),
        datetime(2026, 10, 14, 14, 40, tzinfo=UTC))
    result = ingest(tmp_path, [entry])
    assert result.exit_code == 0, result.output
    kinds = sorted((e["kind"], e["severity"]) for e in lake_table(tmp_path, "events").to_pylist())
    # closed, and its log has no close line: the close is derived from report.closeTime
    assert kinds == [("alert.acknowledged", None), ("alert.resolved", None), ("alert.triggered", "SEV1")]
    closed = [e for e in lake_table(tmp_path, "events").to_pylist() if e["kind"] == "alert.resolved"]
    assert closed[0]["ts"] == datetime(2026, 10, 14, 14, 40, tzinfo=UTC)


def test_servicenow_from_recorded_pages(tmp_path):
    root = tmp_path / "snow"
    _save(root, "api/now/table/incident", {"result": [{
        "sys_id": "9d385017c611228701d22104cc95c371", "number": "INC0010001", "short_description": "VPN down",
        "priority": "1", "state": "2", "opened_at": "2026-10-14 09:00:00", "sys_updated_on": "2026-10-14 09:30:00"}]})
    _save(root, "api/now/table/sys_journal_field", {"result": [{
        "sys_id": "a1", "element": "work_notes", "element_id": "9d385017c611228701d22104cc95c371",
        "name": "incident", "value": "restarted the concentrator", "sys_created_on": "2026-10-14 09:20:00",
        "sys_created_by": "ana.ops"}]})
    _save(root, "api/now/table/sys_audit", {"result": []})
    entry = {"name": "snow", "type": "servicenow", "path": str(root), "timezone": "Asia/Kolkata"}
    config = load_config(write_config(tmp_path, [entry]))
    assert pipeline.incident_window(config, "servicenow:INC0010001") == Window(
        datetime(2026, 10, 14, 3, 30, tzinfo=UTC), None)           # not resolved yet
    result = ingest(tmp_path, [entry])
    assert result.exit_code == 0, result.output
    events = {e["kind"]: e for e in lake_table(tmp_path, "events").to_pylist()}
    assert events["ticket.comment"]["ts"] == datetime(2026, 10, 14, 3, 50, tzinfo=UTC)   # +05:30
    assert events["ticket.comment"]["refs"] == ["servicenow:INC0010001"]
    assert events["ticket.created"]["severity"] == "SEV1"


def test_grafana_from_a_recorded_frame(tmp_path):
    root = tmp_path / "grafana"
    line = {"previous": "Pending", "current": "Alerting", "ruleUID": "r1", "ruleTitle": "Disk",
            "fingerprint": "f00d", "labels": {"severity": "warning"}}
    _save(root, "api/v1/rules/history", {"schema": {"fields": [{"name": "time"}, {"name": "line"}]},
                                         "data": {"values": [[1791986400250], [line]]}})
    entry = {"name": "grafana", "type": "grafana", "path": str(root)}
    since = datetime(2026, 10, 14, 14, 0, 0, 250000, tzinfo=UTC)
    assert len(fetch(tmp_path, entry, Window(since, since + timedelta(seconds=1)))) == 1
    assert fetch(tmp_path, entry, Window(None, since)) == []


def _jira_issue(key: str, project: str, created: str) -> dict:
    return {"id": str(10000 + int(key.split("-")[1])), "key": key,
            "self": f"https://acme.atlassian.net/rest/api/3/issue/{key}",
            "fields": {"summary": f"{key} checkout errors", "created": created, "updated": created,
                       "status": {"name": "Open", "id": "1"},
                       "project": {"id": "100" + project[-1], "key": project, "name": project.title()}}}


def test_jira_recorded_pages_with_several_projects_are_read_once(tmp_path):
    root = tmp_path / "jira"
    # one search answer of two pages, the projects' issues mixed as the API returns them
    _save(root, "rest/api/3/search/jql", {"issues": [_jira_issue("OPS-1", "OPS", "2026-10-14T09:00:00.000+0000"),
                                                     _jira_issue("WEB-7", "WEB", "2026-10-14T09:05:00.000+0000")],
                                          "nextPageToken": "p2", "isLast": False})
    _save(root, "rest/api/3/search/jql.page-2", {"issues": [
        _jira_issue("OPS-2", "OPS", "2026-10-14T09:10:00.000+0000")], "isLast": True})
    _save(root, "rest/api/3/issue/OPS-1/comment", {"startAt": 0, "maxResults": 50, "total": 1, "comments": [{
        "id": "501", "author": {"accountId": "a1", "displayName": "Ana Ops"}, "created": "2026-10-14T09:01:00.000+0000",
        "body": {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
            {"type": "text", "text": "rolled back"}]}]}}]})
    entry = {"name": "jira", "type": "jira", "path": str(root), "projects": ["OPS", "WEB"]}
    records = fetch(tmp_path, entry, Window())
    assert sorted((r.partition, r.stream, r.native_id) for r in records) == [
        ("OPS", "comments", "OPS-1/501"), ("OPS", "issues", "OPS-1"), ("OPS", "issues", "OPS-2"),
        ("WEB", "issues", "WEB-7")]
    result = ingest(tmp_path, [entry])
    assert result.exit_code == 0, result.output
    summary = [line.split() for line in result.output.splitlines() if line.startswith("jira ")]
    assert summary and summary[0][1] == "4", result.output        # fetched: the four records, once
    assert lake_table(tmp_path, "events").num_rows == 4           # 3 ticket.created + 1 comment
