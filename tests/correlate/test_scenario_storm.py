"""An alert storm seen by Alertmanager, PagerDuty, two bots, and a channel ingested twice."""
from __future__ import annotations

import pytest

from tests.correlate.lakes import build_scenario, utc


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_scenario(tmp_path_factory.mktemp("storm"), "storm")


def _row(built, kind, **match):
    return [r for r in built["timeline"] if r["kind"] == kind and all(r[k] == v for k, v in match.items())]


def test_the_storm_and_every_copy_of_it_is_one_row(built):
    (fire,) = _row(built, "alert.triggered")
    assert (fire["ts"], fire["last_ts"], fire["span_s"], fire["count"]) == (
        utc("2026-09-10T03:00:00Z"), utc("2026-09-10T03:11:01Z"), 661, 12)   # the bot's last post
    assert (fire["source"], fire["sources"]) == ("alertmanager", ["alertmanager", "pagerduty", "slack"])
    assert fire["event_ids"][0] == "alertmanager/am-fire-1"
    assert sorted(fire["event_ids"]) == sorted(
        [f"alertmanager/am-fire-{i}" for i in range(1, 13)] + [f"slack/am-post-{i}" for i in range(1, 13)]
        + ["pagerduty/pd-trigger", "slack/pd-post"])


def test_resolutions_from_four_feeds_are_one_row(built):
    (resolved,) = _row(built, "alert.resolved")
    assert (resolved["ts"], resolved["count"], resolved["sources"]) == (
        utc("2026-09-10T03:30:00Z"), 1, ["alertmanager", "pagerduty", "slack"])
    assert resolved["event_ids"] == ["alertmanager/am-resolve", "slack/am-resolve-post", "pagerduty/pd-resolve",
                                     "slack/pd-resolve-post"]


def test_a_channel_ingested_twice_is_not_said_twice(built):
    messages = _row(built, "chat.message", actor_type="human")
    assert [(m["ts"], m["sources"], m["count"]) for m in messages] == [
        (utc("2026-09-10T03:05:00Z"), ["slack", "slack-archive"], 1),
        (utc("2026-09-10T03:20:00Z"), ["slack", "slack-archive"], 1)]
    (incident,) = built["incidents"]
    assert incident["messages"] == 2


def test_the_other_storm_stays_out(built):
    members = {r["event_id"] for r in built["incident_events"]}
    assert not any(m.startswith("alertmanager/cache-fire") for m in members)
    assert len(members) == 12 + 12 + 12   # 24 storm events, 12 others
    (incident,) = built["incidents"]
    assert incident["services"] == ["orders-db"]
    assert (incident["event_count"], incident["row_count"]) == (36, 6)


def test_milestones_and_metrics(built):
    marks = {m["name"]: (m["ts"], m["event_id"]) for m in built["milestones"]}
    assert marks == {
        "detected": (utc("2026-09-10T03:00:00Z"), "alertmanager/am-fire-1"),
        "acknowledged": (utc("2026-09-10T03:04:00Z"), "pagerduty/pd-ack"),
        "first_response": (utc("2026-09-10T03:05:00Z"), "slack/CDB:1757473500.000100"),
        "mitigated": (utc("2026-09-10T03:20:00Z"), "slack/CDB:1757474400.000200"),
        # every alert (the fingerprint and the PagerDuty incident) resolved; the last one counts
        "resolved": (utc("2026-09-10T03:30:03Z"), "pagerduty/pd-resolve"),
    }
    (i,) = built["incidents"]
    assert (i["time_to_acknowledge_s"], i["time_to_mitigate_s"], i["time_to_resolve_s"]) == (240, 1200, 1803)
    assert (i["pages"], i["escalations"], i["responders"], i["gaps"]) == (1, 0, 1, 0)
    assert i["title"] == "orders-db: connections exhausted" and i["severity"] == "SEV1"


def test_a_decision_sees_the_storm_once(built):
    ack = [p for p in built["decision_points"] if p["decision"] == "acknowledge"][0]
    assert [a["event_id"] for a in ack["alerts_firing"]] == ["alertmanager/am-fire-1"]
