"""What the draft says, derived once from a loaded report, for every template to present.

Pure functions of the report dict: the Markdown and HTML templates only lay this out, so
the two formats cannot disagree about what the data shows.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from incident_timeline.contract.milestones import MILESTONES

from .causes import HUMAN_TEXT, ROOT_CAUSE_HINT
from .cited import record_id
from .comms import communication
from .clock import DATE_TIME, TIME, clocks  # noqa: F401  (the view's names for them)
from .filters import safe_url
from .firstpass import first_pass

SILENCE_KINDS = re.compile(r"\.(snoozed|silenced|suppressed|muted)$")
EVIDENCE_BEFORE_MITIGATION = 5
EVIDENCE_AFTER_MITIGATION = 3


def draft(report: dict[str, Any], display_tz: str | None = None) -> dict[str, Any]:
    inc = report["incident"]
    when = clocks(report, display_tz)
    marks: dict[str, list[str]] = {}
    for name in MILESTONES:
        m = report["milestones"].get(name)
        if m is None:
            continue
        marks.setdefault(m["event_id"], []).append(name.replace("_", " "))
    rows = [timeline_row(i, r, marks) for i, r in enumerate(report["timeline"])]
    return {
        "rows": rows,
        "impact": impact(inc, report["timeline"]),
        "response": response(inc, report["timeline"], report["responders"], report.get("escalations")),
        "communication": communication(report.get("status_updates"), inc["detected"]),
        "evidence": five_whys_evidence(inc, report["timeline"]),
        "quality": quality(report),
        "gaps": gaps(report.get("gaps")),
        "decisions": decisions(report.get("decision_points"), when["clock"]),
        "first_pass": first_pass(report, display_tz),
        "cited": cited_rows(rows),
        "assisted": assisted(report.get("assisted")),
        **when,
    }


def assisted(part: dict[str, Any] | None) -> dict[str, Any] | None:
    """The model's part (--assist) as the templates show it: the sentences that passed and
    the dropped ones counted per reason; None when the draft was built without --assist."""
    if part is None:
        return None
    from .assist import SECTIONS, dropped_counts
    return {**part, "kept": sum(len(part[p]) for p in SECTIONS.values()), "dropped_counts": dropped_counts(part)}


def timeline_row(index: int, row: dict[str, Any], marks: dict[str, list[str]]) -> dict[str, Any]:
    """A timeline row with the way back to its source (a link, else the record ids) and the
    milestones it is the evidence for."""
    records = row.get("records") or []
    count = row.get("count") or 1
    span = None
    if count > 1 and row.get("last_ts") and row["last_ts"] != row["ts"]:
        span = (row["last_ts"] - row["ts"]).total_seconds()
    return {**row, "count": count, "anchor": f"row-{index + 1}", "link": safe_url(row.get("url")), "storm_span_s": span,
            "record_ids": [name for name in map(record_id, records) if name],
            "milestones": [m for e in (row["event_ids"] or []) for m in marks.get(e, [])]}


def cited_rows(rows: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """event id -> the timeline row a citation links to, and the record it names there."""
    out = {}
    for row in rows:
        records = row.get("records") or []
        for i, event_id in enumerate(row["event_ids"] or []):
            out[event_id] = {"anchor": row["anchor"],
                             "record": record_id(records[i] if i < len(records) else None) or event_id}
    return out


def impact(inc: dict[str, Any], timeline: list[dict[str, Any]]) -> dict[str, Any]:
    triggers = [r for r in timeline if r["kind"] == "alert.triggered"]
    return {
        "services": list(inc["services"] or []),
        "alerting_s": inc["time_to_resolve_s"],
        "alerts_fired": sum(r["count"] or 1 for r in triggers),
        "storms": [r for r in timeline if (r["count"] or 1) > 1],
    }


def response(inc: dict[str, Any], timeline: list[dict[str, Any]], people: list[dict[str, Any]],
             escalations: dict[str, Any] | None) -> dict[str, Any]:
    detected = inc["detected"]
    human_chat = [r for r in timeline if r["category"] == "chat" and r["actor_type"] == "human"
                  and r["kind"] in ("chat.message", "chat.reply")]
    first_msg = human_chat[0]["ts"] if human_chat else None
    responders = [responder(p) for p in people]
    return {
        "responders": responders,
        "escalations": escalation_rows(timeline, escalations),
        "pages": [r for r in timeline if r["kind"] == "alert.notified"],
        "paged": [p["name"] for p in responders if p["paged"]],
        "answered": [p["name"] for p in responders if p["paged"] and p["answered"]],
        "unanswered": [p["name"] for p in responders if p["paged"] and not p["answered"]],
        "unpaged_helpers": [p["name"] for p in responders if not p["paged"] and (p["acknowledged"] or p["spoke"])],
        "silences": [r for r in timeline if SILENCE_KINDS.search(r["kind"] or "")],
        "human_messages": len(human_chat),
        "bot_posts": sum(1 for r in timeline if r["category"] == "chat" and r["actor_type"] == "bot"),
        "first_message": first_msg,
        "first_message_after_s": (first_msg - detected).total_seconds() if first_msg and detected else None,
    }


def responder(person: dict[str, Any]) -> dict[str, Any]:
    """A responder row; catalogs built before `answered` existed count acknowledging or
    speaking as answering."""
    answered = person.get("answered")
    if answered is None and person["paged"]:
        answered = bool(person["acknowledged"] or person["spoke"])
    return {**person, "answered": answered, "paged_at": person.get("paged_at"),
            "response_delay_s": person.get("response_delay_s")}


def escalation_rows(timeline: list[dict[str, Any]], table: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Escalations with whom they went to and how fast that person acted, when the catalog
    knows; else the escalation rows of the timeline."""
    if table is not None:
        return [{"ts": e.get("ts"), "title": f"escalated by {e.get('by_actor') or 'unknown'}"
                 + (f" to {e['to_whom']}" if e.get("to_whom") else "")
                 + (f" (level {e['level']})" if e.get("level") is not None else ""),
                 "answer_delay_s": e.get("answer_delay_s")} for e in table["rows"]]
    return [{"ts": r["ts"], "title": r["title"], "answer_delay_s": None}
            for r in timeline if r["kind"] == "alert.escalated"]


