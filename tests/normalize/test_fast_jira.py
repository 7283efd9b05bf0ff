"""Jira's mapping (normalize/mappings/jira.py): the compiled DuckDB query gives exactly the
events and rejects its per-record oracle gives, on issues, changelogs and comments."""
import json
import random
from datetime import datetime, timezone

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_timeline.normalize.engine import normalize_raw
from incident_timeline.normalize.mapping import SourceSpec
from incident_timeline.normalize.mappings import MAPPINGS
from incident_timeline.contract.schemas import RAW_SCHEMA
from tests.normalize.test_fast_paths import _demo_raw
from tests.support import demo_sources

NOW = datetime(2026, 10, 15, tzinfo=timezone.utc)
SPEC = SourceSpec("jira", "jira")
CREATED = "2026-10-14T16:18:00.000+0200"
ALICE = {"accountId": "5b01", "emailAddress": "alice@acme.example", "displayName": "Alice Chen"}


def _raw(rows: list) -> pa.Table:
    """rows: (label, stream, issue key, payload); the label is the raw row's native id."""
    return pa.Table.from_pylist([{
        "run_id": "r", "source": "jira", "source_type": "jira", "stream": stream, "partition": "OPS",
        "native_id": label, "parent_id": key,
        "payload": payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False),
        "fetched_at": NOW} for label, stream, key, payload in rows], schema=RAW_SCHEMA)


def _both(raw: pa.Table):
    kw = dict(entities={}, jira_projects=["OPS"], ingested_at=NOW, run_id="r")
    fast = normalize_raw(raw, SPEC, vectorized=True, **kw)
    slow = normalize_raw(raw, SPEC, vectorized=False, **kw)
    order = [("event_id", "ascending")]
    return fast.events.sort_by(order).to_pylist(), slow.events.sort_by(order).to_pylist(), fast, slow


def _assert_same(raw: pa.Table) -> list[dict]:
    fast, slow, fo, so = _both(raw)
    assert fast == slow
    assert fo.rejects.to_pylist() == so.rejects.to_pylist()
    return fast


def _comment(i, body, **fields) -> dict:
    return {"id": str(i), "created": CREATED, "author": ALICE, "body": body, **fields}


def _history(i, *items, **fields) -> dict:
    return {"id": str(i), "created": CREATED, "author": ALICE, "items": list(items), **fields}


def _item(field, before=None, after=None, **more) -> dict:
    return {"field": field, "fieldtype": "jira", "from": None, "fromString": before, "to": None, "toString": after,
            **more}


def _doc(*blocks) -> dict:
    return {"type": "doc", "version": 1, "content": list(blocks)}


def _para(*inline) -> dict:
    return {"type": "paragraph", "content": list(inline)}


def _nested(levels: int) -> dict:
    node = _para(_text("deep down"))
    for _ in range(levels):
        node = {"type": "blockquote", "content": [node]}
    return _doc(node)


def _text(text, *marks) -> dict:
    return {"type": "text", "text": text, **({"marks": list(marks)} if marks else {})}


def test_registered():
    assert "jira" in MAPPINGS


def test_demo_fixture_gives_identical_events():
    raw = _demo_raw(next(s for s in demo_sources() if s["type"] == "jira"))
    fast = _assert_same(raw)
    assert len(fast) == 10


def test_an_issue_becomes_the_expected_created_event():
    issue = {"key": "OPS-1", "self": "https://acme.atlassian.net/rest/api/3/issue/10001", "fields": {
        "created": CREATED, "summary": "db down, see INC0010001", "priority": {"name": "Highest"},
        "reporter": None, "creator": ALICE, "assignee": {"displayName": "Bob Martin"},
        "components": [{"name": "checkout"}], "labels": ["sev1", 2], "status": {"name": "Open",
                                                                                "statusCategory": {"key": "new"}},
        "issuelinks": [{"outwardIssue": {"key": "OPS-2"}}, {"inwardIssue": {"key": "OPS-1"}}],
        "description": _doc(_para(_text("pool exhausted OPS-3")))}}
    odd = [("i2", "issues", None, {"key": "OPS-9", "fields": "x"}), ("i3", "issues", None, {"fields": {}}),
           ("i4", "issues", None, {"key": "OPS-8", "fields": {"summary": "no created"}}),
           ("i5", "issues", None, {"key": "OPS-7", "fields": {"created": CREATED, "issuelinks": ["x"]}})]
    fast, _slow, fo, _so = _both(_raw([("i", "issues", None, issue), *odd]))
    [event] = fast
    assert (event["kind"], event["actor"], event["actor_id"], event["subject"], event["severity"], event["service"]) \
        == ("ticket.created", "Alice Chen", "alice@acme.example", "Bob Martin", "SEV1", "checkout")
    assert event["title"] == "OPS-1 created: db down, see INC0010001" and event["body"] == "pool exhausted OPS-3"
    assert event["url"] == "https://acme.atlassian.net/browse/OPS-1"
    assert event["refs"] == ["jira:OPS-1", "jira:OPS-2", "servicenow:INC0010001", "jira:OPS-3"]
    assert json.loads(event["attrs"]) == {
        "key": "OPS-1", "summary": "db down, see INC0010001", "status": "Open", "status_category": "new",
        "assignee": "Bob Martin", "due": None, "issuetype": None, "resolution_date": None,
        "labels": ["sev1", 2], "linked": ["OPS-2", "OPS-1"]}
    assert [(r["native_id"], r["field"], r["reason"]) for r in fo.rejects.to_pylist()] == [
        ("i2", "fields", "not an object"), ("i3", "key", "missing"), ("i4", "created", "missing"),
        ("i5", "payload", "unexpected shape in issues: AttributeError: 'str' object has no attribute 'get'")]


