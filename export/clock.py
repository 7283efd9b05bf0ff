"""How the draft writes a time: one choice for the sections, the chart and the sentences
drafted from the data."""
from __future__ import annotations

from datetime import timezone
from typing import Any

from .filters import display_zone

TIME = "%H:%M:%S"
DATE_TIME = "%Y-%m-%d %H:%M:%S"


def clocks(report: dict[str, Any], display_tz: str | None = None) -> dict[str, Any]:
    """How the draft writes a time: `HH:MM:SS` while everything happened on one day (the
    summary names it), with its date once the incident crosses a day (past midnight, a
    channel built over weeks). Local times carry their date when any local day differs
    from the UTC one."""
    inc = report["incident"]
    times = [r["ts"] for r in report["timeline"]] + [r["last_ts"] for r in report["timeline"] if r.get("last_ts")]
    times += [inc[m] for m in ("detected", "resolved") if inc.get(m)]
    utc_days = sorted({t.astimezone(timezone.utc).date() for t in times})
    zone = display_zone(display_tz)
    local_days = sorted({t.astimezone(zone).date() for t in times}) if zone else []
    local_dated = bool(zone) and (len(local_days) > 1 or local_days != utc_days)
    return {"clock": DATE_TIME if len(utc_days) > 1 else TIME,
            "local_clock": (DATE_TIME if local_dated else TIME) + " %Z", "days": utc_days}
