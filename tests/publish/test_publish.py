"""`publish` through the real clients (requests, slack_sdk, google-auth) against local fakes of
each API: a first publish creates, a second updates in place, `--new` starts anew, and one
target failing leaves the others published (exit 3)."""
from __future__ import annotations

import json

from werkzeug import Response

from tests.support import DEMO_INCIDENT, cli, query_rows

PUBS = "SELECT target, destination, remote_id, url, version FROM incident_publications ORDER BY target, destination"


def test_publishes_to_every_target_and_links_them(cfg, apis):
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "slack,jira", "--to", "confluence", "--to", "gdrive")
    assert result.exit_code == 0, result.output
    conf, drive, slack, jira = apis["confluence"], apis["gdrive"], apis["slack"], apis["jira"]
    (page_id, page), = conf.pages.items()
    assert page["spaceId"] == "98300" and page["parentId"] == "1000"
    assert page["body"]["representation"] == "storage" and "<table>" in page["body"]["value"]
    assert page["title"] == "Post-mortem: checkout-api: 5xx error rate above 5% (pagerduty:Q2W3E4R)"
    assert conf.attachments[page_id]["timeline.svg"].startswith(b"<svg")
    assert {"service-checkout-api", "severity-sev1", "incident-pagerduty-q2w3e4r"} <= conf.labels[page_id]
    (doc,) = drive.files.values()
    assert doc["mimeType"] == "application/vnd.google-apps.document" and doc["parents"] == ["1FoLdEr0ps"]
    assert doc["media_type"] == "text/html" and "<html" in doc["media"]
    # the incident's own channel (a ref of the incident) and the configured one
    assert sorted(ch for ch, _ in slack.messages) == ["C05INC4213", "C0SRE0001"]
    text = next(iter(slack.messages.values()))["text"]
    assert "MTTA 4m 29s" in text and "MTTR 28m 59s" in text and "SEV1" in text
    page_url = f"{conf.base}/spaces/OPS/pages/{page_id}/"
    assert f"<{page_url}" in text and "|Confluence page>" in text and "|Google Doc>" in text
    # the ticket the incident names (not an action item's), linked to the Confluence page
    (link,) = jira.links["OPS-1234"].values()
    assert link["object"]["url"].startswith(page_url) and "OPS-1240" not in jira.links
    rows = query_rows(cfg, PUBS)
    assert [(r["target"], r["destination"]) for r in rows] == [
        ("confluence", "OPS"), ("gdrive", "1FoLdEr0ps"), ("jira", "OPS-1234"),
        ("slack", "C05INC4213"), ("slack", "C0SRE0001")]
    assert rows[0]["remote_id"] == page_id and rows[1]["remote_id"] == doc["id"]


def test_republish_updates_in_place(cfg, apis):
    assert cli(cfg, "publish", DEMO_INCIDENT, "--to", "confluence,gdrive,slack,jira").exit_code == 0
    first = query_rows(cfg, PUBS)
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "confluence,gdrive,slack,jira")
    assert result.exit_code == 0, result.output
    conf, drive, slack, jira = apis["confluence"], apis["gdrive"], apis["slack"], apis["jira"]
    (page,) = conf.pages.values()
    assert page["version"]["number"] == 2
    (doc,) = drive.files.values()
    assert doc["version"] == 2
    assert len(slack.messages) == 2 and all(m["edited"] for m in slack.messages.values())
    assert [m for m, _ in slack.calls].count("chat.postMessage") == 2
    assert len(jira.links["OPS-1234"]) == 1
    again = query_rows(cfg, PUBS)
    assert [r["remote_id"] for r in again] == [r["remote_id"] for r in first]
    assert [r["version"] for r in again] == [2, 2, 2, 2, 2]


def test_publish_by_alias_finds_the_same_incident(cfg, apis):
    assert cli(cfg, "publish", DEMO_INCIDENT, "--to", "confluence").exit_code == 0
    result = cli(cfg, "publish", "jira:OPS-1234", "--to", "confluence")
    assert result.exit_code == 0, result.output
    (page,) = apis["confluence"].pages.values()
    assert page["version"]["number"] == 2


def test_new_publishes_another(cfg, apis):
    assert cli(cfg, "publish", DEMO_INCIDENT, "--to", "confluence,slack").exit_code == 0
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "confluence,slack", "--new")
    assert result.exit_code == 0, result.output
    assert len(apis["confluence"].pages) == 2     # a fresh title: Confluence refuses a second of the same
    assert len(apis["slack"].messages) == 4
    ids = {r["remote_id"] for r in query_rows(cfg, PUBS) if r["target"] == "confluence"}
    assert ids == {max(apis["confluence"].pages)}


