"""The review's figures worked out in plain Python from the incidents' descriptions
(tests/export/review_lakes.Spec), with no SQL: what the DuckDB review must agree with."""
from __future__ import annotations

import math
from collections import Counter
from datetime import date, datetime, timedelta

from tests.export.review_lakes import Spec

REPEAT_DAYS = 30
HISTORY_DAYS = 90
DRAFT_H = 48


def quantile(values: list[float], q: float) -> float | None:
    """Linear interpolation between the two nearest ranks (spreadsheets' PERCENTILE)."""
    xs = sorted(values)
    if not xs:
        return None
    pos = (len(xs) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def services(s: Spec) -> list[str]:
    return sorted({s.service, *s.extra_services})


def in_period(specs: list[Spec], start: datetime, end: datetime) -> list[Spec]:
    return [s for s in specs if start <= s.detected < end]


def month(t: datetime) -> str:
    return f"{t:%Y-%m}"


def by_month_severity(specs, start, end) -> Counter:
    return Counter((month(s.detected), s.severity) for s in in_period(specs, start, end))


def by_month_service(specs, start, end) -> Counter:
    return Counter((month(s.detected), svc) for s in in_period(specs, start, end) for svc in services(s))


def times(chosen: list[Spec]) -> dict:
    tta = [s.ack_s for s in chosen if s.ack_s is not None]
    ttr = [s.resolve_s for s in chosen if s.resolve_s is not None]
    return {"incidents": len(chosen), "acknowledged": len(tta), "resolved": len(ttr),
            "median_tta_s": quantile(tta, 0.5), "p90_tta_s": quantile(tta, 0.9),
            "median_ttr_s": quantile(ttr, 0.5), "p90_ttr_s": quantile(ttr, 0.9)}


def repeats_of(specs: list[Spec], s: Spec) -> list[tuple[Spec, str]]:
    """Earlier incidents `s` repeats, with the reason (service or alert)."""
    out = []
    for e in specs:
        if e is s or not (e.detected < s.detected <= e.detected + timedelta(days=REPEAT_DAYS)):
            continue
        if set(services(e)) & set(services(s)):
            out.append((e, "service"))
        if s.alert and s.alert == e.alert:
            out.append((e, "alert"))
    return out


def repeat_after_fix(specs: list[Spec], s: Spec) -> list[Spec]:
    """Earlier incidents (within the history window) with `s`'s alert whose items were all
    closed before `s` was detected."""
    return [e for e in specs if e is not s and s.alert and e.alert == s.alert
            and s.detected - timedelta(days=HISTORY_DAYS) <= e.detected < s.detected
            and e.items and all(i.status.lower() == "done" and i.closed_at and i.closed_at < s.detected
                                for i in e.items)]


def repeats(specs, start, end) -> dict:
    chosen = in_period(specs, start, end)
    pairs = {s.identity: repeats_of(specs, s) for s in chosen}
    return {"repeats": sum(1 for p in pairs.values() if p),
            "by_alert": sum(1 for p in pairs.values() if any(r == "alert" for _, r in p)),
            "by_service": sum(1 for p in pairs.values() if any(r == "service" for _, r in p)),
            "after_addressed": sum(1 for s in chosen if repeat_after_fix(specs, s))}


def drafts(specs, start, end) -> dict:
    resolved = [s for s in specs if s.resolved is not None and start <= s.resolved < end]
    kinds = Counter("missing" if s.draft_after_h is None else "within" if s.draft_after_h <= DRAFT_H else "late"
                    for s in resolved)
    return {"resolved": len(resolved), "within": kinds["within"], "late": kinds["late"],
            "missing": kinds["missing"]}


def action_items(specs, start, end, as_of: date) -> dict:
    items = [(s, i) for s in in_period(specs, start, end) for i in s.items]
    closed = [(s, i) for s, i in items if i.status.lower() == "done"]
    still_open = sorted([(s, i) for s, i in items if i.status.lower() != "done"], key=lambda p: p[0].detected)
    overdue = [(s, i) for s, i in still_open if i.due is not None and i.due < as_of]
    return {"opened": len(items), "closed": len(closed), "open": len(still_open), "overdue": len(overdue),
            "closure_rate": round(len(closed) / len(items), 3) if items else None,
            "oldest_open": still_open[0] if still_open else None}


def top_alerts(specs, start, end) -> dict[str, int]:
    counts = Counter(s.alert for s in in_period(specs, start, end) if s.alert)
    return {f"alert:{a}": n for a, n in counts.items() if n > 1}
