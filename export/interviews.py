"""An interview guide: for each responder, 3 to 6 questions tied to their own moments in the
timeline (their page, their decisions with what they could see then, their messages, the
silences), about information, communication, decision-making and resources. A responder
with no moment of their own (never paged, never acted) gets no guide.

Blameless by construction: every question asks about the system and the situation (what was
known, visible, needed, missing), never about how well the person did."""
from __future__ import annotations

from typing import Any, Callable

from .cited import Evidence, actions_of, pages_of, present, quote

MAX_DECISIONS = 3
SEEN_LIMIT = 3          # alerts or messages named per decision; the rest are counted
DECIDED = {"acknowledge": "acknowledged the alert", "escalate": "escalated",
           "status_change": "changed the ticket status", "mitigation": "reported that the impact stopped",
           "resolve": "resolved"}
TOPICS = ("information", "communication", "decision-making", "resources")
# Kinds that change a record's state rather than say something to someone.
NOT_SAID = ("chat.join", "chat.leave", "ticket.status", "ticket.assigned", "ticket.resolved", "ticket.priority")


def interview_guide(report: dict[str, Any], ev: Evidence, when: Callable) -> list[dict[str, Any]]:
    decisions = (report.get("decision_points") or {}).get("rows") or []
    guide = []
    for person in report["responders"]:
        name = person["name"]
        theirs = actions_of(report, name)
        pages = pages_of(report, name, person.get("paged_at"))
        if not theirs and not pages:
            continue
        chosen = present([decision(p, ev, when) for p in _key_decisions(decisions, name)])
        questions = present([information(ev, when, pages, theirs),
                             *(chosen or [first_step(ev, when, pages, theirs)]),
                             communication(ev, when, pages, theirs),
                             resources(report, ev, when, pages, theirs)])
        if questions:
            guide.append({"responder": name, "questions": questions})
    return guide


def _key_decisions(decisions: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """Their decisions, escalations and mitigations first, then in time order."""
    theirs = [p for p in decisions if p.get("actor") == name]
    ranked = sorted(theirs, key=lambda p: (p.get("decision") not in ("escalate", "mitigation"), p["ts"]))
    return sorted(ranked[:MAX_DECISIONS], key=lambda p: p["ts"])


def information(ev: Evidence, when: Callable, pages: list[dict[str, Any]],
                theirs: list[dict[str, Any]]) -> dict | None:
    if pages:
        return ev.sentence(f"You were paged at {when(pages[0]['ts'])} ({quote(pages[0]['title'], 80)}). What did the "
                           "page tell you, and what did you have to look up before you could act on it?",
                           list(pages[0]["event_ids"] or []), topic="information")
    return ev.sentence(f"Your first recorded step was at {when(theirs[0]['ts'])} ({quote(theirs[0]['title'], 80)}). "
                       "How did you learn about the incident, and what information was missing at that point?",
                       list(theirs[0]["event_ids"] or []), topic="information")


def decision(point: dict[str, Any], ev: Evidence, when: Callable) -> dict | None:
    verb = DECIDED.get(point.get("decision") or "", "acted")
    firing = point.get("alerts_firing") or []
    seen = point.get("last_messages") or []
    cited = [point.get("event_id")] + [v.get("event_id") for v in (firing[:SEEN_LIMIT] + seen[-SEEN_LIMIT:])
                                       if isinstance(v, dict)]
    return ev.sentence(f"At {when(point['ts'])} you {verb} ({quote(point.get('title'), 100)}). "
                       f"Alerts firing then: {_listed(firing[:SEEN_LIMIT], len(firing), when)}; "
                       f"the last messages you could see: {_listed(seen[-SEEN_LIMIT:], len(seen), when)}. "
                       "What else did you know, and what did you need?", cited, topic="decision-making")


def first_step(ev: Evidence, when: Callable, pages: list[dict[str, Any]],
               theirs: list[dict[str, Any]]) -> dict | None:
    """Decision-making for someone with no recorded decision point: their first step, or the page."""
    if theirs:
        row = theirs[0]
        return ev.sentence(f"At {when(row['ts'])} you took your first recorded step ({quote(row['title'], 100)}). "
                           "What options were open at that moment, and what in the situation pointed to this one?",
                           list(row["event_ids"] or []), topic="decision-making")
    return ev.sentence(f"When the page of {when(pages[0]['ts'])} arrived, what options did the situation leave open "
                       "(take it, hand it over, wait for more), and what would have made the choice clearer?",
                       list(pages[0]["event_ids"] or []), topic="decision-making")


def _listed(items: list[Any], total: int, when: Callable) -> str:
    if not items:
        return "none recorded"
    more = f" (and {total - len(items)} more)" if total > len(items) else ""
    return "; ".join(_seen(v, when) for v in items) + more


def _seen(item: Any, when: Callable) -> str:
    if not isinstance(item, dict):
        return quote(item, 100)
    who = f"{item['actor']} " if item.get("actor") else ""
    return f"{when(item.get('ts'))} {who}{quote(item.get('text'), 100)}"


def communication(ev: Evidence, when: Callable, pages: list[dict[str, Any]],
                  theirs: list[dict[str, Any]]) -> dict | None:
    said = [r for r in theirs if r["category"] in ("chat", "note", "ticket") and r["kind"] not in NOT_SAID]
    if said:
        return ev.sentence(f"At {when(said[0]['ts'])} you wrote {quote(said[0].get('body') or said[0]['title'], 120)}. "
                           "Who needed to hear it, and did the channels and tools in use make that easy?",
                           list(said[0]["event_ids"] or []), topic="communication")
    if theirs:
        return ev.sentence(f"The recorded channels hold no message from you; your steps show from "
                           f"{when(theirs[0]['ts'])}. Where did the coordination you took part in happen, and "
                           "what would have made it visible to everyone involved?",
                           list(theirs[0]["event_ids"] or []), topic="communication")
    return ev.sentence(f"After the page at {when(pages[0]['ts'])}, how did news of the incident reach you, and "
                       "through which channels?", list(pages[0]["event_ids"] or []), topic="communication")


def resources(report: dict[str, Any], ev: Evidence, when: Callable, pages: list[dict[str, Any]],
              theirs: list[dict[str, Any]]) -> dict | None:
    """A silence while they were involved, if correlate found one; else their part of the response."""
    if not theirs:
        return ev.sentence(f"What stood in the way of picking up the page at {when(pages[0]['ts'])} (device, coverage, "
                           "handover, other work), and what would make a page easier to take?",
                           list(pages[0]["event_ids"] or []), topic="resources")
    start, end = theirs[0]["ts"], theirs[-1]["ts"]
    gaps = (report.get("gaps") or {}).get("rows") or []
    for g in gaps:
        if g.get("end_ts") and g["end_ts"] >= start and g.get("start_ts") and g["start_ts"] <= end:
            return ev.sentence(f"The timeline shows no human action from {when(g['start_ts'])} to {when(g['end_ts'])}. "
                               "What was the response waiting for then (access, tools, people, information), and "
                               "what would have shortened the wait?",
                               [g.get("before_event_id"), g.get("after_event_id")], topic="resources")
    return ev.sentence(f"Between {when(start)} and {when(end)}, what tools, access, people or time were short, and "
                       "what would have made the work easier?",
                       list(theirs[0]["event_ids"] or []) + list(theirs[-1]["event_ids"] or []), topic="resources")
