"""A compiled mapping (normalize.mappings) gives exactly the events and rejects its
per-record oracle gives."""
import json
from datetime import datetime, timezone

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_timeline.ingest.registry import CONNECTORS
from incident_timeline.normalize.engine import build_entities, normalize_raw
from incident_timeline.normalize.oracle import MAPPERS
from incident_timeline.normalize.mappings import MAPPINGS
from incident_timeline.normalize.mapping import SourceSpec
from incident_timeline.contract.schemas import RAW_SCHEMA
from tests.support import REPO, demo_sources

NOW = datetime(2026, 10, 15, tzinfo=timezone.utc)


def _demo_raw(source: dict) -> pa.Table:
    from incident_timeline.config import parse_config

    settings = parse_config({"lake": "./data", "sources": [source]}, REPO / "connectors.yaml").sources[0]
    connector = CONNECTORS[settings.type](settings)
    rows = []
    try:
        from incident_timeline.ingest.base import Window
        for partition in connector.partitions():
            for r in connector.fetch(partition, Window(None, None)):
                rows.append({"run_id": "r", "source": settings.name, "source_type": settings.type,
                             "stream": r.stream, "partition": r.partition, "native_id": str(r.native_id),
                             "parent_id": r.parent_id, "payload": r.payload_json(), "fetched_at": NOW})
    finally:
        connector.close()
    return pa.Table.from_pylist(rows, schema=RAW_SCHEMA)


def _both(raw: pa.Table, spec: SourceSpec):
    mapper = MAPPERS[spec.type]
    entities = build_entities(raw, mapper.entity_streams)
    kw = dict(entities=entities, jira_projects=["OPS"], ingested_at=NOW, run_id="r")
    fast = normalize_raw(raw, spec, vectorized=True, **kw)
    slow = normalize_raw(raw, spec, vectorized=False, **kw)
    order = [("event_id", "ascending")]
    return fast.events.sort_by(order).to_pylist(), slow.events.sort_by(order).to_pylist(), fast, slow


# Jira's demo (ten events) is checked in test_fast_jira.py.
@pytest.mark.parametrize("source", [s for s in demo_sources() if s["type"] in MAPPINGS
                                    and s["type"] not in ("jira", "file")], ids=lambda s: s["name"])
def test_demo_fixtures_give_identical_events(source):
    raw = _demo_raw(source)
    spec = SourceSpec(source["name"], source["type"], options={"workspace_url": "https://acme.slack.com"})
    fast, slow, fo, so = _both(raw, spec)
    assert len(fast) >= 6
    assert fast == slow
    assert fo.rejects.num_rows == so.rejects.num_rows == 0
    # one query takes every record: each message is an event (a status page incident: one per update)
    records = sum(s not in MAPPERS[spec.type].entity_streams for s in raw["stream"].to_pylist())
    assert len(fast) > records if spec.type == "statuspage" else len(fast) == records


def _slack_raw(messages: list) -> pa.Table:
    return pa.Table.from_pylist([{
        "run_id": "r", "source": "slack", "source_type": "slack", "stream": stream, "partition": "C0INC42",
        "native_id": m["id"] if stream != "messages" else str(i), "parent_id": parent, "payload": m if isinstance(m, str) else json.dumps(m),
        "fetched_at": NOW} for i, (stream, parent, m) in enumerate(messages)], schema=RAW_SCHEMA)


