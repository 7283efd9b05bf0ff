"""The summary written from the data: what fired, where, how bad, each milestone and who
reached it, how long it took, who was paged and who answered, and the follow-ups filed.
Each sentence cites the events it states (see cited.py); a fact with no event behind it is
left out rather than said."""
from __future__ import annotations

from typing import Any, Callable

from .cited import Evidence, actions_of, names, pages_of, present, quote
from .filters import duration

ALSO_FIRED = 3

def summary(report: dict[str, Any], ev: Evidence, when: Callable) -> list[dict[str, Any]]:
    return present([detected(report, ev, when), also_fired(report, ev, when), severity(report, ev),
                    acknowledged(report, ev, when), *escalated(report, ev, when),
                    mitigated(report, ev, when), resolved(report, ev, when),
                    *paged(report, ev, when), *follow_ups(report, ev)])


def _milestone(report: dict[str, Any], ev: Evidence, name: str) -> tuple[dict | None, dict | None]:
    m = report["milestones"].get(name)
    return (m, ev.row(m["event_id"])) if m else (None, None)


def _who(row: dict[str, Any]) -> str:
    actor = row.get("actor") or "someone"
    return actor if row.get("actor_type") == "human" else f"{actor} ({row.get('actor_type') or 'automated'})"


def _since_detected(report: dict[str, Any], seconds_key: str) -> tuple[str, list[str]]:
    """`, 4m 29s after detection` and the detection's event, which that clause also rests on."""
    seconds = report["incident"].get(seconds_key)
    if seconds is None:
        return "", []
    return f", {duration(seconds)} after detection", [_detection(report)]


def _detection(report: dict[str, Any]) -> str | None:
    return (report["milestones"].get("detected") or {}).get("event_id")


def detected(report: dict[str, Any], ev: Evidence, when: Callable) -> dict | None:
    inc = report["incident"]
    m, row = _milestone(report, ev, "detected")
    if not row:
        return None
    what = quote(inc.get("title") or row.get("body") or row.get("title"))
    where = f" on {names(list(inc.get('services') or []))}" if inc.get("services") else ""
    times = f" {row['count']} times" if (row.get("count") or 1) > 1 else ""
    return ev.sentence(f"The alert {what} ({row['source']}) fired{times}{where} and was detected at {when(m['ts'])}.",
                       [m["event_id"]])


def also_fired(report: dict[str, Any], ev: Evidence, when: Callable) -> dict | None:
    """The alerts that fired besides the one that detected it (a storm is one row already), the
    first ones named, the rest counted."""
    m, row = _milestone(report, ev, "detected")
    first = m["event_id"] if row else None
    others = [r for r in report["timeline"] if r["kind"] == "alert.triggered" and first not in (r["event_ids"] or [])]
    if not others:
        return None
    named = names([f"{quote(r.get('body') or r['title'], 80)} at {when(r['ts'])}{_times(r)}"
                   for r in others[:ALSO_FIRED]])
    more = f"; {len(others) - ALSO_FIRED} more alerts" if len(others) > ALSO_FIRED else ""
    return ev.sentence(f"{'Also fired' if first else 'Alerts that fired'}: {named}{more}.",
                       [e for r in others for e in r["event_ids"] or []])


def _times(row: dict[str, Any]) -> str:
    return f" (×{row['count']})" if (row.get("count") or 1) > 1 else ""


def severity(report: dict[str, Any], ev: Evidence) -> dict | None:
    sev = report["incident"].get("severity")
    if not sev:
        return None
    rows = [r for r in report["timeline"] if r["kind"] == "alert.triggered"] or \
        [r for r in report["timeline"] if r["category"] == "alert"]
    alerts = [e for r in rows for e in r["event_ids"] or []]
    return ev.sentence(f"Its severity is {sev}, the highest its alerts carry.", alerts)


def acknowledged(report: dict[str, Any], ev: Evidence, when: Callable) -> dict | None:
    m, row = _milestone(report, ev, "acknowledged")
    if not row:
        return None
    after, detection = _since_detected(report, "time_to_acknowledge_s")
    return ev.sentence(f"{_who(row)} acknowledged it at {when(m['ts'])}{after}.", [m["event_id"], *detection])


