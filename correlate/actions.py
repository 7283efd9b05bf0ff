"""Action items: follow-up tickets linked to the incident, and chat lines that mark one.

A ticket in the incident is a follow-up when it is not one of the incident's own tickets
(those that name the seed or an alerting incident directly) and it was created after
detection. A chat line that starts a follow-up ("Follow-up:", "Action item:", "TODO:",
"AI:") becomes one too, unless it names a ticket already listed.
"""
from __future__ import annotations

import json
import re
from datetime import date

FOLLOW_UP = re.compile(r"\b(follow[- ]?up|action item|todo|AI)\s*:\s*(?P<what>.+)", re.IGNORECASE)
DUE = re.compile(r"\bdue\s*:?\s*(?P<due>\d{4}-\d{2}-\d{2})\b", re.IGNORECASE)
OWNER = re.compile(r"\b(owner|assignee)\s*:?\s*@?(?P<owner>[A-Z][\w.'-]+(?: [A-Z][\w.'-]+)?)")
DONE = {"done", "closed", "resolved", "complete"}


def action_items(events: list[dict], seed: str, detected) -> list[dict]:
    items: list[dict] = []
    listed: set[str] = set()
    for e in events:
        if e["kind"] != "ticket.created":
            continue
        refs = e.get("refs") or []
        own_ref = next((r for r in refs if r.startswith("jira:")), None)
        is_incident_ticket = seed in refs[1:] or own_ref == seed or any(
            r.startswith(("pagerduty:", "opsgenie:")) for r in refs)
        if is_incident_ticket or (detected and e["ts"] < detected):
            continue
        attrs = json.loads(e.get("attrs") or "{}")
        status = attrs.get("status")
        items.append({"title": attrs.get("summary") or e["title"], "owner": attrs.get("assignee"),
                      "due": _date(attrs.get("due")), "ref": own_ref,
                      "status": action_status(status, attrs.get("status_category")), "origin": e["event_id"]})
        listed.add(own_ref)
    for e in events:
        if e["category"] != "chat" or e["actor_type"] != "human":
            continue
        m = FOLLOW_UP.search(e.get("body") or "")
        if not m:
            continue
        if any(r in listed for r in e.get("refs") or []):
            continue
        text = m.group("what").strip()
        due = DUE.search(text)
        owner = OWNER.search(text)
        items.append({"title": text, "owner": owner.group("owner") if owner else None,
                      "due": _date(due.group("due")) if due else None, "ref": None,
                      "status": "open", "origin": e["event_id"]})
    return items


def action_status(name: str | None, category: str | None) -> str:
    """A ticket status as an action item's: `done` (any done category or name), else the name."""
    if category == "done" or (name or "").lower() in DONE:
        return "done"
    return "open" if not name else name.lower()


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None
