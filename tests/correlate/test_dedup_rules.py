"""The edges of dedup and storm collapse, each on a tiny lake."""
from __future__ import annotations

from tests.correlate.lakes import _event, build, lake_config, write_events

DAY = __import__("datetime").date(2026, 9, 20)


def _ev(id_, at, source, kind, **kw):
    return _event(DAY, {"id": id_, "at": at, "source": source, "type": kw.pop("type", source), "kind": kind,
                        "actor": kw.pop("actor", "Alertmanager"), **kw})


def _timeline(tmp_path, events, seed, **correlation):
    config = lake_config(tmp_path, **correlation)
    write_events(config.lake, events)
    return [(r["event_ids"], r["count"]) for r in build(config, seed)["timeline"]]


def test_alerts_on_one_service_from_two_systems_are_one_row_without_a_shared_ref(tmp_path):
    rows = _timeline(tmp_path, [
        _ev("t", "08:00:00", "pagerduty", "alert.triggered", service="api", refs=["pagerduty:P1"]),
        _ev("a", "08:00:50", "grafana", "alert.triggered", service="API", refs=["alert:g1", "pagerduty:P1"]),
        _ev("b", "08:00:30", "grafana", "alert.triggered", service="db", refs=["alert:g2", "pagerduty:P1"]),
    ], "pagerduty:P1")
    # same service (case aside), 50 s apart: one row; another service at the same time: its own row
    assert rows == [(["pagerduty/t", "grafana/a"], 1), (["grafana/b"], 1)]


def test_copies_further_apart_than_the_dedup_window_stay_apart(tmp_path):
    rows = _timeline(tmp_path, [
        _ev("t", "08:00:00", "pagerduty", "alert.triggered", refs=["pagerduty:P1"]),
        _ev("post", "08:03:00", "slack", "chat.message", actor_type="bot", title="Triggered: P1",
            refs=["pagerduty:P1"]),
    ], "pagerduty:P1", dedup_window="2m")
    assert rows == [(["pagerduty/t"], 1), (["slack/post"], 1)]


def test_a_pause_longer_than_the_storm_window_starts_a_new_storm(tmp_path):
    fires = [_ev(f"f{i}", at, "alertmanager", "alert.triggered", refs=["alert:fp"])
             for i, at in enumerate(["08:00:00", "08:05:00", "08:09:59", "08:30:00", "08:31:00"])]
    rows = _timeline(tmp_path, fires, "alert:fp", storm_window="10m")
    assert rows == [([f"alertmanager/f{i}" for i in range(3)], 3), (["alertmanager/f3", "alertmanager/f4"], 2)]


def test_a_human_saying_resolved_is_not_a_bot_post(tmp_path):
    rows = _timeline(tmp_path, [
        _ev("r", "08:10:00", "pagerduty", "alert.resolved", refs=["pagerduty:P1"]),
        _ev("said", "08:10:05", "slack", "chat.message", actor="Ann", actor_type="human",
            title="Resolved: P1 is fine now", refs=["pagerduty:P1"]),
    ], "pagerduty:P1")
    assert rows == [(["pagerduty/r"], 1), (["slack/said"], 1)]


def test_services_map_joins_names_ids_and_tags_into_one_service(tmp_path):
    config = lake_config(tmp_path)
    config.services = {"payments": ["payments-settlement", "PSVC9", "ci-pay"]}
    write_events(config.lake, [
        _ev("t", "08:00:00", "pagerduty", "alert.triggered", service="Payments (prod)", refs=["pagerduty:P1"],
            attrs={"service_id": "PSVC9"}),
        _ev("a", "08:00:40", "alertmanager", "alert.triggered", service="payments-settlement",
            refs=["alert:fp1", "pagerduty:P1"]),
        # an Opsgenie alert naming no service: a tag that is one of the service's names counts
        _ev("o", "08:01:00", "opsgenie", "alert.triggered", refs=["opsgenie:o1", "pagerduty:P1"],
            attrs={"tags": ["critical", "CI-PAY"]}),
    ])
    built = build(config, "pagerduty:P1")
    assert [r["event_ids"] for r in built["timeline"]] == [["pagerduty/t", "alertmanager/a", "opsgenie/o"]]
    assert built["incidents"][0]["services"] == ["payments"]