def test_a_deleted_page_or_message_is_published_again(cfg, apis):
    assert cli(cfg, "publish", DEMO_INCIDENT, "--to", "confluence,slack").exit_code == 0
    apis["confluence"].pages.clear()
    apis["slack"].messages.clear()
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "confluence,slack")
    assert result.exit_code == 0, result.output
    assert len(apis["confluence"].pages) == 1 and len(apis["slack"].messages) == 2


def test_one_failing_target_does_not_stop_the_others(cfg, apis, monkeypatch):
    monkeypatch.setenv("CONFLUENCE_TOKEN", "wrong-token")
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "confluence,slack")
    assert result.exit_code == 3, result.output
    line = [x for x in result.stderr.splitlines() if "confluence" in x]
    assert len(line) == 1 and "target confluence: authentication failed" in line[0]
    assert "wrong-token" not in result.stderr
    assert len(apis["slack"].messages) == 2
    assert {r["target"] for r in query_rows(cfg, PUBS)} == {"slack"}


def test_every_target_failing_exits_1(cfg, apis, monkeypatch):
    monkeypatch.delenv("SLACK_PUBLISH_TOKEN")
    apis["confluence"].spaces.clear()
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "confluence,slack")
    assert result.exit_code == 1
    assert "publish confluence: FAILED: target confluence: space OPS not found" in result.stderr
    assert "publish slack: FAILED: target slack: token needs environment variable SLACK_PUBLISH_TOKEN" in result.stderr


def test_429_retry_after_is_honoured_and_5xx_retried(cfg, apis, sleeps):
    apis["confluence"].fail_next += [Response("", 429, headers={"Retry-After": "7"}), Response("oops", 503)]
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "confluence")
    assert result.exit_code == 0, result.output
    assert 7 <= sleeps[0] < 7.2 and len(apis["confluence"].pages) == 1


def test_5xx_that_persists_is_one_line(cfg, apis, sleeps):
    apis["gdrive"].fail_next += [Response("{}", 502, content_type="application/json")] * 10
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "gdrive")
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("publish gdrive: FAILED: target gdrive: HTTP 502 on drive/v3/files after 6 tries")


def test_missing_folder_and_missing_ticket(cfg, apis):
    apis["gdrive"].folders.clear()
    apis["jira"].issues.clear()
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "gdrive,confluence,jira")
    assert result.exit_code == 3
    assert "target gdrive: folder 1FoLdEr0ps not found (share it with the service account)" in result.stderr
    assert "target jira: ticket OPS-1234 not found (or this account cannot see it)" in result.stderr


def test_slack_errors_inside_200(cfg, apis):
    apis["slack"].channels.discard("C0SRE0001")
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "slack")
    assert result.exit_code == 1
    assert "target slack: chat.postMessage to channel C0SRE0001: channel_not_found" in result.stderr


def test_slack_rate_limit(cfg, apis, sleeps):
    apis["slack"].fail_next.append(Response(json.dumps({"ok": False, "error": "ratelimited"}), 429,
                                            headers={"Retry-After": "3"}, content_type="application/json"))
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "slack")
    assert result.exit_code == 0, result.output
    assert 3 <= sleeps[0] < 3.2 and len(apis["slack"].messages) == 2


def test_bad_service_account_key(cfg, apis, tmp_path, service_account_key):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    key = tmp_path / "service-account.json"
    key.write_text(json.dumps({**json.loads(key.read_text()), "private_key": other}))
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "gdrive")
    assert result.exit_code == 1
    assert "target gdrive: authentication failed: the token endpoint refused the service account" in result.stderr
    assert "PRIVATE KEY" not in result.stderr


def test_jira_needs_a_page(cfg, apis):
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "jira")
    assert result.exit_code == 1
    assert "target jira: nothing to link from OPS-1234: publish to confluence or gdrive first" in result.stderr


def test_not_built_and_not_configured(tmp_path, httpserver, apis, env):
    from tests.support import demo_sources, write_config
    cfg = write_config(tmp_path, demo_sources())
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "slack")
    assert result.exit_code == 2 and "publish.slack is not configured" in result.stderr
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "teams")
    assert result.exit_code == 2 and "unknown target(s) teams" in result.stderr


