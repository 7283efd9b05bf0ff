"""Geometry of the swimlane chart: one lane per source, a mark per timeline row, the
milestones as vertical lines. Numbers only; the SVG template lays them out (and escapes
every text), so no untrusted text is ever formatted into markup here."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

WIDTH = 1000
LEFT = 120            # room for lane names
RIGHT = 24
LANE_H = 46
LABEL_ROW_H = 15      # milestone labels sit in up to LABEL_ROWS staggered rows
LABEL_ROWS = 3
AXIS_H = 34
LEGEND_H = 26
CHAR_W = 6.2          # rough width of one label character at the chart's font size
NUDGES = (0, -12, 12, -6, 6, -18, 18)   # vertical offsets for marks that would overlap
TICK_STEPS_MIN = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440)
MAX_TICKS = 10


@dataclass
class Mark:
    x: float
    y: float
    anchor: str
    actor_type: str
    tooltip: str
    x_end: float | None = None     # a collapsed alert storm spans [x, x_end]
    count: int = 1


@dataclass
class Chart:
    width: int
    height: int
    plot_left: float
    plot_right: float
    lanes: list[dict[str, Any]] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    milestones: list[dict[str, Any]] = field(default_factory=list)
    ticks: list[dict[str, Any]] = field(default_factory=list)
    axis_y: float = 0.0
    legend_y: float = 0.0
    first_day: str = ""


def swimlanes(rows: list[dict[str, Any]], milestones: dict[str, datetime | None],
              clock: str = "%H:%M:%S") -> Chart | None:
    """`clock`: how a tooltip writes its row's time (the view's: dated once the timeline
    crosses a day)."""
    if not rows:
        return None
    lanes = sorted({s for r in rows for s in (r["sources"] or [r["source"]])})
    times = [r["ts"] for r in rows] + [r["last_ts"] for r in rows if r.get("last_ts")]
    times += [t for t in milestones.values() if t is not None]
    start, end = min(times), max(times)
    span = max((end - start).total_seconds(), 60.0)
    start -= timedelta(seconds=span * 0.03)
    span *= 1.06
    top = LABEL_ROWS * LABEL_ROW_H + 8
    chart = Chart(WIDTH, 0, LEFT, WIDTH - RIGHT, first_day=f"{start:%Y-%m-%d}")

    def x_of(ts: datetime) -> float:
        return round(LEFT + (ts - start).total_seconds() / span * (WIDTH - LEFT - RIGHT), 1)

    for i, name in enumerate(lanes):
        chart.lanes.append({"name": name, "y": top + i * LANE_H, "mid": top + i * LANE_H + LANE_H / 2,
                            "height": LANE_H, "shade": i % 2 == 0})
    lane_mid = {lane["name"]: lane["mid"] for lane in chart.lanes}
    placed: dict[str, list[float]] = {name: [] for name in lanes}
    for r in rows:
        for source in r["sources"] or [r["source"]]:
            x = x_of(r["ts"])
            crowd = sum(1 for other in placed[source] if abs(other - x) < 9)
            placed[source].append(x)
            count = r["count"] or 1
            chart.marks.append(Mark(
                x=x, y=lane_mid[source] + NUDGES[crowd % len(NUDGES)], anchor=r["anchor"],
                actor_type=r["actor_type"] or "system", tooltip=_tooltip(r, clock),
                x_end=x_of(r["last_ts"]) if count > 1 and r.get("last_ts") else None, count=count))
    bottom = top + len(lanes) * LANE_H
    chart.milestones = _milestones(milestones, x_of, top, bottom)
    chart.axis_y = bottom
    chart.ticks = _ticks(start, span, x_of)
    chart.legend_y = bottom + AXIS_H
    chart.height = int(bottom + AXIS_H + LEGEND_H)
    return chart


def _tooltip(row: dict[str, Any], clock: str) -> str:
    who = row["actor"] or "unknown"
    count = f" (×{row['count']})" if (row["count"] or 1) > 1 else ""
    return f"{row['ts'].astimezone(timezone.utc).strftime(clock)} UTC · {row['source']} · {who}: {row['title'] or row['kind']}{count}"[:300]


def _milestones(milestones: dict[str, datetime | None], x_of, top: float, bottom: float) -> list[dict[str, Any]]:
    """Label rows are picked so labels do not overlap; ties share a line and a label."""
    by_time: dict[datetime, list[str]] = {}
    for name, ts in milestones.items():
        if ts is not None:
            by_time.setdefault(ts, []).append(name.replace("_", " "))
    out = []
    row_ends = [float("-inf")] * LABEL_ROWS
    for ts in sorted(by_time):
        x = x_of(ts)
        label = " / ".join(by_time[ts])
        width = len(label) * CHAR_W
        # Text is anchored at its start; near the right edge it is anchored at its end instead.
        right_aligned = x + width > WIDTH - RIGHT
        left_edge = x - width if right_aligned else x
        free = [i for i, end in enumerate(row_ends) if end + 4 <= left_edge]
        row = free[0] if free else min(range(LABEL_ROWS), key=lambda i: row_ends[i])
        row_ends[row] = x if right_aligned else x + width
        out.append({"x": x, "label": label, "top": top - 4, "bottom": bottom,
                    "label_y": 12 + row * LABEL_ROW_H, "text_anchor": "end" if right_aligned else "start"})
    return out


def _ticks(start: datetime, span_s: float, x_of) -> list[dict[str, Any]]:
    step = next((m for m in TICK_STEPS_MIN if span_s / (m * 60) <= MAX_TICKS), TICK_STEPS_MIN[-1])
    step_s = step * 60
    first = datetime.fromtimestamp((int(start.timestamp()) // step_s + 1) * step_s, tz=start.tzinfo)
    ticks, ts = [], first
    while (ts - start).total_seconds() <= span_s:
        # The axis caption names the first day; a tick on a later day names its own.
        label = f"{ts:%H:%M}" if ts.date() == start.date() else f"{ts:%m-%d %H:%M}"
        ticks.append({"x": x_of(ts), "label": label})
        ts += timedelta(seconds=step_s)
    return ticks
