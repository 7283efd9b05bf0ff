"""Decision points: for each human decision, what the responder could see just before it.

Decisions are human acknowledgements, escalations, ticket status changes and resolutions,
alert resolutions, and the event that set the mitigated milestone. What was visible: the
alerts triggered and not yet resolved at that moment, and the last messages (chat, notes,
ticket comments) before it, and what had just changed: the deploys, rollbacks and config
changes of the incident's services (correlate/changes.py) within `change_window` before it.
"""
from __future__ import annotations

from datetime import timedelta

from .responders import SPEAKING

DECISIONS = {"alert.acknowledged": "acknowledge", "alert.escalated": "escalate",
             "ticket.status": "status_change", "ticket.priority": "status_change",
             "ticket.resolved": "resolve", "alert.resolved": "resolve"}
LAST_MESSAGES = 3


def decision_points(rows: list[dict], mitigation_event_id: str | None,
                    change_window: timedelta = timedelta(hours=2)) -> list[dict]:
    """`rows` are timeline rows sorted by (ts, source, first event id)."""
    out = []
    for i, row in enumerate(rows):
        is_mitigation = mitigation_event_id is not None and mitigation_event_id in row["event_ids"]
        decision = "mitigation" if is_mitigation else DECISIONS.get(row["kind"])
        if decision is None or row["actor_type"] != "human":
            continue
        before = rows[:i]
        out.append({"ts": row["ts"], "event_id": row["event_ids"][0], "seq": row["seq"], "actor": row["actor"],
                    "decision": decision, "title": row["title"],
                    "alerts_firing": [_visible(r) for r in _firing(before)],
                    "last_messages": [_visible(r) for r in
                                      [r for r in before if r["kind"] in SPEAKING][-LAST_MESSAGES:]],
                    "recent_changes": [_visible(r) for r in before if r["category"] == "change"
                                       and r["ts"] >= row["ts"] - change_window][-LAST_MESSAGES:]})
    return out


def _firing(rows: list[dict]) -> list[dict]:
    """Alerts triggered and not resolved by the end of `rows`, keyed by their first ref-like title."""
    open_alerts: dict[str, dict] = {}
    for r in rows:
        if r["category"] != "alert":
            continue
        key = _alert_key(r)
        if r["kind"] == "alert.triggered":
            open_alerts[key] = r
        elif r["kind"] == "alert.resolved":
            open_alerts.pop(key, None)
    return list(open_alerts.values())


def _alert_key(row: dict) -> str:
    refs = row.get("inc_refs") or []
    return refs[0] if refs else row["source"]


def _visible(row: dict) -> dict:
    return {"ts": row["ts"], "source": row["source"], "actor": row["actor"],
            "text": row["title"], "event_id": row["event_ids"][0]}
