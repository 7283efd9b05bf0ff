"""The Slack mapping: the compiled DuckDB query and the per-record oracle give the same
events and rejects whatever a message holds (any JSON type in any field it reads, odd
users and channels, JSON DuckDB reads otherwise than json.loads)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_timeline.normalize.engine import build_entities, normalize_raw
from incident_timeline.normalize.mapping import SourceSpec
from incident_timeline.normalize.schema import RAW_SCHEMA

AT = datetime(2026, 11, 1, tzinfo=timezone.utc)
USERS = [{"id": "U1", "real_name": "Ann Lee", "profile": {"email": "ann@acme.example"}},
         {"id": "UB", "is_bot": True, "profile": {"real_name": "Deploy Bot"}},
         {"id": "U3", "profile": "not an object", "name": 5}, {"id": "U4", "real_name": ["x"], "name": "dee"}]
CHANNELS = [{"id": "C0INC42", "name": "inc-42"}, {"id": "C0ODD", "name": 7}]


def _raw(messages: list, parents: list | None = None, users=USERS, channels=CHANNELS) -> pa.Table:
    rows = [("users", u["id"], None, json.dumps(u)) for u in users]
    rows += [("channels", c["id"], None, json.dumps(c)) for c in channels]
    parents = parents or ["C0INC42"] * len(messages)
    rows += [("messages" if i % 3 else "replies", f"n{i}", p,
              m if isinstance(m, str) else json.dumps(m, ensure_ascii=False))
             for i, (m, p) in enumerate(zip(messages, parents))]
    return pa.Table.from_pylist([{"run_id": "r", "source": "chat", "source_type": "slack", "stream": stream,
                                  "partition": "C0INC42", "native_id": native_id, "parent_id": parent,
                                  "payload": payload, "fetched_at": AT}
                                 for stream, native_id, parent, payload in rows], schema=RAW_SCHEMA)


def _same(raw: pa.Table, **options):
    spec = SourceSpec(name="chat", type="slack", options=options)
    kw = dict(entities=build_entities(raw, ("users", "channels")), jira_projects=["OPS"], ingested_at=AT)
    compiled, oracle = normalize_raw(raw, spec, **kw), normalize_raw(raw, spec, vectorized=False, **kw)
    assert compiled.events.to_pylist() == oracle.events.to_pylist()
    assert compiled.rejects.to_pylist() == oracle.rejects.to_pylist()
    return compiled


def test_a_message_becomes_the_expected_chat_event():
    msg = {"type": "message", "user": "U1", "ts": "1791986850.000700", "thread_ts": "1791986800.000100",
           "text": "<@U1> rolled back, see OPS-12 &amp; <#C0OTHER1|other>\nmore",
           "attachments": [{"title_link": "https://acme.pagerduty.com/incidents/Q2W3E4R", "fallback": "PD"}]}
    [event] = _same(_raw([msg]), workspace_url="https://acme.slack.com/").events.to_pylist()
    assert (event["kind"], event["actor"], event["actor_type"], event["actor_id"]) == \
        ("chat.reply", "Ann Lee", "human", "ann@acme.example")
    assert event["title"] == "@Ann Lee rolled back, see OPS-12 & #other"
    assert event["refs"] == ["slack:C0INC42", "jira:OPS-12", "slack:C0OTHER1", "pagerduty:Q2W3E4R"]
    assert event["native_id"] == "C0INC42:1791986850.000700"
    assert event["url"] == "https://acme.slack.com/archives/C0INC42/p1791986850000700"
    assert json.loads(event["attrs"]) == {"channel": "C0INC42", "channel_name": "inc-42",
                                          "thread_ts": "1791986800.000100", "subtype": None}


def test_messages_without_channel_or_ts_are_rejects_naming_the_field():
    msgs = [{"user": "U1", "text": "x"}, {"user": "U1", "ts": "", "text": "x"}, {"user": "U1", "ts": "1.2", "text": "x"},
            {"user": "U1", "ts": "1791986850.000700", "channel": "C0INC42"}, "[1]", "{bad"]
    out = _same(_raw(msgs, parents=["C0INC42", "C0INC42", "", None, "", ""]))
    assert [(r["field"], r["reason"]) for r in out.rejects.to_pylist()] == [
        ("ts", "missing"), ("ts", "missing"), ("channel", "message names no channel"),
        ("payload", "not a JSON object"),
        ("payload", "invalid JSON: Expecting property name enclosed in double quotes")]
    assert out.events["native_id"].to_pylist() == ["C0INC42:1791986850.000700"]


def test_a_kept_query_reads_each_runs_users():
    # the compiled query and its UDFs are kept between runs: the names come from this run's users
    msg = {"user": "U1", "ts": "1791986850.000700", "text": "hi <@U1>"}
    first = _same(_raw([msg])).events.to_pylist()[0]
    second = _same(_raw([msg], users=[{"id": "U1", "real_name": "Ann Other"}])).events.to_pylist()[0]
    assert (first["actor"], first["body"]) == ("Ann Lee", "hi @Ann Lee")
    assert (second["actor"], second["body"], second["actor_id"]) == ("Ann Other", "hi @Ann Other", "U1")


_ODD = [0, -0, 1, 1.5, 1e16, 10**20, True, False, None, "", " ", "0", [], {}, [0], {"a": None}, [{"name": 5}],
        [{"title": "t OPS-3", "fallback": 2}], "U1", "UB", "U3", "U4", "bot_message", "file_comment", "bot_add",
        "channel_join", "\u00a0 é OPS-1 <@U1> &eacute; <#C0OTHER1>", "line one\nline two", "x" * 200,
        {"user": "U1"}, {"name": "GitHub"}, {"real_name": "Rae"}, "[" * 300 + "]" * 300]
_FIELDS = ["channel", "ts", "subtype", "user", "comment", "bot_id", "username", "bot_profile", "user_profile",
           "text", "thread_ts", "attachments", "files", "file"]
_BASE = {"type": "message", "user": "U1", "ts": "1791986850.000700", "text": "hello OPS-1"}


def test_every_json_type_in_every_field_reads_as_the_oracle_reads_it():
    msgs = [{**_BASE, field: value, "ts": value if field == "ts" else f"17919868{i % 100:02d}.{n:06d}"}
            for n, field in enumerate(_FIELDS) for i, value in enumerate(_ODD)]
    out = _same(_raw(msgs, parents=[None if i % 7 == 0 else "C0INC42" for i in range(len(msgs))]),
                workspace_url="https://acme.slack.com")
    assert out.events.num_rows > len(msgs) // 2 and out.rejects.num_rows > 0


_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-2**65, 2**65), st.floats(allow_nan=True),
                                 st.sampled_from(_ODD[:-1]), st.text(max_size=12)),
                       lambda inner: st.one_of(st.lists(inner, max_size=3),
                                               st.dictionaries(st.sampled_from(["name", "title", "user", "fallback",
                                                                                "real_name", "text"]), inner,
                                                               max_size=3)), max_leaves=6)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(_FIELDS), _values, max_size=6), min_size=1, max_size=20),
       st.lists(st.sampled_from([None, "", "C0INC42", "C0ODD"]), min_size=20, max_size=20))
def test_compiled_and_oracle_agree_on_any_message(changes, parents):
    msgs = [{**_BASE, "ts": f"17919868{i:02d}.000100", **change} for i, change in enumerate(changes)]
    _same(_raw(msgs, parents=parents[:len(msgs)]), workspace_url="https://acme.slack.com")
