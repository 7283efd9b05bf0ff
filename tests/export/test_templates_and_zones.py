"""Template overrides, local display times, and drafts for catalogs without the newer tables."""
from __future__ import annotations

import csv
import io
import json
import shutil

import duckdb
import jsonschema
from click.testing import CliRunner

from incident_timeline.export.render import render_csv, render_html, render_markdown, write
from incident_timeline.export.report import load, to_contract
from incident_timeline.cli import main
from tests.export.conftest import build
from tests.support import DEMO_INCIDENT


def test_an_override_folder_wins_and_the_rest_falls_back(demo_lake, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "postmortem.md.j2").write_text(
        "# Our own review of {{ contract.incident.id }}\n{{ draft.rows | length }} rows\n", encoding="utf-8")
    (templates / "postmortem.css").write_text("body { font-family: 'Our House Font'; }\n", encoding="utf-8")
    out = tmp_path / "out"
    build(demo_lake, out, DEMO_INCIDENT, "--templates", str(templates), command="build")
    markdown = (out / "postmortem.md").read_text(encoding="utf-8")
    assert markdown.startswith(f"# Our own review of {DEMO_INCIDENT}\n")
    assert "## Timeline" not in markdown
    page = (out / "postmortem.html").read_text(encoding="utf-8")
    assert "Our House Font" in page and "--human:" not in page     # the CSS override, included
    assert "<h2>Timeline</h2>" in page and "<svg" in page           # the built-in page and chart


def test_an_override_is_autoescaped_in_html_too(demo_build, tmp_path):
    (tmp_path / "chart.svg.j2").write_text("<p>{{ '<script>x</script>' }}</p>", encoding="utf-8")
    page = render_html(demo_build["report"], tmp_path)
    assert "<p>&lt;script&gt;x&lt;/script&gt;</p>" in page


def test_display_tz_adds_named_local_times_to_md_html_csv(demo_build):
    report = demo_build["report"]
    markdown = render_markdown(report, display_tz="Europe/Berlin")
    assert "| Time (UTC) | Local (Europe/Berlin) |" in markdown
    assert "| 14:02:11 UTC | 16:02:11 CEST |" in markdown
    assert "| Detected | 2026-10-14 14:02:11 UTC (2026-10-14 16:02:11 CEST) |" in markdown
    page = render_html(report, display_tz="America/New_York")
    assert "<th>Local (America/New_York)</th>" in page and "10:02:11 EDT" in page
    rows = list(csv.DictReader(io.StringIO(render_csv(report, display_tz="Asia/Kolkata"))))
    assert rows[0]["ts"] == "2026-10-14T13:55:00Z" and rows[0]["ts_local"] == "2026-10-14T19:25:00+05:30"   # the deploy


def test_utc_only_by_default(demo_build):
    markdown = render_markdown(demo_build["report"])
    assert "Local (" not in markdown and "CEST" not in markdown
    assert "ts_local" not in render_csv(demo_build["report"]).splitlines()[0]


def test_a_bad_display_zone_is_refused_before_any_work(demo_lake, tmp_path):
    out = tmp_path / "out"
    for command in ("build", "run"):
        result = CliRunner().invoke(main, ["--config", str(demo_lake), command, DEMO_INCIDENT, "--out", str(out),
                                           "--display-tz", "Mars/Olympus_Mons"])
        assert result.exit_code == 2, result.output
        assert "Invalid value for --display-tz: 'Mars/Olympus_Mons' is not an IANA time zone" in result.output
        assert "fetched" not in result.output and not out.exists()


def test_writing_with_a_bad_zone_writes_nothing(demo_build, tmp_path):
    try:
        write(demo_build["report"], tmp_path / "out", ("md", "csv"), display_tz="Not/AZone")
    except ValueError as exc:
        assert str(exc) == "--display-tz 'Not/AZone' is not an IANA time zone (e.g. Europe/Berlin)"
    else:
        raise AssertionError("a bad zone was accepted")
    assert not (tmp_path / "out").exists()


def test_default_formats_are_all_four(demo_lake, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["--config", str(demo_lake), "build", DEMO_INCIDENT, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["postmortem.html", "postmortem.json", "postmortem.md",
                                                     "timeline.csv"]


def test_catalog_without_the_newer_tables_gets_to_complete_notes(demo_build, tmp_path, export_schema):
    catalog = tmp_path / "catalog.duckdb"
    shutil.copy(demo_build["config"].parent / "lake" / "catalog.duckdb", catalog)
    con = duckdb.connect(str(catalog))
    try:
        # ... and no events: each row's records fall back to its url.
        for name in ("gaps", "decision_points", "status_updates", "events"):
            (kind,) = con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = ?",
                                  [name]).fetchone()
            con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} {name}")
        report = load(con, DEMO_INCIDENT)
    finally:
        con.close()
    assert report["gaps"] is None and report["decision_points"] is None
    written = write(report, tmp_path / "out", ("md", "html", "json"))
    markdown, page, data = (p.read_text(encoding="utf-8") for p in written)
    assert "TO COMPLETE: silences in the response are not computed" in markdown
    assert "TO COMPLETE: for each key decision, what the responder could see" in markdown
    assert "silences in the response are not computed" in page
    # no status_updates table: the stakeholder line is today's note, and no communication key
    assert "- Stakeholder and status page updates: _TO COMPLETE: were they timely and clear?_" in markdown
    assert "- Status page:" not in markdown and "Status page: " not in page
    contract = json.loads(data)
    assert contract["gaps"] is None and contract["decision_points"] is None
    assert "communication" not in contract
    jsonschema.validate(contract, export_schema, cls=jsonschema.Draft202012Validator)


def test_decision_points_show_what_was_visible(demo_build):
    markdown = render_markdown(demo_build["report"])
    section = markdown.split("### Decision points", 1)[1].split("## Root cause", 1)[0]
    assert "| 14:06:40 UTC | Alice Chen | acknowledge: Acknowledged by Alice Chen. |" in section
    assert "14:02:11 Datadog: Triggered through the API." in section


def test_an_incident_the_data_says_little_about_still_has_every_section(demo_build, export_schema):
    report = demo_build["report"]
    bare = {**report, "timeline": [], "responders": [], "action_items": [], "milestones": {},
            "incident": {**report["incident"], **{m: None for m in ("detected", "acknowledged", "first_response",
                                                                     "mitigated", "resolved")},
                         "time_to_acknowledge_s": None, "time_to_resolve_s": None, "severity": None}}
    markdown = render_markdown(bare)
    for heading in ("## Summary", "## Key metrics", "## Timeline", "## Impact assessment",
                    "## Response effectiveness", "## Root cause", "### Five Whys", "## Corrective actions",
                    "## Data sources and data quality"):
        assert heading in markdown
    assert "| Severity | _TO COMPLETE: unknown_ |" in markdown
    assert "no human messages before mitigation were recorded" in markdown
    assert "<svg" not in render_html(bare)
    jsonschema.validate(json.loads(json.dumps(to_contract(bare))), export_schema,
                        cls=jsonschema.Draft202012Validator)
