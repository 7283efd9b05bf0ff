"""Everything a person reads carries its date: a timeline past midnight shows the date in
each time (Markdown, HTML, the chart's tooltips), and so do local times whose day is not the
UTC one. A timeline inside one day keeps `HH:MM:SS UTC` (the summary names the day)."""
from __future__ import annotations

import json
import re

from click.testing import CliRunner

from incident_timeline.export.render import render_html, render_markdown
from incident_timeline.cli import main
from tests.support import write_config

SEED = "service:checkout-api@2026-10-14T23:30Z/2026-10-15T00:40Z"
NOTES = [   # an incident past midnight UTC, written down by the on-call engineer
    ("2026-10-14T23:52:10Z", "checkout-api 5xx rate above 5%, paging", "ana"),
    ("2026-10-14T23:58:40Z", "rolling back deploy 4821", "ana"),
    ("2026-10-15T00:06:05Z", "error rate back to normal, mitigated", "ben"),
    ("2026-10-15T00:21:30Z", "resolved; follow-up: alert on deploy error budget", "ben"),
]


def _build(tmp_path, *extra):
    notes = tmp_path / "notes.jsonl"
    notes.write_text("".join(json.dumps({"time": ts, "note": text, "author": who, "note_id": f"n{i}",
                                         "service": "checkout-api"}) + "\n"
                             for i, (ts, text, who) in enumerate(NOTES)), encoding="utf-8")
    config = write_config(tmp_path, [{"name": "notes", "type": "file", "path": str(notes),
                                      "fields": {"ts": "time", "text": "note", "actor": "author", "id": "note_id",
                                                 "service": "service"}}])
    runner = CliRunner()
    result = runner.invoke(main, ["--config", str(config), "ingest"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    result = runner.invoke(main, ["--config", str(config), "build", SEED, "--format", "md,html",
                                  "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return (out / "postmortem.md").read_text(encoding="utf-8"), (out / "postmortem.html").read_text(encoding="utf-8")


def test_a_timeline_past_midnight_dates_every_time(tmp_path):
    markdown, page = _build(tmp_path)
    rows = [line for line in markdown.splitlines() if " UTC | notes | " in line]
    assert [r[:25] for r in rows] == [f"| {ts[:10]} {ts[11:19]} UTC" for ts, _, _ in NOTES]
    assert "\n\n| Time (UTC) | Source |" in markdown
    assert "| 2026-10-15 00:06:05 UTC | 2026-10-15 00:21:30 UTC | 15m 25s |" in markdown   # gaps too
    assert "It runs over 2 days, 2026-10-14 to 2026-10-15 (UTC): every time carries its date." in markdown
    assert not re.search(r"(?m)^\| \d\d:\d\d:\d\d UTC", markdown)          # no undated row is left
    timeline = page[page.index('<table class="timeline">'):]
    cells = re.findall(r'<td class="ts">([^<]*)</td>', timeline[:timeline.index("</table>")])
    assert cells == [f"{ts[:10]} {ts[11:19]} UTC" for ts, _, _ in NOTES]
    tooltips = re.findall(r"<title>([^<]*)</title>", page[page.index("<svg"):])
    assert tooltips and all(re.match(r"2026-10-1[45] \d\d:\d\d:\d\d UTC", t) for t in tooltips)


def test_local_times_carry_the_local_date(tmp_path):
    markdown, page = _build(tmp_path, "--display-tz", "Asia/Tokyo")
    assert "| 2026-10-14 23:52:10 UTC | 2026-10-15 08:52:10 JST |" in markdown
    assert '<td class="ts">2026-10-15 09:06:05 JST</td>' in page


def test_one_day_in_utc_but_another_day_locally(demo_build):
    # the demo is 14:02-15:05 UTC: in Kiritimati (UTC+14) it is the next morning
    markdown = render_markdown(demo_build["report"], display_tz="Pacific/Kiritimati")
    assert "| 14:02:11 UTC | 2026-10-15 04:02:11 +14 |" in markdown
    assert "runs over" not in markdown
    page = render_html(demo_build["report"], display_tz="Europe/Berlin")
    assert '<td class="ts">14:02:11 UTC</td><td class="ts">16:02:11 CEST</td>' in page
