"""Everyone who acted or was paged, when they joined, who answered; escalations and their delays.

A page is an `alert.notified` event; its `subject` names the person (comma-separated when
several). An action is any human event that is not a channel join or leave. A paged person
answered when they acted after their first page.
"""
from __future__ import annotations

import re
from datetime import datetime

PASSIVE = ("chat.join", "chat.leave")
SPEAKING = ("chat.message", "chat.reply", "ticket.comment", "alert.annotated")
_LEVEL = re.compile(r"\blevel\s*(\d+)", re.IGNORECASE)


def responders(events: list[dict]) -> list[dict]:
    """`events` sorted by time."""
    people: dict[str, dict] = {}

    def person(name: str, ts: datetime) -> dict:
        row = people.setdefault(name, {"name": name, "first_seen": ts, "first_action": None, "paged": False,
                                       "paged_at": None, "acknowledged": False, "spoke": False,
                                       "answered": None, "response_delay_s": None})
        row["first_seen"] = min(row["first_seen"], ts)
        return row

    for e in events:
        if e["kind"] == "alert.notified":
            for name in _names(e.get("subject")):
                row = person(name, e["ts"])
                if not row["paged"]:
                    row["paged"], row["paged_at"], row["answered"] = True, e["ts"], False
        if e["actor_type"] != "human" or not e.get("actor"):
            continue
        row = person(e["actor"], e["ts"])
        if e["kind"] in PASSIVE:
            continue
        row["first_action"] = row["first_action"] or e["ts"]
        if e["kind"] == "alert.acknowledged":
            row["acknowledged"] = True
        if e["kind"] in SPEAKING:
            row["spoke"] = True
        if row["paged"] and not row["answered"] and e["ts"] >= row["paged_at"]:
            row["answered"] = True
            row["response_delay_s"] = (e["ts"] - row["paged_at"]).total_seconds()
    return sorted(people.values(), key=lambda r: (r["first_seen"], r["name"]))


def escalations(events: list[dict], detected: datetime | None) -> list[dict]:
    out = []
    for e in events:
        if e["kind"] != "alert.escalated":
            continue
        targets = set(_names(e.get("subject")))
        answer = next((x for x in events if x["ts"] >= e["ts"] and x["actor_type"] == "human"
                       and x.get("actor") in targets and x["kind"] not in PASSIVE), None)
        level = _LEVEL.search(e.get("title") or "")
        out.append({
            "ts": e["ts"], "event_id": e["event_id"], "by_actor": e.get("actor"), "to_whom": e.get("subject"),
            "level": int(level.group(1)) if level else None,
            "since_detected_s": (e["ts"] - detected).total_seconds() if detected else None,
            "answered_at": answer["ts"] if answer else None,
            "answer_delay_s": (answer["ts"] - e["ts"]).total_seconds() if answer else None,
        })
    return out


def _names(subject: str | None) -> list[str]:
    return [n.strip() for n in (subject or "").split(",") if n.strip()]