def escalated(report: dict[str, Any], ev: Evidence, when: Callable) -> list[dict | None]:
    table = report.get("escalations")
    if table is None:   # an older catalog: the timeline's escalation rows
        return [ev.sentence(f"At {when(r['ts'])}: {quote(r['title'])}", list(r["event_ids"] or []))
                for r in report["timeline"] if r["kind"] == "alert.escalated"]
    out = []
    for e in table["rows"]:
        if ev.row(e.get("event_id")) is None:     # an escalation this timeline does not hold says nothing here
            continue
        level = f" to level {e['level']}" if e.get("level") is not None else ""
        to = f" ({e['to_whom']})" if e.get("to_whom") else ""
        since = e.get("since_detected_s")
        after = f", {duration(since)} after detection" if since is not None else ""
        out.append(ev.sentence(f"{e.get('by_actor') or 'The escalation policy'} escalated it{level}{to} at "
                               f"{when(e['ts'])}{after}.", [e.get("event_id"), _detection(report) if after else None]))
    return out


def mitigated(report: dict[str, Any], ev: Evidence, when: Callable) -> dict | None:
    m, row = _milestone(report, ev, "mitigated")
    if not row:
        return None
    after, detection = _since_detected(report, "time_to_mitigate_s")
    return ev.sentence(f"{_who(row)} reported the impact stopped at {when(m['ts'])}{after}: "
                       f"{quote(row.get('body') or row['title'])}", [m["event_id"], *detection])


def resolved(report: dict[str, Any], ev: Evidence, when: Callable) -> dict | None:
    m, row = _milestone(report, ev, "resolved")
    if not row:
        return None
    took = report["incident"].get("time_to_resolve_s")
    lasted = f"; {duration(took)} from detection to resolution" if took is not None else ""
    return ev.sentence(f"{_who(row)} resolved it at {when(m['ts'])}{lasted}.",
                       [m["event_id"], _detection(report) if lasted else None])


def paged(report: dict[str, Any], ev: Evidence, when: Callable) -> list[dict | None]:
    """How many were paged and how many answered, then each answer (or its absence)."""
    people = [(p, pages_of(report, p["name"], p.get("paged_at"))) for p in report["responders"] if p.get("paged")]
    people = [(p, pages) for p, pages in people if pages]
    if not people:
        return []
    answers = [(p, _answer(report, p)) for p, _ in people]
    answered = [a for _, a in answers if a is not None]
    who = names([f"{p['name']} at {when(p['paged_at'])}" if p.get("paged_at") else p["name"] for p, _ in people])
    out = [ev.sentence(f"{len(people)} {'person was' if len(people) == 1 else 'people were'} paged ({who}); "
                       f"{len(answered)} answered.",
                       [e for _, pages in people for r in pages for e in r["event_ids"] or []]
                       + [e for a in answered for e in a["event_ids"] or []])]
    for (p, pages), (_, answer) in zip(people, answers):
        if answer is not None:
            delay = duration((answer["ts"] - p["paged_at"]).total_seconds())
            out.append(ev.sentence(f"{p['name']} answered the page after {delay}, "
                                   f"at {when(answer['ts'])}: {quote(answer['title'], 100)}",
                                   [*(answer["event_ids"] or []), *(pages[0]["event_ids"] or [])]))
        else:
            out.append(ev.sentence(f"No answer from {p['name']} to the page is recorded.",
                                   [e for r in pages for e in r["event_ids"] or []]))
    return out


def _answer(report: dict[str, Any], person: dict[str, Any]) -> dict[str, Any] | None:
    """The row that answered a page: the person's first action at or after it (as correlate counts it)."""
    if person.get("paged_at") is None:
        return None
    return next((r for r in actions_of(report, person["name"]) if r["ts"] >= person["paged_at"]), None)


def follow_ups(report: dict[str, Any], ev: Evidence) -> list[dict | None]:
    out = []
    for a in report["action_items"]:
        details = [d for d in (a.get("ref"), f"owner {a['owner']}" if a.get("owner") else None,
                               f"due {a['due'].isoformat()}" if a.get("due") else None) if d]
        more = f" ({', '.join(details)})" if details else ""
        out.append(ev.sentence(f"Follow-up filed: {quote(a['title'], 120)}{more}.", [a.get("origin")]))
    return out