def five_whys_evidence(inc: dict[str, Any], timeline: list[dict[str, Any]]) -> dict[str, Any]:
    """What people wrote leading up to mitigation, and what they said about cause after it."""
    pivot: datetime | None = inc["mitigated"] or inc["resolved"]
    said = [r for r in timeline if r["actor_type"] == "human" and r["category"] in HUMAN_TEXT
            and r["kind"] != "chat.join"]
    if pivot is None:
        return {"pivot": None, "pivot_name": None, "before": said[-EVIDENCE_BEFORE_MITIGATION:], "after": []}
    before = [r for r in said if r["ts"] <= pivot][-EVIDENCE_BEFORE_MITIGATION:]
    after = [r for r in said if r["ts"] > pivot and ROOT_CAUSE_HINT.search(f"{r['title']} {r['body'] or ''}")]
    return {"pivot": pivot, "pivot_name": "mitigated" if inc["mitigated"] else "resolved",
            "before": before, "after": after[:EVIDENCE_AFTER_MITIGATION]}


def quality(report: dict[str, Any]) -> dict[str, Any]:
    inc = report["incident"]
    by_source = report["events_by_source"]
    rejects = report["rejects_by_source"]
    sources = sorted(set(by_source) | set(rejects) | set(inc["sources"] or []))
    return {
        "sources": [{"name": s, "events": by_source.get(s, 0), "rejects": rejects.get(s)} for s in sources],
        "rejects": inc["rejects"] or 0,
        "warnings": list(inc["warnings"] or []),
        "window": (inc.get("window_start"), inc.get("window_end")),
    }



def gaps(table: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """Silences correlate flagged; None when the catalog does not compute them."""
    if table is None:
        return None
    return [{"start": g.get("start_ts"), "end": g.get("end_ts"), "duration_s": g.get("duration_s")}
            for g in table["rows"]]


def decisions(table: dict[str, Any] | None, clock: str = TIME) -> list[dict[str, Any]] | None:
    """Each human decision with what was visible just before it, as short lines."""
    if table is None:
        return None
    return [{"ts": p.get("ts"), "actor": p.get("actor"), "decision": p.get("decision"), "title": p.get("title"),
             "alerts_firing": [_visible(v, clock) for v in p.get("alerts_firing") or []],
             "last_messages": [_visible(v, clock) for v in p.get("last_messages") or []],
             "recent_changes": [_visible(v, clock) for v in p.get("recent_changes") or []]}
            for p in table["rows"]]


def _visible(item: Any, clock: str = TIME) -> str:
    if not isinstance(item, dict):
        return str(item)
    ts = item.get("ts")
    when = f"{ts.astimezone(timezone.utc).strftime(clock)} " if isinstance(ts, datetime) else ""
    who = f"{item['actor']}: " if item.get("actor") else ""
    return f"{when}{who}{item.get('text') or ''}".strip()
