"""Assisted drafting (opt-in: `assist:` in connectors.yaml and `build/run --assist`).

An OpenAI-compatible chat endpoint is sent the incident's timeline as data
(payload.py) and asked for a summary, root-cause candidates and five whys;
every sentence it returns is checked against the rows it cites (verify.py) before
it reaches the draft. Nothing here fails a build: whatever goes wrong is one line in
`error` and the draft is written without the assisted parts.
"""
from __future__ import annotations

import json
import re
from typing import Any

import requests

from incident_timeline.contract.secrets import scrub, snippet

from . import verify
from .client import AssistFailed, AssistSettings, complete
from .payload import Private, messages, payload
from ..cited import Evidence

DRAFTED_FROM = "model"
# what the model answers (keys of its JSON object) -> the draft's part
SECTIONS = {"summary": "summary", "root_cause": "root_cause_candidates", "five_whys": "five_whys"}
# the sentences a part keeps at most (the ones past it that pass are dropped as over_limit)
KEEPS = {"summary": 6, "root_cause_candidates": 5, "five_whys": 5}
NOT_CONFIGURED = "--assist needs an assist: section in connectors.yaml (base_url, model): nothing was sent"
DROPPED_TEXT = 300


def run(report: dict[str, Any], settings: AssistSettings | None,
        session: requests.Session | None = None) -> dict[str, Any]:
    """The draft's `assisted` part: the sentences that passed, per part, each
    `{text, event_ids, records}`; what was dropped and why; or the one-line `error`."""
    result: dict[str, Any] = {"drafted_from": DRAFTED_FROM, "model": settings.model if settings else None,
                              "endpoint": settings.endpoint_host if settings else None,
                              **{part: [] for part in SECTIONS.values()},
                              "dropped": [], "rows_sent": 0, "rows_total": 0, "error": None}
    if settings is None:
        return {**result, "error": NOT_CONFIGURED}
    if settings.unusable:
        return {**result, "error": settings.unusable}
    private = settings.private or Private()
    known = settings.secrets()
    try:
        result["rows_total"] = sum(not private.hides(r) for r in report["timeline"])
        sent = payload(report, private, known, settings.max_rows)
        result["rows_sent"] = len(sent["timeline"])
        answer = parse_answer(complete(settings, messages(sent), session), known)
    except AssistFailed as exc:
        return {**result, "error": scrub(str(exc), known)}
    result.update(verified(answer, sent, report, private, known))
    return result


def verified(answer: dict[str, Any], sent: dict[str, Any], report: dict[str, Any], private: Private,
             known: list[str]) -> dict[str, Any]:
    """Each part's sentences that `sent` holds, as cited sentences of `report`; `dropped`,
    the others with their reasons."""
    facts = verify.incident_facts(sent, private.mask, tuple(known))
    evidence = Evidence(report)
    out: dict[str, Any] = {**{part: [] for part in SECTIONS.values()}, "dropped": []}
    for key, part in SECTIONS.items():
        items = answer.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            out["dropped"].append(_dropped(part, "malformed", "not a list", None, known, private))
            continue
        for item in items:
            reason, detail = verify.check(item, facts)
            if not reason and len(out[part]) >= KEEPS[part]:
                reason, detail = "over_limit", f"{KEEPS[part]} kept already"
            if reason:
                out["dropped"].append(_dropped(part, reason, detail, item, known, private))
                continue
            out[part].append(evidence.sentence(" ".join(item["text"].split()), _ids(item)))
    return out


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S | re.I)


def parse_answer(content: str, known: list[str] = ()) -> dict[str, Any]:
    """The model's JSON object (a ```json fence around it, as local models like to add, is
    taken off); keys other than the three parts are ignored."""
    m = _FENCE.match(content)
    try:
        data = json.loads(m.group(1) if m else content)
    except ValueError:
        raise AssistFailed(f"the model's answer is not JSON: {snippet(content, known, 80)}") from None
    if not isinstance(data, dict) or not any(k in data for k in SECTIONS):
        raise AssistFailed("the model's answer is not a JSON object with summary, root_cause or five_whys")
    return {k: data.get(k) for k in SECTIONS}


def dropped_counts(assisted: dict[str, Any]) -> dict[str, Any]:
    """`data_quality.assisted_dropped`: how many of the model's sentences were dropped, per reason."""
    reasons: dict[str, int] = {}
    for item in assisted.get("dropped") or []:
        reasons[item["reason"]] = reasons.get(item["reason"], 0) + 1
    return {"count": sum(reasons.values()), "reasons": dict(sorted(reasons.items()))}


def _ids(item: dict[str, Any]) -> list[str]:
    ids = item.get("event_ids")
    ids = [ids] if isinstance(ids, str) else ids if isinstance(ids, list) else []
    return [i.strip() for i in ids if isinstance(i, str) and i.strip()]


def _dropped(part: str, reason: str, detail: str, item: Any, known: list[str], private: Private) -> dict[str, Any]:
    """What the data-quality section says of a dropped sentence: never a secret or private
    text it held (a sentence dropped for one keeps no text at all)."""
    def clean(value: str, limit: int) -> str:
        return private.mask(snippet(value, known, limit))
    text = item.get("text") if isinstance(item, dict) else None
    keep_text = isinstance(text, str) and reason not in ("secret", "private")
    return {"part": part, "reason": reason, "detail": clean(detail, 120) if detail else None,
            "text": clean(text, DROPPED_TEXT) if keep_text else None,
            "event_ids": [clean(i, 64) for i in (_ids(item) if isinstance(item, dict) else [])][:20]}
