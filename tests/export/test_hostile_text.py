"""Untrusted chat text in every format: escaped in HTML and SVG, inert in Markdown and CSV,
secrets redacted everywhere and never printed."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import jsonschema
import pytest

from incident_timeline.export.filters import md_cell, safe_url
from incident_timeline.export.render import render_html, render_markdown
from tests.export.conftest import load_report
from tests.export.hostile import FORMULA, SCRIPT, SECRETS
from tests.support import DEMO_INCIDENT

FILES = ("postmortem.md", "postmortem.html", "postmortem.json", "timeline.csv")


def _read(hostile, name: str) -> str:
    return (hostile["out"] / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def report(hostile):
    return load_report(hostile["config"], DEMO_INCIDENT)


@pytest.mark.parametrize("name", FILES)
def test_no_secret_reaches_any_export(hostile, name):
    text = _read(hostile, name).replace("\\[", "[").replace("\\]", "]")   # Markdown escapes brackets
    for secret in SECRETS.values():
        assert secret not in text
    assert "[REDACTED slack-token]" in text
    if name != "postmortem.md":   # the Markdown timeline shows titles, cut before the password
        assert "password=[REDACTED password]" in text
    assert "AKIAIOSFODNN7QWE" not in text   # not even the part a truncated title kept


def test_no_secret_is_printed(hostile):
    for secret in SECRETS.values():
        assert secret not in hostile["output"]


def test_html_shows_markup_as_text_and_runs_nothing(hostile):
    page = _read(hostile, "postmortem.html")
    assert "&lt;script&gt;document.title=&#39;PWNED&#39;&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=" in page
    # The page carries no script and no event handler of its own or from the data.
    assert not re.search(r"<script", page, re.I)
    assert not re.search(r"<img", page, re.I)
    assert not re.search(r"\son[a-z]+\s*=", re.sub(r"&lt;.*?&gt;", "", page), re.I)


def test_html_is_one_self_contained_file(hostile):
    page = _read(hostile, "postmortem.html")
    assert not re.search(r"<(link|iframe|object|embed)\b", page, re.I)
    assert not re.search(r"""\b(src|srcset)\s*=\s*["']?(https?:)?//""", page, re.I)
    assert "@import" not in page and "url(" not in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "@media print" in page


def test_svg_chart_has_one_lane_per_source_and_escapes_tooltips(hostile):
    page = _read(hostile, "postmortem.html")
    svg = page[page.index("<svg"):page.index("</svg>")]
    lanes = re.findall(r'<text class="lane-name"[^>]*>([^<]*)</text>', svg)
    assert lanes == ["github", "jira", "pagerduty", "slack", "statuspage"]
    labels = " ".join(re.findall(r'<text class="milestone-label"[^>]*>([^<]*)</text>', svg))
    for milestone in ("detected", "acknowledged", "mitigated", "resolved"):
        assert milestone in labels
    assert "&lt;script&gt;" in svg and "<script" not in svg
    hrefs = re.findall(r'href="([^"]*)"', svg)
    assert hrefs and all(h.startswith("#row-") for h in hrefs)


def test_dangerous_urls_never_reach_an_href(hostile, report):
    spoiled = dict(report)
    bad = ["javascript:alert(document.domain)", " JaVaScRiPt:alert(1)", "data:text/html,<b>x</b>",
           "vbscript:msgbox(1)", "//attacker.invalid/x"]
    spoiled["timeline"] = [{**row, "url": bad[i % len(bad)]} for i, row in enumerate(report["timeline"])]
    page = render_html(spoiled)
    markdown = render_markdown(spoiled)
    hrefs = re.findall(r"""href\s*=\s*["']?([^"' >]*)""", page, re.I)
    assert hrefs and all(h.startswith("#") for h in hrefs)
    assert "attacker.invalid" not in page and "attacker.invalid" not in markdown
    # A Markdown link is `](target)` with the bracket not escaped: none may point elsewhere than http(s).
    targets = re.findall(r"(?<!\\)\]\(([^)]*)\)", markdown)
    assert targets == [] and "[open]" not in markdown


def test_safe_url_keeps_only_absolute_http_links():
    assert safe_url("https://acme.atlassian.net/browse/OPS-1234") == "https://acme.atlassian.net/browse/OPS-1234"
    assert safe_url("http://grafana.internal:3000/d/abc?var=1") == "http://grafana.internal:3000/d/abc?var=1"
    for bad in ("javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html;base64,PHNjcmlwdD4=",
                "/relative/path", "//evil.example", "https:///nohost", "https://a.example/\nx", None, 42):
        assert safe_url(bad) is None