def test_awkward_slack_messages_agree_and_go_the_right_way():
    users = [("users", None, {"id": "U1", "real_name": "", "name": "ann", "profile": {"display_name": "Ann",
                                                                                  "email": "ann@acme.example"}}),
             ("users", None, {"id": "UB", "is_bot": True, "profile": {"real_name": "Deploy Bot"}}),
             ("channels", None, {"id": "C0INC42", "name": "inc-42"})]
    msgs = [
        {"type": "message", "user": "U1", "ts": "1791986850.000700",
         "text": "  <@U1> &amp; <@U9|bob> see <#C0OTHER1|other> <https://x.example|x> <mailto:a@b.c> "
                 "<!here> <!subteam^S1|@sre> &lt;b&gt; OPS-1 INC0010001\nsecond line"},
        {"type": "message", "user": "U1", "ts": "1791986851.000100", "thread_ts": "1791986850.000700",
         "text": "x" * 200},
        {"type": "message", "subtype": "bot_message", "bot_id": "B1", "username": "PagerDuty",
         "ts": "1791986852.000001", "text": "Triggered"},
        {"type": "message", "user": "UB", "ts": "1791986853.000001", "text": "deployed"},
        {"type": "message", "subtype": "channel_join", "user": "U404", "ts": "1791986854.000001",
         "text": "<@U404> has joined"},
        {"type": "message", "user": "U1", "ts": "1791986855.000001", "text": "caf&eacute; &#39;q&#39;"},
        {"type": "message", "user": "U1", "ts": "1791986856.000001", "text": "nbsp\u00a0end\u00a0"},
        {"type": "message", "user": "U1", "ts": "1791986857.000001", "text": "",
         "attachments": [{"fallback": "see https://acme.pagerduty.com/incidents/Q2W3E4R"}]},
        {"type": "message", "user": "U1", "ts": 1791986858.5, "text": "numeric ts"},
        {"type": "message", "user": "U1", "text": "no ts"},
        "[1, 2]", "{broken", '{"type": "message", "user": "U1", "ts": "1791986859.000001", "text": "x",}',
    ]
    raw = _slack_raw([(s, p, u) for s, p, u in users] + [("messages", "C0INC42", m) for m in msgs])
    fast, slow, fo, so = _both(raw, SourceSpec("slack", "slack"))
    assert fast == slow
    assert fo.rejects.to_pylist() == so.rejects.to_pylist()
    assert fo.rejects.num_rows == 4        # no ts, not an object, broken JSON, trailing comma
    assert len(fast) == len(msgs) - 4
    by_ts = {e["ts_raw"]: e for e in fast}
    first = by_ts["1791986850.000700"]
    assert first["body"].strip().startswith("@Ann & @bob see #other x (https://x.example) a@b.c @here @@sre <b>")
    assert first["title"] == first["body"].split("\n")[0].strip()
    assert set(first["refs"]) >= {"slack:C0INC42", "slack:C0OTHER1", "jira:OPS-1", "servicenow:INC0010001"}
    assert by_ts["1791986851.000100"]["kind"] == "chat.reply" and by_ts["1791986851.000100"]["title"].endswith("…")
    assert by_ts["1791986853.000001"]["actor_type"] == "bot" and by_ts["1791986853.000001"]["actor"] == "Deploy Bot"
    assert by_ts["1791986855.000001"]["body"] == "café 'q'"


def _pd_raw(rows: list) -> pa.Table:
    return pa.Table.from_pylist([{
        "run_id": "r", "source": "pd", "source_type": "pagerduty", "stream": stream, "partition": "",
        "native_id": m["id"] if stream == "incidents" else str(i), "parent_id": parent,
        "payload": m if isinstance(m, str) else json.dumps(m),
        "fetched_at": NOW} for i, (stream, parent, m) in enumerate(rows)], schema=RAW_SCHEMA)


def _entry(i: int, **fields) -> dict:
    return {"id": f"R{i}", "type": "acknowledge_log_entry", "created_at": "2026-10-14T09:1%d:00-04:00" % (i % 10),
            "agent": {"id": "PALICE1", "type": "user_reference", "summary": "Alice Chen"},
            "channel": {"type": "website"}, "incident": {"id": "Q1"}, **fields}


