"""Each record that used to fail the whole run is now one reject naming the source, the
record and the field, and the run goes on (exit 0); a source that cannot be read at all
still fails only itself (exit 3). Through the CLI, over files, recorded pages and a
local server answering on the vendors' own paths."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ingest.lakeview import ingest, lake_table
from tests.robustness.accounting import UNTIL, assert_accounted, raw_table, run_ingest
from tests.robustness.sources import ANCHOR, ENVIRONMENT, SHAPES, note, write_file

@pytest.fixture(autouse=True)
def _secrets(monkeypatch):
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


DEEP = "[" * 3000 + "]" * 3000            # valid JSON, deeper than Python's reader goes
DEEP_LINE = '{"note_id": "deep", "x": ' + "[" * 2500 + "]" * 2500 + "}"
NOTES = {"ts": "time", "text": "note", "actor": "author", "id": "note_id"}


def _rejects(tmp: Path) -> list[dict]:
    return lake_table(tmp, "rejects").to_pylist()


def _notes_source(path: Path) -> dict:
    return {"name": "notes", "type": "file", "path": str(path), "timezone": "Europe/Berlin", "fields": NOTES}


def _good_line(i: int) -> bytes:
    return json.dumps(note(i, f"MARK-{i}")).encode()


# ---------------------------------------------------------------- file lines

def test_a_line_of_invalid_utf8_is_its_own_reject_and_the_next_lines_still_land(tmp_path):
    path = tmp_path / "notes.jsonl"
    bad = b'{"time": "2025-10-14 16:05:00", "note": "caf\xe9 \xff", "note_id": "n-bad"}'
    path.write_bytes(b"\n".join([_good_line(1), bad, _good_line(3)]) + b"\n")
    result = ingest(tmp_path, [_notes_source(path)])
    assert result.exit_code == 0, result.output
    [reject] = _rejects(tmp_path)
    assert (reject["source"], reject["stage"], reject["native_id"], reject["field"]) == (
        "notes", "ingest", "notes.jsonl:2", "line")
    assert reject["reason"].startswith("notes.jsonl line 2: invalid UTF-8 (byte 0xe9")
    assert "caf\ufffd \ufffd" in reject["record"]          # the bad bytes shown as U+FFFD
    assert sorted(e["native_id"] for e in lake_table(tmp_path, "events").to_pylist()) == ["n-1", "n-3"]


def test_an_escaped_lone_surrogate_in_a_line_is_stored_as_u_fffd(tmp_path):
    path = tmp_path / "notes.jsonl"
    path.write_text('{"time": "2025-10-14 16:05:00", "note": "half \\ud800 a pair", "author": "ana", '
                    '"note_id": "n-1"}\n', encoding="utf-8")
    result = ingest(tmp_path, [_notes_source(path)])
    assert result.exit_code == 0, result.output
    [event] = lake_table(tmp_path, "events").to_pylist()
    assert event["body"] == "half \ufffd a pair"
    [payload] = raw_table(tmp_path)["payload"].to_pylist()
    assert "half \ufffd a pair" in payload


def test_a_line_nested_2000_deep_is_a_reject_not_a_recursion_error(tmp_path):
    path = tmp_path / "notes.jsonl"
    path.write_bytes(b"\n".join([DEEP_LINE.encode(), _good_line(2), b"9" * 5000]) + b"\n")
    result = ingest(tmp_path, [_notes_source(path)])
    assert result.exit_code == 0, result.output
    rejects = {r["native_id"]: r for r in _rejects(tmp_path)}
    assert rejects["notes.jsonl:1"]["reason"] == "notes.jsonl line 1: JSON nested too deep to read"
    assert "invalid JSON" in rejects["notes.jsonl:3"]["reason"]      # more digits than Python reads
    assert [e["native_id"] for e in lake_table(tmp_path, "events").to_pylist()] == ["n-2"]


# ---------------------------------------------------------------- recorded pages

def test_jira_cloud_updated_as_a_number_is_the_issue_reject_naming_the_field(tmp_path):
    shape = SHAPES["jira"]
    odd = shape.records["issues"](7, "MARK-7")
    odd["fields"]["updated"] = 1    # as in Jira Cloud's own OpenAPI example of search/jql
    entry = shape.write(tmp_path / "pages", {ANCHOR: [shape.records[ANCHOR](0, "MARK-0")], "issues": [odd]})
    result, config = run_ingest(tmp_path, entry)
    assert result.exit_code == 0, result.output
    [reject] = _rejects(tmp_path)
    assert (reject["source"], reject["stage"], reject["native_id"], reject["field"]) == (
        "jira", "ingest", "issues:OPS-107", "fields.updated")
    assert "TypeError" in reject["reason"] and "MARK-7" in reject["record"]
    assert_accounted(tmp_path, config, ["MARK-0", "MARK-7"])


@pytest.mark.parametrize("page, field, reason", [
    (None, "<page>", "the page is null, not an object holding incidents[]"),
    ({"incidents": "nope", "more": False}, "incidents", "incidents is a string, not a list"),
])
def test_a_recorded_page_of_the_wrong_shape_is_one_reject(tmp_path, page, field, reason):
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "incidents.json").write_text(json.dumps(page), encoding="utf-8")
    result = ingest(tmp_path, [{"name": "pd", "type": "pagerduty", "token": "${ROBUST_PD_TOKEN}",
                               "path": str(pages)}])
    assert result.exit_code == 0, result.output
    [reject] = _rejects(tmp_path)
    assert (reject["source"], reject["stage"], reject["field"], reject["reason"]) == ("pd", "ingest", field, reason)


def test_a_recorded_page_nested_too_deep_is_one_reject(tmp_path):
    pages = tmp_path / "pages"
    (pages / "v2").mkdir(parents=True)
    (pages / "v2" / "alerts.json").write_text(DEEP, encoding="utf-8")
    result = ingest(tmp_path, [{"name": "og", "type": "opsgenie", "token": "${ROBUST_OG_TOKEN}",
                               "path": str(pages)}])
    assert result.exit_code == 0, result.output
    [reject] = _rejects(tmp_path)
    assert (reject["field"], reject["reason"]) == ("<body>", "alerts.json is JSON nested too deep to read")


# ---------------------------------------------------------------- a live API's answers

def _pagerduty(httpserver, incidents_body: str) -> dict:
    httpserver.expect_request("/incidents").respond_with_data(incidents_body, content_type="application/json")
    httpserver.expect_request("/log_entries").respond_with_json({"log_entries": [], "limit": 100, "offset": 0,
                                                                 "more": False, "total": 0})
    return {"name": "pd", "type": "pagerduty", "token": "${ROBUST_PD_TOKEN}", "base_url": httpserver.url_for("/")}


@pytest.mark.parametrize("body, field", [
    ("null", "<page>"), ('{"incidents": "nope", "limit": 100, "offset": 0, "more": false}', "incidents"),
    (DEEP, "<body>"),
])
def test_an_api_answering_200_with_the_wrong_shape_is_a_reject_and_the_run_goes_on(httpserver, tmp_path, body,
                                                                                  field):
    notes = tmp_path / "notes.jsonl"
    notes.write_bytes(_good_line(1) + b"\n")
    result = ingest(tmp_path, [_pagerduty(httpserver, body), _notes_source(notes)], "--until", UNTIL)
    assert result.exit_code == 0, result.output
    [reject] = _rejects(tmp_path)
    assert (reject["source"], reject["stage"], reject["field"]) == ("pd", "ingest", field)
    assert [e["source"] for e in lake_table(tmp_path, "events").to_pylist()] == ["notes"]


def test_a_body_that_is_not_json_still_fails_only_its_source(httpserver, tmp_path):
    notes = tmp_path / "notes.jsonl"
    notes.write_bytes(_good_line(1) + b"\n")
    result = ingest(tmp_path, [_pagerduty(httpserver, '{"incidents": [{"id": "Q1'), _notes_source(notes)],
                    "--until", UNTIL)
    assert result.exit_code == 3, result.output
    assert "source pd" in result.output and "Traceback" not in result.output
    assert [e["source"] for e in lake_table(tmp_path, "events").to_pylist()] == ["notes"]


def _slack(httpserver, history: str) -> dict:
    channel = "C0ROBUST01"
    httpserver.expect_request("/api/users.list").respond_with_json(
        {"ok": True, "members": [{"id": "U0ANA", "name": "ana", "real_name": "Ana Ops"}],
         "response_metadata": {"next_cursor": ""}})
    httpserver.expect_request("/api/conversations.info").respond_with_json(
        {"ok": True, "channel": {"id": channel, "name": "inc-robust"}})
    httpserver.expect_request("/api/conversations.history").respond_with_data(history,
                                                                             content_type="application/json")
    return {"name": "chat", "type": "slack", "token": "${ROBUST_SLACK_TOKEN}", "channels": [channel],
            "base_url": httpserver.url_for("/api/")}


def test_slack_messages_holding_a_string_or_null_are_rejects_and_a_lone_surrogate_is_u_fffd(httpserver, tmp_path):
    messages = [{"type": "message", "user": "U0ANA", "text": "first", "ts": "1760450001.000100"},
                "not a message", None,
                {"type": "message", "user": "U0ANA", "text": "half \ud800 a pair", "ts": "1760450002.000100"}]
    body = json.dumps({"ok": True, "messages": messages, "has_more": False}, ensure_ascii=True)
    result = ingest(tmp_path, [_slack(httpserver, body)], "--until", UNTIL)
    assert result.exit_code == 0, result.output
    rejects = _rejects(tmp_path)
    assert sorted(r["reason"] for r in rejects) == ["a messages item is a string, not an object",
                                                    "a messages item is null, not an object"]
    assert {(r["source"], r["stage"], r["field"]) for r in rejects} == {("chat", "ingest", "<item>")}
    events = sorted(lake_table(tmp_path, "events").to_pylist(), key=lambda e: e["ts"])
    assert [e["body"] for e in events] == ["first", "half \ufffd a pair"]


def test_a_slack_answer_nested_too_deep_is_a_reject(httpserver, tmp_path):
    result = ingest(tmp_path, [_slack(httpserver, '{"ok": true, "messages": ' + DEEP + "}")], "--until", UNTIL)
    assert result.exit_code == 0, result.output
    [reject] = _rejects(tmp_path)
    assert (reject["source"], reject["field"]) == ("chat", "<body>")
    assert "nested too deep" in reject["reason"]


def test_a_record_of_every_odd_shape_at_once_on_every_source_type(tmp_path):
    """One CLI run per source type whose every stream holds a string item, a record with
    null for its every field, one whose fields hold objects and one with lone surrogates."""
    for source_type, shape in sorted(SHAPES.items()):
        tmp = tmp_path / source_type
        items, markers = {ANCHOR: [shape.records[ANCHOR](0, "MARK-anchor")]}, ["MARK-anchor"]
        n = 1
        for stream, make in shape.records.items():
            if stream == ANCHOR:
                continue
            odd = [f"MARK-{n}"] if shape.type != "grafana" else []
            for change in (lambda v: None, lambda v: {"nested": [v]},
                           lambda v: f"\ud800\x00{v}" if isinstance(v, str) else v):
                record = make(n + len(odd), f"MARK-{n + len(odd)}")
                for key in list(record):
                    if key not in ("x_probe", *shape.fixed):
                        record[key] = change(record[key])
                odd.append(record)
            items[stream] = odd[:shape.most.get(stream, len(odd))]
            markers += [f"MARK-{i}" for i in range(n, n + len(items[stream]))]
            n += len(odd)
        result, config = run_ingest(tmp, shape.write(tmp / "pages", items))
        assert result.exit_code == 0, (source_type, result.output)
        assert_accounted(tmp, config, markers, shape.entity_streams, shape.no_events)


def test_a_file_of_arbitrary_bytes_through_the_cli(tmp_path):
    entry = write_file(tmp_path / "pages", {ANCHOR: []})
    Path(entry["path"]).write_bytes(b"\x00\xff\n{\"time\": 1}\n" + DEEP_LINE.encode() + b"\n\xef\xbb\xbf[]\n")
    result, config = run_ingest(tmp_path, entry)
    assert result.exit_code == 0, result.output
    raw = assert_accounted(tmp_path, config, [])
    assert raw.num_rows == 4 == len(_rejects(tmp_path))


@pytest.mark.parametrize("day", [DEEP.encode(), b'[{"type": "message", "text": "caf\xe9", "ts": "1760450001.000100"}]'])
def test_a_slack_export_day_file_nested_too_deep_or_not_utf8_is_one_reject(tmp_path, day):
    shape = SHAPES["slack_export"]
    entry = shape.write(tmp_path / "pages", {ANCHOR: [shape.records[ANCHOR](0, "MARK-0")]})
    (tmp_path / "pages" / "inc-robust" / "2025-10-15.json").write_bytes(day)
    result, config = run_ingest(tmp_path, entry)
    assert result.exit_code == 0, result.output
    [reject] = _rejects(tmp_path)
    # an export member is named as the export names it (the slack_export rule for bad members)
    assert (reject["source"], reject["stage"], reject["field"], reject["native_id"]) == (
        "archive", "ingest", "member", "inc-robust/2025-10-15.json")
    assert reject["reason"].startswith(("inc-robust/2025-10-15.json: not valid JSON: not UTF-8",
                                        "inc-robust/2025-10-15.json: JSON nested too deep"))
    assert_accounted(tmp_path, config, ["MARK-0"], shape.entity_streams)