def _generated(n: int, rng: random.Random) -> list:
    """Comments and histories in the shapes Jira Cloud and Data Center send."""
    names = ["Alice Chen", "Bob Martin", "Émile Zoë", "李雷"]
    bodies = [
        _doc(_para(_text("Rolled back; see OPS-1240"))),
        _doc(_para(_text("Root cause:", {"type": "strong"}), _text(" the pool change in v2.31.0."))),
        _doc(_para(_text("dash", {"type": "link", "attrs": {"href": "https://grafana.example/d/1"}}),
                   {"type": "hardBreak"}, {"type": "mention", "attrs": {"id": "5b02", "text": "@Bob"}},
                   {"type": "emoji", "attrs": {"shortName": ":fire:", "text": "🔥"}})),
        _doc({"type": "heading", "attrs": {"level": 2}, "content": [_text("Timeline")]},
             _para(_text("paged at 09:12")), {"type": "rule"},
             _para({"type": "inlineCard", "attrs": {"url": "https://acme.atlassian.net/browse/OPS-7"}})),
        _doc({"type": "bulletList", "content": [
            {"type": "listItem", "content": [_para(_text("first"))]},
            {"type": "listItem", "content": [_para(_text("second, INC0010001"))]}]}),
        _doc({"type": "codeBlock", "attrs": {"language": "sql"}, "content": [_text("SELECT 1;\n\n\n\nSELECT 2;")]}),
        _doc(_para(_text("x" * 150))),
        _doc(_para(_text("café ñ"), {"type": "hardBreak"}, {"type": "hardBreak"}, {"type": "hardBreak"},
                   _text("after breaks"))),
        _doc(),
        "  Data Center comment, plain text\n\nsecond paragraph OPS-12  ",
        "",
    ]
    items = [
        (_item("status", "To Do", "In Progress"),), (_item("assignee", None, "Bob Martin"),),
        (_item("priority", "Medium", "Highest"),), (_item("priority", "P3", "P1 "),),
        (_item("resolution", None, "Fixed"), _item("status", "In Progress", "Done")),
        (_item("resolution", "Fixed", None),), (_item("labels", "", "sev1 OPS-1240"),),
        (_item("Status", "a", "b"), _item("Sprint", None, None), _item("description", "old\nline", 'new "q" \\')),
        (),
    ]
    rows = []
    for i in range(n):
        author = {**ALICE, "displayName": names[i % len(names)]}
        key = f"OPS-{1200 + i % 7}"
        rows.append((f"c{i}", "comments", key, _comment(i, rng.choice(bodies), author=author)))
        rows.append((f"h{i}", "changelog", key, _history(i, *rng.choice(items), author=author)))
    return rows


def test_generated_batch_gives_identical_events():
    raw = _raw(_generated(300, random.Random(5)))
    assert len(_assert_same(raw)) > 600


