"""The Teams mapping: Graph chatMessage records (shaped like Microsoft's documented examples
of channel messages, replies and system event messages) -> chat events, the compiled
DuckDB query and the per-record oracle agreeing on each."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_timeline.normalize.engine import normalize_raw
from incident_timeline.normalize.mapping import SourceSpec
from incident_timeline.normalize.schema import RAW_SCHEMA
from incident_timeline.normalize.text import teams_html_to_text

AT = datetime(2026, 11, 1, tzinfo=timezone.utc)
TEAM = "5d0b8f42-3c8e-4a47-9d39-0f1cf7c0b1a2"
CHANNEL = "19:6c1d3ab0f0a54a4f9f1f2e8b7c0d5e21@thread.tacv2"
USER = {"@odata.type": "#microsoft.graph.teamworkUserIdentity", "id": "0f6a2c1e-58f4-4d8e-9c6b-1e2a3b4c5d6e",
        "displayName": "Priya Natarajan", "userIdentityType": "aadUser", "tenantId": "a1b2c3d4-0000-4000-8000-aaaabbbbcccc"}


def message(mid: str, content: str, *, content_type: str = "html", reply_to: str | None = None, **extra) -> dict:
    """A chatMessage as List channel messages returns it."""
    created = extra.pop("created", "2026-10-14T14:03:11.204Z")
    record = {
        "@odata.type": "#microsoft.graph.chatMessage", "id": mid, "replyToId": reply_to, "etag": mid,
        "messageType": "message", "createdDateTime": created, "lastModifiedDateTime": created,
        "lastEditedDateTime": None, "deletedDateTime": None, "subject": None, "summary": None, "chatId": None,
        "importance": "normal", "locale": "en-us",
        "webUrl": f"https://teams.microsoft.com/l/message/{CHANNEL}/{mid}?groupId={TEAM}&parentMessageId={reply_to or mid}",
        "policyViolation": None, "eventDetail": None,
        "from": {"application": None, "device": None, "user": USER},
        "body": {"contentType": content_type, "content": content},
        "channelIdentity": {"teamId": TEAM, "channelId": CHANNEL},
        "attachments": [], "mentions": [], "reactions": [], "messageHistory": []}
    record.update(extra)
    return record


def system(mid: str, odata_type: str, **detail) -> dict:
    record = message(mid, "<systemEventMessage/>", **{"from": None})
    record["messageType"] = "systemEventMessage"
    record["eventDetail"] = {"@odata.type": f"#microsoft.graph.{odata_type}", **detail}
    return record


def _raw(records: list, streams: list[str] | None = None, parent: str | None = CHANNEL) -> pa.Table:
    streams = streams or ["replies" if isinstance(r, dict) and r.get("replyToId") else "messages" for r in records]
    rows = [{"run_id": "r", "source": "teams", "source_type": "teams", "stream": s, "partition": CHANNEL,
             "native_id": f"{CHANNEL}/{i}", "parent_id": parent,
             "payload": r if isinstance(r, str) else json.dumps(r, ensure_ascii=False), "fetched_at": AT}
            for i, (r, s) in enumerate(zip(records, streams))]
    return pa.Table.from_pylist(rows, schema=RAW_SCHEMA)


def _same(raw: pa.Table, **options):
    spec = SourceSpec(name="teams", type="teams", options=options)
    kw = dict(entities={}, jira_projects=["OPS"], ingested_at=AT)
    compiled, oracle = normalize_raw(raw, spec, **kw), normalize_raw(raw, spec, vectorized=False, **kw)
    assert compiled.events.to_pylist() == oracle.events.to_pylist()
    assert compiled.rejects.to_pylist() == oracle.rejects.to_pylist()
    return compiled


def test_a_message_with_a_mention_a_link_and_entities_becomes_one_chat_message():
    body = ('<div><div><at id="0">Wei Zhang</at>&nbsp;rolled back checkout-api, see '
            '<a href="https://acme.atlassian.net/browse/OPS-12" rel="noreferrer noopener" target="_blank">OPS-12</a> '
            '&amp; <a href="https://acme.pagerduty.com/incidents/Q2W3E4R">the page</a> &lt;done&gt;</div></div>')
    rec = message("1791986850123", body, mentions=[{"id": 0, "mentionText": "Wei Zhang", "mentioned": {"user": USER}}])
    [event] = _same(_raw([rec]), channels={CHANNEL: "inc-4213-checkout"}).events.to_pylist()
    assert (event["kind"], event["actor"], event["actor_type"], event["actor_id"]) == \
        ("chat.message", "Priya Natarajan", "human", USER["id"])
    assert event["body"] == ("@Wei Zhang rolled back checkout-api, see OPS-12 (https://acme.atlassian.net/browse/"
                             "OPS-12) & the page (https://acme.pagerduty.com/incidents/Q2W3E4R) <done>")
    assert event["refs"] == [f"teams:{CHANNEL}", "pagerduty:Q2W3E4R", "jira:OPS-12"]
    assert event["native_id"] == f"{CHANNEL}/1791986850123"
    assert event["ts"] == datetime(2026, 10, 14, 14, 3, 11, 204000, tzinfo=timezone.utc)
    assert event["url"].startswith("https://teams.microsoft.com/l/message/")
    assert json.loads(event["attrs"]) == {
        "channel": CHANNEL, "channel_name": "inc-4213-checkout", "thread_id": f"{CHANNEL}/1791986850123",
        "parent_id": None, "message_type": "message", "edited": None, "deleted": None}


def test_a_reply_is_threaded_under_its_root_and_a_subject_is_the_title():
    root = message("1791986800000", "<p>Checkout is failing</p>", subject="SEV2: checkout 5xx")
    reply = message("1791986850777", "on it", content_type="text", reply_to="1791986800000",
                    created="2026-10-14T14:05:00Z")
    first, second = _same(_raw([root, reply])).events.to_pylist()
    assert (first["kind"], first["title"], first["body"]) == ("chat.message", "SEV2: checkout 5xx", "Checkout is failing")
    assert (second["kind"], second["title"]) == ("chat.reply", "on it")
    assert json.loads(second["attrs"])["thread_id"] == json.loads(second["attrs"])["parent_id"] == \
        f"{CHANNEL}/1791986800000"


def test_a_deleted_message_shows_no_text_and_replaces_its_earlier_version():
    live = message("1791986850123", "<p>the db password is hunter2 OPS-12</p>")
    gone = message("1791986850123", "<p>the db password is hunter2 OPS-12</p>",
                   deletedDateTime="2026-10-14T14:09:00Z", lastModifiedDateTime="2026-10-14T14:09:00Z")
    out = _same(_raw([live, gone])).events.to_pylist()
    [event] = out
    assert (event["title"], event["body"]) == ("(message deleted)", "")
    assert event["refs"] == [f"teams:{CHANNEL}"]
    assert json.loads(event["attrs"])["deleted"] == "2026-10-14T14:09:00Z"


def test_an_edit_keeps_the_newest_version():
    old = message("1791986850123", "<p>rollback at 14:00</p>")
    new = message("1791986850123", "<p>rollback at 14:10</p>", lastEditedDateTime="2026-10-14T14:20:00Z",
                  lastModifiedDateTime="2026-10-14T14:20:00Z")
    [event] = _same(_raw([old, new])).events.to_pylist()
    assert event["body"] == "rollback at 14:10"
    assert json.loads(event["attrs"])["edited"] == "2026-10-14T14:20:00Z"


def test_system_event_messages_say_what_happened():
    initiator = {"application": None, "device": None,
                 "user": {"id": "9ee3dc1b-6a70-4582-8bc5-5dd35336b6c3", "displayName": None, "userIdentityType": "aadUser"}}
    records = [
        system("1", "membersAddedEventMessageDetail", initiator=initiator, visibleHistoryStartDateTime="0001-01-01T00:00:00Z",
               members=[{"id": "06a5b888-ad96-455e-88ef-c059ec4e4cf0", "displayName": None, "userIdentityType": "aadUser"},
                        {"id": "1fb8890f-423e-4154-8fbf-db6809bc8756", "displayName": "Wei Zhang"}]),
        system("2", "channelRenamedEventMessageDetail", initiator={"user": {"id": "u9", "displayName": "Priya Natarajan"}},
               channelDisplayName="inc-4213-checkout", channelId=CHANNEL),
        system("3", "callEndedEventMessageDetail", callDuration="PT1M30S"),
        system("4", "membersLeftEventMessageDetail", members=[{"id": "u7", "displayName": "Sam Ortiz"}],
               initiator={"user": {"id": "u7", "displayName": "Sam Ortiz"}}),
    ]
    events = _same(_raw(records)).events.to_pylist()
    assert [(e["kind"], e["actor"], e["actor_type"], e["body"]) for e in events] == [
        ("chat.join", "9ee3dc1b-6a70-4582-8bc5-5dd35336b6c3", "human",
         "9ee3dc1b-6a70-4582-8bc5-5dd35336b6c3 added 06a5b888-ad96-455e-88ef-c059ec4e4cf0, Wei Zhang"),
        ("chat.topic", "Priya Natarajan", "human", "Priya Natarajan renamed the channel to inc-4213-checkout"),
        ("chat.system", "unknown", "system", "Call ended"),
        ("chat.leave", "Sam Ortiz", "human", "Sam Ortiz left: Sam Ortiz"),
    ]


def test_an_application_posts_as_a_bot_and_a_nameless_user_by_id():
    bot = message("10", "<p>Deployed v2.3.1</p>", **{"from": {"application": {
        "@odata.type": "#microsoft.graph.teamworkApplicationIdentity", "id": "app-1", "displayName": "Deploy Bot",
        "applicationIdentityType": "bot"}, "device": None, "user": None}})
    nameless = message("11", "<p>hi</p>", **{"from": {"user": {"id": "u-5", "displayName": None}}})
    first, second = _same(_raw([bot, nameless])).events.to_pylist()
    assert (first["actor"], first["actor_type"], first["actor_id"]) == ("Deploy Bot", "bot", "app-1")
    assert (second["actor"], second["actor_type"]) == ("u-5", "human")


def test_records_without_id_channel_or_time_are_rejects_naming_the_field():
    no_time = message("12", "x")
    del no_time["createdDateTime"]
    no_id = message("13", "x")
    del no_id["id"]
    orphan = message("14", "x", channelIdentity=None)
    out = _same(_raw([no_time, no_id, orphan, "[1]"], parent=None))
    assert sorted((r["field"], r["reason"]) for r in out.rejects.to_pylist()) == sorted([
        ("createdDateTime", "missing"), ("id", "missing"), ("channel", "message names no channel"),
        ("payload", "not a JSON object")])
    assert out.events.num_rows == 0


def test_a_card_or_a_file_is_read_for_its_text_and_refs():
    card = {"type": "AdaptiveCard", "version": "1.4", "body": [
        {"type": "TextBlock", "text": "Triggered: checkout-api 5xx above 5%", "weight": "bolder"},
        {"type": "FactSet", "facts": [{"title": "Urgency", "value": "high"}]}],
        "actions": [{"type": "Action.OpenUrl", "title": "View incident",
                     "url": "https://acme.pagerduty.com/incidents/Q1ABC23"}]}
    bot = message("40", '<attachment id="c3b1"></attachment>', attachments=[{
        "id": "c3b1", "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
        "content": json.dumps(card), "name": None, "thumbnailUrl": None}])
    shared = message("41", "<p>draft is up</p>", attachments=[{
        "id": "5e1f", "contentType": "reference", "name": "postmortem-4213.docx",
        "contentUrl": "https://acme.sharepoint.com/sites/ops/Shared%20Documents/postmortem-4213.docx"}])
    first, second = _same(_raw([bot, shared])).events.to_pylist()
    assert first["body"] == ("Triggered: checkout-api 5xx above 5%\nUrgency: high\nView incident\n"
                             "https://acme.pagerduty.com/incidents/Q1ABC23")
    assert first["title"] == "Triggered: checkout-api 5xx above 5%"
    assert "pagerduty:Q1ABC23" in first["refs"]
    assert second["body"] == "draft is up"


def test_two_sources_naming_one_channel_apart_each_get_their_own_name():
    # the compiled query is kept between runs: a name bound into its UDF must not answer for another source
    raw = _raw([message("30", "<p>x</p>")])
    first = json.loads(_same(raw, channels={CHANNEL: "inc-a"}).events.to_pylist()[0]["attrs"])
    second = json.loads(_same(raw, channels=[{CHANNEL: "inc-b"}]).events.to_pylist()[0]["attrs"])
    assert (first["channel_name"], second["channel_name"]) == ("inc-a", "inc-b")


def test_html_to_text_reads_teams_markup():
    assert teams_html_to_text('<p>Hi <at id="1">Ann</at> <emoji id="1f44d" alt="👍" title="Like"></emoji></p>'
                              '<attachment id="a1"></attachment>') == "Hi @Ann 👍"
    assert teams_html_to_text("<p>a&nbsp;&amp;&#39;b&#x27;</p><script>alert(1)</script>") == "a &'b'"
    assert teams_html_to_text('<a href="https://status.acme.example/x">https://status.acme.example/x</a>') == \
        "https://status.acme.example/x"


_TEXT = st.lists(st.sampled_from(list("ab <>&;#x1\n\t\u00a0\u2003é") + ['<at id="0">', "</at>", "&amp;", "<p>",
                                                                        "</p>", "<br>", "&nbsp;"]),
                 max_size=12).map("".join)
_ANY = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=2) | st.dictionaries(st.text(max_size=4), c, max_size=2),
                    max_leaves=4)


@settings(max_examples=60, deadline=None)
@given(content=_TEXT | _ANY, content_type=st.sampled_from(["html", "text", None, 3]),
       message_type=st.sampled_from(["message", "systemEventMessage", None, ["x"]]),
       deleted=st.sampled_from([None, "2026-10-14T14:09:00Z", "", 0, {}]), detail=_ANY,
       sender=_ANY, attachments=_ANY | st.lists(st.fixed_dictionaries({
           "contentType": st.sampled_from(["reference", "application/vnd.microsoft.card.adaptive", None]),
           "name": _ANY, "contentUrl": _ANY, "content": _ANY | _TEXT}), max_size=2))
def test_compiled_and_oracle_agree_whatever_a_message_holds(content, content_type, message_type, deleted, detail,
                                                            sender, attachments):
    rec = message("20", "x", deletedDateTime=deleted, eventDetail=detail, attachments=attachments,
                  **{"from": sender})
    rec["messageType"] = message_type
    rec["body"] = {"contentType": content_type, "content": content}
    out = _same(_raw([rec]))
    assert out.events.num_rows + out.rejects.num_rows >= 1