def test_markdown_cell_cannot_break_the_table_or_add_links_or_html(hostile):
    cell = md_cell("a | b\nc [click](javascript:alert(1)) <b>x</b> `code`")
    assert "\n" not in cell
    assert cell == "a \\| b c \\[click\\](javascript:alert(1)) &lt;b&gt;x&lt;/b&gt; \\`code\\`"
    markdown = _read(hostile, "postmortem.md")
    (row,) = [line for line in markdown.splitlines() if line.startswith("| 14:17:00 UTC")]
    assert len(re.findall(r"(?<!\\)\|", row)) == 6      # still five cells: the pipes in the text are escaped
    assert "<b>" not in markdown and "<script" not in markdown


def test_csv_neutralises_formulas_and_round_trips(hostile):
    rows = list(csv.DictReader(io.StringIO(_read(hostile, "timeline.csv"))))
    titles = [r["title"] for r in rows]
    assert "'" + FORMULA in titles
    assert not any(t.startswith(("=", "+", "-", "@")) for t in titles)
    assert all(r["ts"].endswith("Z") for r in rows)


def test_hostile_json_still_matches_the_schema(hostile, export_schema):
    jsonschema.validate(json.loads(_read(hostile, "postmortem.json")), export_schema,
                        cls=jsonschema.Draft202012Validator)


def test_a_collapsed_alert_storm_is_drawn_as_a_span(report):
    stormy = dict(report)
    first = report["timeline"][0]
    stormy["timeline"] = [{**first, "count": 40, "last_ts": first["ts"] + timedelta(minutes=9)}] + report["timeline"][1:]
    page = render_html(stormy)
    assert re.search(r'<rect class="storm system"[^>]*width="[0-9.]+"', page)
    assert "×40" in page
    assert "×40 over 9m 00s" in render_markdown(stormy)


def test_every_markdown_table_keeps_its_shape_and_there_is_no_raw_html(hostile):
    """What makes the draft paste cleanly into Confluence, Google Docs and Notion."""
    markdown = _read(hostile, "postmortem.md")
    assert not re.search(r"<[a-zA-Z/!]", markdown)
    tables, current = [], []
    for line in markdown.splitlines() + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    assert len(tables) >= 8
    for table in tables:
        widths = {len(re.findall(r"(?<!\\)\|", line)) for line in table}
        assert len(widths) == 1, table
        assert re.fullmatch(r"\|(-+\|)+", table[1]), table[1]


def test_the_catalogs_incident_tables_are_redacted_as_the_exports_are(hostile):
    """Analysts read the catalog: its incident tables hold no secret; the events keep the
    text verbatim unless the source asks for `redact: events`."""
    import duckdb

    from incident_timeline.lake.tables import INCIDENT_TABLES
    con = duckdb.connect(str(hostile["config"].parent / "lake" / "catalog.duckdb"), read_only=True)
    try:
        texts = {t.name: str(con.execute(f"SELECT * FROM {t.name} WHERE incident_id = ?",
                                         [DEMO_INCIDENT]).fetchall()) for t in INCIDENT_TABLES}
        events = str(con.execute("SELECT title, body FROM events WHERE body LIKE '%bot token%'").fetchall())
    finally:
        con.close()
    for name, text in texts.items():
        for secret in SECRETS.values():
            assert secret not in text, name
    assert "[REDACTED slack-token]" in texts["timeline"] and "password=[REDACTED password]" in texts["timeline"]
    assert SECRETS["slack"] in events   # the switch is off here: events as the source wrote them


def test_a_status_update_is_inert_text_in_every_format(hostile):
    markdown, page = _read(hostile, "postmortem.md"), _read(hostile, "postmortem.html")
    (line,) = [x for x in markdown.splitlines() if x.startswith("  - 14:20:00 UTC identified: ")]
    assert "&lt;script&gt;" in line and "<script" not in line
    assert "\\| broken \\| table \\[click me\\](javascript:alert(1)) &lt;b&gt;bold&lt;/b&gt;" in line
    assert "\\* not a list item" in line            # one line: its own line break cannot start a list
    assert SECRETS["github"] not in markdown
    assert "[REDACTED github-token]" in line.replace("\\[", "[").replace("\\]", "]")
    updates = page[page.index('<ul class="status-updates">'):]
    updates = updates[:updates.index("</ul>")]
    assert "&lt;script&gt;document.title=&#39;PWNED&#39;&lt;/script&gt;" in updates
    assert "<b>" not in updates and 'href="javascript' not in updates
    contract = json.loads(_read(hostile, "postmortem.json"))
    texts = [u["text"] for u in contract["communication"]["updates"]]
    assert contract["communication"]["status_updates"] == 5 and any(t.startswith(SCRIPT) for t in texts)