def test_awkward_records_are_still_identical():
    taken = [
        ("t-no-author", "comments", "OPS-1", {"id": "1", "created": CREATED, "body": "system note"}),
        ("t-null-body", "comments", "OPS-1", {"id": "2", "created": CREATED, "author": ALICE}),
        ("t-mention-id", "comments", "OPS-1", _comment(3, _doc(_para({"type": "mention", "attrs": {"id": "5b9"}})))),
        ("t-link-is-text", "comments", "OPS-1", _comment(4, _doc(_para(
            _text("https://x.example", {"type": "link", "attrs": {"href": "https://x.example"}}))))),
        ("t-unknown-node", "comments", "OPS-1", _comment(5, _doc({"type": "panel", "content": [
            {"type": "mediaSingle"}, _para(_text("in a panel"))]}))),
        ("t-odd-values", "changelog", "OPS-1", _history(6, _item("Link", "line\u2028sep\x7f", "tab\there"),
                                                          _item("prİority", "Low", "High"))),
        ("t-no-items", "changelog", "OPS-1", {"id": "7", "created": CREATED, "author": ALICE}),
        ("t-only-resolution-cleared", "changelog", "OPS-1", _history(8, _item("resolution", "Fixed", ""))),
        ("t-same-field-twice", "changelog", "OPS-1", _history(9, _item("Link", None, "OPS-2"),
                                                                _item("Link", None, "OPS-3"))),
        ("t-nested-list", "comments", "OPS-1", _comment(50, _doc({"type": "bulletList", "content": [
            {"type": "listItem", "content": [_para(_text("top")), {"type": "bulletList", "content": [
                {"type": "listItem", "content": [_para(_text("deep"))]}]}]}]}))),
        ("t-dc-newlines", "comments", "OPS-1", _comment(56, "first\n\n\n\nafter four newlines ")),
        ("t-visibility", "comments", "OPS-1", _comment(51, "x", visibility={"type": "role", "value": "Admins"})),
        ("t-no-email", "changelog", "OPS-1", _history(10, _item("status", "a", "b"),
                                                        author={"accountId": "5b03", "emailAddress": ""})),
    ]
    declined = [
        ("d-issue", "issues", "OPS-1", {"key": "OPS-1", "fields": {"created": CREATED, "summary": "s"}}),
        ("d-repeated-top", "comments", "OPS-1",
         '{"id": "20", "id": "21", "created": "%s", "body": "x"}' % CREATED),
        ("d-repeated-author", "changelog", "OPS-1",
         '{"id": "22", "created": "%s", "author": {"displayName": "A", "displayName": "B"}, "items": []}' % CREATED),
        ("d-repeated-item", "changelog", "OPS-1",
         '{"id": "23", "created": "%s", "items": [{"field": "status", "toString": "a", "toString": "b"}]}'
         % CREATED),
        ("d-repeated-node-key", "comments", "OPS-1",
         '{"id": "24", "created": "%s", "body": {"type": "doc", "content": [{"type": "paragraph", "content": '
         '[{"type": "text", "text": "a", "text": "b"}]}]}}' % CREATED),
        ("d-null-text", "comments", "OPS-1", _comment(25, _doc(_para({"type": "text", "text": None})))),
        ("d-null-marks", "comments", "OPS-1", _comment(26, _doc(_para({"type": "text", "text": "a", "marks": None})))),
        ("d-number-id", "comments", "OPS-1", _comment(27, "x", id=27)),
        ("d-number-created", "changelog", "OPS-1", _history(28, _item("status", "a", "b"), created=1791986850)),
        ("d-number-name", "comments", "OPS-1", _comment(29, "x", author={"displayName": 5})),
        ("d-number-to", "changelog", "OPS-1", _history(30, _item("status", "a", 3))),
        ("d-number-text", "comments", "OPS-1", _comment(31, _doc(_para({"type": "text", "text": 5})))),
        ("d-trailing-comma", "comments", "OPS-1", '{"id": "32", "created": "%s", "body": "x",}' % CREATED),
        ("d-nan", "changelog", "OPS-1", '{"id": "33", "created": "%s", "items": [], "n": NaN}' % CREATED),
        ("d-lone-surrogate", "comments", "OPS-1",
         '{"id": "34", "created": "%s", "body": "a", "x": "\\ud800"}' % CREATED),
        ("d-nul", "comments", "OPS-1", '{"id": "35", "created": "%s", "body": "a\\u0000b"}' % CREATED),
        ("d-control", "changelog", "OPS-1", _history(36, _item("status", "a", "b\x1fc"))),
        ("d-nbsp", "comments", "OPS-1", _comment(37, "\u00a0padded\u00a0")),
        ("d-ref-non-ascii", "comments", "OPS-1", _comment(38, _doc(_para(_text("see OPS-12é"))))),
        ("d-ref-non-ascii-item", "changelog", "OPS-1", _history(39, _item("labels", None, "OPS-12é"))),
        ("d-author-string", "comments", "OPS-1", _comment(40, "x", author="alice")),
        ("d-author-string-history", "changelog", "OPS-1", _history(58, _item("status", "a", "b"), author="alice")),
        # a resolution cleared gives no event: its author is never read
        ("d-author-string-cleared", "changelog", "OPS-1", _history(59, _item("resolution", "Fixed"), author="alice")),
        ("d-number-from", "changelog", "OPS-1", _history(60, _item("status", 3, 0))),
        ("d-author-empty", "changelog", "OPS-1", _history(41, _item("status", "a", "b"), author={})),
        ("d-items-object", "changelog", "OPS-1", _history(42, items={"field": "status"})),
        ("d-item-string", "changelog", "OPS-1", _history(43, items=["status"])),
        ("d-item-empty", "changelog", "OPS-1", _history(44, items=[{}])),
        ("d-many-items", "changelog", "OPS-1", _history(45, *[_item(f"f{i}", None, "x") for i in range(6)])),
        ("d-body-number", "comments", "OPS-1", _comment(46, 5)),
        ("d-body-list", "comments", "OPS-1", _comment(47, [_para(_text("x"))])),
        ("d-node-string", "comments", "OPS-1", _comment(48, _doc(_para("text")))),
        ("d-node-untyped", "comments", "OPS-1", _comment(49, _doc(_para({"text": "a"})))),
        ("d-no-key", "comments", "", _comment(52, "x")),
        ("d-no-created", "changelog", "OPS-1", _history(53, _item("status", "a", "b"), created="")),
        ("d-no-id", "comments", "OPS-1", _comment(54, "x", id=None)),
        ("d-deeper-than-32", "comments", "OPS-1", _comment(57, _nested(40))),
        ("d-not-object", "comments", "OPS-1", "[1, 2]"),
        ("d-broken", "changelog", "OPS-1", "{broken"),
        ("d-space-before-colon", "comments", "OPS-1",
         '{"id": "55", "created": "%s", "body": "a", "body" : "b"}' % CREATED),
    ]
    raw = _raw(taken + declined)
    fast = _assert_same(raw)
    by_native = {e["native_id"]: e for e in fast}
    assert by_native["OPS-1/comment/3"]["body"] == "@5b9"
    assert by_native["OPS-1/comment/1"]["actor_type"] == "system"
    assert by_native["OPS-1/comment/50"]["body"] == "- top\n- deep"
    assert by_native["OPS-1/comment/56"]["body"] == "first\n\n\n\nafter four newlines "
    assert by_native["OPS-1/6/prİority"]["kind"] == "ticket.updated"
    assert json.loads(by_native["OPS-1/6/Link"]["attrs"])["from"] == "line\u2028sep\x7f"
    assert not any(e["native_id"].startswith("OPS-1/8/") for e in fast)
    # items that are not a list of objects: a reject naming them, not an event
    rejects = {r["native_id"]: (r["field"], r["reason"]) for r in _both(raw)[2].rejects.to_pylist()}
    assert rejects["d-items-object"] == rejects["d-item-string"] == ("items", "not a list of objects")
    assert "d-item-empty" not in rejects and "t-no-items" not in rejects
    # as the mapper of old: a number in toString is searched for refs, an author that is not
    # an object is read with .get: both fail, and the record is a reject with Python's error
    assert rejects["d-number-to"] == (
        "payload", "unexpected shape in changelog: TypeError: expected string or bytes-like object, got 'int'")
    assert rejects["d-author-string"] == (
        "payload", "unexpected shape in comments: AttributeError: 'str' object has no attribute 'get'")
    assert rejects["d-author-string-history"] == (
        "payload", "unexpected shape in changelog: AttributeError: 'str' object has no attribute 'get'")
    assert "d-author-string-cleared" not in rejects
    # a falsy toString is no text to search: an event, its attrs keeping the JSON values
    assert json.loads(by_native["OPS-1/60/status"]["attrs"])["from"] == 3
    assert json.loads(by_native["OPS-1/60/status"]["attrs"])["to"] == 0


