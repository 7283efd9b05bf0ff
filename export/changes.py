"""What changed: each deploy, rollback and config change in the incident's timeline (correlate
pulls in those of its services from `correlation.change_window` before detection), said
against detection: "deployed 7 minutes before detection". Evidence for the root cause, cited,
never the answer."""
from __future__ import annotations

from typing import Any, Callable

from incident_timeline.contract.changes import IN_TIMELINE

from .cited import Evidence, present, quote

LIMIT = 8


def changes_around_detection(report: dict[str, Any], ev: Evidence, when: Callable) -> list[dict[str, Any]]:
    """Oldest first: the changes before detection ("changed before detection"), then those
    made while the incident was open (a rollback)."""
    detected = report["incident"].get("detected")
    out = []
    for row in report["timeline"]:
        if row.get("category") != "change" or row["kind"] not in IN_TIMELINE:
            continue
        who = f" by {row['actor']}" if row.get("actor") and row.get("actor_type") == "human" else ""
        if detected is None:
            relation = "while the incident was open"
        elif row["ts"] <= detected:
            relation = f"{_span(detected - row['ts'])} before detection"
        else:
            relation = f"{_span(row['ts'] - detected)} after detection"
        before = detected is not None and row["ts"] <= detected
        out.append(ev.sentence(f"{'Changed before detection' if before else 'Changed during the incident'}: "
                               f"{quote(row.get('title'), 120)}{who} ({row['source']}, {row['kind']}) at "
                               f"{when(row['ts'])}, {relation}", list(row["event_ids"] or []),
                               before_detection=before,
                               seconds_from_detection=None if detected is None else
                               (row["ts"] - detected).total_seconds()))
    return present(out)[:LIMIT]


def _span(delta) -> str:
    """`7 minutes`, `1 hour 5 minutes`, `under a minute`."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    hours, minutes = divmod(minutes, 60)
    parts = ([f"{hours} hour{'s' if hours > 1 else ''}"] if hours else []) + \
        ([f"{minutes} minute{'s' if minutes > 1 else ''}"] if minutes else [])
    return " ".join(parts)
