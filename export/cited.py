"""Sentences that cite their evidence: `{"text", "event_ids", "records"}`, where each event id
is one of the incident's timeline events and `records` names them as the timeline's Record
column does (`source:native_id`). A sentence with no evidence in this incident is never made."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Callable

from .filters import cell, local_filter, utc

QUOTE_LIMIT = 160
# Joining or leaving a channel is not an action (as correlate/responders.py counts them).
PASSIVE = ("chat.join", "chat.leave")


def record_id(record: dict[str, Any] | None) -> str | None:
    """A record as the timeline's Record column names it: `source:native_id`."""
    if not record or not record.get("native_id"):
        return None
    return f"{record['source']}:{record['native_id']}"


class Evidence:
    """The incident's timeline, indexed by event id."""

    def __init__(self, report: dict[str, Any]):
        self.rows: dict[str, dict[str, Any]] = {}
        self.records: dict[str, str] = {}
        for row in report["timeline"]:
            records = row.get("records") or []
            for i, event_id in enumerate(row["event_ids"] or []):
                self.rows[event_id] = row
                name = record_id(records[i] if i < len(records) else None)
                if name:
                    self.records[event_id] = name

    def row(self, event_id: str | None) -> dict[str, Any] | None:
        return self.rows.get(event_id) if event_id else None

    def sentence(self, text: str, event_ids: list[str | None], **extra: Any) -> dict[str, Any] | None:
        """The sentence citing those of `event_ids` that are in this incident; None if none is."""
        ids = list(dict.fromkeys(e for e in event_ids if e and e in self.rows))
        if not ids:
            return None
        return {"text": text, "event_ids": ids, "records": [self.records[e] for e in ids if e in self.records],
                **extra}


def clock_text(clock: str, display_tz: str | None = None) -> Callable[[datetime | None], str]:
    """`14:12:11 UTC`, or `14:12:11 UTC (16:12:11 CEST)` when a display zone is asked."""
    local = local_filter(display_tz)

    def when(ts: datetime | None) -> str:
        text = utc(ts, clock)
        return f"{text} ({local(ts, clock + ' %Z')})" if display_tz and ts else text
    return when


def quote(text: Any, limit: int = QUOTE_LIMIT) -> str:
    """Someone's words, on one line and cut, in quotation marks: shown as text by every format."""
    return f"“{cell(text, limit)}”"


def names(items: list[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def present(items: list[dict[str, Any] | None]) -> list[dict[str, Any]]:
    return [i for i in items if i]


def actions_of(report: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The timeline rows of a person's own actions, in time order; a deploy or config change
    they made before detection is what changed, not part of the response."""
    detected = report["incident"].get("detected")
    return [r for r in report["timeline"]
            if r.get("actor") == name and r.get("actor_type") == "human" and r["kind"] not in PASSIVE
            and not (r.get("category") == "change" and detected is not None and r["ts"] < detected)]


def pages_of(report: dict[str, Any], name: str, paged_at: datetime | None = None) -> list[dict[str, Any]]:
    """The pages that name a person (`Notified Alice Chen by SMS.`), the name as a whole word;
    when no page's title names them (a source that titles a page otherwise), the page sent at
    the moment correlate found them paged."""
    pages = [r for r in report["timeline"] if r["kind"] == "alert.notified"]
    named = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
    return [r for r in pages if named.search(r.get("title") or "")] or \
        [r for r in pages if paged_at is not None and r["ts"] == paged_at]
