"""Grafana beyond the shared suite: data-frame shapes, per-rule partitions, state kinds."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from incident_timeline.ingest.base import Window
from incident_timeline.ingest.grafana import frame_rows
from incident_timeline.normalize.mappings.grafana import transition_kind
from tests.ingest.fakes.grafana import GrafanaFake
from tests.ingest.lakeview import fetch, serve

START = datetime(2026, 10, 14, 14, 0, tzinfo=timezone.utc)


def test_frame_rows_reads_columns_by_field_name():
    body = {"schema": {"fields": [{"name": "Time"}, {"name": "line"}]},
            "data": {"values": [[1, 2], [{"current": "Alerting"}, {"current": "Normal"}]]}}
    assert frame_rows(body, "g") == [{"time": 1, "line": {"current": "Alerting"}},
                                     {"time": 2, "line": {"current": "Normal"}}]
    assert frame_rows({"schema": {"fields": []}}, "g") == []        # an empty frame


@pytest.mark.parametrize("body", [{"results": {}}, {"schema": {"fields": [{"name": "time"}]},
                                                   "data": {"values": [[1], [2]]}}])
def test_a_body_that_is_not_a_frame_is_one_unreadable_record(body):
    # JSON of another shape is the body's reject (naming the field), not the source's failure
    [problem] = frame_rows(body, "g")
    assert problem.field in ("<body>", "data.values") and problem.page == body
    assert "frame" in problem.reason


def test_rules_are_partitions_asked_one_by_one(httpserver, monkeypatch, sleeps, tmp_path):
    fake = serve(GrafanaFake, httpserver, monkeypatch, START, 2, timedelta(hours=1))
    entry = {**fake.source_entry(), "rules": ["checkout-5xx", "other-rule"]}
    records = fetch(tmp_path, entry, Window(START, START + timedelta(days=1)))
    assert [r.partition for r in records] == ["checkout-5xx"] * 6
    assert {r.args.get("ruleUID") for r in fake.served} == {"checkout-5xx", "other-rule"}


@pytest.mark.parametrize("previous, current, kind", [
    ("Pending", "Alerting", "alert.triggered"), ("Normal", "Alerting", "alert.triggered"),
    ("Alerting", "Normal", "alert.resolved"), ("Normal", "Pending", "alert.state"),
    ("Pending", "Normal", "alert.state"), ("Alerting", "NoData", "alert.state"),
])
def test_state_transitions_map_to_kinds(previous, current, kind):
    assert transition_kind(previous, current) == kind