def test_config_problems_are_reported_at_once(tmp_path):
    import yaml

    from incident_timeline.config import ConfigInvalid, load_config
    from tests.support import demo_sources, write_config
    cfg = write_config(tmp_path, demo_sources(), publish={
        "confluence": {"base_url": "https://acme.atlassian.net", "token": "literal-token", "space": "OPS"},
        "gdrive": {"folder_id": "f"}, "teams": {}, "slack": {"token": "${X}", "incident_channel": False},
        "on_build_resolved": ["jira"]})
    try:
        load_config(cfg)
    except ConfigInvalid as exc:
        problems = exc.problems
    else:
        raise AssertionError("accepted")
    assert "publish.confluence: token must be an ${ENV} reference, not a literal secret" in problems
    assert "publish.confluence: email is required for Confluence Cloud (the API token's account)" in problems
    assert any(p.startswith("publish.gdrive: give one of credentials_file") for p in problems)
    assert any(p.startswith("publish: unknown target 'teams'") for p in problems)
    assert "publish.slack: give channel, or incident_channel: true" in problems
    assert "publish.on_build_resolved: 'jira' is not a configured publish target" in problems
    assert yaml.safe_load(cfg.read_text())["publish"]   # the file was what we meant


def test_backfill_build_resolved_publishes_when_configured(tmp_path, httpserver, service_account_key, apis, env):
    import yaml

    from tests.support import demo_sources, write_config
    cfg = write_config(tmp_path, demo_sources())
    data = yaml.safe_load(cfg.read_text())
    from tests.publish.conftest import key_file, publish_section
    data["publish"] = {**publish_section(httpserver, key_file(tmp_path, httpserver, service_account_key[0])),
                       "on_build_resolved": ["slack", "confluence"]}
    data["drafts"] = {"out": str(tmp_path / "reports")}
    cfg.write_text(yaml.safe_dump(data, sort_keys=False))
    result = cli(cfg, "backfill", "--build-resolved")
    assert result.exit_code == 0, result.output
    drafted = query_rows(cfg, "SELECT incident_id FROM incident_drafts ORDER BY 1")
    assert DEMO_INCIDENT in [r["incident_id"] for r in drafted]
    published = query_rows(cfg, "SELECT incident_id, remote_id FROM incident_publications WHERE target = 'confluence' "
                                "ORDER BY 1")
    assert [r["incident_id"] for r in published] == [r["incident_id"] for r in drafted]
    assert sorted(r["remote_id"] for r in published) == sorted(apis["confluence"].pages)
    assert result.output.count("publish confluence: http") == len(drafted)
    assert ("C05INC4213" in {ch for ch, _ in apis["slack"].messages})


def test_a_lost_record_is_found_by_title_not_duplicated(cfg, apis):
    """A crash between the create and its record (here: the record deleted) is healed by the
    lookup by title (Confluence) and by name in the folder (Drive)."""
    import duckdb
    assert cli(cfg, "publish", DEMO_INCIDENT, "--to", "confluence,gdrive").exit_code == 0
    con = duckdb.connect(str(cfg.parent / "lake" / "catalog.duckdb"))
    con.execute("DELETE FROM incident_publications")
    con.close()
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "confluence,gdrive")
    assert result.exit_code == 0, result.output
    (page,) = apis["confluence"].pages.values()
    (doc,) = apis["gdrive"].files.values()
    assert page["version"]["number"] == 2 and doc["version"] == 2


def test_a_lost_slack_record_is_found_by_its_metadata(cfg, apis):
    import duckdb
    assert cli(cfg, "publish", DEMO_INCIDENT, "--to", "slack").exit_code == 0
    slack = apis["slack"]
    assert all(m["metadata"] == {"event_type": "incident_timeline_postmortem",
                                 "event_payload": {"incident_id": DEMO_INCIDENT}} for m in slack.messages.values())
    con = duckdb.connect(str(cfg.parent / "lake" / "catalog.duckdb"))
    con.execute("DELETE FROM incident_publications")
    con.close()
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "slack")
    assert result.exit_code == 0, result.output
    assert len(slack.messages) == 2 and all(m["edited"] for m in slack.messages.values())
    assert {r["remote_id"] for r in query_rows(cfg, PUBS)} == {ts for _, ts in slack.messages}


