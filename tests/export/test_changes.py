"""The demo draft says what changed: the v2.31.0 deploy seven minutes before detection and
its rollback, in the root-cause evidence (JSON `changes`, Markdown, HTML) and before each
decision point; hostile text in a change's title stays text."""
from __future__ import annotations

import copy
import json

from incident_timeline.export.render import render_html
from tests.support import DEMO_INCIDENT  # noqa: F401  (the demo_build fixture builds it)


def test_the_json_names_the_deploy_before_detection_and_the_rollback_after(demo_build):
    draft = json.loads((demo_build["out"] / "postmortem.json").read_text(encoding="utf-8"))
    first, *rest = draft["changes"]
    assert first["before_detection"] is True and first["seconds_from_detection"] == -431.0
    assert "checkout-api v2.31.0" in first["text"] and "7 minutes before detection" in first["text"]
    assert first["records"] == ["github:acme/checkout-api/deployments/911201"]
    rollback = next(c for c in rest if "change.rollback" in c["text"])
    assert rollback["before_detection"] is False and "18 minutes after detection" in rollback["text"]
    assert "by Bob Martin" in rollback["text"]
    assert not any("search-indexer" in c["text"] for c in draft["changes"])     # another incident's deploy
    ack = next(p for p in draft["decision_points"] if p["decision"] == "acknowledge")
    assert [c["text"] for c in ack["recent_changes"]][0] == "Deploy started checkout-api v2.31.0 to production"


def test_markdown_and_html_show_it_in_the_root_cause_and_before_decisions(demo_build):
    markdown = (demo_build["out"] / "postmortem.md").read_text(encoding="utf-8")
    root = markdown[markdown.index("## Root cause"):markdown.index("### Five Whys")]
    assert "Changed before detection: “Deploy started checkout-api v2.31.0 to production” by Alice Chen" in root
    decisions = markdown[markdown.index("### Decision points"):markdown.index("## Interview guide")]
    assert "What had just changed before each decision:" in decisions
    assert "- 14:06:40 UTC acknowledge: 13:55:00 Alice Chen: Deploy started checkout-api v2.31.0" in decisions
    page = (demo_build["out"] / "postmortem.html").read_text(encoding="utf-8")
    assert '<ul class="changes">' in page and "7 minutes before detection" in page


def test_a_hostile_change_title_is_escaped_in_html(demo_build):
    report = copy.deepcopy(demo_build["report"])
    row = next(r for r in report["timeline"] if r["kind"] == "change.deploy_started")
    row["title"] = "<script>alert(1)</script> v2.31.0"
    page = render_html(report)
    root = page[page.index('<section id="root-cause">'):]
    assert "<script>alert(1)</script>" not in root and "&lt;script&gt;alert(1)&lt;/script&gt;" in root
