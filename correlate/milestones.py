"""Milestones, each citing the event it came from, and the metrics measured from them.

Definitions (also in the README and the draft):
- started: the earliest alert's own start time (alert.started events), else unknown.
- detected: the first alert.triggered in the incident, else its first event.
- acknowledged: the first alert.acknowledged at or after detected.
- first_response: the first action by a human at or after detected that is more than
  pressing a button: a message, note, comment, escalation, ticket change. Not the
  acknowledgement (that is its own milestone), not a channel join, not being paged, not
  viewing an alert (seeing is not responding).
- mitigated: the first human message or note at or after detected that says the impact
  stopped (rolled back, mitigated, recovered, ...), or a ticket moved to a mitigated status.
- resolved: the last alert.resolved when every triggered alert resolved, else the first
  ticket.resolved; unknown while the incident is open.
Metrics are seconds from detected (time_to_detect_s: from started to detected). Counts
(escalations, pages, messages) are of timeline rows, so a happening seen by two sources
counts once.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

MITIGATION = re.compile(
    r"\b(mitigat(ed|ion (is )?(done|complete|in place))|roll(ed)?[ -]?back (is )?(done|complete)|"
    r"rollback (is )?(done|complete|finished)|recovered|back to normal|error rate (is )?back|"
    r"impact (has )?(stopped|ended))\b", re.IGNORECASE)
NOT_A_RESPONSE = ("alert.acknowledged", "alert.notified", "alert.viewed", "chat.join", "chat.leave")


@dataclass
class Milestone:
    name: str
    ts: datetime
    event: dict
    rule: str


def find_milestones(events: list[dict]) -> dict[str, Milestone]:
    """`events` sorted by (ts, source, event_id)."""
    found: dict[str, Milestone] = {}
    started = _first(e for e in events if e["kind"] == "alert.started")
    if started:
        found["started"] = Milestone("started", started["ts"], started, "earliest alert start")
    detected = _first(e for e in events if e["kind"] == "alert.triggered")
    if detected:
        found["detected"] = Milestone("detected", detected["ts"], detected, "first alert.triggered")
    elif (first := _first(e for e in events if e["category"] != "change")) is not None:
        # a deploy before anyone noticed is what changed, not the detection
        found["detected"] = Milestone("detected", first["ts"], first, "first event (no alert)")
    t0 = found["detected"].ts if "detected" in found else None
    after = [e for e in events if t0 is None or e["ts"] >= t0]
    ack = _first(e for e in after if e["kind"] == "alert.acknowledged")
    if ack:
        found["acknowledged"] = Milestone("acknowledged", ack["ts"], ack, "first alert.acknowledged")
    response = _first(e for e in after if e["actor_type"] == "human" and e["kind"] not in NOT_A_RESPONSE)
    if response:
        found["first_response"] = Milestone("first_response", response["ts"], response,
                                            "first human action after detection, not an ack or a join")
    mitigated = _first(e for e in after if _says_mitigated(e))
    if mitigated:
        found["mitigated"] = Milestone("mitigated", mitigated["ts"], mitigated,
                                       "first human message or status saying the impact stopped")
    resolved = _resolved(events)
    if resolved:
        found["resolved"] = resolved
    return found


def _says_mitigated(event: dict) -> bool:
    if event["actor_type"] != "human":
        return False
    if event["kind"] == "ticket.status":
        return "mitigat" in (event.get("title") or "").lower().rsplit("→", 1)[-1]
    if event["category"] not in ("chat", "note") and event["kind"] != "alert.annotated":
        return False
    return bool(MITIGATION.search(event.get("body") or event.get("title") or ""))


def _resolved(events: list[dict]) -> Milestone | None:
    triggered = [_alert_keys(e) for e in events if e["kind"] == "alert.triggered"]
    resolved_alerts = [e for e in events if e["kind"] == "alert.resolved"]
    done = {k for e in resolved_alerts for k in _alert_keys(e)}
    if triggered and all(keys & done for keys in triggered):
        last = resolved_alerts[-1]
        return Milestone("resolved", last["ts"], last, "last alert.resolved, every alert resolved")
    ticket = _first(e for e in events if e["kind"] == "ticket.resolved")
    if ticket and not triggered:
        return Milestone("resolved", ticket["ts"], ticket, "first ticket.resolved (no alerts)")
    return None


_ALERT_PREFIXES = ("alert:", "pagerduty:", "opsgenie:")


def _alert_keys(event: dict) -> set[str]:
    """What identifies one alert across its triggered/resolved events: its alert or incident
    ref, and its own record's ref (the first of its refs: a PagerDuty alert is resolved by
    its incident's resolution)."""
    refs = event.get("refs") or []
    keys = {_alert_key(event)}
    own = next((r for r in refs if r.startswith(_ALERT_PREFIXES)), None)
    return keys | {own} if own else keys


def _alert_key(event: dict) -> str:
    """The alert's ref by preference: alert:, then pagerduty:, then opsgenie:."""
    refs = event.get("refs") or []
    for prefix in _ALERT_PREFIXES:
        for ref in refs:
            if ref.startswith(prefix):
                return ref
    return event["source"]


def metrics(found: dict[str, Milestone], rows: list[dict]) -> dict[str, Any]:
    """`rows` are the timeline rows (deduplicated); durations in seconds."""
    def secs(a: str, b: str) -> float | None:
        if a in found and b in found:
            return (found[b].ts - found[a].ts).total_seconds()
        return None

    t0 = found["detected"].ts if "detected" in found else None
    humans = {r["actor"] for r in rows if r["actor_type"] == "human" and r["actor"]
              and r["kind"] not in ("chat.join", "chat.leave") and not changed_before(r, t0)}
    return {
        "time_to_detect_s": secs("started", "detected"),
        "time_to_acknowledge_s": secs("detected", "acknowledged"),
        "time_to_first_response_s": secs("detected", "first_response"),
        "time_to_mitigate_s": secs("detected", "mitigated"),
        "time_to_resolve_s": secs("detected", "resolved"),
        "escalations": sum(r["kind"] == "alert.escalated" for r in rows),
        "pages": sum(r["kind"] == "alert.notified" for r in rows),
        "responders": len(humans),
        "messages": sum(r["kind"] in ("chat.message", "chat.reply") and r["actor_type"] == "human"
                        for r in rows),
    }


def changed_before(event: dict, detected: datetime | None) -> bool:
    """A deploy or config change made before detection: context, not a response to it."""
    return event["category"] == "change" and detected is not None and event["ts"] < detected


def _first(items: Iterable[dict]) -> dict | None:
    return next(iter(items), None)