def test_slack_without_history_scope_still_posts(cfg, apis):
    apis["slack"].history_scope = False
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "slack")
    assert result.exit_code == 0, result.output
    assert len(apis["slack"].messages) == 2


def test_a_slack_post_that_failed_with_5xx_is_not_retried_and_healed_next_time(cfg, apis, sleeps):
    """A 5xx on chat.postMessage: Slack may have posted. No retry (it could post twice); the
    next publish finds the message by its metadata and edits it."""
    slack = apis["slack"]
    slack.after_post.append(Response(json.dumps({"ok": False, "error": "internal_error"}), 503,
                                     content_type="application/json"))
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "slack")
    assert result.exit_code in (1, 3)
    assert "chat.postMessage to channel C05INC4213: HTTP 503 (it may have been posted" in result.stderr
    assert [m for m, _ in slack.calls].count("chat.postMessage") == 1   # not retried
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "slack")
    assert result.exit_code == 0, result.output
    assert len(slack.messages) == 2


def test_drive_403_rate_limit_is_retried_other_403_is_not(cfg, apis, sleeps):
    limited = {"error": {"code": 403, "message": "User Rate Limit Exceeded",
                         "errors": [{"domain": "usageLimits", "reason": "userRateLimitExceeded",
                                     "message": "User Rate Limit Exceeded"}]}}
    apis["gdrive"].fail_next.append(Response(json.dumps(limited), 403, content_type="application/json"))
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "gdrive")
    assert result.exit_code == 0, result.output
    assert len(sleeps) == 1 and len(apis["gdrive"].files) == 1
    denied = {"error": {"code": 403, "message": "The user does not have sufficient permissions for this file.",
                        "errors": [{"domain": "global", "reason": "insufficientFilePermissions"}]}}
    apis["gdrive"].fail_next.append(Response(json.dumps(denied), 403, content_type="application/json"))
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "gdrive", "--new")
    assert result.exit_code == 1 and len(sleeps) == 1
    assert "target gdrive: permission denied" in result.stderr


def test_a_lost_drive_record_is_found_past_empty_pages(cfg, apis):
    import duckdb
    assert cli(cfg, "publish", DEMO_INCIDENT, "--to", "gdrive").exit_code == 0
    con = duckdb.connect(str(cfg.parent / "lake" / "catalog.duckdb"))
    con.execute("DELETE FROM incident_publications")
    con.close()
    apis["gdrive"].empty_pages = 2
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "gdrive")
    assert result.exit_code == 0, result.output
    (doc,) = apis["gdrive"].files.values()
    assert doc["version"] == 2


def test_confluence_data_center(tmp_path, httpserver, service_account_key, env, monkeypatch):
    """`api: datacenter`: v1 content with the parent as an ancestor and a personal access
    token as Bearer; a republish is version 2; a lost record is found by the title search."""
    import duckdb

    from tests.publish import fakes
    from tests.publish.conftest import built_config
    dc = fakes.ConfluenceDataCenter(httpserver)
    monkeypatch.setenv("CONFLUENCE_PAT", dc.pat)
    cfg = built_config(tmp_path, httpserver, service_account_key[0], confluence={
        "api": "datacenter", "token": "${CONFLUENCE_PAT}", "email": None})
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "confluence")
    assert result.exit_code == 0, result.output
    (page_id, page), = dc.pages.items()
    assert page["ancestors"] == [{"id": "1000"}] and page["body"]["storage"]["representation"] == "storage"
    assert "<table>" in page["body"]["storage"]["value"]
    assert dc.attachments[page_id]["timeline.svg"].startswith(b"<svg")
    assert "severity-sev1" in dc.labels[page_id]
    (row,) = query_rows(cfg, PUBS)
    assert row["url"] == f"{dc.base}/pages/viewpage.action?pageId={page_id}"
    con = duckdb.connect(str(cfg.parent / "lake" / "catalog.duckdb"))
    con.execute("DELETE FROM incident_publications")
    con.close()
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "confluence")
    assert result.exit_code == 0, result.output
    assert list(dc.pages) == [page_id] and dc.pages[page_id]["version"]["number"] == 2
    monkeypatch.setenv("CONFLUENCE_PAT", "revoked-pat-000000")
    result = cli(cfg, "publish", DEMO_INCIDENT, "--to", "confluence")
    (line,) = result.stderr.strip().splitlines()
    assert result.exit_code == 1 and "target confluence: authentication failed" in line
    assert "revoked-pat" not in line