_PLAIN = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_HINTED = st.sampled_from(["OPS-12", "INC0010001", "https://acme.pagerduty.com/incidents/Q1ABCDE", "<#C0ABCDEFG>",
                           "/browse/OPS-9", "é", "\n", "\n\n\n", " ", "\t", "\u00a0", "\u2028", "\x1f"])
_TEXT = st.lists(st.one_of(_PLAIN, _HINTED), max_size=4).map("".join)
_MARK = st.one_of(st.just({"type": "strong"}), st.builds(lambda h: {"type": "link", "attrs": {"href": h}},
                                                         st.one_of(_TEXT, st.just("https://x.example"))))
_INLINE = st.one_of(
    st.builds(lambda t, m: _text(t, *m), _TEXT, st.lists(_MARK, max_size=2)),
    st.just({"type": "hardBreak"}),
    st.builds(lambda i, t: {"type": "mention", "attrs": {"id": i, **({"text": t} if t is not None else {})}},
              _PLAIN, st.none() | _TEXT),
    st.builds(lambda s, t: {"type": "emoji", "attrs": {"shortName": s, "text": t}}, _PLAIN, _TEXT),
    st.builds(lambda u: {"type": "inlineCard", "attrs": {"url": u}}, _TEXT))
_BLOCK = st.one_of(
    st.builds(lambda kind, inline: {"type": kind, "content": inline},
              st.sampled_from(["paragraph", "heading", "blockquote", "codeBlock", "panel", "unknownBlock"]),
              st.lists(_INLINE, max_size=4)),
    st.builds(lambda items: {"type": "orderedList", "content": [
        {"type": "listItem", "content": [_para(*inline)]} for inline in items]},
        st.lists(st.lists(_INLINE, max_size=3), max_size=3)),
    st.just({"type": "rule"}))
