"""The draft's first pass, written from the data with no model: a cited summary, an interview
guide per responder, and the statements about cause found in the data. The same sentences
go to the JSON export (times in UTC) and to the Markdown and HTML drafts (with local times
when a display zone is asked)."""
from __future__ import annotations

from typing import Any

from .causes import statements_about_cause
from .changes import changes_around_detection
from .cited import Evidence, clock_text
from .clock import clocks
from .interviews import interview_guide
from .summary import summary

DRAFTED_FROM = "data"


def first_pass(report: dict[str, Any], display_tz: str | None = None) -> dict[str, Any]:
    ev = Evidence(report)
    when = clock_text(clocks(report)["clock"], display_tz)
    return {"summary": {"drafted_from": DRAFTED_FROM, "sentences": summary(report, ev, when)},
            "interview_guide": interview_guide(report, ev, when),
            "root_cause_candidates": statements_about_cause(report, ev, when),
            "changes": changes_around_detection(report, ev, when)}