def test_awkward_pagerduty_entries_agree_and_go_the_right_way():
    incidents = [("incidents", None, {"id": "Q1", "type": "incident", "title": "db \"down\"\n", "incident_number": 7,
                                      "urgency": "high", "priority": {"summary": "P1"},
                                      "service": {"summary": "db"},
                                      "html_url": "https://acme.pagerduty.com/incidents/Q1"}),
                 ("incidents", None, {"id": "Q2", "urgency": "low", "incident_number": "8"}),
                 ("incidents", None, {"id": "Q3", "title": 5}),
                 ("incidents", None, {"id": "Q4"})]
    taken = [
        _entry(0),
        _entry(1, type="annotate_log_entry", note="see OPS-12 and https://acme.pagerduty.com/incidents/QOTHER1"),
        _entry(2, type="annotate_log_entry", channel={"type": "note", "summary": "from channel"}),
        _entry(3, type="annotate_log_entry", note="", summary=""),
        _entry(4, type="trigger_log_entry", agent={"type": "service_reference", "summary": ""},
               event_details={"description": "CPU 95%, INC0010001"}, service={"id": "PSVC"}),
        _entry(5, type="escalate", incident={"id": "Q2", "html_url": ""}, service={"summary": "api"},
               user={"summary": "Bob Martin"}),
        _entry(6, incident={"id": "Q1", "type": "incident"}),
        _entry(7, incident={"id": "QNOTFETCHED", "summary": "ref title", "html_url": "https://x.example/i"},
               assignees=[]),
        _entry(8, agent={"id": "", "type": "user"}, user={"summary": ""}, event_details={"x": 1}),
    ]
    declined = [
        _entry(10, incident={"id": "Q3"}),                       # incident title not a string
        _entry(11, incident={"id": "QEMB", "type": "incident", "title": "embedded"}),
        _entry(12, assignees=[{"summary": "Bob"}, "x", {"summary": ""}]),
        _entry(13, summary=5), _entry(14, agent="alice"), _entry(15, id=12),
        _entry(16, event_details={"description": "OPS-1é"}),    # non-ASCII text naming a ref
        _entry(17, service={}),          # an empty service: the incident's is taken instead
        _entry(18, user="bob"),          # not an object where the mapper reads one (it skips it)
        '{"id": "R19", "type": "acknowledge_log_entry", "created_at": "2026-10-14T09:10:00Z", '
        '"incident": {"id": "Q1"}}{"id": "R19b"}',                 # two values: json.loads refuses it
        '{"id": "R17", "id": "R17b", "type": "acknowledge_log_entry", "created_at": "2026-10-14T09:10:00Z", '
        '"incident": {"id": "Q1"}}',                               # a repeated key: json.loads keeps the last
        '{"id": "R19c", "type": "x", "created_at": "2026-10-14T09:10:00Z", "incident": {"id": "Q1"},}',
    ]
    rejected = [_entry(20, id=""), _entry(21, type=None), _entry(22, created_at=""), _entry(23, incident={}),
                _entry(24, created_at="yesterday"), "[1]", "{broken"]
    by_parent = [_entry(30, incident={}), _entry(31, incident={"id": ""}, agent=None,
                                                    summary="s\u2028é/\x01", type="made_up_log_entry"),
                 _entry(32, incident=None, agent={"id": "", "type": "user"})]   # the parent names the incident
    rows = incidents + [("log_entries", "", e) for e in taken + declined + rejected]
    rows += [("log_entries", "Q1", e) for e in by_parent]
    raw = _pd_raw(rows)
    spec = SourceSpec("pd", "pagerduty")
    fast, slow, fo, so = _both(raw, spec)
    assert fast == slow
    assert fo.rejects.to_pylist() == so.rejects.to_pylist()
    # rejected: the seven above, and of the odd ones: summary 5 (searched for refs) and agent
    # "alice" (not an object where one is read), as the mapper of old rejected them, trailing
    # comma, two values in one payload
    assert fo.rejects.num_rows == len(rejected) + 4
    assert sorted(e["native_id"] for e in fast) == sorted(   # R24's time is rejected
        [e["id"] for e in taken + by_parent] + [str(e["id"]) for e in declined if isinstance(e, dict)
                                                 and e["id"] not in ("R13", "R14")] + ["R17b"])
    by_id = {e["native_id"]: e for e in fast}
    assert by_id["R0"]["severity"] == "SEV1" and by_id["R0"]["service"] == "db"
    assert json.loads(by_id["R0"]["attrs"])["incident_title"] == 'db "down"\n'
    assert by_id["R1"]["title"].startswith("Note: see") and "jira:OPS-12" in by_id["R1"]["refs"]
    assert by_id["R5"]["kind"] == "alert.escalated" and by_id["R5"]["severity"] == "SEV3"
    assert by_id["R7"]["url"] == "https://x.example/i"
    assert by_id["R31"]["refs"] == ["pagerduty:Q1"] and by_id["R31"]["kind"] == "alert.made_up"
    assert "R13" not in by_id and "R14" not in by_id   # a number for a summary, a string agent: rejected
    reasons = {r["record"]: r["reason"] for r in fo.rejects.to_pylist()}
    assert reasons[json.dumps(_entry(13, summary=5))] == "unexpected shape in log_entries: TypeError: expected string or bytes-like object, got 'int'"
    assert by_id["R17b"]["kind"] == "alert.acknowledged"   # a repeated key: json.loads keeps the last


