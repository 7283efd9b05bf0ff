"""A clean incident: exact milestones, metrics, membership, responders, gaps, decisions."""
from __future__ import annotations

import pytest

from tests.correlate.lakes import build_scenario, utc


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_scenario(tmp_path_factory.mktemp("clean"), "clean")


def test_membership_keeps_the_other_incident_out(built):
    members = {r["event_id"] for r in built["incident_events"]}
    assert members == {
        "og/trigger", "og/notify-dana", "slack/bot-trigger", "og/ack", "slack/join-dana", "slack/dana-1",
        "jira/PAY-7", "slack/dana-2", "og/escalate", "og/notify-evan", "og/notify-gus", "slack/evan-1", "og/resolve",
        "slack/bot-resolve", "slack/followup"}
    (incident,) = built["incidents"]
    assert incident["services"] == ["payments-api"]
    assert "opsgenie:og-2" not in incident["refs"] and "slack:CALERTS" not in incident["refs"]
    assert any("opsgenie:og-2 is another incident" in w for w in incident["warnings"])
    assert any("slack:CALERTS is a shared channel" in w for w in incident["warnings"])


def test_milestones_to_the_second_each_citing_its_event(built):
    marks = {m["name"]: (m["ts"], m["event_id"]) for m in built["milestones"]}
    assert marks == {
        "detected": (utc("2026-09-02T10:00:05Z"), "og/trigger"),
        "acknowledged": (utc("2026-09-02T10:03:00Z"), "og/ack"),
        # the acknowledgement and the channel join are not a response; the first message is
        "first_response": (utc("2026-09-02T10:04:30Z"), "slack/dana-1"),
        "mitigated": (utc("2026-09-02T10:15:00Z"), "slack/evan-1"),
        "resolved": (utc("2026-09-02T10:40:04Z"), "og/resolve"),
    }


def test_metrics(built):
    (i,) = built["incidents"]
    assert i["title"] == "payments-api p99 latency above 2s"
    assert (i["time_to_detect_s"], i["time_to_acknowledge_s"], i["time_to_first_response_s"],
            i["time_to_mitigate_s"], i["time_to_resolve_s"]) == (None, 175, 265, 895, 2399)
    assert (i["escalations"], i["pages"], i["responders"], i["messages"], i["gaps"]) == (1, 3, 2, 4, 1)
    assert (i["event_count"], i["row_count"]) == (15, 13)


def test_bot_posts_fold_into_the_alert_rows(built):
    rows = built["timeline"]
    trigger, resolve = rows[0], [r for r in rows if r["kind"] == "alert.resolved"][0]
    assert (trigger["source"], trigger["sources"], trigger["event_ids"]) == (
        "og", ["og", "slack"], ["og/trigger", "slack/bot-trigger"])
    assert (resolve["sources"], resolve["event_ids"]) == (["og", "slack"], ["og/resolve", "slack/bot-resolve"])
    assert all(r["count"] == 1 for r in rows)
    keys = [(r["ts"], r["source"], r["event_ids"][0]) for r in rows]
    assert keys == sorted(keys) and [r["seq"] for r in rows] == list(range(len(rows)))


def test_responders_who_was_paged_and_who_answered(built):
    people = {r["name"]: r for r in built["responders"]}
    assert set(people) == {"Dana Ng", "Evan Ruiz", "Gus Park"}
    dana, evan, gus = people["Dana Ng"], people["Evan Ruiz"], people["Gus Park"]
    assert (dana["paged_at"], dana["first_action"], dana["answered"], dana["response_delay_s"]) == (
        utc("2026-09-02T10:00:06Z"), utc("2026-09-02T10:03:00Z"), True, 174)
    assert (evan["paged_at"], evan["first_action"], evan["acknowledged"], evan["spoke"]) == (
        utc("2026-09-02T10:12:01Z"), utc("2026-09-02T10:15:00Z"), False, True)
    # paged, never answered
    assert (gus["paged_at"], gus["first_action"], gus["answered"], gus["response_delay_s"]) == (
        utc("2026-09-02T10:12:02Z"), None, False, None)
    (esc,) = built["escalations"]
    assert (esc["by_actor"], esc["to_whom"], esc["level"], esc["since_detected_s"], esc["answer_delay_s"]) == (
        "Dana Ng", "Evan Ruiz, Gus Park", 2, 715, 180)


def test_the_silence_before_resolution_is_a_gap(built):
    (gap,) = built["gaps"]
    assert (gap["start_ts"], gap["end_ts"], gap["duration_s"], gap["before_event_id"], gap["after_event_id"]) == (
        utc("2026-09-02T10:15:00Z"), utc("2026-09-02T10:40:04Z"), 1504, "slack/evan-1", "og/resolve")


def test_decision_points_show_what_was_visible(built):
    points = {p["event_id"]: p for p in built["decision_points"]}
    assert {p: d["decision"] for p, d in points.items()} == {
        "og/ack": "acknowledge", "og/escalate": "escalate", "slack/evan-1": "mitigation", "og/resolve": "resolve"}
    esc = points["og/escalate"]
    assert [a["event_id"] for a in esc["alerts_firing"]] == ["og/trigger"]
    assert [m["event_id"] for m in esc["last_messages"]] == ["slack/dana-1", "slack/dana-2"]
    assert points["og/resolve"]["alerts_firing"][0]["text"] == "payments-api p99 latency > 2s"


def test_follow_up_in_chat_is_an_action_item(built):
    (item,) = built["action_items"]
    assert (item["owner"], item["due"].isoformat(), item["status"]) == ("Evan Ruiz", "2026-09-16", "open")
