"""A closed Opsgenie alert's resolution derived from report.closeTime: when it is derived,
what it says, and that the compiled query and the per-record oracle give the same."""
from __future__ import annotations

import json

from tests.normalize.test_fast_alerts import OG, _og_alert, assert_same, raw_table, taken_ids


def _closed(i: int, report, **fields):
    return _og_alert(i, status="closed", createdAt="2026-10-14T14:00:00.250Z", report=report, **fields)


def test_closed_alerts_derive_their_close_only_from_a_usable_close_time():
    rows = [
        _closed(1, {"closeTime": 5_400_000, "closedBy": "ana@acme.example", "ackTime": 1000}),
        _closed(2, {"closeTime": 61_001}),                                  # no closedBy: the system
        _closed(3, {"closeTime": 0.5, "closedBy": "System"}),
        _closed(4, {"closeTime": True}), _closed(5, {"closeTime": "5400000"}), _closed(6, {"closeTime": -1}),
        _closed(7, {"closedBy": "ana@acme.example"}), _closed(8, None), _closed(9, "report"),
        _closed(10, {"closeTime": 10**30}),
        _og_alert(11, status="closed", createdAt="2026-10-14T14:00:00", report={"closeTime": 1000}),   # no zone
        _og_alert(12, status="open", report={"closeTime": 1000}),
        _og_alert(13, status="closed", createdAt="yesterday", report={"closeTime": 1000}),
    ]
    raw = raw_table("opsgenie", rows)
    events = assert_same(raw, OG)
    assert taken_ids(raw, OG) == {f"A{i}" for i in range(1, 14)}   # one query takes closed alerts too
    closes = {e["native_id"]: e for e in events if e["kind"] == "alert.resolved"}
    assert sorted(closes) == ["A1/closed", "A2/closed", "A3/closed"]
    one, two, three = closes["A1/closed"], closes["A2/closed"], closes["A3/closed"]
    assert one["ts_raw"] == "2026-10-14T15:30:00.250000Z" and two["ts_raw"] == "2026-10-14T14:01:01.251000Z"
    assert three["ts_raw"] == "2026-10-14T14:00:00.250500Z"
    assert (one["actor"], one["actor_type"], one["actor_id"]) == ("ana@acme.example", "human", "ana@acme.example")
    assert (two["actor"], two["actor_type"]) == ("Opsgenie", "system")
    assert one["refs"] == ["opsgenie:A1"] and one["title"] == "Closed: m (time from report.closeTime)"
    assert json.loads(one["attrs"]) == {"alert_id": "A1", "close_time_ms": 5400000,
                                        "derived_from": "createdAt + report.closeTime"}
    triggered = {e["native_id"]: e for e in events if e["kind"] == "alert.triggered"}
    assert json.loads(triggered["A1"]["attrs"])["incident_title"] == "m"
    assert "A13" not in triggered                              # its time is rejected, with no derived close
