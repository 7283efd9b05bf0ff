"""Silences in the response: no human action for longer than `correlation.gap`.

The response runs from detected to resolved (to the last event while unresolved). Human
actions inside it (joins excluded) split it into stretches; a stretch longer than the
threshold is a gap, bounded by the actions (or milestones) on either side.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from .responders import PASSIVE


def gaps(rows: list[dict], start: tuple[datetime, str] | None, end: tuple[datetime, str] | None,
         threshold: timedelta) -> list[dict]:
    """`rows` are timeline rows sorted by time; `start` and `end` are (ts, event_id) of the
    detected and resolved milestones (end None while unresolved)."""
    if start is None or not rows:
        return []
    last = max(rows, key=lambda r: r["last_ts"])
    end = end or (last["last_ts"], last["event_ids"][-1])
    marks = [start]
    marks += [(r["ts"], r["event_ids"][0]) for r in rows
              if r["actor_type"] == "human" and r["kind"] not in PASSIVE and start[0] < r["ts"] < end[0]]
    marks.append(end)
    out = []
    for (a, a_id), (b, b_id) in zip(marks, marks[1:]):
        if b - a > threshold:
            out.append({"start_ts": a, "end_ts": b, "duration_s": (b - a).total_seconds(),
                        "before_event_id": a_id, "after_event_id": b_id})
    return out
