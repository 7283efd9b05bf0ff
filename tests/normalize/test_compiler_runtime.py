"""How the compiled query runs (not what it means: the mapping tests compare it with the
oracle): a call read by several expressions is made once, and a transform's UDF runs
once per row, not again for a filter that reads its column."""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone

import pyarrow as pa

from incident_timeline.normalize import compiler
from incident_timeline.normalize.mapping import Context, SourceSpec
from incident_timeline.normalize.mappings import MAPPINGS
from incident_timeline.normalize.refs import RefFinder
from incident_timeline.normalize.schema import RAW_SCHEMA
from incident_timeline.normalize.transforms import TRANSFORMS

AT = datetime(2026, 11, 1, tzinfo=timezone.utc)


def _rule(source_type: str, stream: str):
    spec = SourceSpec(name=source_type, type=source_type, timezone="UTC")
    mapping = MAPPINGS[source_type](spec)
    rule = next(r for r in mapping.rules if stream in r.streams)
    return mapping, rule, Context(spec=spec, refs=RefFinder(["OPS"]), entities={})


def test_a_call_read_by_several_expressions_is_one_udf():
    # Opsgenie's log kind is read by the kind, the actor, the subject, the title and whether
    # the owner is a person: one UDF, one column
    mapping, rule, ctx = _rule("opsgenie", "logs")
    query = compiler._Query(mapping, rule, ctx)
    query.sql()
    made = Counter(name.rsplit("_", 1)[0] for name in query.udfs)
    assert made["py_og_log_kind"] == 1


def test_a_transform_runs_once_per_row(monkeypatch):
    # PagerDuty's refs have no SQL: its Python runs on every entry, and only once (a filter
    # pushed below the projection computing it would run it again)
    seen: list = []
    real = TRANSFORMS["pd_refs"]
    counted = real.__class__(**{**real.__dict__, "python": lambda *a: seen.append(a[1]) or real.python(*a)})
    monkeypatch.setitem(TRANSFORMS, "pd_refs", counted)
    compiler._CONNECTIONS.clear()
    entries = [{"id": f"R{i}", "type": "annotate_log_entry", "created_at": "2026-11-01T10:00:00Z",
                "channel": {"type": "note", "summary": f"see OPS-{i}"}, "incident": {"id": "Q1", "type": "incident"}}
               for i in range(300)]
    raw = pa.Table.from_pylist([{"run_id": "r", "source": "pagerduty", "source_type": "pagerduty",
                                 "stream": "log_entries", "partition": "", "native_id": e["id"], "parent_id": "Q1",
                                 "payload": json.dumps(e), "fetched_at": AT} for e in entries], schema=RAW_SCHEMA)
    mapping, _rule_, ctx = _rule("pagerduty", "log_entries")
    drafts, rejects = compiler.run_mapping(raw, mapping, ctx)
    compiler._CONNECTIONS.clear()
    assert not rejects and drafts.num_rows == 300
    assert sorted(seen) == sorted(["Q1"] * 300)
    assert drafts["refs"][7].as_py() == ["pagerduty:Q1", "jira:OPS-7"]
