"""Geometry of the review's charts: bars per month (stacked or side by side), horizontal
bars, and one proportion bar. Numbers only, as in chart.py: the SVG template lays them out
and escapes every label (service names and alert titles are untrusted text)."""
from __future__ import annotations

import math
from typing import Any

WIDTH = 640
LEFT = 56
RIGHT = 16
TOP = 12
PLOT_H = 150
AXIS_H = 24
LEGEND_ROW_H = 18
PALETTE = ("#c0392b", "#e67e22", "#f1c40f", "#27ae60", "#2980b9", "#8e44ad", "#7f8c8d", "#16a085")
SEVERITY_COLOURS = {"SEV1": "#c0392b", "SEV2": "#e67e22", "SEV3": "#f1c40f", "SEV4": "#27ae60"}
GRID_LINES = 4
HBAR_LEFT = 220          # room for an alert's name
HBAR_ROW_H = 24


def colours(series: list[str]) -> dict[str, str]:
    out, free = {}, iter(PALETTE[4:] + PALETTE[:4])
    for name in series:
        out[name] = SEVERITY_COLOURS.get(name) or next(free, "#95a5a6")
    return out


def bars(categories: list[str], series: list[str], values: dict[tuple[str, str], float | None],
         stacked: bool, unit: str = "", integer: bool = False) -> dict[str, Any]:
    """One group of bars per category; `values[(category, series)]`, missing = 0. `integer`:
    the axis steps are whole numbers (counts)."""
    def v(c, s):
        return values.get((c, s)) or 0
    top = max([sum(v(c, s) for s in series) if stacked else max([v(c, s) for s in series] or [0])
               for c in categories] or [0])
    step = _nice(top / GRID_LINES) if top else 1
    if integer:
        step = max(1, round(step))
    lines = max(1, math.ceil(top / step - 1e-9)) if top else GRID_LINES
    scale_top = step * lines
    slot = (WIDTH - LEFT - RIGHT) / max(len(categories), 1)
    bar_w = slot * 0.6 / (1 if stacked else max(len(series), 1))
    palette = colours(series)
    rects, labels = [], []
    for i, c in enumerate(categories):
        x0 = LEFT + i * slot + slot * 0.2
        base = TOP + PLOT_H
        for j, s in enumerate(series):
            value = v(c, s)
            h = value / scale_top * PLOT_H if scale_top else 0
            x = x0 if stacked else x0 + j * bar_w
            y = base - h
            if value:
                rects.append({"x": round(x, 1), "y": round(y, 1), "w": round(bar_w, 1), "h": round(h, 1),
                              "fill": palette[s], "title": f"{c} · {s}: {_fmt(value)}{unit}"})
            if stacked:
                base = y
        labels.append({"x": round(LEFT + i * slot + slot / 2, 1), "text": c})
    grid = [{"y": round(TOP + PLOT_H - k / lines * PLOT_H, 1), "text": _fmt(step * k)} for k in range(lines + 1)]
    legend = [{"x": LEFT + (k % 4) * 140, "y": TOP + PLOT_H + AXIS_H + 12 + (k // 4) * LEGEND_ROW_H,
               "fill": palette[s], "text": s} for k, s in enumerate(series)]
    height = TOP + PLOT_H + AXIS_H + ((len(series) + 3) // 4) * LEGEND_ROW_H + 8
    return {"width": WIDTH, "height": height, "left": LEFT, "right": WIDTH - RIGHT, "axis_y": TOP + PLOT_H,
            "label_y": TOP + PLOT_H + 16, "rects": rects, "labels": labels, "grid": grid, "legend": legend,
            "unit": unit}


def hbars(rows: list[tuple[str, float]], fill: str = PALETTE[4]) -> dict[str, Any] | None:
    """One horizontal bar per (label, value), longest first as given."""
    if not rows:
        return None
    top = max(v for _, v in rows) or 1
    span = WIDTH - HBAR_LEFT - RIGHT - 40
    out = [{"y": TOP + k * HBAR_ROW_H, "w": round(v / top * span, 1), "label": label, "value": _fmt(v),
            "value_x": round(HBAR_LEFT + v / top * span + 6, 1)} for k, (label, v) in enumerate(rows)]
    return {"width": WIDTH, "height": TOP + len(rows) * HBAR_ROW_H + 8, "left": HBAR_LEFT, "fill": fill,
            "bar_h": HBAR_ROW_H - 8, "rows": out}


def proportion(parts: list[tuple[str, int, str]]) -> dict[str, Any] | None:
    """One horizontal bar split into `parts` (name, count, colour)."""
    total = sum(n for _, n, _ in parts)
    if not total:
        return None
    x, segments = float(LEFT), []
    span = WIDTH - LEFT - RIGHT
    for name, n, fill in parts:
        w = n / total * span
        if n:
            segments.append({"x": round(x, 1), "w": round(w, 1), "fill": fill, "name": name, "count": n,
                             "share": round(n / total * 100)})
        x += w
    return {"width": WIDTH, "height": 52, "left": LEFT, "segments": segments}


def _nice(top: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above `top` (0 stays 0)."""
    if top <= 0:
        return 0
    magnitude = 1.0
    while magnitude * 10 < top:
        magnitude *= 10
    while magnitude > top:
        magnitude /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= top:
            return step * magnitude
    return 10 * magnitude


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