def test_non_ascii_text_naming_a_ref_reads_as_python_reads_it():
    # Python's \b and \w know é is a letter, RE2's do not: "éOPS-1" names no Jira key
    texts = ["éOPS-1 down", "OPS-1é", "voir INC0012345é", "naïve but no ref", "plain OPS-7"]
    msgs = [{"type": "message", "user": "U1", "ts": f"17919868{i:02d}.000100", "text": t} for i, t in enumerate(texts)]
    raw = _slack_raw([("messages", "C0INC42", m) for m in msgs])
    spec = SourceSpec("slack", "slack")
    fast, slow, _fo, _so = _both(raw, spec)
    assert fast == slow
    assert [e["refs"] for e in sorted(fast, key=lambda e: e["ts_raw"])] == [
        ["slack:C0INC42"], ["slack:C0INC42"], ["slack:C0INC42"], ["slack:C0INC42"], ["slack:C0INC42", "jira:OPS-7"]]


def test_slack_integrations_file_comments_and_file_shares_are_named():
    # shapes as Slack writes them (objs_message: bot_profile, comment, files[].title/name)
    users = [("users", None, {"id": "U1", "real_name": "Ann Lee", "profile": {"email": "ann@acme.example"}}),
             ("users", None, {"id": "U2", "name": "raj", "profile": {"real_name": "Raj Iyer"}})]
    msgs = [
        {"type": "message", "subtype": "bot_message", "bot_id": "B0GITHUB1", "ts": "1791986900.000100",
         "text": "", "attachments": [{"fallback": "[acme/checkout] Pull request opened: #812 revert pool size"}],
         "bot_profile": {"id": "B0GITHUB1", "app_id": "A8GH1", "name": "GitHub", "deleted": False}},
        {"type": "message", "subtype": "bot_message", "bot_id": "B0DEPLOY1", "username": "deploy-bot",
         "ts": "1791986901.000100", "text": "checkout v2.14.1 rolled back"},
        {"type": "message", "subtype": "bot_message", "bot_id": "B0NONAME1", "ts": "1791986902.000100",
         "text": "webhook says hi"},
        {"type": "message", "bot_id": "B0NONAME1", "ts": "1791986902.000200", "text": "and again",
         "bot_profile": {"id": "B0NONAME1", "name": ""}},
        {"type": "message", "subtype": "file_comment", "ts": "1791986903.000100",
         "text": "<@U2> commented on <@U1>'s file <https://acme.slack.com/files/U1/F1/heap.png|heap.png>: "
                 "that is the leak", "file": {"id": "F1", "name": "heap.png", "title": "heap.png"},
         "comment": {"id": "Fc1", "created": 1791986903, "timestamp": 1791986903, "user": "U2",
                     "comment": "that is the leak", "is_intro": False}},
        {"type": "message", "subtype": "bot_add", "user": "U1", "bot_id": "B0GITHUB1",
         "bot_link": "<https://acme.slack.com/services/B0GITHUB1|GitHub>", "ts": "1791986904.000100",
         "text": "added an integration to this channel: <https://acme.slack.com/services/B0GITHUB1|GitHub>"},
        {"type": "message", "subtype": "bot_remove", "user": "U1", "bot_id": "B0GITHUB1", "ts": "1791986904.000200",
         "text": "removed an integration from this channel: <https://acme.slack.com/services/B0GITHUB1|GitHub>"},
        {"type": "message", "user": "U2", "ts": "1791986905.000100", "text": "", "upload": True,
         "display_as_bot": False, "files": [
             {"id": "F2", "name": "grafana-p99.png", "title": "p99 latency OPS-12", "mimetype": "image/png"},
             {"id": "F3", "name": "heap-dump.txt", "title": "", "mimetype": "text/plain"}]},
        {"type": "message", "user": "U2", "ts": "1791986905.000200", "text": "see the graph",
         "files": [{"id": "F4", "name": "g.png", "title": "g.png"}]},
    ]
    raw = _slack_raw(users + [("messages", "C0INC42", m) for m in msgs])
    spec = SourceSpec("slack", "slack")
    fast, slow, fo, so = _both(raw, spec)
    assert fast == slow and fo.rejects.num_rows == so.rejects.num_rows == 0
    got = {e["ts_raw"]: (e["actor"], e["actor_type"], e["actor_id"]) for e in fast}
    assert got["1791986900.000100"] == ("GitHub", "bot", "B0GITHUB1")
    assert got["1791986901.000100"] == ("deploy-bot", "bot", "B0DEPLOY1")
    assert got["1791986902.000100"] == got["1791986902.000200"] == ("B0NONAME1", "bot", "B0NONAME1")
    assert got["1791986903.000100"] == ("Raj Iyer", "human", "U2")            # comment.user, not unknown
    assert got["1791986904.000100"] == got["1791986904.000200"] == ("Ann Lee", "human", "ann@acme.example")
    share = next(e for e in fast if e["ts_raw"] == "1791986905.000100")
    assert share["body"] == "p99 latency OPS-12, heap-dump.txt" and share["title"] == share["body"]
    assert "jira:OPS-12" in share["refs"]
    assert next(e for e in fast if e["ts_raw"] == "1791986905.000200")["body"] == "see the graph"
    assert len(fast) == len(msgs)


