"""What customers were told, from the incident's status page updates (the catalog's
`status_updates`): when the first went out against detection, how many there were, the
longest wait between two, and each update. None when the incident has none (or its
catalog predates the table): the draft then says what it always said."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable


def communication(table: dict[str, Any] | None, detected: datetime | None) -> dict[str, Any] | None:
    rows = sorted((r for r in (table or {}).get("rows") or [] if r.get("ts") is not None),
                  key=lambda r: (r["ts"], r.get("event_id") or ""))
    if not rows:
        return None
    gaps = [(b["ts"] - a["ts"]).total_seconds() for a, b in zip(rows, rows[1:])]
    first = rows[0]["ts"]
    return {
        "count": len(rows),
        "first_update": first,
        "first_update_after_s": (first - detected).total_seconds() if detected is not None else None,
        "longest_gap_s": max(gaps) if gaps else None,
        "updates": [{"ts": r["ts"], "status": r.get("status"), "text": r.get("text") or "",
                     "impact": r.get("impact"), "incident": r.get("page_incident"), "shortlink": r.get("shortlink"),
                     "source": r.get("source"), "event_id": r.get("event_id"), "seq": r.get("seq")} for r in rows],
    }


def communication_json(part: dict[str, Any] | None, time: Callable[[datetime | None], str | None]) -> dict[str, Any]:
    """The JSON export's `communication` key, only when the incident has status updates."""
    if part is None:
        return {}
    return {"communication": {
        "status_updates": part["count"], "first_update": time(part["first_update"]),
        "first_update_after_detection_s": part["first_update_after_s"], "longest_gap_s": part["longest_gap_s"],
        "updates": [{"ts": time(u["ts"]), "status": u["status"], "text": u["text"], "impact": u["impact"],
                     "incident": u["incident"], "shortlink": u["shortlink"], "source": u["source"],
                     "event_id": u["event_id"]} for u in part["updates"]]}}
