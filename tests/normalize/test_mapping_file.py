"""The file source's mapping: the compiled DuckDB query and the per-record oracle give the
same events and rejects, whatever the rows hold (any JSON type in a mapped field, odd
JSON DuckDB reads otherwise than json.loads, Unicode whitespace, refs in non-ASCII text)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_timeline.normalize.engine import normalize_raw
from incident_timeline.normalize.mapping import SourceSpec
from incident_timeline.normalize.schema import RAW_SCHEMA

AT = datetime(2026, 11, 1, tzinfo=timezone.utc)
FIELDS = {"ts": "time", "text": "note", "actor": "who.name", "id": "note_id", "title": "subject",
          "kind": "kind", "severity": "sev", "service": "svc", "url": "link", "refs": "refs"}


def _raw(payloads: list[str], parents: list[str | None] | None = None, streams: list[str] | None = None) -> pa.Table:
    n = len(payloads)
    parents = parents or [f"notes.jsonl:{i + 1}" for i in range(n)]
    streams = streams or ["rows"] * n
    return pa.Table.from_pylist([{"run_id": "r", "source": "notes", "source_type": "file", "stream": s,
                                  "partition": "", "native_id": f"n{i}", "parent_id": parent, "payload": p,
                                  "fetched_at": AT} for i, (s, p, parent) in enumerate(zip(streams, payloads, parents))],
                                schema=RAW_SCHEMA)


def _both(raw: pa.Table, fields=FIELDS, **options):
    spec = SourceSpec(name="notes", type="file", timezone="Europe/Berlin", options={"fields": fields, **options})
    kw = dict(entities={}, jira_projects=["OPS"], ingested_at=AT)
    return normalize_raw(raw, spec, **kw), normalize_raw(raw, spec, vectorized=False, **kw)


def _same(raw: pa.Table, fields=FIELDS, **options):
    compiled, oracle = _both(raw, fields, **options)
    assert compiled.events.to_pylist() == oracle.events.to_pylist()
    assert compiled.rejects.to_pylist() == oracle.rejects.to_pylist()
    return compiled


def test_an_example_row_becomes_the_expected_note():
    row = {"time": "2026-03-29 02:30:00", "note": "  swapped PSU on rack 4\nsee OPS-12  ", "who": {"name": "Kim"},
           "note_id": 7, "subject": "", "kind": "Change Deploy", "sev": "P2", "svc": "api", "link": None,
           "refs": "jira:OPS-1, pagerduty:PX1"}
    out = _same(_raw([json.dumps(row)]))
    [event] = out.events.to_pylist()
    assert (event["kind"], event["native_id"], event["actor"], event["actor_type"]) == \
        ("note.change_deploy", "7", "Kim", "human")
    assert event["title"] == "swapped PSU on rack 4" and event["severity"] == "SEV2" and event["url"] is None
    assert event["refs"] == ["jira:OPS-1", "pagerduty:PX1", "jira:OPS-12"]
    assert event["attrs"] == '{"location":"notes.jsonl:1"}'
    assert event["ts"] == datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc)  # spring-forward gap, Berlin


def test_missing_and_empty_fields_are_rejects_naming_the_column():
    rows = [{"note": "a", "note_id": "1"}, {"time": "", "note": "b", "note_id": "2"},
            {"time": "2026-01-01T00:00:00Z", "note": None, "note_id": "3"}, "[1, 2]", "{bad",
            {"time": "2026-01-01T00:00:00Z", "note": "ok", "note_id": "4"}]
    payloads = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    out = _same(_raw(payloads), {"ts": "time", "text": "note", "id": "note_id"})
    assert [(r["field"], r["reason"]) for r in out.rejects.to_pylist()] == [
        ("time", "mapped field ts (time) is missing"), ("time", "mapped field ts (time) is empty"),
        ("note", "mapped field text (note) is empty"), ("payload", "not a JSON object"),
        ("payload", "invalid JSON: Expecting property name enclosed in double quotes")]
    assert out.events["native_id"].to_pylist() == ["4"]


def test_json_duckdb_reads_otherwise_reads_as_json_loads_does():
    notes = ['"first", "note": "last"',        # a key twice: the last wins
             "NaN", '"x",',                    # NaN is a float; a trailing comma is invalid JSON
             '"tab\there"',                   # a raw control character: invalid JSON
             '"\\ud83d"',                    # a lone surrogate: U+FFFD
             "[" * 600 + "]" * 600]            # nested deep
    payloads = ['{"time": "2026-01-01T00:00:00Z", "note_id": "%d", "note": %s}' % (i, n) for i, n in enumerate(notes)]
    out = _same(_raw(payloads), {"ts": "time", "text": "note", "id": "note_id"})
    bodies = dict(zip(out.events["native_id"].to_pylist(), out.events["body"].to_pylist()))
    assert (bodies["0"], bodies["1"], bodies["4"]) == ("last", "nan", "\ufffd")
    assert [r["native_id"] for r in out.rejects.to_pylist()] == ["n2", "n3"]


_ODD_VALUES = [0, -0, 1, 0.0, -0.0, 1.5, 1e16, 1e400, 10**20, 2**64, -(2**63) - 1, True, False, None, "", " ", "0",
               [], {}, [0], {"a": None}, "\u00a0 padded \u2028 text\u3000", "Tab\tKind", "İstanbul OPS-1",
               "é OPS-2 <#C0123ABCD>", "x" * 200, "line one\nline two", "jira:OPS-9,slack:C0123ABCD"]


def test_every_json_type_in_every_field_reads_as_the_oracle_reads_it():
    base = {"time": "2026-01-01T00:00:00Z", "note": "n", "who": {"name": "Kim"}, "subject": "s", "kind": "k",
            "sev": "P1", "svc": "api", "link": "https://x", "refs": "jira:OPS-1"}
    rows = [{**base, column: value, "note_id": f"{column}-{i}"}
            for column in base for i, value in enumerate(_ODD_VALUES)]
    rows += [{**base, "who": {"name": value}, "note_id": f"who.name-{i}"} for i, value in enumerate(_ODD_VALUES)]
    out = _same(_raw([json.dumps(r, ensure_ascii=False) for r in rows]))
    assert out.events.num_rows > len(rows) // 2 and out.rejects.num_rows > 0


def test_a_source_without_a_ts_column_rejects_every_row():
    out = _same(_raw([json.dumps({"note": "x"})]), {"text": "note"})
    assert [(r["field"], r["reason"]) for r in out.rejects.to_pylist()] == \
        [("fields", "the source's fields: map names no ts column")]


def test_rows_of_other_streams_and_unreadable_lines_keep_raw_order_in_rejects():
    good = json.dumps({"time": "2026-01-01T00:00:00Z", "note": "x"})
    unreadable = json.dumps({"file": "n.jsonl", "line": 2, "error": "bad JSON"})
    out = _same(_raw([json.dumps({"note": "x"}), unreadable, good, "{}"], streams=["rows", "unreadable", "other", "rows"]),
                {"ts": "time", "text": "note"})
    assert [r["native_id"] for r in out.rejects.to_pylist()] == ["n0", "n1", "n2", "n3"]


_scalars = st.one_of(st.none(), st.booleans(), st.sampled_from([0, 0.0, -0.0, 1.5, 1e16, 10**20, -(2**63) - 1, [], {}]),
                     st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                     st.text(alphabet=st.sampled_from(list("aZ 0,:._-\n\t\u00a0\u2028\u3000é/#<>|INCOPS12345678")),
                             max_size=30),
                     st.sampled_from(["", "0", "P1", "sev-2", "Change Deploy", "jira:OPS-1, slack:C0123ABCD",
                                      "see OPS-12 and INC0012345", "2026-01-01T00:00:00Z", "1791986534",
                                      "https://acme.atlassian.net/browse/OPS-7", "\u00a0OPS-3\u00a0", "note.x"]))
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(st.sampled_from(["name", "a", "0"]), inner,
                                                                         max_size=3)), max_leaves=6)
_columns = ["time", "note", "who", "note_id", "subject", "kind", "sev", "svc", "link", "refs", "who.name"]


_times = st.sampled_from(["2026-01-01T00:00:00Z"] * 4 + ["2026-10-25 02:30:00", "1791986534", 1791986534, None])
# rows holding every column but (now and then) one, so most reach an event: every field of them is read
_rows = st.builds(lambda row, drop: {k: v for k, v in row.items() if k not in drop},
                  st.fixed_dictionaries({"time": _times, "note_id": st.sampled_from([0, "a", "a", ""]),
                                         **{c: _values for c in _columns if c not in ("time", "note_id", "who.name")},
                                         "who": st.one_of(_values, st.fixed_dictionaries({"name": _values}))}),
                  st.sets(st.sampled_from(_columns), max_size=1) | st.just(set()))


@settings(max_examples=80, deadline=None)
@given(st.lists(_rows, min_size=1, max_size=40), st.sets(st.sampled_from(sorted(set(FIELDS) - {"ts"}))),
       st.sampled_from([None, "naive", "epoch_s"]),
       st.lists(st.sampled_from([None, "n.jsonl:1", 'a"b\\c:2']), min_size=6, max_size=6))
def test_compiled_and_oracle_agree_on_any_row(rows, names, time_format, parents):
    for i, row in enumerate(rows):   # ids of their own, so that rows are not one event
        if row.get("note_id") not in (None, ""):
            row["note_id"] = i if isinstance(row["note_id"], int) else f"{row['note_id']}{i}"
    payloads = [json.dumps(r, ensure_ascii=False) for r in rows]
    options = {"time_format": time_format} if time_format else {}
    fields = {"ts": "time", **{n: FIELDS[n] for n in sorted(names)}}
    _same(_raw(payloads, [parents[i % len(parents)] or f"n.jsonl:{i}" for i in range(len(payloads))]), fields, **options)
