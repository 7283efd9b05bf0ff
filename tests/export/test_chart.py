"""Swimlane geometry: lanes, marks inside the plot, milestone labels that do not overlap."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from incident_timeline.export.chart import CHAR_W, swimlanes

T0 = datetime(2026, 10, 14, 14, 0, tzinfo=timezone.utc)


def row(minute: float, source: str = "slack", count: int = 1, span_min: float = 0, actor_type: str = "human"):
    ts = T0 + timedelta(minutes=minute)
    return {"ts": ts, "last_ts": ts + timedelta(minutes=span_min), "source": source, "sources": [source],
            "count": count, "actor": "Alice", "actor_type": actor_type, "title": "t", "kind": "chat.message",
            "anchor": f"row-{minute}"}


def test_one_lane_per_source_and_every_mark_inside_the_plot():
    rows = [row(0, "pagerduty", actor_type="system"), row(5, "slack"), row(9, "jira"), row(30, "slack")]
    chart = swimlanes(rows, {"detected": T0, "resolved": T0 + timedelta(minutes=30)})
    assert [lane["name"] for lane in chart.lanes] == ["jira", "pagerduty", "slack"]
    assert len(chart.marks) == 4
    assert all(chart.plot_left <= m.x <= chart.plot_right for m in chart.marks)
    xs = sorted(m.x for m in chart.marks)
    assert xs[0] < xs[1] < xs[2] < xs[3]        # later is further right
    assert all(chart.plot_left <= t["x"] <= chart.plot_right for t in chart.ticks)
    assert [t["label"] for t in chart.ticks][:3] == ["14:00", "14:05", "14:10"]


def test_a_row_seen_by_two_sources_is_marked_in_both_lanes():
    both = {**row(3, "pagerduty"), "sources": ["pagerduty", "slack"]}
    chart = swimlanes([both], {})
    assert sorted(m.y for m in chart.marks) == sorted(lane["mid"] for lane in chart.lanes)


def test_marks_at_the_same_moment_are_nudged_apart():
    chart = swimlanes([row(1), row(1), row(1)], {})
    assert len({m.y for m in chart.marks}) == 3


def test_a_storm_spans_its_repeats():
    chart = swimlanes([row(0, "pagerduty", count=40, span_min=10, actor_type="system"), row(20)], {})
    storm = next(m for m in chart.marks if m.count == 40)
    assert storm.x_end is not None and storm.x_end > storm.x


def test_close_milestone_labels_go_to_different_rows_and_stay_on_the_chart():
    marks = {"detected": T0, "acknowledged": T0 + timedelta(seconds=30), "first_response": T0 + timedelta(minutes=1),
             "resolved": T0 + timedelta(minutes=60)}
    chart = swimlanes([row(0), row(60)], marks)
    labels = chart.milestones
    placed = []
    for m in labels:
        width = len(m["label"]) * CHAR_W
        left = m["x"] - width if m["text_anchor"] == "end" else m["x"]
        placed.append((m["label_y"], left, left + width))
        assert 0 <= left and left + width <= chart.width
    for i, a in enumerate(placed):
        for b in placed[i + 1:]:
            assert a[0] != b[0] or a[2] <= b[1] or b[2] <= a[1], (a, b)
    assert labels[-1]["text_anchor"] == "end"      # "resolved" at the right edge reads leftwards


def test_ticks_name_the_day_when_the_chart_crosses_midnight():
    late = T0.replace(hour=23, minute=30)
    chart = swimlanes([{**row(0), "ts": late, "last_ts": late}, {**row(0), "ts": late + timedelta(hours=2),
                                                                 "last_ts": late + timedelta(hours=2)}], {})
    assert chart.first_day == "2026-10-14"
    assert any(t["label"].startswith("10-15 ") for t in chart.ticks)


def test_no_rows_no_chart():
    assert swimlanes([], {"detected": T0}) is None
