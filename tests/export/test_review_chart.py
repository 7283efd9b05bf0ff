"""The review's chart geometry: bar heights in proportion to the values on a readable axis,
stacks that add up, proportion segments that share the width."""
from __future__ import annotations

import pytest

from incident_timeline.export import review_chart as chart


def test_stacked_bars_add_up_and_the_axis_steps_are_whole_counts():
    c = chart.bars(["2026-07", "2026-08"], ["SEV1", "SEV2"],
                   {("2026-07", "SEV1"): 3, ("2026-07", "SEV2"): 4, ("2026-08", "SEV2"): 1}, stacked=True, integer=True)
    assert [g["text"] for g in c["grid"]] == ["0", "2", "4", "6", "8"]       # 7 at the top: steps of 2 up to 8
    unit = chart.PLOT_H / 8
    july = [r for r in c["rects"] if r["title"].startswith("2026-07")]
    assert [r["h"] for r in july] == pytest.approx([3 * unit, 4 * unit], abs=0.1)
    assert july[1]["y"] + july[1]["h"] == pytest.approx(july[0]["y"], abs=0.1)   # SEV2 sits on SEV1
    assert len(c["rects"]) == 3                                                  # no bar for a zero
    assert {r["fill"] for r in july} == {chart.SEVERITY_COLOURS["SEV1"], chart.SEVERITY_COLOURS["SEV2"]}


def test_side_by_side_bars_and_an_empty_chart():
    c = chart.bars(["m"], ["median", "p90"], {("m", "median"): 12.5, ("m", "p90"): 40}, stacked=False, unit=" min")
    median, p90 = c["rects"]
    assert median["x"] < p90["x"] and median["y"] > p90["y"]
    assert p90["h"] / median["h"] == pytest.approx(40 / 12.5, rel=0.01)
    assert p90["title"] == "m · p90: 40 min"
    empty = chart.bars(["m"], ["median"], {}, stacked=False)
    assert empty["rects"] == [] and len(empty["grid"]) == chart.GRID_LINES + 1


def test_proportion_and_horizontal_bars():
    p = chart.proportion([("within", 3, "#0a0"), ("late", 1, "#a00"), ("none", 0, "#000")])
    assert [(s["name"], s["share"]) for s in p["segments"]] == [("within", 75), ("late", 25)]
    assert sum(s["w"] for s in p["segments"]) == pytest.approx(chart.WIDTH - chart.LEFT - chart.RIGHT, abs=0.2)
    assert chart.proportion([("a", 0, "#000")]) is None
    h = chart.hbars([("alert:a", 4), ("alert:b", 2)])
    assert h["rows"][1]["w"] == pytest.approx(h["rows"][0]["w"] / 2, abs=0.1)
    assert chart.hbars([]) is None