_SLACK_PIECES = st.sampled_from([
    "deploy", " ", "\n", "\t", "é", "ß", "&amp;", "&lt;", "&gt;", "&", "&eacute;", "<@U1>", "<@U9|bob>", "<@UX>",
    "<#C0OTHER1|other>", "<#C0OTHER2>", "<https://x.example|x>", "<https://y.example>", "<mailto:a@b.c|a>",
    "<!here>", "<!subteam^S1|@sre>", "OPS-12", "INC0010001", "https://acme.pagerduty.com/incidents/Q1ABC",
    "/browse/OPS-3", "<", ">", "|", "\u00a0", "\u2028", "x" * 150,
    # the tools' own link shapes (refs.py): a permalink's rewrite, sys_id links, uuid-epochms ids
    "https://acme.slack.com/archives/C0ALERTS1/p1791986534000100", "/archives/C0X1234/p179198653400010",
    "<https://acme.service-now.com/nav_to.do?uri=incident.do%3Fsys_id%3D9d385017c611228701d22104cc95c371|INC>",
    "https://acme.app.eu.opsgenie.com/alert/detail/909993c0-72e7-4433-9e9e-30a2196e8f87-1698695490940/details",
    "/alerting/grafana/fe3k9x2lmq8w0a/view", "?selectedIssue=OPS-9", "statuspage.io/incidents/p8s0wqr2mb7c"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(_SLACK_PIECES, max_size=8).map("".join), min_size=1, max_size=6),
       st.sampled_from([None, "bot_message", "channel_join", "bot_add", "file_comment"]))
def test_generated_slack_texts_agree(texts, subtype):
    users = [("users", None, {"id": "U1", "real_name": "Ann Lee", "profile": {"email": "ann@acme.example"}})]
    msgs = [{"type": "message", "user": "U1", "ts": f"17919868{i:02d}.000100", "text": t,
             **({"subtype": subtype} if subtype else {})} for i, t in enumerate(texts)]
    raw = _slack_raw(users + [("messages", "C0INC42", m) for m in msgs])
    fast, slow, fo, so = _both(raw, SourceSpec("slack", "slack", options={"workspace_url": "https://acme.slack.com"}))
    assert fast == slow
    assert fo.rejects.to_pylist() == so.rejects.to_pylist()


_PD_TEXT = st.lists(st.sampled_from([
    "CPU", " ", "\n", "é", "OPS-12", "INC0010001", "https://acme.pagerduty.com/incidents/Q9ZZZ",
    "/browse/OPS-3", "\u2028", "\u00a0", "\"", "\\", "x" * 90, "<#C0OTHER1|other>"]), max_size=6).map("".join)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["trigger", "acknowledge", "annotate", "notify", "made_up"]),
                          st.one_of(st.none(), _PD_TEXT), st.one_of(st.none(), _PD_TEXT),
                          st.one_of(st.none(), _PD_TEXT),
                          st.sampled_from([None, {"type": "user_reference", "summary": "Alice Chen", "id": "PA"},
                                           {"type": "service_reference", "summary": ""}])),
                min_size=1, max_size=6))
def test_generated_pagerduty_entries_agree(entries):
    incidents = [("incidents", None, {"id": "Q1", "title": "db down", "urgency": "high", "incident_number": 7})]
    rows = [("log_entries", "", _entry(i, type=f"{kind}_log_entry", summary=summary, note=note,
                                       event_details={"description": description}, agent=agent))
            for i, (kind, summary, note, description, agent) in enumerate(entries)]
    fast, slow, fo, so = _both(_pd_raw(incidents + rows), SourceSpec("pd", "pagerduty"))
    assert fast == slow
    assert fo.rejects.to_pylist() == so.rejects.to_pylist()
