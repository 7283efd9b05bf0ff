"""Statements about cause found in the data: what people wrote in messages, notes and ticket
comments that says why ("root cause", "caused by", "because", ...), and a revert or rollback
named next to a deploy. Each is a cited candidate for the people writing the review to weigh:
never the answer."""
from __future__ import annotations

import re
from typing import Any, Callable

from .cited import PASSIVE, Evidence, present, quote

HUMAN_TEXT = ("chat", "note", "ticket")
ROOT_CAUSE_HINT = re.compile(r"(?i)\b(root cause|caused by|because|due to|regression|introduced)\b")
ROLLBACK = re.compile(r"(?i)\b(roll(ed|ing)?[ -]?backs?|revert(s|ed|ing)?)\b")
DEPLOY = re.compile(r"(?i)\b(deploy(ed|ing|ments?|s)?|releas(e[ds]?|ing)|v\d+(\.\d+)+)\b")
CANDIDATE_LIMIT = 8
ROLLBACK_NEXT_TO_DEPLOY = "rollback next to a deploy"


def statements_about_cause(report: dict[str, Any], ev: Evidence, when: Callable) -> list[dict[str, Any]]:
    """Oldest first; a statement that says why comes before a rollback when both are in one row.
    People's words say why; a bot's (a deploy pipeline's) count only when they name a rollback
    of a deploy, since a bot's "because" is a template, not someone's reading of the cause."""
    out = []
    for row in report["timeline"]:
        if not _written(row):
            continue
        text = row.get("body") or row.get("title") or ""
        hint = ROOT_CAUSE_HINT.search(text) if row["actor_type"] == "human" else None
        signal = (hint.group(0).lower() if hint
                  else ROLLBACK_NEXT_TO_DEPLOY if ROLLBACK.search(text) and DEPLOY.search(text) else None)
        if signal is None:
            continue
        says = "names a rollback next to a deploy" if signal == ROLLBACK_NEXT_TO_DEPLOY else f"says “{signal}”"
        out.append(ev.sentence(f"{when(row['ts'])}, {row.get('actor') or 'someone'} ({row['source']}, "
                               f"{row['kind']}) {says}: {quote(text, 240)}", list(row["event_ids"] or []),
                               signal=signal))
    return present(out)[:CANDIDATE_LIMIT]


def _written(row: dict[str, Any]) -> bool:
    """Words someone wrote: a message, a note, a ticket's text, a note on an alert."""
    if row["actor_type"] not in ("human", "bot") or row["kind"] in PASSIVE:
        return False
    return row["category"] in HUMAN_TEXT or row["kind"] == "alert.annotated"