_BODY = st.one_of(st.builds(lambda blocks: _doc(*blocks), st.lists(_BLOCK, max_size=4)), _TEXT)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies=st.lists(_BODY, min_size=1, max_size=6), after=_TEXT)
def test_any_adf_text_and_item_value_gives_identical_events(bodies, after):
    rows = [(f"c{i}", "comments", "OPS-3", _comment(i, body)) for i, body in enumerate(bodies)]
    rows.append(("h", "changelog", "OPS-3", _history(1, _item("priority", after, after), _item("labels", "", after))))
    _assert_same(_raw(rows))


# ---- throughput (not a test): python3 -m tests.normalize.test_fast_jira [records] ------

def _bench_jira(n: int) -> pa.Table:
    """The normaliser benchmark's own Jira records (comments with one ADF paragraph, histories)."""
    import importlib.util

    from tests.support import REPO

    spec = importlib.util.spec_from_file_location("normalize_bench", REPO / "benchmarks" / "normalize_bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench._jira(random.Random(7), n)


def _throughput(label: str, raw: pa.Table, repeats: int = 3) -> None:
    import time

    kw = dict(entities={}, jira_projects=["OPS"], ingested_at=NOW, run_id="r")
    best = {False: 0.0, True: 0.0}
    for _ in range(repeats):   # interleaved, best of each: the machine's load varies
        for vectorized in (False, True):
            started = time.perf_counter()
            events = normalize_raw(raw, SPEC, vectorized=vectorized, **kw).events.num_rows
            best[vectorized] = max(best[vectorized], events / (time.perf_counter() - started))
    print(f"{label:34} {raw.num_rows:>8,} records {events:>8,} events   per-record oracle "
          f"{best[False]:>9,.0f} events/s   compiled {best[True]:>9,.0f} events/s   "
          f"{best[True] / best[False]:.1f}x", flush=True)


if __name__ == "__main__":
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rows = _generated(n, random.Random(5))
    _throughput("benchmark's comments + changelog", _bench_jira(n))
    _throughput("comments (shapes above)", _raw([r for r in rows if r[1] == "comments"]))
    _throughput("changelog (shapes above)", _raw([r for r in rows if r[1] == "changelog"]))


_ODD = [0, 1, 1.5, 1e16, 10**20, True, False, None, "", " ", "x", "OPS-1 é", [], {}, [0], ["x"], [{}], {"a": None},
        {"displayName": 5}, {"key": 7}, [{"name": 5}], [{"outwardIssue": {"key": 3}}], "[" * 300 + "]" * 300]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["issues", "changelog", "comments"]),
                          st.sampled_from(["key", "self", "fields", "summary", "description", "created", "reporter",
                                           "creator", "issuelinks", "components", "labels", "priority", "assignee",
                                           "id", "author", "body", "items", "field", "fromString", "toString"]),
                          st.sampled_from(_ODD), st.sampled_from(["OPS-1", "", None])), min_size=1, max_size=12))
def test_any_json_in_any_field_reads_as_the_oracle_reads_it(changes):
    rows = []
    for i, (stream, field, value, key) in enumerate(changes):
        if stream == "issues":
            fields = {"created": CREATED, "summary": "s", "reporter": ALICE}
            record = {"key": f"OPS-{i}", "fields": fields}
            (record if field in ("key", "self", "fields") else fields)[field] = value
        elif stream == "changelog":
            item = _item("status", "a", "b")
            record = _history(i, item)
            (item if field in ("field", "fromString", "toString") else record)[field] = value
        else:
            record = {**_comment(i, "text OPS-2"), field: value}
        rows.append((f"r{i}", stream, key if stream != "issues" else None, record))
    _assert_same(_raw(rows))
