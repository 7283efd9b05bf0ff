import json

from click.testing import CliRunner

from incident_timeline.cli import main
from tests.support import DEMO_INCIDENT, write_config


def test_query_prints_json_rows_with_rfc3339_times(demo_config, demo_report):
    result = CliRunner().invoke(main, ["--config", str(demo_config), "query", "--format", "json",
                                       "SELECT kind, ts FROM events WHERE source = 'pagerduty' "
                                       "AND kind = 'alert.triggered' ORDER BY ts"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows == [{"kind": "alert.triggered", "ts": "2026-10-14T14:02:11Z"},
                    {"kind": "alert.triggered", "ts": "2026-10-14T14:05:00Z"}]


def test_query_is_read_only(demo_config, demo_report):
    result = CliRunner().invoke(main, ["--config", str(demo_config), "query", "DELETE FROM incidents"])
    assert result.exit_code == 1
    assert result.output.startswith("error: query failed") and "read-only" in result.output


def test_unknown_incident_is_one_clear_line(demo_config, demo_report):
    result = CliRunner().invoke(main, ["--config", str(demo_config), "build", "pagerduty:NOPE123"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == ["error: no event in the lake references pagerduty:NOPE123: ingest its sources first, "
                     "or check the id (refs look like pagerduty:Q1ABC, jira:OPS-12)"]


def test_bad_config_exits_2_without_traceback(tmp_path):
    path = write_config(tmp_path, [{"name": "x", "type": "slack_export"}])
    result = CliRunner().invoke(main, ["--config", str(path), "sources"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "source x: path is required" in result.output


def test_build_writes_the_requested_formats(demo_config, demo_report, tmp_path):
    out = tmp_path / "again"
    result = CliRunner().invoke(main, ["--config", str(demo_config), "build", DEMO_INCIDENT,
                                       "--format", "json,csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["postmortem.json", "timeline.csv"]
    header = (out / "timeline.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("ts,source,kind,actor")


def test_build_explain_says_why_each_ref_joined_or_stayed_out(demo_config, demo_report, tmp_path):
    result = CliRunner().invoke(main, ["--config", str(demo_config), "build", DEMO_INCIDENT,
                                       "--format", "json", "--out", str(tmp_path / "x"), "--explain"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"seed     {DEMO_INCIDENT}: the seed" in lines
    # the #alerts feed is refused by the shared-channel guard, naming the other incident
    (shared,) = [line for line in lines if line.startswith("shared   slack:C05ALRT7Q2")]
    assert "via slack event" in shared and "pagerduty:Q9Z8Y7X, another incident" in shared
    assert any(line.startswith("joined   jira:OPS-1234  (hop 1, via jira event") for line in lines)


def test_explain_lines_cannot_drive_the_terminal():
    from incident_timeline.cli import explain_lines

    (line,) = explain_lines([{"ref": "slack:C1", "status": "joined", "hop": 1, "reason": "r",
                              "via": {"event_id": "e", "source": "slack", "ref": "pagerduty:P1",
                                      "title": "hi\x1b[31m red\x07\nnext"}}])
    assert "\x1b" not in line and "\x07" not in line and "\n" not in line
